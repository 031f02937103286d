import AsyncAlgorithms
import Foundation
import JobModel
import Logging
import ProcessMonitor
import ServiceLifecycle

/// Runs the supervisor's loops: spawns, exits from the reaper, the /proc monitor, the
/// timer for timeouts, kill escalation and retries, and the schedules' runs. All stop on graceful shutdown (spawns
/// already asked for are made first: those jobs are recorded as running).
struct SupervisorService: Service {
    let supervisor: JobSupervisor
    let reaper: Reaper
    /// `monitor.*`.
    let monitor: MonitorConfiguration
    let logger: Logger

    func run() async throws {
        reaper.start()
        let supervisor = self.supervisor
        let exits = reaper.exits
        let settings = TreeMonitor.Settings(
            rollingWindowSeconds: monitor.rollingWindowSeconds,
            leakMinSlopeBytesPerSecond: monitor.leakMinSlopeBytesPerSecond,
            leakMinR2: monitor.leakMinR2
        )
        let interval = monitor.sampleIntervalSeconds
        let launcher = supervisor.launcher
        await withDiscardingTaskGroup { group in
            group.addTask {
                // A spawn blocks until the shim has exec'd (vfork): on a dispatch queue, not
                // on the cooperative pool; each spawn is a child task of this one.
                let queue = DispatchQueue(label: "jobrunner.spawn", attributes: .concurrent)
                await withDiscardingTaskGroup { spawns in
                    for await request in supervisor.spawnRequests {
                        spawns.addTask {
                            let result = await withCheckedContinuation { continuation in
                                queue.async {
                                    continuation.resume(
                                        returning: Result { () throws(ShimLauncher.SpawnError) in
                                            try launcher.launch(
                                                id: request.id,
                                                command: request.command,
                                                cwd: request.cwd,
                                                environment: request.environment,
                                                memoryMax: request.memoryMax
                                            )
                                        }
                                    )
                                }
                            }
                            if case .success = result { reaper.childStarted() }
                            await supervisor.spawned(request.id, result)
                        }
                    }
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                await supervisor.stopSpawning()
            }
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
                        JobSupervisor.Sample(
                            id: tree.id,
                            metrics: tree.metrics(settings),
                            rssNow: tree.rssNow,
                            cpuSecondsNow: tree.cpuSecondsNow
                        )
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
            group.addTask {
                // Schedules: at start-up (runs missed while the service was down), then
                // every second.
                await supervisor.runDueSchedules()
                let ticks = AsyncTimerSequence(interval: .seconds(1), clock: .continuous)
                for await _ in ticks.cancelOnGracefulShutdown() {
                    await supervisor.runDueSchedules()
                }
            }
        }
        reaper.stop()
    }
}
