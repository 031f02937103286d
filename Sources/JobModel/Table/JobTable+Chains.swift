extension JobTable {
    /// The rows of retries (jobs with a `parentId`) by job id: what ``chainEnd(from:retryRows:)``
    /// follows. Built once per pass over a history.
    public func retryRowsByID() -> [Int64: Int] {
        var rows: [Int64: Int] = [:]
        for row in 0..<count where parentId[row] != Self.nullInt { rows[id[row]] = row }
        return rows
    }

    /// The last attempt of the retry chain through `row` (following `retriedBy`) and how
    /// many attempts it has from `row` on; at most 1,000 steps (a damaged history's loop).
    public func chainEnd(from row: Int, retryRows: [Int64: Int]) -> (row: Int, length: Int) {
        var end = row
        var length = 1
        while retriedBy[end] != Self.nullInt, let next = retryRows[retriedBy[end]], length <= 1000 {
            end = next
            length += 1
        }
        return (end, length)
    }
}
