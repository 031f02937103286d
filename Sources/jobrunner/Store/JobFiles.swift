import Foundation
import JobModel
import ProcessMonitor

#if canImport(Glibc)
import Glibc
#endif

/// What a job needs to run that is not part of its record. Kept in `STATE/specs/ID.json`
/// (mode 0600) because `env` may hold secrets: never in the journal, snapshots, logs or
/// API answers.
struct JobSpec: Codable, Sendable, Equatable {
    var env: [String: String]
    var timeoutSeconds: Double?
    var maxRssBytes: Int?
    var retries: Int
    /// Monotonic-independent earliest start (Unix seconds), for retries.
    var notBefore: Double?
    /// `dependsOn` of the request: the job waits until these hold (kept here so that it
    /// survives restarts); `nil` without dependencies.
    var dependsOn: [JobDependency]? = nil
}

/// The files of a job beside its record: its spec file and the run file its shim keeps
/// (`RUN/ID`: pid, then the exit record). The supervisor decides; this reads and writes.
struct JobFiles: Sendable {
    /// The last `maxBytes` of job `id`'s stderr (`STATE/logs/ID.err`), from the start of a
    /// line when there is one in them; `nil` when it wrote nothing. Invalid UTF-8 is
    /// replaced.
    func errorTail(_ id: Int, maxBytes: Int) -> String? {
        guard maxBytes > 0 else { return nil }
        let fd = open("\(state)/logs/\(id).err", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return nil }
        let count = Int(min(size, off_t(maxBytes)))
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, size - off_t(count)) }
        guard got > 0 else { return nil }
        var tail = bytes[..<got]
        if off_t(count) < size, let newline = tail.firstIndex(of: 10), newline + 1 < tail.endIndex {
            tail = tail[(newline + 1)...]
        }
        let text = String(decoding: tail, as: UTF8.self)
        return text.contains(where: { !$0.isWhitespace }) ? text : nil
    }

    let state: String
    /// `configuration.effectiveRunDirectory`.
    let runDirectory: String
    /// The spec of a job whose request set nothing: what a missing spec file means.
    let defaultSpec: JobSpec

    // MARK: Specs

    func specPath(_ id: Int) -> String { "\(state)/specs/\(id).json" }

    /// Writes the spec file unless the spec is the default one (most jobs): a file
    /// creation per job is a measurable part of launching it.
    func writeSpecIfNeeded(_ id: Int, _ spec: JobSpec) throws {
        guard spec != defaultSpec else { return }
        // No fsync for most: a spec file per job is part of launching it, and a spec lost to
        // a power cut costs the job its env, not its record. A job with `dependsOn` is
        // synced: without its spec it would run without waiting.
        try OutputFile.write(
            try JSONEncoder().encode(spec),
            toAtomicPath: specPath(id),
            mode: 0o600,
            sync: spec.dependsOn != nil
        )
    }

    /// The job's spec: the default one without a file, `nil` when the file is damaged.
    func readSpec(_ id: Int) -> JobSpec? {
        guard let data = FileManager.default.contents(atPath: specPath(id)) else { return defaultSpec }
        return try? JSONDecoder().decode(JobSpec.self, from: data)
    }

    func removeSpec(_ id: Int) { unlink(specPath(id)) }

    // MARK: Run files

    /// The run file of job `id`: in the run directory, or (written by a shim of a version
    /// before `runDirectory`) in `STATE/run`.
    func readRunFile(_ id: Int) -> RunFile.Read {
        let read = RunFile.read(directory: runDirectory, id: id)
        if case .absent = read { return RunFile.read(directory: state + "/run", id: id) }
        return read
    }

    func runPath(_ id: Int) -> String {
        let path = RunFile.path(directory: runDirectory, id: id)
        let legacy = RunFile.path(directory: state + "/run", id: id)
        return access(path, F_OK) != 0 && access(legacy, F_OK) == 0 ? legacy : path
    }

    func removeRunFile(_ id: Int) {
        unlink(RunFile.path(directory: runDirectory, id: id))
        unlink(RunFile.path(directory: state + "/run", id: id))  // an older shim's
    }

    /// The job's pid from its run file, when that process is alive with the same start time.
    func alivePid(_ id: Int) -> Int32? {
        guard let run = readRunFile(id).file else { return nil }
        var file = ProcFile()
        guard file.read("/proc/\(run.pid)/stat"), let stat = ProcStat.parse(file.bytes),
            stat.startTime == run.startTime, stat.state != UInt8(ascii: "Z")
        else { return nil }
        return run.pid
    }
}
