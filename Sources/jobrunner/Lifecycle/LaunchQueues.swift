/// The launch lanes (`queues` in the configuration): which pending job starts next.
///
/// Each queue is a FIFO of job ids with its own `maxConcurrent` and a paused flag;
/// `jobs.maxConcurrent` stays the cap over all of them (the caller checks it). The next job
/// is the oldest head among the queues that may start one, so with one queue — the usual
/// case — it is the plain FIFO it always was. Pure bookkeeping: no I/O, no clock.
struct LaunchQueues: Sendable {
    static let defaultName = "default"

    struct Lane: Sendable {
        /// Jobs of this queue running at once at most; `nil` = only the global cap.
        var maxConcurrent: Int?
        var paused = false
        /// Launch order; entries before `head` were taken. An entry may have been
        /// cancelled since it was queued: the caller's `isPending` skips it.
        var items: [Int] = []
        var head = 0
        /// Slots this queue's jobs hold (being spawned, running, stopping).
        var running = 0
        /// Configured, as opposed to made up for a job recovered from a queue the
        /// configuration no longer has.
        var configured = true

        var mayStart: Bool { !paused && maxConcurrent.map { running < $0 } ?? true }
    }

    private(set) var lanes: [String: Lane]

    /// Lanes for `limits` (name → `maxConcurrent`, `nil` for none) plus `default`, with
    /// the queues in `paused` paused.
    init(limits: [String: Int?] = [:], paused: Set<String> = []) {
        var lanes: [String: Lane] = [Self.defaultName: Lane()]
        for (name, limit) in limits { lanes[name] = Lane(maxConcurrent: limit) }
        for name in paused where lanes[name] != nil { lanes[name]!.paused = true }
        self.lanes = lanes
    }

    /// The lane key of a job's `queue` field (`nil` is `default`).
    static func name(_ queue: String?) -> String { queue ?? defaultName }

    /// The lane of `queue`, made (unlimited) when the configuration no longer has it.
    private mutating func lane(_ queue: String?) -> String {
        let name = Self.name(queue)
        if lanes[name] == nil { lanes[name] = Lane(configured: false) }
        return name
    }

    /// Queues job `id` at the end of its lane.
    mutating func enqueue(_ id: Int, queue: String?) {
        lanes[lane(queue)]!.items.append(id)
    }

    /// Puts job `id` back at the head of its lane (it could not be spawned now).
    mutating func requeue(_ id: Int, queue: String?) {
        let name = lane(queue)
        if lanes[name]!.head > 0 {
            lanes[name]!.head -= 1
            lanes[name]!.items[lanes[name]!.head] = id
        } else {
            lanes[name]!.items.insert(id, at: 0)
        }
    }

    /// A job of `queue` took a slot.
    mutating func occupied(queue: String?) {
        lanes[lane(queue)]!.running += 1
    }

    /// A job of `queue` gave its slot back.
    mutating func freed(queue: String?) {
        let name = lane(queue)
        lanes[name]!.running = max(0, lanes[name]!.running - 1)
    }

    /// Takes the next job to launch: the oldest pending head among the lanes that may start
    /// one, or `nil`. Entries that are no longer pending (`isPending` false) are dropped.
    mutating func next(isPending: (Int) -> Bool) -> Int? {
        var best: (name: String, id: Int)?
        for (name, lane) in lanes where lane.mayStart {
            var head = lane.head
            while head < lane.items.count, !isPending(lane.items[head]) { head += 1 }
            if head != lane.head { setHead(name, head) }
            if head < lane.items.count, best.map({ lane.items[head] < $0.id }) ?? true {
                best = (name, lane.items[head])
            }
        }
        guard let best else { return nil }
        setHead(best.name, lanes[best.name]!.head + 1)
        return best.id
    }

    /// Moves a lane's head, dropping taken entries once they are most of the array.
    private mutating func setHead(_ name: String, _ head: Int) {
        lanes[name]!.head = head
        if head > 1_024, head * 2 > lanes[name]!.items.count {
            lanes[name]!.items.removeFirst(head)
            lanes[name]!.head = 0
        }
    }

    /// Pauses (`true`) or resumes a queue; false when there is no such queue.
    mutating func setPaused(_ name: String, _ paused: Bool) -> Bool {
        guard lanes[name] != nil else { return false }
        lanes[name]!.paused = paused
        return true
    }

    /// The names of the paused queues.
    var paused: Set<String> { Set(lanes.filter(\.value.paused).keys) }

    /// How many jobs of lane `name` still wait in it (not yet taken, still pending).
    func queuedCount(_ name: String, isPending: (Int) -> Bool) -> Int {
        guard let lane = lanes[name] else { return 0 }
        var count = 0
        for id in lane.items[lane.head...] where isPending(id) { count += 1 }
        return count
    }
}
