import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// Offline validation against the Kubernetes schemas (`kubernetes-validate --strict`, installed
/// by scripts/test-prereqs/kubernetes.sh): the manifests in deploy/kubernetes/, and the Pod,
/// Secret and claim the backend actually sent to the API double. A control with an unknown
/// field must fail, so the validator is known to run.
@Suite(.serialized, .timeLimit(.minutes(5))) struct KubernetesSchemaTests {
    /// Runs the validator on `files`; its exit status and output.
    /// (Started through TestSupport's `ChildProcess`, SystemSupport's posix_spawn: Foundation's
    /// `Process.run()` crashed the test process under concurrent launches.)
    static func validate(_ files: [String]) throws -> (status: Int32, output: String) {
        let outputPath = TestPaths.makeTempDir("k8s-validate") + "/output"
        let process = try ChildProcess(
            ["/usr/bin/env", "python3", "-m", "kubernetes_validate", "--strict", "--no-warn"] + files,
            environment: ProcessInfo.processInfo.environment, stdout: .file(outputPath), stderr: .file(outputPath))
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, output)
    }

    static var manifestFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: TestCluster.manifests)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { TestCluster.manifests + "/" + $0 }
    }

    @Test func deployManifestsValidate() throws {
        let files = Self.manifestFiles
        #expect(files.count >= 5, "manifests: \(files)")
        let (status, output) = try Self.validate(files)
        #expect(status == 0, "\(output)")
        for kind in ["namespace", "serviceaccount", "role", "rolebinding", "deployment", "service", "networkpolicy", "configmap"] {
            #expect(output.contains("resource \(kind)/"), "no \(kind) validated: \(output)")
        }
    }

    @Test func theValidatorRejectsAnUnknownField() throws {
        let scratch = TestPaths.makeTempDir("k8s-schema")
        defer { TestPaths.remove(scratch) }
        try "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: c, image: i}]\n  restartPolicyy: Never\n"
            .write(toFile: scratch + "/bad.yaml", atomically: true, encoding: .utf8)
        let (status, output) = try Self.validate([scratch + "/bad.yaml"])
        #expect(status != 0, "\(output)")
        #expect(output.contains("restartPolicyy"), "\(output)")
    }

    @Test func theObjectsTheBackendSendsValidate() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await withSpawner(environment: try cluster.spawnerEnvironment()) { (spawner: SpawnerProcess) async throws in
                _ = try await spawner.client.createSession(
                    CreateSessionRequest(sessionId: "schema", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "storage"))
                _ = try await spawner.client.createSession(
                    CreateSessionRequest(sessionId: "open", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "egress"))
                // Exactly as the backend sent them (the double adds uids and status).
                let objects = cluster.double.records.compactMap(\.sent)
                #expect(objects.count == 5)
                let scratch = TestPaths.makeTempDir("k8s-objects")
                defer { TestPaths.remove(scratch) }
                var files: [String] = []
                for (index, object) in objects.enumerated() {
                    let path = scratch + "/object-\(index).json"
                    try Data(object.bytes).write(to: URL(fileURLWithPath: path))
                    files.append(path)
                }
                let (status, output) = try Self.validate(files)
                #expect(status == 0, "\(output)")
                #expect(output.components(separatedBy: "passed for resource").count - 1 == 5, "\(output)")
                try await spawner.client.deleteSession("schema")
                try await spawner.client.deleteSession("open")
            }
        }
    }
}
