import SpawnerCore
/// The Engine API's JSON for the calls the docker backend makes (API 1.41, engine 20.10),
/// and nothing more: fields the backend does not read are not decoded.
enum DockerModels {
    /// `GET /version`.
    struct Version: Decodable, Sendable {
        var version: String
        var apiVersion: String
        var minAPIVersion: String?

        enum CodingKeys: String, CodingKey {
            case version = "Version"
            case apiVersion = "ApiVersion"
            case minAPIVersion = "MinAPIVersion"
        }
    }

    /// Any error answer: `{"message": ...}`.
    struct ErrorMessage: Decodable, Sendable {
        var message: String
    }

    // MARK: Containers

    /// `POST /containers/create`.
    struct ContainerCreate: Encodable, Sendable {
        var image: String
        var hostname: String?
        var env: [String]
        var labels: [String: String]
        var healthcheck: HealthConfig
        var stopSignal: String
        var stopTimeout: Int
        var hostConfig: HostConfig
        var networkingConfig: NetworkingConfig

        enum CodingKeys: String, CodingKey {
            case image = "Image"
            case hostname = "Hostname"
            case env = "Env"
            case labels = "Labels"
            case healthcheck = "Healthcheck"
            case stopSignal = "StopSignal"
            case stopTimeout = "StopTimeout"
            case hostConfig = "HostConfig"
            case networkingConfig = "NetworkingConfig"
        }
    }

    struct HealthConfig: Encodable, Sendable {
        /// `["NONE"]` turns the image's check off.
        var test: [String]
        enum CodingKeys: String, CodingKey { case test = "Test" }
    }

    struct HostConfig: Encodable, Sendable {
        var mounts: [Mount]
        var tmpfs: [String: String]
        var readonlyRootfs: Bool
        var capDrop: [String]
        var capAdd: [String]
        var securityOpt: [String]
        var memory: Int64
        var memorySwap: Int64
        var nanoCpus: Int64
        var pidsLimit: Int64
        var networkMode: String
        var restartPolicy: RestartPolicy
        var logConfig: LogConfig
        var initProcess: Bool

        enum CodingKeys: String, CodingKey {
            case mounts = "Mounts"
            case tmpfs = "Tmpfs"
            case readonlyRootfs = "ReadonlyRootfs"
            case capDrop = "CapDrop"
            case capAdd = "CapAdd"
            case securityOpt = "SecurityOpt"
            case memory = "Memory"
            case memorySwap = "MemorySwap"
            case nanoCpus = "NanoCpus"
            case pidsLimit = "PidsLimit"
            case networkMode = "NetworkMode"
            case restartPolicy = "RestartPolicy"
            case logConfig = "LogConfig"
            case initProcess = "Init"
        }
    }

    struct Mount: Encodable, Sendable {
        var type = "volume"
        var source: String
        var target: String
        var readOnly = false
        enum CodingKeys: String, CodingKey {
            case type = "Type"
            case source = "Source"
            case target = "Target"
            case readOnly = "ReadOnly"
        }
    }

    struct RestartPolicy: Encodable, Sendable {
        var name: String
        enum CodingKeys: String, CodingKey { case name = "Name" }
    }

    struct LogConfig: Encodable, Sendable {
        var type: String
        var config: [String: String]
        enum CodingKeys: String, CodingKey {
            case type = "Type"
            case config = "Config"
        }
    }

    struct NetworkingConfig: Encodable, Sendable {
        var endpointsConfig: [String: EndpointConfig]
        enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
    }

    struct EndpointConfig: Encodable, Sendable {}

    /// `POST /containers/create`'s answer.
    struct Created: Decodable, Sendable {
        var id: String
        enum CodingKeys: String, CodingKey { case id = "Id" }
    }

    /// `GET /containers/{id}/json`.
    struct ContainerInspect: Decodable, Sendable {
        var id: String
        var state: State
        var config: Config
        var networkSettings: NetworkSettings

        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case state = "State"
            case config = "Config"
            case networkSettings = "NetworkSettings"
        }

        struct State: Decodable, Sendable {
            var status: String
            var running: Bool
            var exitCode: Int?
            var oomKilled: Bool?
            enum CodingKeys: String, CodingKey {
                case status = "Status"
                case running = "Running"
                case exitCode = "ExitCode"
                case oomKilled = "OOMKilled"
            }
        }

        struct Config: Decodable, Sendable {
            var labels: [String: String]?
            enum CodingKeys: String, CodingKey { case labels = "Labels" }
        }
    }

    struct NetworkSettings: Decodable, Sendable {
        var networks: [String: Endpoint]?
        enum CodingKeys: String, CodingKey { case networks = "Networks" }
    }

    struct Endpoint: Decodable, Sendable {
        var ipAddress: String?
        enum CodingKeys: String, CodingKey { case ipAddress = "IPAddress" }
    }

    /// An entry of `GET /containers/json`.
    struct ContainerSummary: Decodable, Sendable {
        var id: String
        var names: [String]?
        var labels: [String: String]?
        var state: String
        var networkSettings: NetworkSettings?

        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case names = "Names"
            case labels = "Labels"
            case state = "State"
            case networkSettings = "NetworkSettings"
        }
    }

    // MARK: Volumes

    /// `POST /volumes/create`.
    struct VolumeCreate: Encodable, Sendable {
        var name: String
        var labels: [String: String]
        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case labels = "Labels"
        }
    }

    struct Volume: Decodable, Sendable {
        var name: String
        var labels: [String: String]?
        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case labels = "Labels"
        }
    }

    /// `GET /volumes`.
    struct VolumeList: Decodable, Sendable {
        var volumes: [Volume]?
        enum CodingKeys: String, CodingKey { case volumes = "Volumes" }
    }

    // MARK: Networks

    /// `POST /networks/create`.
    struct NetworkCreate: Encodable, Sendable {
        var name: String
        var checkDuplicate = true
        var driver = "bridge"
        var internalOnly: Bool
        var options: [String: String]
        var labels: [String: String]
        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case checkDuplicate = "CheckDuplicate"
            case driver = "Driver"
            case internalOnly = "Internal"
            case options = "Options"
            case labels = "Labels"
        }
    }

    /// `GET /networks/{id}`.
    struct Network: Decodable, Sendable {
        var id: String
        var name: String
        var driver: String?
        var internalOnly: Bool?
        var options: [String: String]?
        var containers: [String: NetworkMember]?
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case name = "Name"
            case driver = "Driver"
            case internalOnly = "Internal"
            case options = "Options"
            case containers = "Containers"
        }
    }

    struct NetworkMember: Decodable, Sendable {
        var ipv4Address: String?
        enum CodingKeys: String, CodingKey { case ipv4Address = "IPv4Address" }
    }

    /// `POST /networks/{id}/connect`.
    struct NetworkConnect: Encodable, Sendable {
        var container: String
        enum CodingKeys: String, CodingKey { case container = "Container" }
    }

    /// The part of `GET /containers/{id}/json` that says how the spawner's own container is networked.
    struct SelfInspect: Decodable, Sendable {
        var id: String
        var hostConfig: SelfHostConfig
        var networkSettings: NetworkSettings
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case hostConfig = "HostConfig"
            case networkSettings = "NetworkSettings"
        }
    }

    struct SelfHostConfig: Decodable, Sendable {
        var networkMode: String?
        enum CodingKeys: String, CodingKey { case networkMode = "NetworkMode" }
    }
}
