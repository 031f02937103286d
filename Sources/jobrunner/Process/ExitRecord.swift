import Foundation

/// What `jobshim` writes to `state/exits/ID` when the job ends.
struct ExitRecord: Decodable, Sendable {
    var id: Int
    var pid: Int
    var startedAtMicros: Int64
    var endedAtMicros: Int64
    var exitCode: Int?
    var signal: Int?
    var userMicros: Int64
    var systemMicros: Int64
    var maxRssKilobytes: Int
    /// Why the job could not start (`exec: No such file or directory`), empty when it did.
    var error: String

    static func read(path: String) -> ExitRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(ExitRecord.self, from: data)
    }
}
