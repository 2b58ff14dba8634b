import ArgumentParser
import Foundation
import RunnerProtocol
import SpawnerClient

/// `spawner create`.
struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a session and wait until it is ready; prints its id.")

    @OptionGroup var options: ClientOptions
    @Argument(help: "The session id ([a-z0-9-]{1,63}); the spawner picks one when omitted.")
    var sessionId: String?
    @Option(help: ArgumentHelp("The owner as kind:id (default user:$USER).", valueName: "kind:id"))
    var owner: String?
    @Option(help: "The org (default local).")
    var org = "local"
    @Option(help: "The sandbox profile.")
    var profile: String?
    @Option(help: "The sandbox image (container backends).")
    var image: String?
    @Option(help: "Destroy the session this many ms after its creation.")
    var ttlMs: Int64?
    @Option(help: "Destroy the session after this many idle ms with no running exec (0: never).")
    var idleTimeoutMs: Int64?
    @Option(name: .customLong("env"), help: ArgumentHelp("Seed the session env store (repeatable).", valueName: "NAME=value"))
    var env: [String] = []
    @Flag(help: "Print the session as JSON.")
    var json = false

    func run() async throws {
        let ownerText = owner ?? "user:\(ProcessEnvironment.current["USER"] ?? "local")"
        guard let colon = ownerText.firstIndex(of: ":") else { throw ValidationError("--owner must be kind:id") }
        let request = CreateSessionRequest(
            sessionId: sessionId, owner: SessionOwner(kind: String(ownerText[..<colon]), id: String(ownerText[ownerText.index(after: colon)...])),
            orgId: org, profile: profile, image: image, env: env.isEmpty ? nil : try parseAssignments(env), ttlMs: ttlMs,
            idleTimeoutMs: idleTimeoutMs)
        let client = try options.client()
        let info = try await reporting { try await client.createSession(request) }
        if json {
            ProcessEnvironment.write(1, try WireJSON.encode(info) + [UInt8(ascii: "\n")])
        } else {
            print(info.sessionId)
        }
    }
}

/// `spawner ls`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List sessions.")

    @OptionGroup var options: ClientOptions
    @Option(help: "Only the sessions of this org.")
    var org: String?
    @Flag(help: "Print the sessions as JSON.")
    var json = false

    func run() async throws {
        let client = try options.client()
        let sessions = try await reporting { try await client.listSessions(orgId: org) }
        if json {
            ProcessEnvironment.write(1, try WireJSON.encode(SessionList(sessions: sessions)) + [UInt8(ascii: "\n")])
            return
        }
        let now = SpawnerClient.epochMs()
        var rows = [["SESSION", "STATE", "OWNER", "ORG", "PROFILE", "BACKEND", "AGE", "IDLE", "EXPIRES IN"]]
        for session in sessions {
            rows.append([
                session.sessionId, session.state.rawValue, session.owner.description, session.orgId, session.profile, session.backend,
                Self.duration(now - session.createdAtMs), Self.duration(now - session.lastActivityAtMs),
                Self.duration(session.expiresAtMs - now),
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }

    static func duration(_ ms: Int64) -> String {
        let seconds = max(ms, 0) / 1000
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }
}

/// `spawner rm`.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Destroy sessions (their runnerd, processes and workspace); gone ones are fine.")

    @OptionGroup var options: ClientOptions
    @Argument(help: "Session ids.")
    var sessionIds: [String]

    func validate() throws {
        if sessionIds.isEmpty { throw ValidationError("name at least one session") }
    }

    func run() async throws {
        let client = try options.client()
        for sessionId in sessionIds {
            try await reporting { try await client.deleteSession(sessionId) }
        }
    }
}
