import ArgumentParser
import Foundation
import JobModel

extension JobRunner {
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the bearer tokens of security.tokensFile (the file holds SHA-256 hashes only).",
            discussion: """
                A running server re-reads the file within a second of a change. Scopes: read (GET calls), \
                launch (POST calls: launch and cancel jobs). Give both for a token that does both.
                """,
            subcommands: [Add.self, List.self, Remove.self]
        )

        struct FileOptions: ParsableArguments {
            @OptionGroup var options: ConfigOptions

            @Option(help: "Tokens file (default: security.tokensFile of the configuration).")
            var file: String?

            func path() throws -> String {
                if let file { return file }
                let configuration = try options.loadOrExit()
                guard let path = configuration.security.tokensFile else {
                    throw ValidationError("security.tokensFile is not set: set it in the configuration or pass --file.")
                }
                return path
            }

            func load(_ path: String) throws -> TokensFile {
                do {
                    return try TokensFile.load(path, missingIsEmpty: true)
                } catch {
                    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                    throw ExitCode(65)
                }
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a token, store its hash and print the token (once: it cannot be shown again)."
            )
            @OptionGroup var file: FileOptions

            @Option(help: "Scope: read or launch (repeatable).")
            var scope: [String] = []

            @Option(help: "Token id, shown in the audit log (default: a random one).")
            var id: String?

            func run() throws {
                var scopes: [TokenScope] = []
                for word in scope {
                    guard let s = TokenScope(rawValue: word) else {
                        throw ValidationError("--scope must be read or launch, not '\(word)'.")
                    }
                    if !scopes.contains(s) { scopes.append(s) }
                }
                guard !scopes.isEmpty else { throw ValidationError("give at least one --scope (read, launch).") }
                let path = try file.path()
                var tokens = try file.load(path)
                let tokenID = id ?? "tok-" + String(TokensFile.newToken().suffix(8))
                guard !tokenID.isEmpty, tokenID.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                    throw ValidationError("--id must be a non-empty word of ASCII characters.")
                }
                guard !tokens.tokens.contains(where: { $0.id == tokenID }) else {
                    throw ValidationError("a token with id '\(tokenID)' already exists in \(path).")
                }
                let token = TokensFile.newToken()
                tokens.tokens.append(
                    .init(
                        id: tokenID,
                        sha256: TokensFile.hex(TokensFile.hash(token)),
                        scopes: scopes,
                        createdAt: Timestamp.format(Date())
                    )
                )
                try tokens.write(to: path)
                FileHandle.standardError.write(
                    Data(
                        "Token '\(tokenID)' (\(scopes.map(\.rawValue).joined(separator: ", "))) added to \(path).\n"
                            .utf8
                    )
                )
                print(token)
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List token ids, scopes and creation times.")
            @OptionGroup var file: FileOptions

            func run() throws {
                for entry in try file.load(try file.path()).tokens {
                    print("\(entry.id)  \(entry.scopes.map(\.rawValue).joined(separator: ","))  \(entry.createdAt)")
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
            @OptionGroup var file: FileOptions

            @Argument(help: "Token id.")
            var id: String

            func run() throws {
                let path = try file.path()
                var tokens = try file.load(path)
                guard tokens.tokens.contains(where: { $0.id == id }) else {
                    FileHandle.standardError.write(Data("Error: no token '\(id)' in \(path)\n".utf8))
                    throw ExitCode(65)
                }
                tokens.tokens.removeAll { $0.id == id }
                try tokens.write(to: path)
            }
        }
    }
}
