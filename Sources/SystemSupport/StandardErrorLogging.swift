import Logging

/// The logging both daemons use: swift-log's stream handler on stderr at one level.
public enum StandardErrorLogging {
    /// Bootstraps swift-log once, at `level` (`trace` … `critical`; unknown names mean `info`).
    public static func bootstrap(level name: String) {
        let level = Logger.Level(rawValue: name) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
