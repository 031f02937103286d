import CSystemSupport
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one reaper of this process's children: a thread blocked in `wait4(-1)` that
/// reports each exited child. Nothing else in the service may wait for children.
///
/// A dedicated thread because `wait4` blocks and wakes the moment a child exits: on the
/// cooperative pool it would hold one of its threads, and polling would add latency to
/// every job's end. ``stop()`` ends it (SIGUSR2 interrupts the wait).
final class Reaper: Sendable {
    struct Exit: Sendable {
        var pid: pid_t
        var status: Int32
    }

    let exits: AsyncStream<Exit>
    private let continuation: AsyncStream<Exit>.Continuation
    /// Counts children started; the thread sleeps on it when there is none to wait for.
    private let spawned = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private struct ThreadState {
        var started = false
        var stopping = false
        var thread: pthread_t?
    }
    private let state = Mutex(ThreadState())

    init() {
        (exits, continuation) = AsyncStream.makeStream(of: Exit.self)
    }

    /// Starts the thread (once).
    func start() {
        let first = state.withLock { s in
            defer { s.started = true }
            return !s.started
        }
        guard first else { return }
        csys_install_interrupt_handler()
        let thread = Thread { [self] in
            csys_accept_interrupts()
            state.withLock { $0.thread = pthread_self() }
            var status: Int32 = 0
            var usage = rusage()
            while !state.withLock({ $0.stopping }) {
                let pid = csys_wait_any(&status, &usage)
                if pid > 0 {
                    continuation.yield(Exit(pid: pid, status: status))
                } else if errno == ECHILD {
                    spawned.wait()
                } else if errno != EINTR {
                    usleep(10_000)
                }
            }
            continuation.finish()
            finished.signal()
        }
        thread.name = "jobrunner-reaper"
        thread.start()
    }

    /// Tells the thread a child was started.
    func childStarted() {
        spawned.signal()
    }

    /// Ends the thread (at shutdown; the children live on). Returns once it has ended, or
    /// after a second.
    func stop() {
        let started = state.withLock { s in
            s.stopping = true
            return s.started
        }
        guard started else { return }
        spawned.signal()
        for _ in 0..<100 {
            // Again until it is seen: a signal that comes just before the wait is missed.
            if let thread = state.withLock({ $0.thread }) { csys_interrupt_thread(thread) }
            if finished.wait(timeout: .now() + .milliseconds(10)) == .success { return }
        }
    }
}
