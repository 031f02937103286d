/// What a ``TimeHistogram`` counts per bin.
protocol TimeBin: Sendable {
    init()
    /// Adds a later (or the same) bin's counts.
    mutating func merge(_ other: Self)
}

/// Counts per span of start time, mergeable: bins of 2^`shift` seconds, aligned on the
/// epoch, as few as it takes for the span of the history to fit in `limit` bins. Two
/// histograms merge by widening the finer one's bins (exact: aligned bins nest), so the
/// merged bins do not depend on how the history was cut into parts.
struct TimeHistogram<Bin: TimeBin>: Sendable {
    let limit: Int
    private(set) var shift: Int
    /// Bin numbers (start seconds >> `shift`), ascending, and their counts.
    private(set) var keys: [Int64] = []
    var bins: [Bin] = []
    /// Earliest and latest start seen, in seconds.
    private(set) var lowest = Int64.max
    private(set) var highest = Int64.min

    /// Every bin from `lowest` to `highest` seconds, empty, for counting in any order: a
    /// job's bin is `bins[index(ofSeconds:)]`; then ``dropEmpty(_:)``. Counting in row order
    /// gives what counting in start order does when a bin keeps the earliest of equal starts.
    init(limit: Int, every lowest: Int64, _ highest: Int64) {
        self.limit = limit
        shift = Self.shift(lowest: lowest, highest: highest, limit: limit)
        guard lowest <= highest else { return }
        let first = lowest >> Int64(shift)
        keys = Array(first...(highest >> Int64(shift)))
        bins = Array(repeating: Bin(), count: keys.count)
        self.lowest = lowest
        self.highest = highest
    }

    /// The index in ``bins`` of a start at `seconds`, in a histogram made with
    /// ``init(limit:every:_:)`` that spans it.
    @inline(__always)
    func index(ofSeconds seconds: Int64) -> Int { Int((seconds >> Int64(shift)) - keys[0]) }

    /// Removes the bins `isEmpty` holds for.
    mutating func dropEmpty(_ isEmpty: (Bin) -> Bool) {
        var k: [Int64] = []
        var b: [Bin] = []
        for (key, bin) in zip(keys, bins) where !isEmpty(bin) {
            k.append(key)
            b.append(bin)
        }
        keys = k
        bins = b
    }

    /// The fewest doublings of a one-second bin for `lowest…highest` to fit in `limit` bins.
    static func shift(lowest: Int64, highest: Int64, limit: Int) -> Int {
        guard lowest <= highest else { return 0 }
        var shift = 0
        while (highest >> Int64(shift)) - (lowest >> Int64(shift)) >= Int64(limit) { shift += 1 }
        return shift
    }

    /// Seconds of a microsecond time, rounded down.
    static func seconds(micros: Int64) -> Int64 { micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000 }

    var isEmpty: Bool { keys.isEmpty }

    /// The start, in seconds, of bin `key`.
    func start(ofKey key: Int64) -> Int64 { key << Int64(shift) }

    /// Adds `other`'s bins, widening both to the bins the joint span needs.
    mutating func merge(_ other: TimeHistogram) {
        guard !other.isEmpty else { return }
        guard !isEmpty else {
            self = other
            return
        }
        let joint = max(
            shift,
            other.shift,
            Self.shift(lowest: min(lowest, other.lowest), highest: max(highest, other.highest), limit: limit)
        )
        let (a, b) = (widened(to: joint), other.widened(to: joint))
        var keys: [Int64] = []
        var bins: [Bin] = []
        keys.reserveCapacity(a.keys.count + b.keys.count)
        bins.reserveCapacity(a.keys.count + b.keys.count)
        var (i, j) = (0, 0)
        while i < a.keys.count || j < b.keys.count {
            let key = min(i < a.keys.count ? a.keys[i] : .max, j < b.keys.count ? b.keys[j] : .max)
            var bin = Bin()
            if i < a.keys.count, a.keys[i] == key {
                bin.merge(a.bins[i])
                i += 1
            }
            if j < b.keys.count, b.keys[j] == key {
                bin.merge(b.bins[j])
                j += 1
            }
            keys.append(key)
            bins.append(bin)
        }
        self.keys = keys
        self.bins = bins
        shift = joint
        lowest = min(lowest, other.lowest)
        highest = max(highest, other.highest)
    }

    /// The same counts in bins of 2^`wider` seconds.
    private func widened(to wider: Int) -> TimeHistogram {
        guard wider > shift else { return self }
        var out = self
        out.shift = wider
        out.keys = []
        out.bins = []
        let delta = Int64(wider - shift)
        for (key, bin) in zip(keys, bins) {
            let k = key >> delta
            if out.keys.last == k {
                out.bins[out.bins.count - 1].merge(bin)
            } else {
                out.keys.append(k)
                out.bins.append(bin)
            }
        }
        return out
    }
}

/// A number of jobs.
struct CountBin: TimeBin {
    var count = 0
    init() {}
    mutating func merge(_ other: CountBin) { count += other.count }
}
