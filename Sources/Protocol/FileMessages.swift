/// One file of `POST /files/stage`: inline content or a URL to fetch (exactly one).
public struct StageFile: Codable, Equatable, Sendable {
    public var path: String
    public var contentBase64: String?
    public var url: String?
    public init(path: String, contentBase64: String? = nil, url: String? = nil) {
        self.path = path
        self.contentBase64 = contentBase64
        self.url = url
    }
}

/// `POST /files/stage`.
public struct StageRequest: Codable, Equatable, Sendable {
    public var files: [StageFile]
    public init(files: [StageFile]) { self.files = files }
}

/// A path an operation did not act on, and why.
public struct SkippedPath: Codable, Equatable, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// A staged file and its size.
public struct StagedFile: Codable, Equatable, Sendable {
    public var path: String
    public var bytes: Int64
    public init(path: String, bytes: Int64) {
        self.path = path
        self.bytes = bytes
    }
}

/// Answer to `POST /files/stage`: per file, staged or skipped.
public struct StageResponse: Codable, Equatable, Sendable {
    public var staged: [StagedFile]
    public var skipped: [SkippedPath]
    public init(staged: [StagedFile] = [], skipped: [SkippedPath] = []) {
        self.staged = staged
        self.skipped = skipped
    }
}

/// `POST /files/delete`.
public struct DeleteRequest: Codable, Equatable, Sendable {
    public var paths: [String]
    public init(paths: [String]) { self.paths = paths }
}

/// Answer to `POST /files/delete`.
public struct DeleteResponse: Codable, Equatable, Sendable {
    public var deleted: [String]
    public var skipped: [SkippedPath]
    public init(deleted: [String] = [], skipped: [SkippedPath] = []) {
        self.deleted = deleted
        self.skipped = skipped
    }
}

/// One entry of `GET /fs/list`.
public struct DirectoryEntry: Codable, Equatable, Sendable {
    public enum EntryType: String, Codable, Sendable {
        case file, dir, other
    }

    public var name: String
    public var type: EntryType
    public var size: Int64
    public var mtimeMs: Int64
    public init(name: String, type: EntryType, size: Int64, mtimeMs: Int64) {
        self.name = name
        self.type = type
        self.size = size
        self.mtimeMs = mtimeMs
    }
}

/// Answer to `GET /fs/list`.
public struct DirectoryListing: Codable, Equatable, Sendable {
    public var entries: [DirectoryEntry]
    public init(entries: [DirectoryEntry]) { self.entries = entries }
}

/// The `reason`s of skipped paths, named once.
public enum SkipReason {
    public static let escapesWorkspace = "path escapes the workspace"
    public static let notFound = "not found"
    public static let isDirectory = "is a directory"
    public static let notADirectory = "a parent is not a directory"
    public static let reserved = "path is reserved for runnerd"
    public static let emptyPath = "path names the workspace root"
    public static let oneSource = "exactly one of contentBase64 and url is required"
    public static let invalidBase64 = "contentBase64 is not valid base64"
    public static let inlineTooLarge = "inline content exceeds 1 MiB"
    public static let urlScheme = "url must be http or https"
    public static let fetchTooLarge = "download exceeds 100 MiB"
    public static let tooManyLinks = "too many levels of symbolic links"
    public static let nulByte = "path contains a NUL byte"
    public static let changing = "path changed during the operation"
    public static let tooDeep = "path is nested too deeply"
    public static let nameTooLong = "a path component is longer than 255 bytes"
}
