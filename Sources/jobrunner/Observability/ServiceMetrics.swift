import CoreMetrics
import JobModel
import Metrics
import Prometheus

/// The service's metrics (swift-metrics, exported by swift-prometheus at `GET /metrics`).
///
/// Names follow Prometheus conventions: `jobrunner_` prefix, `_total` counters, seconds
/// and bytes units. HTTP requests are counted by Hummingbird's `MetricsMiddleware`
/// (`jobrunner_http_requests_total` and `jobrunner_http_request_duration_seconds` by
/// route, method and status).
enum ServiceMetrics {
    /// The registry `/metrics` renders. Bootstrapped once per process by ``bootstrap()``.
    static let registry = PrometheusCollectorRegistry()

    /// Installs the Prometheus backend for swift-metrics (once per process).
    static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["jobrunner_job_duration_seconds"] = [
            .milliseconds(100), .seconds(1), .seconds(10), .seconds(60), .seconds(300), .seconds(1_800),
            .seconds(3_600), .seconds(21_600), .seconds(86_400),
        ]
        factory.durationHistogramBuckets["jobrunner_monitor_pass_seconds"] = [
            .microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
            .milliseconds(100), .milliseconds(500), .seconds(1),
        ]
        factory.durationHistogramBuckets["jobrunner_journal_fsync_seconds"] = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
            .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1),
        ]
        factory.nameAndLabelSanitizer = { name, labels in
            let renamed: String
            switch name {
            case "hb.requests": renamed = "jobrunner_http_requests_total"
            case "hb.request.errors": renamed = "jobrunner_http_request_errors_total"
            case "http.server.request.duration": renamed = "jobrunner_http_request_duration_seconds"
            case "http.server.active_requests": renamed = "jobrunner_http_active_requests"
            default: renamed = sanitize(name)
            }
            return (renamed, labels.map { (sanitize($0.0), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
    }

    private static func sanitize(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
    }

    static let jobsStarted = CoreMetrics.Counter(label: "jobrunner_jobs_started_total")
    static let retriesScheduled = CoreMetrics.Counter(label: "jobrunner_job_retries_total")
    static let webhooksDelivered = CoreMetrics.Counter(label: "jobrunner_webhooks_delivered_total")
    static let webhookFailures = CoreMetrics.Counter(label: "jobrunner_webhook_failures_total")
    static let jobsRunning = CoreMetrics.Gauge(label: "jobrunner_jobs_running")
    static let jobsPending = CoreMetrics.Gauge(label: "jobrunner_jobs_pending")
    static let jobsInHistory = CoreMetrics.Gauge(label: "jobrunner_jobs_in_history")
    static let jobDuration = CoreMetrics.Timer(label: "jobrunner_job_duration_seconds")
    static let monitorPass = CoreMetrics.Timer(label: "jobrunner_monitor_pass_seconds")
    static let snapshotWrite = CoreMetrics.Timer(label: "jobrunner_snapshot_write_seconds")
    static let snapshotBytes = CoreMetrics.Gauge(label: "jobrunner_snapshot_bytes")
    static let snapshotFailures = CoreMetrics.Counter(label: "jobrunner_snapshot_failures_total")
    static let journalFsync = CoreMetrics.Timer(label: "jobrunner_journal_fsync_seconds")
    static let journalFailures = CoreMetrics.Counter(label: "jobrunner_journal_failures_total")

    private static let finishedByStatus: [JobStatus: CoreMetrics.Counter] = Dictionary(
        uniqueKeysWithValues: JobStatus.allCases.filter(\.isFinal).map {
            ($0, CoreMetrics.Counter(label: "jobrunner_jobs_finished_total", dimensions: [("status", $0.rawValue)]))
        }
    )

    /// A job reached a final status (after `durationSeconds` of running, when it ran).
    static func finished(_ status: JobStatus, durationSeconds: Double?) {
        finishedByStatus[status]?.increment()
        if let durationSeconds, durationSeconds >= 0 {
            jobDuration.recordNanoseconds(Int64(durationSeconds * 1e9))
        }
    }

    /// Sets the job gauges (read at each scrape).
    static func setJobCounts(running: Int, pending: Int, history: Int) {
        jobsRunning.record(running)
        jobsPending.record(pending)
        jobsInHistory.record(history)
    }

    /// The Prometheus text exposition of every metric.
    static func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        registry.emit(into: &buffer)
        return buffer
    }
}

extension CoreMetrics.Timer {
    /// Records a `Duration` (swift-metrics takes nanoseconds).
    func record(duration: Duration) {
        let c = duration.components
        recordNanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }
}
