import ArgumentParser
import Foundation
import RunnerProtocol
import SpawnerClient

/// `spawner cp LOCAL SID:PATH` (stage a file) and `spawner cp SID:PATH LOCAL` (read one back).
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy a file into a session's workspace (LOCAL SID:PATH) or out of it (SID:PATH LOCAL).",
        discussion: "Staged files are sent inline: at most 1 MiB each. Reads return at most 20 MiB.")

    @OptionGroup var options: ClientOptions
    @Argument(help: "The source: a local file, or SID:PATH.")
    var source: String
    @Argument(help: "The destination: SID:PATH, or a local file.")
    var destination: String

    /// `SID:PATH` when the text before the first `:` is a session id.
    static func remote(_ text: String) -> (sessionId: String, path: String)? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let sessionId = String(text[..<colon])
        guard Identifier.isValidSessionID(sessionId) else { return nil }
        return (sessionId, String(text[text.index(after: colon)...]))
    }

    func run() async throws {
        let client = try options.client()
        switch (Self.remote(source), Self.remote(destination)) {
        case (nil, let target?):
            let bytes = try ProcessEnvironment.readFile(source)
            guard bytes.count <= Limits.inlineFileMaxBytes else {
                throw ValidationError("\(source) has \(bytes.count) bytes; files are staged inline, at most \(Limits.inlineFileMaxBytes)")
            }
            let answer = try await reporting {
                try await client.stageFiles(target.sessionId, StageRequest(files: [StageFile(path: target.path, contentBase64: Base64.encode(bytes))]))
            }
            if let skipped = answer.skipped.first {
                ProcessEnvironment.printError("spawner: \(skipped.path): \(skipped.reason)")
                throw ExitCode(1)
            }
        case (let origin?, nil):
            let bytes = try await reporting { try await client.readFile(origin.sessionId, path: origin.path) }
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: destination))
            } catch {
                ProcessEnvironment.printError("spawner: cannot write \(destination): \(error)")
                throw ExitCode(1)
            }
        default:
            throw ValidationError("exactly one of the two must be SID:PATH")
        }
    }
}
