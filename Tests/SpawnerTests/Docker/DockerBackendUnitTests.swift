import Foundation
import RunnerProtocol
@testable import SpawnerCore
import SpawnerBackends
import SpawnerLocal
@testable import SpawnerDocker
import Testing

/// The docker backend's pure parts, with no engine: configuration, profiles, labels, the
/// container's configuration, the token archive and the engine client's encodings.
@Suite(.timeLimit(.minutes(2))) struct DockerBackendUnitTests {
    static let secret = Array("0123456789abcdef0123456789abcdef-secret".utf8)

    // MARK: Configuration

    @Test func dockerSettingsDefaultsAndEnvironment() throws {
        let defaults = try DockerSettings.resolve(environment: [:], secret: Self.secret)
        #expect(defaults.socketPath == "/var/run/docker.sock")
        #expect(defaults.image == "runnerd-sandbox:local")
        #expect(defaults.network == "spawner-sandboxes" && defaults.egressNetwork == "spawner-sandboxes-egress")
        #expect(!defaults.interContainerTraffic && !defaults.keepWorkspaces)
        #expect(defaults.selfContainer == .detect)
        #expect(defaults.scope == DockerSettings.defaultScope(secret: Self.secret))
        #expect(defaults.scope.count == 16)
        #expect(DockerSettings.defaultScope(secret: Self.secret + [1]) != defaults.scope)
        #expect(try DockerSettings.resolve(environment: ["SPAWNER_DOCKER_SCOPE": ""], secret: Self.secret).scope == defaults.scope)

        let set = try DockerSettings.resolve(
            environment: [
                "DOCKER_HOST": "unix:///run/user/1000/docker.sock", "SPAWNER_DOCKER_IMAGE": "sandbox:v2", "SPAWNER_DOCKER_NETWORK": "net-1",
                "SPAWNER_DOCKER_ICC": "true", "SPAWNER_DOCKER_KEEP_WORKSPACES": "1", "SPAWNER_DOCKER_SCOPE": "team-a", "SPAWNER_DOCKER_SELF": "none",
            ], secret: Self.secret)
        #expect(set.socketPath == "/run/user/1000/docker.sock")
        #expect(set.image == "sandbox:v2" && set.network == "net-1" && set.interContainerTraffic && set.keepWorkspaces)
        #expect(set.scope == "team-a" && set.selfContainer == .none)
        #expect(try DockerSettings.resolve(environment: ["SPAWNER_DOCKER_SELF": "compose-spawner-1"], secret: Self.secret).selfContainer == .named("compose-spawner-1"))
    }

    /// A create names the backend's image or one listed in SPAWNER_DOCKER_IMAGES, nothing else.
    @Test func imagesACreateMayName() throws {
        let defaults = try DockerSettings.resolve(environment: [:], secret: Self.secret)
        #expect(defaults.otherImages.listed.isEmpty)
        #expect(defaults.otherImages.problem("runnerd-sandbox:local", own: defaults.image) == nil)
        let refused = try #require(defaults.otherImages.problem("alpine:3", own: defaults.image))
        #expect(refused == "image alpine:3 is not allowed here (the backend's image, or one listed in SPAWNER_DOCKER_IMAGES)")

        let listed = try DockerSettings.resolve(
            environment: ["SPAWNER_DOCKER_IMAGE": "sandbox:v2", "SPAWNER_DOCKER_IMAGES": " sandbox:v1 ,,registry.local/sandbox@sha256:ab12, "],
            secret: Self.secret)
        #expect(listed.otherImages.listed == ["sandbox:v1", "registry.local/sandbox@sha256:ab12"])
        for image in ["sandbox:v2", "sandbox:v1", "registry.local/sandbox@sha256:ab12"] {
            #expect(listed.otherImages.problem(image, own: listed.image) == nil, "\(image)")
        }
        for image in ["runnerd-sandbox:local", "sandbox:v3", "sandbox", " sandbox:v1", ""] {
            #expect(listed.otherImages.problem(image, own: listed.image) != nil, "\(image)")
        }
        #expect(throws: SpawnerConfig.Invalid.self) {
            try DockerSettings.resolve(environment: ["SPAWNER_DOCKER_IMAGES": "a:1, b c:2"], secret: Self.secret)
        }
    }

    @Test(arguments: [
        ["DOCKER_HOST": "tcp://127.0.0.1:2375"], ["DOCKER_HOST": "ssh://host"], ["DOCKER_HOST": "unix://"], ["SPAWNER_DOCKER_ICC": "maybe"],
        ["SPAWNER_DOCKER_NETWORK": "bad name"], ["SPAWNER_DOCKER_SCOPE": "a/b"], ["SPAWNER_DOCKER_SELF": "x;y"],
    ])
    func dockerSettingsRefuse(_ environment: [String: String]) {
        #expect(throws: SpawnerConfig.Invalid.self) { try DockerSettings.resolve(environment: environment, secret: Self.secret) }
    }

    @Test func backendSelection() throws {
        func resolve(_ environment: [String: String]) throws -> SpawnerConfig {
            try SpawnerConfig.resolve(
                environment: environment.merging(["SPAWNER_SECRET": String(decoding: Self.secret, as: UTF8.self)]) { a, _ in a },
                flags: .init(), defaults: .init(dataDir: "/tmp/x", runnerdPath: "/tmp/runnerd"), readFile: { _ in [] })
        }
        #expect(try resolve([:]).backendName == "local")
        #expect(try resolve([:]).backend is LocalSettings)
        let docker = try resolve(["SPAWNER_BACKEND": "docker", "SPAWNER_DOCKER_NETWORK": "n"])
        #expect(docker.backendName == "docker" && (docker.backend as? DockerSettings)?.network == "n")
        #expect(throws: SpawnerConfig.Invalid.self) { try resolve(["SPAWNER_BACKEND": "podman"]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try resolve(["SPAWNER_BACKEND": "docker", "DOCKER_HOST": "tcp://x:1"]) }
    }

    // MARK: Profiles

    @Test func profilesFillInDefaultsAndAreChecked() throws {
        let profiles = try DockerProfiles.parse(Array(#"{"default": {}, "big": {"memoryMiB": 8192, "cpus": 4, "egress": true}}"#.utf8))
        #expect(profiles["default"] == .builtIn)
        let big = try #require(profiles["big"])
        #expect(big.memoryMiB == 8192 && big.cpus == 4 && big.egress && big.pids == DockerProfile.builtIn.pids && big.readOnlyRootfs)
        #expect(profiles.anyEgress)
        #expect(!DockerProfiles().anyEgress)
        for bad in [
            #"{"small": {}}"#, #"{"default": {"memoryMiB": 1}}"#, #"{"default": {"cpus": 0}}"#, #"{"default": {"pids": 2}}"#,
            #"{"default": {"tmpMiB": 4096}}"#, #"{"default": {}, "Bad Name": {}}"#, #"["default"]"#, #"{"default": {"memoryMiB": "lots"}}"#,
        ] {
            #expect(throws: SpawnerConfig.Invalid.self, "\(bad)") { try DockerProfiles.parse(Array(bad.utf8)) }
        }
    }

    // MARK: Labels and the container

    static let labels = SessionLabels(
        sessionId: "demo", owner: SessionOwner(kind: "user", id: "alice@example.com"), orgId: "org-a", profile: "default", image: nil,
        createdAtMs: 1_700_000_000_000, ttlMs: 3_600_000, idleTimeoutMs: 60_000)

    @Test func labelsRoundTripAndSayWhatTheyBelongTo() throws {
        let encoded = SandboxLabels.encode(Self.labels, scope: "s1", role: .sandbox, network: "net")
        #expect(SandboxLabels.decode(encoded) == Self.labels)
        #expect(encoded["spawner.expires-at-ms"] == "1700003600000")
        #expect(encoded["spawner.network"] == "net")
        #expect(SandboxLabels.belongs(encoded, to: "demo", scope: "s1"))
        #expect(!SandboxLabels.belongs(encoded, to: "demo", scope: "s2"))
        #expect(!SandboxLabels.belongs(encoded, to: "other", scope: "s1"))
        // A volume's labels say whose it is, not the session's facts.
        let volume = SandboxLabels.encode(Self.labels, scope: "s1", role: .workspace)
        #expect(volume == ["spawner.scope": "s1", "spawner.session": "demo", "spawner.role": "workspace"])
        #expect(SandboxLabels.decode(volume) == nil)
        var broken = encoded
        broken["spawner.created-at-ms"] = "yesterday"
        #expect(SandboxLabels.decode(broken) == nil)
    }

    @Test func containerConfigurationIsHardenedAndCarriesNoToken() throws {
        let token = Self.labels.runnerdToken(HMACSigner(secret: Self.secret))
        let sandbox = SandboxContainer(
            labels: Self.labels, profile: DockerProfile(memoryMiB: 512, cpus: 1.5, pids: 256, tmpMiB: 64, egress: false, readOnlyRootfs: true),
            image: "runnerd-sandbox:local", network: "net", scope: "s1", runnerdPort: 8200, killGraceMs: 2_000, logLevel: "info")
        let body = sandbox.createBody
        #expect(body.hostConfig.capDrop == ["ALL"])
        #expect(body.hostConfig.capAdd == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETPCAP", "SETUID"])
        #expect(body.hostConfig.securityOpt == ["no-new-privileges"])
        #expect(body.hostConfig.readonlyRootfs)
        #expect(body.hostConfig.memory == 512 << 20 && body.hostConfig.memorySwap == 512 << 20)
        #expect(body.hostConfig.nanoCpus == 1_500_000_000 && body.hostConfig.pidsLimit == 256)
        #expect(body.hostConfig.tmpfs == ["/tmp": "rw,nosuid,nodev,size=64m,mode=1777"])
        #expect(body.hostConfig.networkMode == "net" && body.networkingConfig.endpointsConfig.keys.sorted() == ["net"])
        #expect(body.hostConfig.mounts.map(\.source) == ["sandbox-demo-workspace", "sandbox-demo-runnerd"])
        #expect(body.hostConfig.mounts.map(\.target) == ["/agent", "/var/lib/runnerd"])
        #expect(body.healthcheck.test == ["NONE"])
        #expect(body.stopTimeout == 5)
        #expect(body.env.contains("RUNNERD_TOKEN_FILE=/var/lib/runnerd/token"))
        let json = String(decoding: try WireJSON.encode(body), as: UTF8.self)
        #expect(!json.contains(token))
        #expect(!json.contains("RUNNERD_TOKEN="))
        #expect(json.contains(#""CapDrop":["ALL"]"#) && json.contains(#""ReadonlyRootfs":true"#) && json.contains(#""Healthcheck":{"Test":["NONE"]}"#))
        #expect(SandboxContainer.hostname("-x") == "sandbox" && SandboxContainer.hostname("demo") == "demo")
    }

    @Test func tokenArchiveIsAReadOnlyRootFileThatTarUnpacks() throws {
        let archive = SandboxContainer.tokenArchive("the-token")
        #expect(archive.count == 512 * 4)
        let directory = TestPaths.makeTempDir("tar-test")
        defer { TestPaths.remove(directory) }
        try Data(archive).write(to: URL(fileURLWithPath: directory + "/token.tar"))
        let listed = DockerCLI.collectSync(DockerCLI.command(["tar", "-tvf", directory + "/token.tar", "--numeric-owner"]))
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.hasPrefix("-r-------- 0/0"))
        #expect(listed.stdout.contains(" 9 ") && listed.stdout.hasSuffix("token\n"))
        #expect(DockerCLI.collectSync(DockerCLI.command(["tar", "-xf", directory + "/token.tar", "-C", directory])).status == 0)
        #expect(FileManager.default.contents(atPath: directory + "/token") == Data("the-token".utf8))
    }

    // MARK: The engine client's encodings

    @Test func engineURLsFiltersAndVersions() {
        let engine = DockerEngine(socketPath: "/var/run/docker.sock", httpClient: .shared)
        #expect(engine.url("/containers/json", query: [("all", "true")]) == "http+unix://%2Fvar%2Frun%2Fdocker.sock/v1.41/containers/json?all=true")
        #expect(engine.url("/_ping", versioned: false) == "http+unix://%2Fvar%2Frun%2Fdocker.sock/_ping")
        #expect(DockerEngine.labelFilter(["spawner.scope": "s", "a": "b c"]) == #"{"label":["a=b c","spawner.scope=s"]}"#)
        #expect(PercentEncoding.queryValue(#"{"label":["a=b"]}"#) == "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D")
        #expect(DockerEngine.APIVersion("1.41")! < DockerEngine.APIVersion("1.43")!)
        #expect(DockerEngine.APIVersion("1.9")! < DockerEngine.APIVersion("1.41")!)
        #expect(DockerEngine.APIVersion("2") == nil && DockerEngine.APIVersion("x.y") == nil)
    }

    @Test func logStreamFramesAreStripped() {
        let frames: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 3] + Array("out".utf8) + [2, 0, 0, 0, 0, 0, 0, 4] + Array("err\n".utf8)
        #expect(DockerEngine.demultiplexed(frames) == Array("outerr\n".utf8))
        #expect(DockerEngine.demultiplexed(Array("plain text".utf8)) == Array("plain text".utf8))
    }

    @Test func ownContainerIsFoundFromTheHostnameMount() {
        let id = String(repeating: "0123456789abcdef", count: 4)
        let inside = """
            590 571 0:52 / / rw,relatime master:250 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
            598 590 254:0 /var/lib/docker/containers/\(id)/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw
            599 590 254:0 /var/lib/docker/containers/\(id)/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw
            """
        #expect(SandboxNetworks.ownContainerId(mountInfo: inside) == id)
        #expect(SandboxNetworks.ownContainerId(mountInfo: "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw") == nil)
    }
}
