#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one place wire JSON is encoded and decoded (FoundationEssentials only, so runnerd never
/// links full Foundation).
public enum WireJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Decodes, distinguishing a body that is not JSON at all from JSON of the wrong shape.
    public static func decodeRequest<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) -> Result<T, RequestDecodingError> {
        do {
            return .success(try JSONDecoder().decode(type, from: Data(bytes)))
        } catch let error as OutOfRange {
            return .failure(.outOfRange(error.message))
        } catch let error as DecodingError {
            switch error {
            case .dataCorrupted(let context) where context.codingPath.isEmpty:
                return .failure(.malformed("body is not valid JSON"))
            case .keyNotFound(let key, let context):
                return .failure(.invalid("missing field \(path(context.codingPath + [key]))"))
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return .failure(.invalid("bad value at \(path(context.codingPath)): \(context.debugDescription)"))
            @unknown default:
                return .failure(.malformed("\(error)"))
            }
        } catch {
            return .failure(.malformed("\(error)"))
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "body" : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Why a request body could not become the expected type.
public enum RequestDecodingError: Error, Equatable, Sendable {
    /// Not JSON at all (syntax error, empty body).
    case malformed(String)
    /// JSON, but not of the expected shape (missing field, wrong type).
    case invalid(String)
    /// A number outside the range of its field (`Bounds`): always a `400`.
    case outOfRange(String)

    public var message: String {
        switch self {
        case .malformed(let m), .invalid(let m), .outOfRange(let m): m
        }
    }
}
