@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct StdinLineTests {
    @Test(arguments: [
        "{\"a\":1}\n", "[1,2,3]\n", "\"text\"\n", "42\n", "true\n", "{}\n", "{\"nested\":{\"x\":[null,\"\\n\"]}}\n",
        "  {\"a\":1}  \n", "{\"u\":\"日本 🎉\"}\n",
    ])
    func completeJSONLinesAreAccepted(_ line: String) {
        #expect(StdinLine.isCompleteJSONLine(Array(line.utf8)))
    }

    @Test(arguments: [
        "",                          // nothing
        "\n",                        // an empty line is not JSON
        "{\"a\":1}",                 // no newline
        "{\"a\":1}\n{\"b\":2}\n",    // two lines
        "{\"a\":1}\n\n",             // a trailing blank line
        "{\"a\":\n1}\n",             // newline inside the value
        "{bad}\n",                   // not JSON
        "{\"a\":1\n",                // truncated
        "hello\n",
    ])
    func otherWritesAreRejected(_ line: String) {
        #expect(!StdinLine.isCompleteJSONLine(Array(line.utf8)))
    }
}
