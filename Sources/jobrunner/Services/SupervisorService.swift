import AsyncAlgorithms
import JobModel
import Logging
import ProcessMonitor
import ServiceLifecycle

/// Runs the supervisor's loops: exits from the reaper, the /proc monitor, and the timer
/// for timeouts, kill escalation and retries.
struct SupervisorService: Service {
    let supervisor: JobSupervisor
    let reaper: Reaper
    let configuration: JobRunnerConfiguration
    let logger: Logger

    func run() async throws {
        reaper.start()
        let supervisor = self.supervisor
        let exits = reaper.exits
        let settings = TreeMonitor.Settings(
            rollingWindowSeconds: configuration.rollingWindowSeconds,
            leakMinSlopeBytesPerSecond: configuration.leakMinSlopeBytesPerSecond,
            leakMinR2: configuration.leakMinR2
        )
        let interval = configuration.sampleIntervalSeconds
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await exit in exits.cancelOnGracefulShutdown() {
                    await supervisor.shimExited(exit.pid)
                }
            }
            group.addTask {
                var monitor = TreeMonitor(settings: settings)
                let ticks = AsyncTimerSequence(interval: .milliseconds(Int(interval * 1000)), clock: .continuous)
                for await _ in ticks.cancelOnGracefulShutdown() {
                    let targets = await supervisor.monitorTargets()
                    var wanted: [Int32: JobSupervisor.MonitorTarget] = [:]
                    for t in targets { wanted[t.root] = t }
                    for (pid, tree) in monitor.trees where wanted[pid]?.id != tree.id {
                        _ = monitor.untrack(pid: pid)
                    }
                    for (pid, t) in wanted {
                        monitor.track(id: t.id, pid: pid, scope: t.scope, launchedAt: t.launchedAt)
                    }
                    let passStarted = ContinuousClock.now
                    monitor.sample()
                    ServiceMetrics.monitorPass.record(duration: ContinuousClock.now - passStarted)
                    let samples = monitor.trees.values.filter { $0.samples > 0 }.map { tree in
                        JobSupervisor.Sample(id: tree.id, metrics: tree.metrics(settings), rssNow: tree.rssNow)
                    }
                    await supervisor.apply(samples)
                }
            }
            group.addTask {
                let ticks = AsyncTimerSequence(interval: .milliseconds(100), clock: .continuous)
                for await _ in ticks.cancelOnGracefulShutdown() {
                    await supervisor.tick()
                }
            }
        }
    }
}
