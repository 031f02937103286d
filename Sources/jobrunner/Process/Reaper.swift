import CSystemSupport
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one reaper of this process's children: a thread blocked in `wait4(-1)` that
/// reports each exited child. Nothing else in the service may wait for children.
final class Reaper: Sendable {
    struct Exit: Sendable {
        var pid: pid_t
        var status: Int32
    }

    let exits: AsyncStream<Exit>
    private let continuation: AsyncStream<Exit>.Continuation
    /// Counts children started; the thread sleeps on it when there is none to wait for.
    private let spawned = DispatchSemaphore(value: 0)
    private let started = Mutex(false)

    init() {
        (exits, continuation) = AsyncStream.makeStream(of: Exit.self)
    }

    /// Starts the thread (once).
    func start() {
        let first = started.withLock { s in
            defer { s = true }
            return !s
        }
        guard first else { return }
        let continuation = self.continuation
        let spawned = self.spawned
        let thread = Thread {
            var status: Int32 = 0
            var usage = rusage()
            while true {
                let pid = csys_wait_any(&status, &usage)
                if pid > 0 {
                    continuation.yield(Exit(pid: pid, status: status))
                } else if errno == ECHILD {
                    spawned.wait()
                } else if errno != EINTR {
                    usleep(10_000)
                }
            }
        }
        thread.name = "jobrunner-reaper"
        thread.start()
    }

    /// Tells the thread a child was started.
    func childStarted() {
        spawned.signal()
    }
}
