import Foundation

/// The exec shim the tests run: the production build (`scripts/build-shim`, static-pie), next to
/// the runnerd under test, where runnerd looks for it. `scripts/test` builds it before the tests
/// (scripts/test-prereqs/exec-shim.sh); a bare `swift test` gets it built here, once, when it is
/// missing or older than its sources.
enum ProductionShim {
    static var repositoryRoot: String {
        // Tests/RunnerdTests/Support/ProductionShim.swift
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }

    static var path: String {
        URL(fileURLWithPath: RunnerdProcess.binary).deletingLastPathComponent().appendingPathComponent("runnerd-exec-shim").path
    }

    struct BuildFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Builds the shim if needed; the outcome of the first call is the outcome of every call.
    static func ensure() throws {
        try built.get()
    }

    private static let built: Result<Void, BuildFailure> = {
        let sources = repositoryRoot + "/Sources/RunnerdExecShim"
        // Every file under it, the policy/ sources included.
        let newestSource = (FileManager.default.subpaths(atPath: sources) ?? [])
            .compactMap { modified(sources + "/" + $0) }.max() ?? .distantPast
        if let built = modified(path), built >= newestSource { return .success(()) }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try HostCommand.succeed(["bash", repositoryRoot + "/scripts/build-shim", directory])
        } catch {
            return .failure(BuildFailure(description: "\(error)"))
        }
        return .success(())
    }()

    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// Whether the ELF file at `path` names no program interpreter (PT_INTERP): a static
    /// executable, as scripts/build-shim makes it; SwiftPM's build would be dynamic.
    static func isStaticExecutable(_ path: String) throws -> Bool {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func integer(_ offset: Int, _ size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        guard bytes.count > 64, bytes[0..<4] == [0x7f, 0x45, 0x4c, 0x46], bytes[4] == 2 else { return false }
        let headers = integer(0x20, 8), size = integer(0x36, 2), count = integer(0x38, 2)
        for index in 0..<count where headers + index * size + 4 <= bytes.count {
            if integer(headers + index * size, 4) == 3 { return false }  // PT_INTERP
        }
        return true
    }
}
