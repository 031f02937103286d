import CSystemSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a local server's pid and health from its state directory, for `jobrunner upgrade`
/// and the watchdog's health checks.
enum ServerProbe {
    static func serverPid(_ state: String) -> Int32? {
        (try? String(contentsOfFile: state + "/jobrunner.pid", encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    struct Health: Decodable {
        var status: String
        var version: String
    }

    /// GET /v1/health at the address in `STATE/jobrunner.addr` (a wildcard listen address is
    /// reached on loopback); nil when it does not answer 200 with a health body.
    static func health(_ state: String, timeoutMilliseconds: Int32 = 2_000) -> Health? {
        guard let text = try? String(contentsOfFile: state + "/jobrunner.addr", encoding: .utf8), text.hasSuffix("\n"),
            let colon = text.lastIndex(of: ":"),
            let port = Int32(text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        var host = String(text[..<colon])
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        if host == "::" || host == "[::]" { host = "::1" }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let fd = csys_tcp_connect(nil, host, port, timeoutMilliseconds)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let request = Array("GET /v1/health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            response += buffer[..<n]
        }
        guard let end = response.firstRange(of: Array("\r\n\r\n".utf8)),
            String(decoding: response.prefix(12), as: UTF8.self).hasSuffix("200")
        else { return nil }
        return try? JSONDecoder().decode(Health.self, from: Data(response[end.upperBound...]))
    }
}
