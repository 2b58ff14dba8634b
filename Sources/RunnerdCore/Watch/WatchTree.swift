/// Which inotify watch is which directory of a watched tree, by path relative to the workspace.
///
/// Directories keep their watch when renamed inside the tree: a rename re-labels the watch and
/// every watch below it. A directory removed or moved out of the tree loses its watches.
struct WatchTree {
    private(set) var paths: [Int32: String] = [:]
    private var watches: [String: Int32] = [:]

    var count: Int { paths.count }

    mutating func add(_ watch: Int32, path: String) {
        if let old = paths[watch] { watches.removeValue(forKey: old) }
        if let other = watches[path], other != watch { paths.removeValue(forKey: other) }
        paths[watch] = path
        watches[path] = watch
    }

    /// Forgets a watch the kernel dropped (`IN_IGNORED`).
    mutating func remove(_ watch: Int32) {
        guard let path = paths.removeValue(forKey: watch) else { return }
        if watches[path] == watch { watches.removeValue(forKey: path) }
    }

    func watch(at path: String) -> Int32? { watches[path] }

    /// The watches at `path` and below it.
    func subtree(_ path: String) -> [Int32] {
        paths.compactMap { watch, candidate in Self.isWithin(candidate, path) ? watch : nil }
    }

    /// Re-labels the watches at `from` and below as at `to`.
    mutating func move(from: String, to: String) {
        let moved = paths.filter { Self.isWithin($0.value, from) }
        for (watch, path) in moved { watches.removeValue(forKey: path) }
        for (watch, path) in moved {
            let renamed = to + path.dropFirst(from.count)
            paths[watch] = renamed
            watches[renamed] = watch
        }
    }

    /// `name` in the directory of `watch`; nil for an unknown watch.
    func path(of watch: Int32, _ name: String) -> String? {
        guard let directory = paths[watch] else { return nil }
        return Self.join(directory, name)
    }

    static func join(_ directory: String, _ name: String) -> String {
        if name.isEmpty { return directory }
        return directory.isEmpty ? name : directory + "/" + name
    }

    static func isWithin(_ path: String, _ ancestor: String) -> Bool {
        ancestor.isEmpty || path == ancestor || path.hasPrefix(ancestor + "/")
    }
}
