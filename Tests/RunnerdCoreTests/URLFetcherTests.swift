@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct URLFetcherConfigTests {
    @Test func theURLTravelsAsOneQuotedConfigLine() {
        #expect(URLFetcher.config(for: "http://h/a") == Array("url = \"http://h/a\"\n".utf8))
        #expect(URLFetcher.config(for: #"http://h/"q"\b"#) == Array(#"url = "http://h/\"q\"\\b""#.utf8) + [10])
    }

    @Test func urlsWithControlCharactersAreNotFetched() {
        #expect(URLFetcher.isFetchable("https://example.invalid/x?y=1"))
        for bad in ["http://h/a\nurl = \"http://evil\"", "http://h/\r", "http://h/\u{7f}", "http://h/\0", "ftp://h/", "file:///etc/passwd"] {
            #expect(!URLFetcher.isFetchable(bad), "\(bad.debugDescription)")
        }
    }
}
