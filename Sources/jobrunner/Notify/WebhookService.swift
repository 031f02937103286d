import AsyncAlgorithms
import AsyncHTTPClient
import CoreMetrics
import Foundation
import JobModel
import Logging
import NIOCore
import NIOHTTP1
import ProcessMonitor
import ServiceLifecycle

/// Delivers the outbox (``OutboxEntry``) to `notify.webhooks`: a signed JSON POST each, at
/// least once, retried with backoff (1 s doubling to 5 min) until the receiver answers 2xx
/// or the message is older than `notify.maxAgeSeconds`. Deliveries run beside the
/// supervisor, at most ``maxInFlight`` at once: a slow or dead receiver never holds up a job.
/// On graceful shutdown deliveries in flight are cancelled; what is not delivered stays in
/// the outbox for the next start.
struct WebhookService: Service {
    let supervisor: JobSupervisor
    let settings: NotifyConfiguration
    let audit: AuditLog
    let logger: Logger

    static let maxInFlight = 8

    /// The messages waiting for a delivery attempt.
    actor Queue {
        struct Waiting {
            var entry: OutboxEntry
            var attempts = 0
            var nextAt: Double
        }
        var waiting: [Int: Waiting] = [:]
        var inFlight = 0
        /// No message is due before this (monotonic seconds): a backlog behind a receiver
        /// that is down is scanned when something can change, not at every tick.
        var rescanAt = 0.0

        func add(_ entry: OutboxEntry) {
            waiting[entry.seq] = Waiting(entry: entry, nextAt: 0)
            rescanAt = 0
        }

        /// Takes the messages due now (oldest first) while fewer than `limit` are in flight;
        /// returns those older than `maxAge` apart, to be dropped.
        func takeDue(now: Double, wall: Double, limit: Int, maxAge: Double) -> (due: [Waiting], expired: [OutboxEntry])
        {
            guard now >= rescanAt else { return ([], []) }
            var due: [Waiting] = []
            var expired: [OutboxEntry] = []
            rescanAt = now + 60  // expiry is checked at least every minute
            for seq in waiting.keys.sorted() {
                let item = waiting[seq]!
                if wall - item.entry.createdAt > maxAge {
                    expired.append(item.entry)
                    waiting[seq] = nil
                } else if item.nextAt <= now, inFlight < limit {
                    inFlight += 1
                    waiting[seq] = nil
                    due.append(item)
                } else if item.nextAt > now {
                    rescanAt = min(rescanAt, item.nextAt)
                }
            }
            return (due, expired)
        }

        /// A delivery attempt ended; a failed one waits for its backoff.
        func finished(_ item: Waiting, delivered: Bool, now: Double) {
            inFlight -= 1
            rescanAt = 0  // a slot is free
            guard !delivered else { return }
            var item = item
            item.attempts += 1
            let backoff = min(pow(2, Double(item.attempts - 1)), 300) * Double.random(in: 0.8...1.2)
            item.nextAt = now + backoff
            waiting[item.entry.seq] = item
        }
    }

    func run() async throws {
        // Without webhooks there is nothing to deliver: no timer, no wake-ups.
        guard !settings.webhooks.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        let queue = Queue()
        let supervisor = self.supervisor
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await entry in supervisor.notifications.cancelOnGracefulShutdown() { await queue.add(entry) }
            }
            let ticks = AsyncTimerSequence(interval: .milliseconds(100), clock: .continuous)
            for await _ in ticks.cancelOnGracefulShutdown() {
                let (due, expired) = await queue.takeDue(
                    now: monotonicSeconds(),
                    wall: Date().timeIntervalSince1970,
                    limit: Self.maxInFlight,
                    maxAge: settings.maxAgeSeconds
                )
                for entry in expired {
                    audit.record(
                        "webhookDropped",
                        [
                            "seq": entry.seq, "url": entry.url, "event": entry.event.rawValue,
                            "reason": "notify.maxAgeSeconds",
                        ]
                    )
                    logger.error(
                        "Webhook message dropped: not delivered within notify.maxAgeSeconds",
                        metadata: ["seq": "\(entry.seq)", "url": "\(entry.url)"]
                    )
                    await supervisor.delivered(entry.seq)
                }
                for item in due {
                    group.addTask {
                        let ok = await deliver(item.entry, attempt: item.attempts + 1)
                        await queue.finished(item, delivered: ok, now: monotonicSeconds())
                        if ok { await supervisor.delivered(item.entry.seq) }
                    }
                }
            }
            group.cancelAll()  // deliveries in flight: the outbox keeps them for the next start
        }
    }

    /// One POST; true when the receiver answered 2xx.
    func deliver(_ entry: OutboxEntry, attempt: Int) async -> Bool {
        let body = Data(entry.body.utf8)
        var request = HTTPClientRequest(url: entry.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "jobrunner/\(ProductVersion.current)")
        request.headers.add(name: "X-Jobrunner-Event", value: entry.event.rawValue)
        request.headers.add(name: "X-Jobrunner-Delivery", value: String(entry.seq))
        if let secret = settings.webhooks.first(where: { $0.url == entry.url })?.secret {
            request.headers.add(name: "X-Jobrunner-Signature", value: OutboxEntry.signature(body: body, secret: secret))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: String
        do {
            let response = try await HTTPClient.shared.execute(
                request,
                timeout: .milliseconds(Int64(settings.timeoutSeconds * 1000))
            )
            _ = try? await response.body.collect(upTo: 64 << 10)
            if (200..<300).contains(response.status.code) {
                ServiceMetrics.webhooksDelivered.increment()
                return true
            }
            status = "HTTP \(response.status.code)"
        } catch {
            if Task.isCancelled { return false }
            status = "\(error)"
        }
        ServiceMetrics.webhookFailures.increment()
        if attempt == 1 || attempt.isMultiple(of: 10) {
            logger.warning(
                "Webhook delivery failed; retrying with backoff",
                metadata: [
                    "seq": "\(entry.seq)", "url": "\(entry.url)", "event": "\(entry.event.rawValue)",
                    "attempt": "\(attempt)", "error": "\(status)",
                ]
            )
        }
        return false
    }
}
