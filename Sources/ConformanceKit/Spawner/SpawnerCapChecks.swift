/// §2 caps: past a cap, 429 {"error":"…cap reached"} and nothing created.
enum SpawnerCapChecks {
    /// Creates sessions until `cap` of them count, expects the next create to be 429; deletes what it made.
    static func fill(_ t: SpawnerTarget, _ what: String, cap: Int, existing: Int, owner: (Int) -> String, org: (Int) -> String) async throws {
        var made: [String] = []
        do {
            for i in 0..<max(0, cap - existing) {
                let sid = t.sid("\(what)-\(i)")
                _ = try await t.create(sid, owner: owner(i), org: org(i))
                made.append(sid)
            }
            let over = t.sid("\(what)-over")
            let r = try await t.call("POST", "/v1/sessions", json: ["sessionId": .string(over), "owner": ["kind": "user", "id": .string(owner(cap))], "orgId": .string(org(cap))])
            if r.status == 201 { made.append(over) }
            try t.expectError(r, [429], "create past the \(what) cap of \(cap)")
            let error = try r.json("429")["error"]?.string ?? ""
            try expect(error.hasSuffix("cap reached"), "429 error \(error.debugDescription) does not say which cap was reached")
            let get = try await t.call("GET", "/v1/sessions/\(over)")
            try expect(get.status == 404, "the refused create left session \(over): \(get.status)")
        } catch {
            for sid in made { await t.delete(sid) }
            throw error
        }
        for sid in made { await t.delete(sid) }
    }

    static func all(_ t: SpawnerTarget, _ options: SpawnerOptions) -> [Check] {
        func caps(_ value: Int?) -> Feature? { value == nil ? .caps : nil }
        return [
            Check("caps.owner", "past the per-owner cap a create is 429 and makes nothing", feature: caps(options.ownerCap), timeout: .seconds(300)) {
                guard let cap = options.ownerCap else { throw CheckSkip("no --owner-cap") }
                try await fill(t, "own", cap: cap, existing: 0, owner: { _ in "cf-capped-\(t.runTag)" }, org: { "\(t.org)-o\($0)" })
            },
            Check("caps.org", "past the per-org cap a create is 429 and makes nothing", feature: caps(options.orgCap), timeout: .seconds(300)) {
                guard let cap = options.orgCap else { throw CheckSkip("no --org-cap") }
                try await fill(t, "org", cap: cap, existing: 0, owner: { "cf-o\($0)-\(t.runTag)" }, org: { _ in "\(t.org)-capped" })
            },
            Check("caps.total", "past the total cap a create is 429 and makes nothing", feature: caps(options.sessionCap), timeout: .seconds(300)) {
                guard let cap = options.sessionCap else { throw CheckSkip("no --session-cap") }
                let existing = try await t.json("GET", "/v1/sessions", schema: "SessionList")["sessions"]?.array?.count ?? 0
                try await fill(t, "tot", cap: cap, existing: existing, owner: { "cf-t\($0)-\(t.runTag)" }, org: { "\(t.org)-t\($0)" })
            },
        ]
    }
}
