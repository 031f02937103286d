public import Foundation

/// A deterministic generator of realistic job history, with behaviours planted for the
/// patterns to find:
///
/// - an evening failure peak: jobs started 20:00–20:59 UTC fail far more often;
/// - a leaking family: `index-*` jobs are memory-leak suspects;
/// - a flaky family that retries rescue: `sync-*` fails often at first, retries succeed;
/// - I/O bursts: `backup-db`; network bursts (retry storms) when `feed-gameday` fails;
/// - stalls: `sync-ledger` sometimes hangs for minutes; crashes: `report-finance` (SIGSEGV);
/// - timeouts: `feed-gameday`; distinct exit codes per family.
///
/// Behaviours planted only when asked (``plants``), so that the default history stays
/// what the samples were made from:
/// - `failing-label`: every tenth job carries `region=eu-west` (the rest `region=us-east`)
///   and fails three times as often — what the `contrast` pattern must find;
/// - `step-change`: from 60 % of the history on, `etl-load` fails 45 % of the time (7 %
///   before) — what `change-point` must find, and `jobstats compare` of the two halves.
/// - `new-error`: every job that did not succeed has an error tail (a message per family,
///   with ids, paths and times that change from run to run), and from the job at 92 % of
///   the count on `etl-load` fails with a message never seen before — what `failure-signature` must
///   report as new.
///
/// The same seed, count, days, start and plants always give the same jobs.
public struct HistorySynthesizer: Sendable {
    public var seed: UInt64
    public var jobCount: Int
    public var days: Double
    /// Time of the first job (default 2026-01-05T00:00:00Z, a Monday).
    public var start: Date
    public var instance: String
    public var plants: Set<Plant> = []

    /// A behaviour planted on request.
    public enum Plant: String, CaseIterable, Sendable {
        case failingLabel = "failing-label"
        case stepChange = "step-change"
        case newError = "new-error"
    }

    public init(
        seed: UInt64 = 1,
        jobCount: Int,
        days: Double = 30,
        start: Date = Date(timeIntervalSince1970: 1_767_571_200),
        instance: String = "synth"
    ) {
        self.seed = seed
        self.jobCount = jobCount
        self.days = days
        self.start = start
        self.instance = instance
    }

    /// A family of jobs with its behaviour.
    struct Kind {
        var name: String
        var weight: Double
        var failure: Double
        var exitCode: Int
        var medianSeconds: Double
        var retries: Int
        var retrySuccess: Double? = nil
        var crash: Double = 0
        var timeout: Double = 0
        var leak: Double = 0.01
        var ioBurst: Double = 0.01
        var stall: Double = 0.002
        var netStormOnFailure: Bool = false
        var labels: [String: String] = [:]
    }

    static let kinds: [Kind] = [
        Kind(
            name: "etl-daily",
            weight: 6,
            failure: 0.06,
            exitCode: 3,
            medianSeconds: 300,
            retries: 1,
            labels: ["team": "data"]
        ),
        Kind(
            name: "etl-hourly",
            weight: 12,
            failure: 0.05,
            exitCode: 3,
            medianSeconds: 45,
            retries: 1,
            labels: ["team": "data"]
        ),
        Kind(
            name: "etl-load",
            weight: 6,
            failure: 0.07,
            exitCode: 3,
            medianSeconds: 120,
            retries: 1,
            labels: ["team": "data"]
        ),
        Kind(
            name: "report-sales",
            weight: 5,
            failure: 0.04,
            exitCode: 2,
            medianSeconds: 20,
            retries: 0,
            labels: ["team": "finance"]
        ),
        Kind(
            name: "report-finance",
            weight: 4,
            failure: 0.03,
            exitCode: 2,
            medianSeconds: 25,
            retries: 1,
            crash: 0.08,
            labels: ["team": "finance"]
        ),
        Kind(
            name: "sync-crm",
            weight: 8,
            failure: 0.30,
            exitCode: 75,
            medianSeconds: 8,
            retries: 2,
            retrySuccess: 0.85
        ),
        Kind(
            name: "sync-ledger",
            weight: 6,
            failure: 0.25,
            exitCode: 75,
            medianSeconds: 12,
            retries: 2,
            retrySuccess: 0.8,
            stall: 0.05
        ),
        Kind(
            name: "feed-gameday",
            weight: 5,
            failure: 0.12,
            exitCode: 1,
            medianSeconds: 3,
            retries: 1,
            timeout: 0.04,
            netStormOnFailure: true
        ),
        Kind(name: "backup-db", weight: 2, failure: 0.03, exitCode: 1, medianSeconds: 900, retries: 1, ioBurst: 0.9),
        Kind(name: "index-build", weight: 3, failure: 0.06, exitCode: 137, medianSeconds: 600, retries: 0, leak: 0.7),
        Kind(name: "index-merge", weight: 2, failure: 0.05, exitCode: 137, medianSeconds: 400, retries: 0, leak: 0.6),
        Kind(name: "cleanup_tmp", weight: 4, failure: 0.01, exitCode: 1, medianSeconds: 0.4, retries: 0),
        Kind(name: "healthcheck", weight: 10, failure: 0.005, exitCode: 1, medianSeconds: 0.2, retries: 0),
    ]

    /// SplitMix64: small, fast and the same everywhere.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
        mutating func chance(_ p: Double) -> Bool { unit() < p }
        /// Log-normal around `median`.
        mutating func logNormal(median: Double, sigma: Double) -> Double {
            let u1 = max(unit(), 1e-12)
            let u2 = unit()
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            return median * exp(sigma * normal)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }
    }

    private static func round(_ v: Double, _ digits: Double) -> Double {
        (v * digits).rounded() / digits
    }

    /// Generates the history as a table, in id order.
    public func generate() -> JobTable {
        var random = Random(state: seed)
        var table = JobTable()
        table.reserveCapacity(jobCount)
        let totalWeight = Self.kinds.reduce(0) { $0 + $1.weight }
        let span = days * 86_400
        let meanGap = span / Double(max(jobCount, 1))
        var clock = Timestamp.micros(start)
        var nextID = 1
        while table.count < jobCount {
            clock += Int64(-log(max(random.unit(), 1e-12)) * meanGap * 1_000_000)
            var pick = random.unit() * totalWeight
            var kind = Self.kinds[0]
            for k in Self.kinds {
                pick -= k.weight
                if pick < 0 {
                    kind = k
                    break
                }
            }
            var startMicros = clock
            var attempt = 1
            var parent: Int? = nil
            while table.count < jobCount {
                let id = nextID
                nextID += 1
                var job = makeJob(id: id, kind: kind, attempt: attempt, startMicros: startMicros, random: &random)
                job.parentId = parent
                let retry = job.status.isFailure && attempt <= kind.retries && job.exitCode != 2
                if retry, table.count + 1 < jobCount {
                    job.retriedBy = nextID
                }
                table.append(job)
                guard job.retriedBy != nil, let ended = job.endedAt else { break }
                parent = id
                attempt += 1
                startMicros = Timestamp.micros(ended) + Int64(30_000_000 * (1 << (attempt - 2)))
            }
        }
        return table
    }

    /// The first job id that can have the `new-error` plant's new message.
    public var newErrorFromID: Int { jobCount / 100 * 92 }

    /// When the `step-change` plant's step is.
    public var stepMicros: Int64 { Timestamp.micros(start) + Int64(days * 0.6 * 86_400 * 1_000_000) }

    private func makeJob(id: Int, kind: Kind, attempt: Int, startMicros: Int64, random: inout Random) -> Job {
        let hour = Int((startMicros / 1_000_000 % 86_400) / 3600)
        var failure = kind.failure
        var labels = kind.labels
        if plants.contains(.failingLabel) {
            let eu = id % 10 == 0
            labels["region"] = eu ? "eu-west" : "us-east"
            if eu { failure = min(0.9, failure * 3) }
        }
        if plants.contains(.stepChange), kind.name == "etl-load", startMicros >= stepMicros { failure = 0.45 }
        if hour == 20 { failure = min(0.9, failure * 5 + 0.15) }
        if attempt > 1, let rescue = kind.retrySuccess { failure = 1 - rescue }
        let duration = Self.round(random.logNormal(median: kind.medianSeconds, sigma: 0.6), 1000)
        let endMicros = startMicros + Int64(duration * 1_000_000)
        var status = JobStatus.succeeded
        var exitCode: Int? = 0
        var signal: Int? = nil
        var reason: String? = nil
        if random.chance(kind.timeout) {
            status = .timedOut
            exitCode = nil
            signal = 15
            reason = "timeout"
        } else if random.chance(kind.crash) {
            status = .crashed
            exitCode = nil
            signal = random.chance(0.8) ? 11 : 6
        } else if random.chance(failure) {
            status = .failed
            exitCode = random.chance(0.8) ? kind.exitCode : random.int(1...2)
        }
        let samples = max(0, Int(duration))
        let cpuAvg = Self.round(min(199, random.logNormal(median: 35, sigma: 0.7)), 100)
        let rssMax = Int(random.logNormal(median: 80_000_000, sigma: 0.8))
        let leak = samples >= 5 && random.chance(kind.leak)
        let ioAvg = Self.round(random.logNormal(median: 40, sigma: 0.8), 100)
        let ioPeak = Self.round(
            random.chance(kind.ioBurst) ? ioAvg * (6 + random.unit() * 20) + 200 : ioAvg * (1 + random.unit()),
            100
        )
        let storm = kind.netStormOnFailure && status != .succeeded
        let netAvg = Self.round(storm ? 8 + random.unit() * 10 : random.unit() * 0.5, 1000)
        let netPeak = Self.round(storm ? netAvg * (5 + random.unit() * 5) : netAvg * (1 + random.unit()), 1000)
        let stalled =
            random.chance(kind.stall)
            ? Self.round(60 + random.unit() * 600, 1000) : Self.round(min(duration, random.unit() * 2), 1000)
        let metrics = JobMetrics(
            sampleCount: samples,
            cpuPercentAvg: cpuAvg,
            cpuPercentMax: Self.round(min(200, cpuAvg * (1 + random.unit())), 100),
            cpuSeconds: Self.round(duration * cpuAvg / 100, 1000),
            rssBytesAvg: rssMax / 4 * 3,
            rssBytesMax: rssMax,
            rssTrendBytesPerSecond: leak
                ? Self.round(200_000 + random.unit() * 2_000_000, 10) : Self.round(random.unit() * 2000 - 1000, 10),
            memoryLeakSuspected: leak,
            ioOpsPerSecondAvg: ioAvg,
            ioOpsPerSecondPeak: ioPeak,
            ioReadBytes: Int(random.logNormal(median: 5_000_000, sigma: 1.2)),
            ioWriteBytes: Int(random.logNormal(median: 2_000_000, sigma: 1.2)),
            netConnectionsPerSecondAvg: netAvg,
            netConnectionsPerSecondPeak: netPeak,
            netConnectionsTotal: Int(netAvg * duration),
            stalledSeconds: stalled,
            processCountMax: random.int(1...6)
        )
        var errorTail: String? = nil
        if plants.contains(.newError), status != .succeeded {
            let n = random.int(1000...99_999)
            let family = kind.name.split(separator: "-").first.map(String.init) ?? ""
            let message: String
            if kind.name == "etl-load" && id >= newErrorFromID {
                message = "KeyError: 'currency' in row \(n) of /data/in/\(n).csv"
            } else {
                message =
                    switch family {
                    case "etl": "psycopg2.OperationalError: could not connect to server 10.0.\(n % 256).\(n % 7):5432"
                    case "sync": "HTTPError: 503 from https://api.example.com/v2/items/\(n) after 30.0 s"
                    case "feed": "timeout: no data for match \(n) since 2026-01-05T20:00:00Z"
                    case "report": "Segmentation fault (core dumped) at 0x7f\(String(n, radix: 16))"
                    default: "error \(n): job failed"
                    }
            }
            errorTail = "INFO starting run \(n)\nINFO step 1 done\n\(message)\n"
        }
        return Job(
            id: id,
            instance: instance,
            name: kind.name,
            command: ["/opt/jobs/bin/\(kind.name)", "--env", "prod"],
            cwd: "/srv/jobs",
            labels: labels,
            status: status,
            pid: random.int(1000...4_000_000),
            startedAt: Timestamp.date(micros: startMicros),
            endedAt: Timestamp.date(micros: endMicros),
            durationSeconds: duration,
            exitCode: exitCode,
            signal: signal,
            reason: reason,
            attempt: attempt,
            errorTail: errorTail,
            errorSignature: errorTail.flatMap(ErrorSignature.of),
            metrics: metrics
        )
    }
}
