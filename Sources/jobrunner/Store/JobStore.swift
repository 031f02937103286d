import JobModel

/// The manager's history of every job, by position (`id - 1`).
///
/// Finished jobs live in a columnar ``JobTable`` (about 270 bytes a job, against some
/// 600 for `Job` values with their strings, arrays and dictionaries); jobs that changed
/// since the last ``compact()`` live beside it as `Job` values: `changed` for rows of the
/// table, `recent` for jobs created after it. Reads look at those first. A snapshot cut
/// compacts (the changes are written into the table in place) and hands the table to the
/// snapshot writer, which shares its storage until the next change.
struct JobStore: Sendable {
    private(set) var table: JobTable
    private var changed: [Int: Job] = [:]
    private var recent: [Job] = []

    /// A store over `table`, whose row `r` must hold job `r + 1`.
    init(table: JobTable = JobTable()) {
        precondition(table.hasDenseIDs, "the history table must hold ids 1…N in order")
        self.table = table
    }

    var count: Int { table.count + recent.count }
    var indices: Range<Int> { 0..<count }
    var last: Job? { count == 0 ? nil : self[count - 1] }

    subscript(index: Int) -> Job {
        get {
            if index >= table.count { return recent[index - table.count] }
            return changed[index] ?? table[index]
        }
        set {
            if index >= table.count {
                recent[index - table.count] = newValue
            } else {
                changed[index] = newValue
            }
        }
    }

    mutating func append(_ job: Job) {
        precondition(job.id == count + 1, "jobs are appended in id order")
        recent.append(job)
    }

    /// Removes the last job if it was created since the last compaction; false otherwise.
    mutating func removeLastIfRecent() -> Bool {
        guard !recent.isEmpty else { return false }
        recent.removeLast()
        return true
    }

    /// The status at `index`, without rebuilding the job.
    func status(at index: Int) -> JobStatus {
        if index >= table.count { return recent[index - table.count].status }
        return changed[index]?.status ?? table.statusOf(index)
    }

    /// The name at `index`, without rebuilding the job.
    func name(at index: Int) -> String {
        if index >= table.count { return recent[index - table.count].name }
        return changed[index]?.name ?? table.nameOf(index)
    }

    /// The queue at `index` (`nil` = `default`), without rebuilding the job.
    func queue(at index: Int) -> String? {
        if index >= table.count { return recent[index - table.count].queue }
        if let job = changed[index] { return job.queue }
        let q = table.queue[index]
        return q == JobTable.nullString ? nil : table.strings[q]
    }

    /// Every job some job reruns (the `rerunOf` of every job), from the columns.
    func rerunSources() -> Set<Int> {
        var out = Set(table.rerunOf.lazy.filter { $0 != JobTable.nullInt }.map { Int($0) })
        for job in changed.values { if let of = job.rerunOf { out.insert(of) } }
        for job in recent { if let of = job.rerunOf { out.insert(of) } }
        return out
    }

    /// The start time at `index` (microseconds since 1970), without rebuilding the job.
    func startedAtMicros(at index: Int) -> Int64? {
        if index >= table.count { return recent[index - table.count].startedAt.map(Timestamp.micros) }
        if let job = changed[index] { return job.startedAt.map(Timestamp.micros) }
        return table.startedAtMicros(index)
    }

    /// Writes the changes into the table and returns it (shared, copy-on-write).
    mutating func compact() -> JobTable {
        if !changed.isEmpty {
            for (index, job) in changed { table.update(row: index, from: job) }
            changed.removeAll()
        }
        if !recent.isEmpty {
            for job in recent { table.append(job) }
            recent.removeAll()
        }
        return table
    }
}
