import RunnerProtocol
@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct EnvStoreTests {
    @Test func setThenUnset() throws {
        var store = EnvStore()
        #expect(try store.apply(EnvPatch(set: ["A": "1", "B": "2"])) == [])
        #expect(store.entries == ["A": "1", "B": "2"])
        #expect(try store.apply(EnvPatch(set: ["A": "3"], unset: ["B", "NOT_THERE"])) == [])
        #expect(store.entries == ["A": "3"])
        #expect(try store.apply(EnvPatch()) == [])
        #expect(store.entries == ["A": "3"])
    }

    @Test func unsetRunsBeforeSet() throws {
        var store = EnvStore()
        _ = try store.apply(EnvPatch(set: ["A": "1"]))
        #expect(try store.apply(EnvPatch(set: ["A": "2"], unset: ["A"])) == [])
        #expect(store.entries == ["A": "2"])
    }

    @Test func deniedNamesAreReturnedSortedAndNotStored() throws {
        var store = EnvStore()
        let denied = try store.apply(EnvPatch(
            set: ["PATH": "/x", "HOME": "/h", "http_proxy": "p", "OK": "yes", "RUNNERD_TOKEN": "t", "No_Proxy": "n"],
            unset: ["TMPDIR", "HOME", "RUNNERD_X"]))
        #expect(denied == ["HOME", "No_Proxy", "PATH", "RUNNERD_TOKEN", "RUNNERD_X", "TMPDIR", "http_proxy"])
        #expect(store.entries == ["OK": "yes"])
    }

    @Test func entryCapRefusesTheWholePatch() throws {
        var store = EnvStore()
        let full = Dictionary(uniqueKeysWithValues: (0..<128).map { ("V\($0)", "x") })
        _ = try store.apply(EnvPatch(set: full))
        #expect(store.entries.count == 128)
        // Overwriting an existing name at the cap is fine.
        _ = try store.apply(EnvPatch(set: ["V0": "y"]))
        #expect(store.entries["V0"] == "y")
        let before = store.entries
        #expect(throws: EnvStore.PatchError.tooManyEntries(128)) {
            try store.apply(EnvPatch(set: ["V1": "changed", "NEW": "1"]))
        }
        #expect(store.entries == before)
        // Unsetting one makes room for one.
        _ = try store.apply(EnvPatch(set: ["NEW": "1"], unset: ["V5"]))
        #expect(store.entries.count == 128)
        #expect(store.entries["NEW"] == "1")
        #expect(store.entries["V5"] == nil)
    }

    @Test func valueCapRefusesTheWholePatch() throws {
        var store = EnvStore()
        _ = try store.apply(EnvPatch(set: ["KEEP": "old"]))
        let max = String(repeating: "v", count: 32 * 1024)
        _ = try store.apply(EnvPatch(set: ["MAX": max]))
        #expect(store.entries["MAX"]?.utf8.count == 32 * 1024)
        let before = store.entries
        let tooBig = String(repeating: "v", count: 32 * 1024 + 1)
        #expect(throws: EnvStore.PatchError.valueTooLarge("BIG")) {
            try store.apply(EnvPatch(set: ["BIG": tooBig, "A": "1", "B": "2", "KEEP": "new"], unset: ["MAX"]))
        }
        #expect(store.entries == before)
        // Bytes, not characters, are counted.
        let multiByte = String(repeating: "é", count: 16 * 1024 + 1)
        #expect(throws: EnvStore.PatchError.valueTooLarge("U")) { try store.apply(EnvPatch(set: ["U": multiByte])) }
        #expect(store.entries == before)
    }

    @Test func malformedNamesAndValuesRefuseThePatch() throws {
        var store = EnvStore()
        _ = try store.apply(EnvPatch(set: ["KEEP": "1"]))
        #expect(throws: EnvStore.PatchError.malformedName("A=B")) { try store.apply(EnvPatch(set: ["A=B": "x", "OK": "1"])) }
        #expect(throws: EnvStore.PatchError.malformedName("")) { try store.apply(EnvPatch(set: ["": "x"])) }
        #expect(throws: EnvStore.PatchError.malformedValue("N")) { try store.apply(EnvPatch(set: ["N": "a\u{0}b"])) }
        #expect(store.entries == ["KEEP": "1"])
    }

    @Test func smallerCapsAreHonoured() throws {
        var store = EnvStore(maxEntries: 2, maxValueBytes: 3)
        _ = try store.apply(EnvPatch(set: ["A": "abc", "B": ""]))
        #expect(throws: EnvStore.PatchError.tooManyEntries(2)) { try store.apply(EnvPatch(set: ["C": "1"])) }
        #expect(throws: EnvStore.PatchError.valueTooLarge("A")) { try store.apply(EnvPatch(set: ["A": "abcd"])) }
        #expect(store.entries == ["A": "abc", "B": ""])
    }

    @Test func childEnvironmentMergeOrder() throws {
        var store = EnvStore()
        _ = try store.apply(EnvPatch(set: ["B": "store", "D": "store-d", "C": "store-c"]))
        let base = ["A=base-a", "B=base-b", "PATH=/usr/bin", "HOME=/root", "NOEQUALS", "E=x=y", "http_proxy=base-proxy"]
        let request = ["C": "req-c", "F": "req-f", "PATH": "/evil", "HOME": "/evil", "HTTPS_PROXY": "evil",
                       "RUNNERD_TOKEN": "evil", "G=H": "bad", "": "bad"]
        let env = store.childEnvironment(base: base, request: request)
        #expect(env == [
            "A=base-a", "B=store", "PATH=/usr/bin", "HOME=/root", "E=x=y", "http_proxy=base-proxy",
            "C=req-c", "D=store-d", "F=req-f",
        ])
    }

    @Test func childEnvironmentWithoutOverlays() {
        let store = EnvStore()
        #expect(store.childEnvironment(base: ["A=1", "B="], request: nil) == ["A=1", "B="])
        #expect(store.childEnvironment(base: [], request: [:]) == [])
        #expect(store.childEnvironment(base: [], request: ["X": "1"]) == ["X=1"])
    }
}
