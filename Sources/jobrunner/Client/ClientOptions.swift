import ArgumentParser
import Foundation
import JobModel
import NIOCore

/// Where the client subcommands find the service, and the token they send.
///
/// The URL: `--url`, else `JOBRUNNER_URL`, else the address the server of `--config`'s state
/// directory listens on (`STATE/jobrunner.addr`), else that configuration's `listen.*`.
/// The token: `--token-file`, else `JOBRUNNER_TOKEN`; none when neither is set.
struct ClientOptions: ParsableArguments {
    @Option(
        help: "The service's URL, e.g. http://127.0.0.1:8080 (default: JOBRUNNER_URL, else --config's listen address)."
    )
    var url: String?

    @Option(help: "A file holding a bearer token (default: JOBRUNNER_TOKEN).")
    var tokenFile: String?

    @Option(help: "Configuration file whose listen address is used when no URL is given (default: ./config.json).")
    var config: String?

    func client(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> APIClient {
        var token = environment["JOBRUNNER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw APIClient.Failure(description: "cannot read the token file \(tokenFile)", exitCode: 66)
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return APIClient(base: try baseURL(environment: environment), token: token)
    }

    func baseURL(environment: [String: String]) throws -> String {
        func normalized(_ text: String) throws -> String {
            var url = text.contains("://") ? text : "http://" + text
            while url.hasSuffix("/") { url.removeLast() }
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil
            else { throw ValidationError("'\(text)' is not an http:// URL of the service.") }
            return url
        }
        if let url { return try normalized(url) }
        if let url = environment["JOBRUNNER_URL"], !url.isEmpty { return try normalized(url) }
        var path = config
        if path == nil, FileManager.default.fileExists(atPath: "config.json") { path = "config.json" }
        let configuration: JobRunnerConfiguration
        do {
            configuration = try JobRunnerConfiguration.load(path: path, environment: environment)
        } catch {
            throw APIClient.Failure(description: "\(error)", exitCode: 78)
        }
        // The address the server on that state directory actually listens on (port 0 too).
        if let text = try? String(contentsOfFile: configuration.stateDirectory + "/jobrunner.addr", encoding: .utf8) {
            let address = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !address.isEmpty { return try normalized(address) }
        }
        let host =
            configuration.http.host == "0.0.0.0" || configuration.http.host == "::"
            ? "127.0.0.1" : configuration.http.host
        let shown = host.contains(":") ? "[\(host)]" : host
        return try normalized("\(shown):\(configuration.http.port)")
    }
}

/// Runs a client subcommand's body: a ``APIClient/Failure`` becomes one line on stderr and
/// its exit code.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as APIClient.Failure {
        FileHandle.standardError.write(Data("jobrunner: \(failure.description)\n".utf8))
        throw ExitCode(failure.exitCode)
    }
}

/// `K=V` options (`--label`, `--env`): a missing `=` or an empty key is a usage error (64).
func keyValues(_ items: [String], option: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for item in items {
        guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
            throw ValidationError("--\(option) takes KEY=VALUE, not '\(item)'.")
        }
        out[String(item[..<eq])] = String(item[item.index(after: eq)...])
    }
    return out
}

/// Writes to stdout at once (no buffering), for streamed output.
func writeOut(_ bytes: some Sequence<UInt8>, error: Bool = false) {
    let data = Data(bytes)
    (error ? FileHandle.standardError : FileHandle.standardOutput).write(data)
}

/// Writes a streamed chunk at once.
func writeOut(_ buffer: ByteBuffer, error: Bool = false) {
    writeOut(buffer.readableBytesView, error: error)
}
