import ConformanceKit

/// The rules the fault tests break, one at a time, and the checks each must make FAIL.
enum Faults {
    static func json(_ bytes: [UInt8]) -> JSON? { try? JSONParser.parse(bytes) }

    static func setting(_ value: JSON, _ key: String, _ new: JSON?) -> JSON {
        guard case .object(var members) = value else { return value }
        members[key] = new
        return .object(members)
    }

    /// Rewrites each event line with `transform` (nil: drop it).
    final class MapLines: LineRewriter {
        let transform: (JSON) -> [JSON]
        init(_ transform: @escaping (JSON) -> [JSON]) { self.transform = transform }
        func line(_ line: [UInt8]) -> [[UInt8]] {
            guard let event = Faults.json(line) else { return [line] }
            return transform(event).map(JSONWriter.bytes)
        }
        func end() -> [[UInt8]] { [] }
    }

    /// Holds back the first line and sends it after the second.
    final class SwapFirstTwo: LineRewriter {
        var held: [UInt8]?
        var count = 0
        func line(_ line: [UInt8]) -> [[UInt8]] {
            count += 1
            if count == 1 { held = line; return [] }
            if count == 2, let first = held { held = nil; return [line, first] }
            return [line]
        }
        func end() -> [[UInt8]] { held.map { [$0] } ?? [] }
    }

    /// Rewrites the JSON body of `POST /execs`.
    static func execRequest(_ rewrite: @escaping @Sendable (JSON) -> JSON) -> @Sendable (String, String, [(String, String)], [UInt8]) -> ([(String, String)], [UInt8]) {
        { method, path, headers, body in
            guard method == "POST", path == "/execs", let request = json(body) else { return (headers, body) }
            return (headers, JSONWriter.bytes(rewrite(request)))
        }
    }

    static func all(token: String) -> [Fault] {
        [
            Fault(name: "accepts any token", breaks: ["auth.missing-token", "auth.wrong-token"], request: { _, _, headers, body in
                (headers.filter { !["authorization", "x-runnerd-token"].contains($0.0.lowercased()) } + [("Authorization", "Bearer \(token)")], body)
            }),
            Fault(name: "reorders events", breaks: ["exec.events"], stream: { SwapFirstTwo() }),
            Fault(name: "skips a seq", breaks: ["exec.events"], stream: {
                MapLines { event in
                    guard let seq = event["seq"]?.uint, seq >= 2 else { return [event] }
                    return [setting(event, "seq", .integer(seq + 1))]
                }
            }),
            Fault(name: "sends an event after exit", breaks: ["exec.events"], stream: {
                MapLines { event in
                    guard event["t"]?.string == "exit", let seq = event["seq"]?.uint else { return [event] }
                    return [event, ["seq": .integer(seq + 1), "t": "stdout", "b64": "eA=="]]
                }
            }),
            Fault(name: "breaks the start event's schema", breaks: ["exec.events"], stream: {
                MapLines { event in event["t"]?.string == "start" ? [setting(event, "pid", nil)] : [event] }
            }),
            Fault(name: "drops gap", breaks: ["replay.gap"], stream: { MapLines { event in event["t"]?.string == "gap" ? [] : [event] } }),
            Fault(name: "leaks one byte past a cap", breaks: ["caps.at-boundary", "caps.clip-exact"], request: execRequest { request in
                guard let cap = request["stdoutMaxBytes"]?.int, cap > 0 else { return request }
                return setting(request, "stdoutMaxBytes", .integer(cap + 1))
            }),
            Fault(name: "never times out", breaks: ["timeout.kills"], request: execRequest { request in setting(request, "timeoutMs", 0) }),
            Fault(name: "accepts a bad stdin line", breaks: ["stdin.bad-line"], answer: { path, status, body in
                guard path.hasSuffix("/stdin"), json(body)?["reason"]?.string == "BAD_LINE" else { return (status, body) }
                return (status, Array(#"{"ok":true}"#.utf8))
            }),
            Fault(name: "denies nothing", breaks: ["env.denied"], answer: { path, status, body in
                guard path == "/env", let answer = json(body) else { return (status, body) }
                return (status, JSONWriter.bytes(setting(answer, "denied", [])))
            }),
            Fault(name: "reads outside the workspace", breaks: ["files.escapes"], answer: { path, status, body in
                guard path.hasPrefix("/fs/read"), (400..<500).contains(status) else { return (status, body) }
                return (200, Array("root:x:0:0:root:/root:/bin/sh\n".utf8))
            }),
        ]
    }
}
