import AsyncAlgorithms
import Foundation
import JobModel
import ServiceLifecycle

/// The newest monitor figures of a running job.
struct LiveFigure: Sendable, Equatable {
    var id: Int
    /// CPU time of its tree so far.
    var cpuSeconds: Double
    var rssBytes: Int64
    /// Monotonic seconds of the sample.
    var sampledAt: Double
}

/// `metrics` events: every ``interval``, while anyone listens and jobs run, each running
/// job's CPU (over the interval, 100 = one core) and resident memory; a keep-alive comment
/// when nothing else was sent for ``keepAlive`` (so that a gone client is noticed and
/// proxies keep the stream open). Ends every stream at graceful shutdown.
struct EventService: Service {
    let supervisor: JobSupervisor
    let hub: EventHub
    var interval: Duration = .seconds(1)
    var keepAlive: Duration = .seconds(15)

    func run() async throws {
        var previous: [Int: LiveFigure] = [:]
        var quietSince = ContinuousClock.now
        let ticks = AsyncTimerSequence(interval: interval, clock: .continuous)
        for await _ in ticks.cancelOnGracefulShutdown() {
            guard hub.subscriberCount > 0 else {
                previous = [:]
                continue
            }
            let figures = await supervisor.liveFigures()
            if !figures.isEmpty {
                hub.publish(Self.metricsEvent(figures, previous: previous))
                previous = Dictionary(uniqueKeysWithValues: figures.map { ($0.id, $0) })
                quietSince = .now
            } else if ContinuousClock.now - quietSince >= keepAlive {
                hub.publish(.keepAlive)
                quietSince = .now
            }
        }
        hub.close()
    }

    /// `{"at": RFC 3339, "jobs": [{"id", "cpuPercent", "cpuSeconds", "rssBytes"}]}`;
    /// `cpuPercent` is over the time since the job's previous figure (`null` for its first).
    static func metricsEvent(_ figures: [LiveFigure], previous: [Int: LiveFigure]) -> ServerEvent {
        var out = Array(#"{"at":""#.utf8) + Array(Timestamp.format(Date()).utf8) + Array(#"","jobs":["#.utf8)
        for (i, figure) in figures.enumerated() {
            if i > 0 { out.append(44) }
            var cpu = "null"
            if let before = previous[figure.id], figure.sampledAt > before.sampledAt {
                let percent =
                    max(0, figure.cpuSeconds - before.cpuSeconds) / (figure.sampledAt - before.sampledAt) * 100
                cpu = String(format: "%.1f", percent)
            }
            out += Array(
                #"{"id":\#(figure.id),"cpuPercent":\#(cpu),"cpuSeconds":\#(String(format: "%.2f", figure.cpuSeconds)),"rssBytes":\#(figure.rssBytes)}"#
                    .utf8
            )
        }
        out += Array("]}".utf8)
        return ServerEvent(seq: nil, type: "metrics", data: out)
    }
}

extension ServerEvent {
    /// An SSE comment (`: keep-alive`): clients ignore it.
    static let keepAlive = ServerEvent(seq: nil, type: ":", data: [])
}
