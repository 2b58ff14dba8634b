import SystemSupport

/// glibc malloc settings for a process that moves tens of MB per second through buffers of
/// 64–192 KB (runnerd output lines framed as SSE messages). By default glibc serves blocks of
/// 128 KB and more with fresh `mmap`s and trims its heap eagerly, so such a buffer costs page
/// faults on first touch and an `munmap` on free: measured on the exec proxy, ~54 000 faults
/// and a fifth of the spawner's CPU per GB. With a 4 MiB mmap threshold and a 64 MiB trim
/// threshold freed buffers are reused instead; the price is up to 64 MiB of freed heap kept.
public enum MallocTuning {
    public static let mmapThreshold: CInt = 4 << 20
    public static let trimThreshold: CInt = 64 << 20

    /// Applies the settings (glibc only; a no-op where `mallopt` does not exist). Returns
    /// whether both were accepted. Call first thing in `main`.
    @discardableResult
    public static func apply() -> Bool {
        Syscall.setMallocOption(.mmapThreshold, mmapThreshold) && Syscall.setMallocOption(.trimThreshold, trimThreshold)
    }
}
