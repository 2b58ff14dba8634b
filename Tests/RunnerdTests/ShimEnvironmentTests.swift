import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// The exec shim starts as root, so it must never start with an environment a client chose:
/// runnerd spawns it with a fixed, empty one and the agent's environment reaches only the final
/// execve, after the uid change.
@Suite("exec shim environment", .enabled(if: Hardening.canRun, Hardening.skipReason), .timeLimit(.minutes(5)))
struct ShimEnvironmentTests {
    /// A library whose constructor appends "uid euid" of every process that loads it.
    static let marker = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        __attribute__((constructor)) static void mark(void) {
            const char *path = getenv("RD_MARKER_FILE");
            FILE *out = path ? fopen(path, "a") : NULL;
            if (out) { fprintf(out, "%d %d\\n", (int)getuid(), (int)geteuid()); fclose(out); }
        }

        """

    @Test func ldPreloadAndTunablesReachOnlyTheAgent() async throws {
        try Hardening.requireRoot()
        let scratch = RunnerdProcess.makeTempDir("shim-env")
        chmod(scratch, 0o755)
        try Self.marker.write(toFile: scratch + "/marker.c", atomically: false, encoding: .utf8)
        try HostCommand.succeed(["cc", "-shared", "-fPIC", "-o", scratch + "/marker.so", scratch + "/marker.c"])
        chmod(scratch + "/marker.so", 0o755)
        // Stands where the shim stands (root, dynamic, so LD_PRELOAD would load the marker into
        // it) and records the environment it was started with.
        let records = scratch + "/records"
        try FileManager.default.createDirectory(atPath: records, withIntermediateDirectories: false)
        try "#!/bin/sh\n/usr/bin/env > \(records)/$$\nexec \(ProductionShim.path) \"$@\"\n".write(
            toFile: scratch + "/shim", atomically: false, encoding: .utf8)
        chmod(scratch + "/shim", 0o755)
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_EXEC_SHIM": scratch + "/shim"])
        let markerLog = runnerd.workspace + "/marker.log"
        let client = [
            "LD_PRELOAD": scratch + "/marker.so", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0",
            "LD_LIBRARY_PATH": "/nonexistent", "RD_MARKER_FILE": markerLog,
        ]
        let result = try await runnerd.client.runShell("env", "echo \"$LD_PRELOAD|$GLIBC_TUNABLES|$LD_LIBRARY_PATH\"") {
            $0.env = client
        }
        // The agent's environment is the client's to choose: it arrives whole.
        #expect(result.stdoutText == "\(scratch)/marker.so|glibc.malloc.tcache_count=0|/nonexistent\n", "\(result.events)")

        // The shim's own environment holds none of it.
        let names = try FileManager.default.contentsOfDirectory(atPath: records)
        #expect(!names.isEmpty)
        for name in names {
            let environment = try String(contentsOfFile: records + "/" + name, encoding: .utf8)
            for variable in client.keys {
                #expect(!environment.contains(variable + "="), "the shim started with \(variable): \(environment)")
            }
            #expect(!environment.contains("RUNNERD_WORKSPACE="), "not even runnerd's own environment: \(environment)")
        }
        // The marker was loaded, and only ever by the agent's uid, never by a root process.
        let loads = try String(contentsOfFile: markerLog, encoding: .utf8).split(separator: "\n")
        #expect(!loads.isEmpty, "the agent's processes load LD_PRELOAD")
        #expect(loads.allSatisfy { $0 == "10001 10001" }, "\(loads)")
        await runnerd.stop()
    }
}
