import Foundation

// The parts of runnerd's requests, generated for the fuzz tests of runnerd and of the spawner
// (which proxies them): ids, paths, exec requests, stdin, env, files, terminals, signals.

extension FuzzInput {
    /// Ids of execs that the run keeps hitting (so attach, stdin, cancel and status meet live and
    /// finished execs), and ids that are not ids.
    public mutating func execId() -> String {
        switch int(0...9) {
        case 0..<6: return "fz\(int(0...47))"
        case 6: return String(repeating: "a", count: pick([64, 65, 1000]))
        case 7: return ""
        default: return text(maxPieces: 4)
        }
    }

    public mutating func execPath(_ action: String?) -> [UInt8] {
        var path = Array("/execs/".utf8) + urlPart(execId())
        if let action { path += Array("/\(action)".utf8) }
        return path
    }

    public mutating func query(_ name: String, _ value: String) -> [UInt8] {
        if chance(0.05) { return [] }
        var query = Array("?\(name)=".utf8) + urlPart(value)
        if chance(0.05) { query += Array("&\(name)=".utf8) + urlPart(text(maxPieces: 3)) }
        if chance(0.05) { query += Array("&&=&x".utf8) }
        return query
    }

    public mutating func sequenceNumber() -> String {
        chance(0.7) ? pick(Self.extremeNumbers + ["", " 1", "+1", "0x10", "1 ", "00000000000000000000001"]) : text(maxPieces: 3)
    }

    /// A workspace path: plain, nested, escaping, reserved, odd.
    public mutating func workspacePath() -> String {
        switch int(0...9) {
        case 0..<3: return pick(["", ".", "f.txt", "dir", "dir/sub/f.txt", "a b", "~", "-", ".runnerd", ".runnerd/execs"])
        case 3: return pick(["..", "../..", "/", "/etc/passwd", "/proc/self/environ", "dir/../../x", "/tmp"])
        case 4: return String(repeating: "d/", count: int(100...3000))
        default: return text(maxPieces: 6)
        }
    }

    /// Commands that are harmless whatever the generated arguments: nothing here can run for
    /// long, read stdin forever or reach outside the sandbox.
    public mutating func argv() -> [UInt8] {
        switch int(0...9) {
        case 0..<3: return array({ $0.jsonString($0.pick(["true", "echo", "printf", "false"])) }, maxCount: 1)
        case 3..<6:
            let command = pick(["echo", "printf", "true", "/bin/echo", "~not-a-command", "/nonexistent", "", "./nothing"])
            return [UInt8(ascii: "[")] + jsonString(command)
                + Array((0..<int(0...4)).flatMap { _ in [UInt8(ascii: ",")] + jsonString() }) + [UInt8(ascii: "]")]
        case 6: return Array("[]".utf8)
        default: return array({ $0.jsonString("~" + $0.text(maxPieces: 3)) }, maxCount: 3)
        }
    }

    /// Shell scripts that do nothing harmful: fixed ones, or generated text behind a comment.
    public mutating func shellScript() -> [UInt8] {
        if chance(0.5) { return jsonString(pick(["true", "echo fuzz", "exit 3", "printf '%s' \"$0\"", "echo $RUNNERD_TOKEN", ""])) }
        let junk = text().replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return jsonString("# " + junk)
    }

    /// Execs that start (so that attach, stdin, resize, signal and cancel meet live and finished
    /// ones), with one field sometimes replaced; otherwise anything at all.
    public mutating func execRequest() -> [UInt8] {
        if chance(0.4) {
            let id = jsonString("fz\(int(0...47))")
            var fields: [(String, [UInt8])] = [("execId", id), ("timeoutMs", Array("\(pick([0, 300, 1000]))".utf8)), ("stdoutMaxBytes", Array("0".utf8)), ("stderrMaxBytes", Array("0".utf8))]
            switch int(0...3) {
            case 0: fields.append(("command", Array(#"["true"]"#.utf8)))
            case 1: fields += [("shell", jsonString("read line; echo \"$line\"")), ("stdinMode", jsonString("hold")), ("timeoutMs", Array("300".utf8))]
            case 2: fields += [("shell", jsonString("echo tty; sleep 0.1")), ("pty", Array(#"{"cols":80,"rows":24}"#.utf8))]
            default: fields.append(("command", Array(#"["sleep","0.2"]"#.utf8)))
            }
            if chance(0.3) {
                let index = int(0...(fields.count - 1))
                fields[index].1 = chance(0.5) ? number() : wrongType()
            }
            // A repeated key: the decoder's choice, whichever it is, is still an answer.
            let members = fields.map { jsonString($0.0) + [UInt8(ascii: ":")] + $0.1 }
            return [UInt8(ascii: "{")] + Array(members.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "}")]
        }
        return object([
            ("execId", { $0.jsonString($0.execId()) }),
            ("command", { $0.argv() }),
            ("shell", { $0.shellScript() }),
            ("cwd", { $0.jsonString($0.workspacePath()) }),
            ("env", { $0.stringMap(key: { $0.chance(0.5) ? $0.pick(["FOO", "PATH", "HOME", "RUNNERD_X", "http_proxy", "A_B"]) : $0.text(maxPieces: 3) }, value: { $0.jsonString() }) }),
            ("timeoutMs", { $0.integerField(0...2_592_000_000) }),
            ("stdoutMaxBytes", { $0.integerField(0...Int64.max) }),
            ("stderrMaxBytes", { $0.integerField(0...Int64.max) }),
            ("killGraceMs", { $0.integerField(0...300_000) }),
            ("stdinMode", { $0.jsonString($0.pick(["close", "hold", "open", ""])) }),
            ("stdinBase64", { $0.base64() }),
            ("pty", { $0.terminalSize() }),
        ])
    }

    public mutating func base64() -> [UInt8] {
        switch int(0...5) {
        case 0..<3:
            let bytes = (0..<int(0...200)).map { _ in UInt8.random(in: 0...255, using: &random) }
            return jsonString(Data(bytes).base64EncodedString())
        case 3: return jsonString(Data((Array(#"{"a":1}"#.utf8) + [10])).base64EncodedString())
        case 4: return jsonString(String(repeating: "QUFB", count: pick([21_846, 262_144, 300_000])))
        default: return jsonString(text(maxPieces: 4))
        }
    }

    public mutating func stdinRequest() -> [UInt8] {
        object([("b64", { $0.base64() }), ("eof", { $0.chance(0.8) ? Array($0.pick(["true", "false"]).utf8) : $0.wrongType() })])
    }

    public mutating func envPatch() -> [UInt8] {
        object([
            ("set", { $0.stringMap(maxCount: 8, key: { $0.chance(0.5) ? $0.pick(["FOO", "PATH", "A1", "_", "1A", "A=B", ""]) : $0.text(maxPieces: 3) }, value: { $0.chance(0.03) ? $0.jsonString(String(repeating: "v", count: 40_000)) : $0.jsonString() }) }),
            ("unset", { $0.array({ $0.jsonString($0.chance(0.5) ? "FOO" : $0.text(maxPieces: 3)) }) }),
        ])
    }

    /// URLs that can only fail or stay on this machine: a closed loopback port, refused schemes.
    public mutating func stageURL() -> [UInt8] {
        jsonString(pick([
            "http://127.0.0.1:1/x", "https://127.0.0.1:1/", "http://[::1]:1/", "ftp://127.0.0.1/x", "file:///etc/passwd",
            "", "http://", "gopher://127.0.0.1:1/", "HTTP://127.0.0.1:1/y", "http://127.0.0.1:1/" + text(maxPieces: 3),
        ]))
    }

    public mutating func stageRequest() -> [UInt8] {
        object([
            ("files", {
                $0.array({ input in
                    input.object([
                        ("path", { $0.jsonString($0.workspacePath()) }),
                        ("contentBase64", { $0.base64() }),
                        ("url", { $0.stageURL() }),
                    ])
                }, maxCount: 4)
            })
        ])
    }

    public mutating func terminalSize() -> [UInt8] {
        object([("cols", { $0.integerField(1...1000) }), ("rows", { $0.integerField(1...1000) })])
    }

    /// Signal names, with and without `SIG`, in any case, and ones that are not signals.
    public mutating func signalRequest(anySignal: Bool) -> [UInt8] {
        let harmless = ["WINCH", "SIGWINCH", "cont", "SigCont"]
        let all = harmless + ["HUP", "INT", "QUIT", "TERM", "KILL", "USR1", "USR2", "STOP", "sigterm"]
        let invalid = ["", "SIG", "9", "-9", "SIGSEGV", "SEGV", "ABRT", "SIGKILLX", "kill ", "\u{0}KILL"]
        return object([("signal", { input in
            input.chance(0.6) ? input.jsonString(input.pick(anySignal ? all : harmless)) : input.chance(0.7) ? input.jsonString(input.pick(invalid)) : input.wrongType()
        })])
    }

    /// Process ids at every boundary, and ones that are not ids.
    public mutating func processId() -> String {
        pick(["0", "1", "-1", "2", "\(getpid())", "2147483647", "2147483648", "4294967296", "-2147483648", "99999999999999999999", "1e3", " 1", "abc", ""])
    }

    public mutating func deleteRequest() -> [UInt8] {
        object([("paths", { $0.array({ $0.jsonString($0.workspacePath()) }, maxCount: 4) })])
    }
}
