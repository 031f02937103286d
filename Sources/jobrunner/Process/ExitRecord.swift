import Foundation

/// What `jobshim` appends to `state/run/ID` when the job ends.
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

}

/// `state/run/ID`, the file `jobshim` keeps for its job: line 1 `PID STARTTIME`, line 2
/// (once the job has ended) the ``ExitRecord``. Lines count only when they end in a newline.
struct RunFile: Sendable {
    var pid: Int32
    var startTime: Int64
    var exit: ExitRecord?

    static func path(directory: String, id: Int) -> String { "\(directory)/\(id)" }

    static func read(directory: String, id: Int) -> RunFile? {
        guard let data = FileManager.default.contents(atPath: path(directory: directory, id: id)),
            let firstEnd = data.firstIndex(of: 10)
        else { return nil }
        let words = String(decoding: data[..<firstEnd], as: UTF8.self).split(separator: " ")
        guard words.count == 2, let pid = Int32(words[0]), let start = Int64(words[1]) else { return nil }
        var file = RunFile(pid: pid, startTime: start)
        let rest = data[data.index(after: firstEnd)...]
        if rest.last == 10 {
            file.exit = try? JSONDecoder().decode(ExitRecord.self, from: rest)
        }
        return file
    }
}
