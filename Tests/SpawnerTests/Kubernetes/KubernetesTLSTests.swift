import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

/// How the spawner reaches the API server: TLS verified against the cluster CA of the
/// configuration (a CA made in the test), a bearer token from the kubeconfig or a token file
/// (re-read, so a rotated token is picked up), a client certificate, or the in-cluster service
/// account. A CA that does not vouch for the server, or credentials the server refuses, stop
/// the spawner at boot with a message.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubernetesTLSTests {
    static func bootFailure(_ environment: [String: String]) async -> String {
        do {
            let spawner = try await SpawnerProcess.start(environment: environment)
            await spawner.tearDown()
            return "started"
        } catch let failure as SpawnerProcess.StartFailure {
            return failure.log
        } catch {
            return "\(error)"
        }
    }

    @Test func aCAThatDoesNotVouchForTheServerIsRefused() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            let stranger = try TestCA(name: "some other CA")
            let kubeconfig = try cluster.writeKubeconfig(caPEM: stranger.certificatePEM)
            let log = await Self.bootFailure(try cluster.spawnerEnvironment(kubeconfig: kubeconfig))
            #expect(log.contains("TLS handshake failed"), "\(log.suffix(2000))")
            #expect(cluster.double.records.isEmpty)
        }
    }

    @Test func aRefusedTokenStopsTheSpawnerWithAMessage() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            let kubeconfig = try cluster.writeKubeconfig(credentials: .none)
            let log = await Self.bootFailure(try cluster.spawnerEnvironment(kubeconfig: kubeconfig))
            #expect(log.contains("list pods in namespace spawner-sandboxes") && log.contains("unauthorized (401)"), "\(log.suffix(2000))")
            #expect(cluster.double.records.allSatisfy { $0.authorization == nil && $0.status == 401 })
        }
    }

    @Test func tokenFileAndCAFileAreReadAndARotatedTokenIsUsed() async throws {
        let rotated = "rotated-" + TestPaths.makeSecret().prefix(20)
        try await withTestCluster({ $0.tokens.insert(rotated) }) { (cluster: TestCluster) async throws in
            let kubeconfig = try cluster.writeKubeconfig(credentials: .tokenFile, inlineCA: false)
            try await withSpawner(environment: try cluster.spawnerEnvironment(kubeconfig: kubeconfig)) { (spawner: SpawnerProcess) async throws in
                _ = try await spawner.client.create("rotating")
                #expect(cluster.double.records.allSatisfy { $0.authorization == "Bearer \(cluster.token)" })
                let tokenFile = URL(fileURLWithPath: kubeconfig).deletingLastPathComponent().path + "/token"
                try rotated.write(toFile: tokenFile, atomically: true, encoding: .utf8)
                cluster.double.clearRecords()
                try await spawner.client.deleteSession("rotating")
                #expect(!cluster.double.records.isEmpty)
                #expect(cluster.double.records.allSatisfy { $0.authorization == "Bearer \(rotated)" })
            }
            await cluster.expectEmpty()
        }
    }

    @Test func clientCertificateAuthenticatesWithoutAToken() async throws {
        try await withTestCluster({ $0.tokens = []; $0.requireClientCertificate = true }) { (cluster: TestCluster) async throws in
            // Without the certificate the handshake itself fails.
            let log = await Self.bootFailure(try cluster.spawnerEnvironment(kubeconfig: try cluster.writeKubeconfig(credentials: .none)))
            #expect(log.contains("TLS handshake failed"), "\(log.suffix(2000))")

            let kubeconfig = try cluster.writeKubeconfig(credentials: .clientCertificate)
            try await withSpawner(environment: try cluster.spawnerEnvironment(kubeconfig: kubeconfig)) { (spawner: SpawnerProcess) async throws in
                _ = try await spawner.client.create("certified")
                #expect(try await spawner.client.runShell("certified", "e", "echo ok").stdoutText == "ok\n")
                try await spawner.client.deleteSession("certified")
            }
            #expect(!cluster.double.records.isEmpty)
            #expect(cluster.double.records.allSatisfy { $0.authorization == nil })
            await cluster.expectEmpty()
        }
    }

    @Test func anHTTPServerIsReachedWithoutTLSAndStillGetsTheToken() async throws {
        // kubectl proxy: the kubeconfig names an http:// server, so there is no TLS to set up.
        try await withTestCluster({ $0.plainHTTP = true }) { (cluster: TestCluster) async throws in
            let kubeconfig = try cluster.writeKubeconfig()
            #expect(try String(contentsOfFile: kubeconfig, encoding: .utf8).contains("server: http://127.0.0.1:"))
            try await withSpawner(environment: try cluster.spawnerEnvironment(kubeconfig: kubeconfig)) { (spawner: SpawnerProcess) async throws in
                _ = try await spawner.client.create("proxied")
                try await spawner.client.deleteSession("proxied")
            }
            #expect(!cluster.double.records.isEmpty)
            #expect(cluster.double.records.allSatisfy { $0.authorization == "Bearer \(cluster.token)" })
            await cluster.expectEmpty()
        }
    }

    @Test func inClusterServiceAccountAndItsNamespace() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            // No KUBECONFIG, no SPAWNER_K8S_NAMESPACE: the namespace file names it.
            try await withSpawner(environment: try cluster.inClusterEnvironment()) { (spawner: SpawnerProcess) async throws in
                let session = try await spawner.client.create("inside")
                #expect(session.backend == "kubernetes")
                #expect(await cluster.pod("inside") != nil)
                #expect(try await spawner.client.runShell("inside", "e", "echo in-cluster").stdoutText == "in-cluster\n")
                try await spawner.client.deleteSession("inside")
            }
            #expect(cluster.double.records.allSatisfy { $0.authorization == "Bearer \(cluster.token)" && $0.namespace == cluster.namespace })
            await cluster.expectEmpty()
        }
    }
}
