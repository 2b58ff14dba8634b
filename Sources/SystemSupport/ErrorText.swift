import Glibc

extension SystemError {
    /// The C library's text for an errno (`strerror`), for messages meant for people.
    public static func text(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}
