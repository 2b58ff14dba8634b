import Foundation
import RunnerProtocol
import Testing
import SpawnerClient
import TestSupport

/// The dev stack of `compose.yml`, as a user runs it: `up` with every compose command this
/// machine has (`docker compose`, Debian's `docker-compose` 1.29), then the host's `spawner`
/// CLI creates a session and runs `id` in it: in a sandbox container of its own, reached by the
/// containerized spawner (on the host's network) over the sandbox bridge; sandboxes reach
/// neither the spawner nor each other. A restart of the spawner's container keeps
/// the session; `spawner rm` removes its container and volumes.
extension DockerSuites {
    @Suite(.timeLimit(.minutes(15))) struct ComposeStackTests {
        /// `docker compose` (the v2 plugin) and `docker-compose` (v1), where installed.
        static var composeCommands: [[String]] {
            var commands: [[String]] = []
            if DockerCLI.runSync(["compose", "version"]).status == 0 { commands.append(["docker", "compose"]) }
            if DockerCLI.collectSync(DockerCLI.command(["docker-compose", "version"])).status == 0 { commands.append(["docker-compose"]) }
            return commands
        }

        @Test func stackRunsEachSessionInItsOwnContainer() async throws {
            try DockerTestEnvironment.require()
            let commands = Self.composeCommands
            if commands.isEmpty {
                Issue.record("neither `docker compose` nor `docker-compose` is installed (scripts/test-prereqs/docker.sh installs docker-compose)")
            }
            for command in commands { try await Self.endToEnd(command) }
        }

        static func endToEnd(_ compose: [String]) async throws {
            let directory = TestPaths.makeTempDir("compose-stack")
            defer { TestPaths.remove(directory) }
            let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().path
            try FileManager.default.copyItem(atPath: repository + "/compose.yml", toPath: directory + "/compose.yml")
            let secret = TestPaths.makeSecret()
            let secretFile = directory + "/.spawner-secret"
            FileManager.default.createFile(atPath: secretFile, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
            let project = "spawnertest\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
            let network = "spawner-compose-test"
            let port = try freePort()
            let scope = "test-compose-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SPAWNER_") }
            environment["SPAWNER_COMPOSE_PORT"] = String(port)
            environment["SPAWNER_COMPOSE_NETWORK"] = network
            environment["SPAWNER_COMPOSE_SCOPE"] = scope

            func command(_ arguments: [String]) -> DockerCLI.Command {
                DockerCLI.command(compose + ["-p", project, "-f", directory + "/compose.yml"] + arguments, environment: environment, directory: directory)
            }
            func run(_ arguments: [String]) async -> DockerCLI.Result { await DockerCLI.collect(command(arguments)) }
            let session = "demo-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
            let cli = HostCLI(baseURL: "http://127.0.0.1:\(port)", secretFile: secretFile)
            defer {
                _ = DockerCLI.collectSync(command(["down", "-v", "--remove-orphans"]))
                DockerCLI.removeAll(scope: scope)
                DockerCLI.runSync(["network", "rm", network])
            }

            let up = await run(["up", "-d", "--no-build"])
            #expect(up.status == 0, "\(compose) up: \(up.stderr)")
            guard try await waitForHealth(port: port) else {
                Issue.record("\(compose): the spawner did not answer on 127.0.0.1:\(port):\n\(await run(["logs"]).stdout.suffix(4000))")
                return
            }

            let created = try await cli.run(["create", session])
            if created.status != 0 { Issue.record("\(compose) logs:\n\(await run(["logs"]).stdout.suffix(3000))") }
            #expect(created.status == 0 && created.stdout == session + "\n", "\(created.stderr)")
            let id = try await cli.run(["exec", session, "--", "id"])
            #expect(id.status == 0)
            // The session's own uid (SPAWNER_AGENT_UIDS), named agent by the sandbox's passwd.
            let uid = id.stdout.split(separator: "=").dropFirst().first?.split(separator: "(").first.map(String.init) ?? ""
            #expect((UInt32(uid).map { (200_000...299_999).contains($0) } ?? false), "\(id.stdout)")
            #expect(id.stdout == "uid=\(uid)(agent) gid=\(uid)(agent) groups=\(uid)(agent)\n")
            let listed = try await cli.run(["ls", "--json"])
            #expect(listed.stdout.contains(#""backend":"docker""#))

            // Its own container on the sandbox network; the spawner's container is on the host's
            // network, listening on loopback, and the sandbox network passes no traffic between
            // containers.
            let sandbox = "sandbox-\(session)"
            #expect(await DockerCLI.format(sandbox, "{{.State.Running}} {{.HostConfig.NetworkMode}}") == "true \(network)")
            let spawnerContainer = await run(["ps", "-q", "spawner"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!spawnerContainer.isEmpty)
            #expect(await DockerCLI.format(spawnerContainer, "{{.HostConfig.NetworkMode}}") == "host")
            #expect(await DockerCLI.format(spawnerContainer, "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}") == "true [ALL]")
            let icc = await DockerCLI.run(["network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.enable_icc\"}}", network])
            #expect(icc.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "false")

            // Confined with nothing but `up`: from the sandbox, as the agent, neither the spawner
            // (its port on the host's bridge address) nor another sandbox (runnerd's port, an
            // agent's server) can be reached; the refusal is the sandbox's own, at once.
            let neighbour = session + "-n"
            #expect(try await cli.run(["create", neighbour]).status == 0)
            let client = SpawnerClient(baseURL: "http://127.0.0.1:\(port)", secret: Array(secret.utf8))
            try await NetworkProbe.startAgentListener(client, neighbour, port: 9000)
            let neighbourAddress = try await NetworkProbe.address("sandbox-\(neighbour)", on: network)
            let gateway = try await NetworkProbe.gateway(network)
            let targets = ["\(gateway):\(port)", "\(neighbourAddress):8200", "\(neighbourAddress):9000"]
            let outcomes = try await NetworkProbe.connect(client, session, targets)
            for target in targets { #expect(outcomes[target] == "ECONNREFUSED", "\(compose): \(target): \(outcomes[target] ?? "no answer")") }
            #expect(try await cli.run(["rm", neighbour]).status == 0)
            // The spawner's image runs no agents: there is no runnerd in it.
            #expect(await DockerCLI.run(["run", "--rm", "--entrypoint", "/bin/sh", DockerTestEnvironment.spawnerImage, "-c", "command -v runnerd || echo none"]).stdout == "none\n")

            // A restart of the spawner's container keeps the session, usable.
            #expect(await DockerCLI.run(["restart", spawnerContainer]).status == 0)
            #expect(try await waitForHealth(port: port))
            let again = try await cli.run(["exec", session, "--", "sh", "-c", "echo still here"])
            #expect(again.stdout == "still here\n", "\(again.stderr)")

            let removed = try await cli.run(["rm", session])
            #expect(removed.status == 0)
            #expect(await DockerCLI.leftovers(scope: scope) == [])
        }

        /// The way to keep sandboxes apart with a containerized spawner (docs/docker.md): the
        /// spawner on the host's network reaches them with inter-container traffic off; on a
        /// bridge network it refuses to start with ICC off, saying why.
        @Test func containerizedSpawnerOnTheHostNetworkKeepsSandboxesApart() async throws {
            try DockerTestEnvironment.require()
            let directory = TestPaths.makeTempDir("hostnet-spawner")
            defer { TestPaths.remove(directory) }
            let secret = TestPaths.makeSecret()
            FileManager.default.createFile(atPath: directory + "/secret", contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
            let scope = "test-hostnet-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
            let network = "spawner-test-hostnet"
            let name = "spawner-" + scope
            let port = try Self.freePort()
            defer {
                DockerCLI.runSync(["rm", "-f", name])
                DockerCLI.removeAll(scope: scope)
                DockerCLI.runSync(["network", "rm", network])
            }
            let common = [
                "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", "\(directory)/secret:/run/secrets/spawner_secret:ro",
                "-e", "SPAWNER_SECRET_FILE=/run/secrets/spawner_secret", "-e", "SPAWNER_DOCKER_NETWORK=\(network)",
                "-e", "SPAWNER_DOCKER_SCOPE=\(scope)", "-e", "SPAWNER_DOCKER_ICC=false",
                "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/var/lib/spawner", "--cap-drop", "ALL", "--cap-add", "DAC_READ_SEARCH",
                "--security-opt", "no-new-privileges",
            ]
            // On a bridge: refused.
            let bridged = await DockerCLI.run(["run", "--rm"] + common + [DockerTestEnvironment.spawnerImage])
            #expect(bridged.status != 0)
            #expect(bridged.stderr.contains("SPAWNER_DOCKER_ICC=true"), "\(bridged.stderr)")

            // On the host's network: serves, and its sandboxes sit on a network without ICC.
            let started = await DockerCLI.run(
                ["run", "-d", "--name", name, "--network", "host", "-e", "SPAWNER_LISTEN=127.0.0.1:\(port)"] + common + [DockerTestEnvironment.spawnerImage])
            #expect(started.status == 0, "\(started.stderr)")
            guard try await Self.waitForHealth(port: port) else {
                let logs = await DockerCLI.run(["logs", name]).stderr
                Issue.record("the spawner did not answer: \(logs.suffix(3000))")
                return
            }
            let cli = HostCLI(baseURL: "http://127.0.0.1:\(port)", secretFile: directory + "/secret")
            #expect(try await cli.run(["create", "hostnet"]).status == 0)
            let hostnetUID = try await cli.run(["exec", "hostnet", "--", "id", "-u"]).stdout
            #expect(UInt32(hostnetUID.trimmingCharacters(in: .newlines)).map { (200_000...299_999).contains($0) } == true, "\(hostnetUID)")
            let icc = await DockerCLI.run(["network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.enable_icc\"}}", network])
            #expect(icc.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "false")
            #expect(try await cli.run(["rm", "hostnet"]).status == 0)
            #expect(await DockerCLI.leftovers(scope: scope) == [])
        }

        /// The open `/healthz` answering, within a minute.
        static func waitForHealth(port: Int) async throws -> Bool {
            await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                await DockerCLI.collect(DockerCLI.command(["curl", "-fsS", "-o", "/dev/null", "-m", "2", "http://127.0.0.1:\(port)/healthz"])).status == 0
            }
        }

        /// A port nothing listens on right now.
        static func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard bound else { throw DockerTestEnvironment.DockerUnavailable(reason: "no free port") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }
}

/// The host's `spawner` CLI against a given spawner.
struct HostCLI {
    let baseURL: String
    let secretFile: String

    func run(_ arguments: [String]) async throws -> DockerCLI.Result {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SPAWNER_") }
        environment["SPAWNER_URL"] = baseURL
        environment["SPAWNER_SECRET_FILE"] = secretFile
        return await DockerCLI.collect(DockerCLI.command([TestPaths.spawner] + arguments, environment: environment))
    }
}
