import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// SHA-256 as lowercase hex, for fingerprints (the exec journal's argv digest, request bodies).
public enum Digest {
    public static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        HMACSigner.hex(SHA256.hash(data: Array(bytes)))
    }
}
