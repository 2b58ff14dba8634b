import Glibc

/// glibc's `mallopt`. `<malloc.h>` is not part of Swift's Glibc module, so the function is
/// looked up at run time and its parameters carry the header's values.
public enum MallocOption: CInt, Sendable {
    /// `M_TRIM_THRESHOLD`: free heap above this many bytes is returned to the kernel.
    case trimThreshold = -1
    /// `M_MMAP_THRESHOLD`: blocks of this many bytes or more get an `mmap` of their own.
    case mmapThreshold = -3
}

extension Syscall {
    private typealias Mallopt = @convention(c) (CInt, CInt) -> CInt

    /// `mallopt(option, value)`; false when refused or where the C library has no `mallopt`.
    @discardableResult
    public static func setMallocOption(_ option: MallocOption, _ value: CInt) -> Bool {
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        return unsafeBitCast(symbol, to: Mallopt.self)(option.rawValue, value) == 1
    }
}
