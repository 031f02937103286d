import Foundation
import JobModel

/// Which queues an operator paused (`POST /v1/queues/{q}/pause`), kept in
/// `STATE/queues.json` so that a pause outlives a restart or an upgrade.
enum QueueState {
    private struct File: Codable {
        var paused: [String]
    }

    static func path(state: String) -> String { state + "/queues.json" }

    /// The paused queues; none when the file does not exist or cannot be read.
    static func load(state: String) -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path(state: state)),
            let file = try? JSONDecoder().decode(File.self, from: data)
        else { return [] }
        return Set(file.paused)
    }

    /// Writes the paused queues (atomically, synced) before the pause is answered.
    static func save(paused: Set<String>, state: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try OutputFile.write(
            try encoder.encode(File(paused: paused.sorted())),
            toAtomicPath: path(state: state),
            mode: 0o600
        )
    }
}
