import CRunnerdShim
import Glibc

/// Runs file operations under another uid/gid on the calling thread only: Linux checks file
/// access against the thread's filesystem ids, and `setfsuid`/`setfsgid` change them for one
/// thread (glibc does not broadcast them). Moving the fsuid away from 0 also drops the thread's
/// CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER and CAP_CHOWN; moving it back restores them.
/// So a root daemon can open a path exactly as the user it acts for could, and create files
/// that user owns, while its other threads stay root.
public struct FilesystemIdentity: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Runs `body` with this identity on the calling thread and restores the thread's previous
    /// ids afterwards. `body` must not suspend (it runs on this thread from start to end).
    public func run<T>(_ body: () -> T) throws(Failure) -> T {
        let previousGID = cshim_setfsgid(gid)
        let previousUID = cshim_setfsuid(uid)
        defer {
            _ = cshim_setfsuid(UInt32(bitPattern: previousUID))
            _ = cshim_setfsgid(UInt32(bitPattern: previousGID))
        }
        // setfsuid reports no error: it returns the previous id whether or not it changed. A
        // second call answers the id now in force.
        guard cshim_setfsuid(uid) == Int32(bitPattern: uid), cshim_setfsgid(gid) == Int32(bitPattern: gid) else {
            throw Failure(description: "cannot take filesystem ids \(uid):\(gid) (needs CAP_SETUID and CAP_SETGID)")
        }
        return body()
    }
}
