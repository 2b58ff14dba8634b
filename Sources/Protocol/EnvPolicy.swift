/// Which environment names callers may set through the env store or an exec's `env`.
///
/// Denied: `HOME`, `PATH`, `TMPDIR`, any name ending in `_proxy` (either case) and the
/// `RUNNERD_` prefix. A name must also be a usable environment name: non-empty, no `=`, no NUL.
public enum EnvPolicy {
    public static func isDenied(_ name: String) -> Bool {
        if name == "HOME" || name == "PATH" || name == "TMPDIR" { return true }
        if name.hasPrefix("RUNNERD_") { return true }
        return name.lowercased().hasSuffix("_proxy")
    }

    /// Whether `name` can appear in an environment block at all.
    public static func isWellFormedName(_ name: String) -> Bool {
        !name.isEmpty && !name.utf8.contains(UInt8(ascii: "=")) && !name.utf8.contains(0)
    }

    /// Whether `name` may be set by a caller: well formed and not denied.
    public static func isAllowed(_ name: String) -> Bool {
        isWellFormedName(name) && !isDenied(name)
    }
}
