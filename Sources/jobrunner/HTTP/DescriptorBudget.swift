import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the service from running out of file descriptors: at start it raises its soft
/// `RLIMIT_NOFILE` to the hard limit, and it keeps a reserve for its own files (journal,
/// snapshots, run and spec files, /proc). Past `limit - reserve` open descriptors, new
/// connections are closed (oldest idle ones first, see ``ConnectionGuard``) and
/// `POST /v1/jobs` answers 503 while pending jobs wait: a failed `open` of a run file must
/// never be what turns a job into `lost`.
///
/// The count of open descriptors is listed from /proc/self/fd (``DescriptorBudgetService``:
/// every second, every 100 ms once half the limit is in use) and moved by every connection
/// opened or closed since, so that a burst of connections is seen at once. (Listing it
/// 10 times a second always cost 10 µs of manager CPU per running job per second with 500
/// jobs, whose monitor keeps 1,000 /proc files open.)
final class DescriptorBudget: Sendable {
    static let shared = DescriptorBudget()

    private let limits = Mutex((limit: 1_024, reserve: 128))
    private let listed = Atomic<Int>(0)
    /// Connections open now, and when /proc/self/fd was last listed.
    private let connections = Atomic<Int>(0)
    private let connectionsAtListing = Atomic<Int>(0)

    /// Raises the soft limit to the hard one; returns the limit in force.
    @discardableResult
    func raiseLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let soft = Int(min(limit.rlim_cur, 1 << 30))
        limits.withLock { $0 = (soft, Self.reserve(for: soft)) }
        return soft
    }

    /// Descriptors kept for the service's own files: an eighth of the limit, at least 32.
    static func reserve(for limit: Int) -> Int { max(32, limit / 8) }

    var limit: Int { limits.withLock { $0.limit } }

    /// Descriptors open now (estimate).
    var inUse: Int {
        listed.load(ordering: .relaxed) + connections.load(ordering: .relaxed)
            - connectionsAtListing.load(ordering: .relaxed)
    }

    /// Why nothing more may be opened now, or nil when there is room.
    var shortage: String? {
        let (limit, reserve) = limits.withLock { ($0.limit, $0.reserve) }
        let used = inUse
        guard used > limit - reserve else { return nil }
        return "the service has \(used) of its \(limit) file descriptors open (\(reserve) kept in reserve)"
    }

    func connectionOpened() { connections.add(1, ordering: .relaxed) }
    func connectionClosed() { connections.subtract(1, ordering: .relaxed) }

    /// Lists /proc/self/fd.
    func recount() {
        let before = connections.load(ordering: .relaxed)
        guard let dir = opendir("/proc/self/fd") else { return }
        var count = -1  // the directory's own descriptor
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != 46 { count += 1 }  // not "." or ".."
        }
        closedir(dir)
        listed.store(count, ordering: .relaxed)
        connectionsAtListing.store(before, ordering: .relaxed)
    }
}

/// Lists the service's open descriptors until graceful shutdown: every second, every
/// 100 ms while half the limit or more is in use.
struct DescriptorBudgetService: Service {
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            let budget = DescriptorBudget.shared
            while !Task.isCancelled {
                budget.recount()
                try await Task.sleep(for: budget.inUse * 2 >= budget.limit ? .milliseconds(100) : .seconds(1))
            }
        }
    }
}
