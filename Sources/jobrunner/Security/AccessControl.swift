import CSystemSupport
import Crypto
import Foundation
import JobModel
import Synchronization

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `::1/128`, a bare address).
/// IPv4 is held as IPv4-mapped IPv6, so `127.0.0.1` also matches a client seen as
/// `::ffff:127.0.0.1` on a dual-stack socket.
struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    var bytes: [UInt8]
    var prefixLength: Int
    var description: String

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let (bytes, family) = Self.parseAddress(String(parts[0])) else { return nil }
        let width = family == 4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...width).contains(n), parts[1].allSatisfy(\.isASCII) else { return nil }
            length = n
        }
        self.bytes = bytes
        self.prefixLength = family == 4 ? length + 96 : length
        self.description = text
    }

    /// The 16 bytes of an address and its family (4 or 6), or nil.
    static func parseAddress(_ text: String) -> ([UInt8], Int)? {
        var out = [UInt8](repeating: 0, count: 16)
        let family = out.withUnsafeMutableBufferPointer { csys_parse_ip(text, $0.baseAddress) }
        return family == 0 ? nil : (out, Int(family))
    }

    func contains(_ address: [UInt8]) -> Bool {
        var remaining = prefixLength
        for i in 0..<16 where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[i] & mask != bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

/// `security.allowedClients`: the peers that may talk to the API at all.
struct ClientAllowList: Sendable {
    var networks: [IPNetwork]?

    /// Whether a peer (its address as text, e.g. from `SocketAddress.ipAddress`) may connect.
    /// `nil` networks allow everyone; an unknown or unparsable address is refused.
    func allows(_ address: String?) -> Bool {
        guard let networks else { return true }
        guard let address, let (bytes, _) = IPNetwork.parseAddress(address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }
}

/// What a token may do: `read` (GET) and `launch` (POST, cancel).
enum TokenScope: String, Codable, Sendable, CaseIterable {
    case read, launch
}

/// The tokens file (`security.tokensFile`): token ids, SHA-256 hashes of the tokens and
/// their scopes — never a token itself.
struct TokensFile: Codable, Sendable {
    struct Entry: Codable, Sendable {
        var id: String
        var sha256: String
        var scopes: [TokenScope]
        var createdAt: String
    }
    var tokens: [Entry] = []

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads `path`; a missing file is an empty list only when `missingIsEmpty`.
    static func load(_ path: String, missingIsEmpty: Bool = false) throws(LoadError) -> TokensFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            if missingIsEmpty, !FileManager.default.fileExists(atPath: path) { return TokensFile() }
            throw LoadError(description: "cannot read the tokens file \(path)")
        }
        let file: TokensFile
        do {
            file = try JSONDecoder().decode(TokensFile.self, from: data)
        } catch {
            throw LoadError(description: "the tokens file \(path) is not valid: \(error)")
        }
        for entry in file.tokens where entry.sha256.count != 64 || entry.sha256.contains(where: { !$0.isHexDigit }) {
            throw LoadError(description: "token '\(entry.id)' in \(path) has no valid sha256 (64 hex digits)")
        }
        return file
    }

    /// Writes the file atomically, readable by its owner only.
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(10)
        do {
            try OutputFile.write(data, toAtomicPath: path, mode: 0o600)
        } catch {
            throw TokensFile.LoadError(description: "cannot write \(path): \(error)")
        }
    }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// A new random token: `jrt_` and 32 random bytes in hex.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return "jrt_" + hex((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// Checks bearer tokens against `security.tokensFile`, re-reading the file when it
/// changes (at most once a second), so that `jobrunner token add` takes effect without a
/// restart. A file that became unreadable keeps the tokens last read (and is logged).
final class TokenAuthority: Sendable {
    let path: String
    private struct Loaded {
        var entries: [(id: String, hash: [UInt8], scopes: Set<TokenScope>)] = []
        var modified: Date?
        var checked = ContinuousClock.now
        var lastError: String?
    }
    private let state: Mutex<Loaded>

    init(path: String) throws(TokensFile.LoadError) {
        self.path = path
        let file = try TokensFile.load(path)
        var loaded = Loaded()
        loaded.entries = Self.entries(file)
        loaded.modified = Self.modified(path)
        state = Mutex(loaded)
    }

    private static func entries(_ file: TokensFile) -> [(id: String, hash: [UInt8], scopes: Set<TokenScope>)] {
        file.tokens.map { entry in
            var bytes: [UInt8] = []
            var index = entry.sha256.startIndex
            while index < entry.sha256.endIndex {
                let next = entry.sha256.index(index, offsetBy: 2)
                bytes.append(UInt8(entry.sha256[index..<next], radix: 16) ?? 0)
                index = next
            }
            return (entry.id, bytes, Set(entry.scopes))
        }
    }

    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    enum Verdict: Equatable {
        case allowed(tokenID: String)
        case missing, unknown
        case outOfScope(tokenID: String)
    }

    /// The verdict for an `Authorization` header value and the scope a call needs.
    func check(authorization: String?, needs scope: TokenScope) -> Verdict {
        guard let authorization, authorization.count > 7,
            authorization.prefix(7).lowercased() == "bearer "
        else { return .missing }
        let presented = TokensFile.hash(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        let entries = state.withLock { s in
            if ContinuousClock.now - s.checked > .seconds(1) {
                s.checked = ContinuousClock.now
                let modified = Self.modified(path)
                if modified != s.modified {
                    do throws(TokensFile.LoadError) {
                        s.entries = Self.entries(try TokensFile.load(path))
                        s.modified = modified
                        s.lastError = nil
                    } catch {
                        s.lastError = error.description
                    }
                }
            }
            return s.entries
        }
        // Compare with every entry, each in constant time, so that timing tells nothing.
        var match: (id: String, scopes: Set<TokenScope>)?
        for entry in entries {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= entry.hash[i] ^ presented[i] }
            if difference == 0 { match = (entry.id, entry.scopes) }
        }
        guard let match else { return .unknown }
        return match.scopes.contains(scope) ? .allowed(tokenID: match.id) : .outOfScope(tokenID: match.id)
    }

    var lastError: String? { state.withLock { $0.lastError } }
}
