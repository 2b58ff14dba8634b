import NIOCore
import NIOHTTP1
@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct QueryStringTests {
    @Test func parsesPairs() {
        #expect(QueryString.parse("a=1&b=2") == ["a": "1", "b": "2"])
        #expect(QueryString.parse("") == [:])
        #expect(QueryString.parse("sinceSeq=42") == ["sinceSeq": "42"])
    }

    @Test func lastValueWins() {
        #expect(QueryString.parse("a=1&a=2") == ["a": "2"])
    }

    @Test func flagsEmptyValuesAndStrayAmpersands() {
        #expect(QueryString.parse("flag") == ["flag": ""])
        #expect(QueryString.parse("a=") == ["a": ""])
        #expect(QueryString.parse("&&a=1&&") == ["a": "1"])
        #expect(QueryString.parse("a==b") == ["a": "=b"])
        #expect(QueryString.parse("=v") == ["": "v"])
    }

    @Test func percentAndPlusDecoding() {
        #expect(QueryString.parse("path=a+b%20c") == ["path": "a b c"])
        #expect(QueryString.parse("%61%62=%2Fx%2fy") == ["ab": "/x/y"])
        #expect(QueryString.parse("p=100%25") == ["p": "100%"])
        #expect(QueryString.parse("p=%2B") == ["p": "+"])
        #expect(QueryString.parse("p=%26%3D") == ["p": "&="])
        #expect(QueryString.parse("p=%E2%9C%93") == ["p": "✓"])
    }

    @Test func percentDecode() {
        #expect(QueryString.percentDecode("plain") == "plain")
        #expect(QueryString.percentDecode("a%2Fb") == "a/b")
        #expect(QueryString.percentDecode("%41%42%43") == "ABC")
        #expect(QueryString.percentDecode("a+b") == "a+b", "plus is only a space in queries")
        #expect(QueryString.percentDecode("%e6%97%a5") == "日")
    }

    /// A `%` that does not start a valid escape must be left as it is; nothing may be lost.
    @Test func malformedEscapesAreKeptVerbatim() {
        #expect(QueryString.percentDecode("50%") == "50%")
        #expect(QueryString.percentDecode("%zz") == "%zz")
        #expect(QueryString.percentDecode("50%off") == "50%off")
        #expect(QueryString.percentDecode("a%4") == "a%4")
        #expect(QueryString.percentDecode("%%41") == "%A")
        #expect(QueryString.percentDecode("%+1") == "%+1")
    }

    @Test func requestSplitsPathQueryAndSegments() {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/execs/a%2Fb/attach?sinceSeq=5&x=%20")
        let request = HTTPRequest(head: head, body: ByteBuffer())
        #expect(request.path == "/execs/a%2Fb/attach")
        #expect(request.query == ["sinceSeq": "5", "x": " "])
        #expect(request.segments == ["execs", "a/b", "attach"])
        #expect(request.method == .GET)

        let bare = HTTPRequest(head: HTTPRequestHead(version: .http1_1, method: .POST, uri: "//execs//"), body: ByteBuffer(string: "{}"))
        #expect(bare.query == [:])
        #expect(bare.segments == ["execs"])
        #expect(Array(bare.bodyBytes) == Array("{}".utf8))
    }
}
