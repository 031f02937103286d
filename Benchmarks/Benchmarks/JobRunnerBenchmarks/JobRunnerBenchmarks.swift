import Benchmark
import Foundation
import JobModel
import ProcessMonitor

/// Jobs per snapshot and analysis benchmark: per-job figures are the time / `jobCount`.
let jobCount = 100_000
/// Sleeping processes the /proc pass samples: per-process figures are the time / `sleepers`.
let sleepers = 200

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .microseconds,
        maxDuration: .seconds(5),
        maxIterations: 30
    )
    let table = HistorySynthesizer(seed: 1, jobCount: jobCount).generate()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-bench-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let snapshotPath = directory + "/bench.jrsnap"
    let info = SnapshotInfo(managerVersion: ProductVersion.current, instance: "bench", createdAt: Date())
    _ = try? SnapshotWriter.write(table, to: snapshotPath, info: info)

    Benchmark("snapshot write, 100,000 jobs") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SnapshotWriter.write(table, to: snapshotPath, info: info))
        }
    }

    Benchmark("snapshot load, 100,000 jobs") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SnapshotReader.load(path: snapshotPath).table.count)
        }
    }

    Benchmark("pattern suite, 100,000 jobs") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Analysis.run(table, options: AnalysisOptions()))
        }
    }

    // The same page both ways, in the same run: JSONEncoder (what the API used) and
    // JobJSON (what it uses; the same bytes, tested in JobModelTests).
    let page = (0..<100).map { table[$0] }
    Benchmark("JSON encoding, a page of 100 jobs, JSONEncoder") { benchmark in
        let encoder = JobJSONLines.makeEncoder()
        for _ in benchmark.scaledIterations {
            blackHole(try encoder.encode(page))
        }
    }

    Benchmark("JSON encoding, a page of 100 jobs, JobJSON") { benchmark in
        for _ in benchmark.scaledIterations {
            var out: [UInt8] = []
            for job in page { JobJSON.append(job, to: &out) }
            blackHole(out)
        }
    }

    Benchmark(
        "/proc pass, 200 sleeping processes",
        configuration: .init(
            setup: { try SleepingProcesses.shared.start(sleepers) },
            teardown: { SleepingProcesses.shared.stop() }
        )
    ) { benchmark in
        var monitor = TreeMonitor(
            settings: .init(rollingWindowSeconds: 10, leakMinSlopeBytesPerSecond: 65_536, leakMinR2: 0.8)
        )
        for (index, pid) in SleepingProcesses.shared.pids.enumerated() {
            monitor.track(id: index + 1, pid: pid, launchedAt: monotonicSeconds())
        }
        _ = monitor.sample()  // the first pass opens the files it keeps
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(monitor.sample())
        }
        benchmark.stopMeasurement()
    }
}

/// `sleep` processes, each leading its own session as a job does under its shim
/// (posix_spawn with POSIX_SPAWN_SETSID: the pid is the session's leader).
final class SleepingProcesses: @unchecked Sendable {
    // @unchecked: setup, the benchmark body and teardown run one after another on the
    // benchmark runner's thread; nothing touches `pids` concurrently.
    static let shared = SleepingProcesses()
    private(set) var pids: [Int32] = []

    func start(_ count: Int) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80)  // POSIX_SPAWN_SETSID
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("600"), nil]
        defer { for a in arguments { free(a) } }
        for _ in 0..<count {
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, "/bin/sleep", nil, &attributes, arguments, environ)
            guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
            pids.append(pid)
        }
        Thread.sleep(forTimeInterval: 0.2)
    }

    func stop() {
        for pid in pids { kill(pid, SIGKILL) }
        for pid in pids { waitpid(pid, nil, 0) }
        pids.removeAll()
    }
}
