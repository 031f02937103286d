import Foundation
import JobModel
import Logging

/// Webhook messages: the outbox the supervisor keeps and journals (``OutboxEntry``);
/// ``WebhookService`` delivers it.
extension JobSupervisor {
    /// Entries of `event` for every webhook that wants it (recorded in ``outbox``; the
    /// caller journals them, then hands them to the ``WebhookService``).
    func newOutboxEntries(_ event: NotifyEvent, body: [UInt8]) -> [OutboxEntry] {
        let now = Date().timeIntervalSince1970
        var entries: [OutboxEntry] = []
        for hook in webhooks where hook.events.contains(event) {
            let entry = OutboxEntry(
                seq: nextOutboxSeq,
                url: hook.url,
                event: event,
                body: String(decoding: body, as: UTF8.self),
                createdAt: now
            )
            nextOutboxSeq += 1
            outbox[entry.seq] = entry
            entries.append(entry)
        }
        return entries
    }

    /// `queueDrained` when job `id`'s end left its queue with nothing running or pending.
    func notifyIfDrained(after id: Int) {
        guard webhooks.contains(where: { $0.events.contains(.queueDrained) }) else { return }
        let name = LaunchQueues.name(jobs.queue(at: id - 1))
        guard !drainAnnounced.contains(name), let status = queueStatuses().first(where: { $0.name == name }),
            status.running == 0, status.pending == 0
        else { return }
        var body: [UInt8] = Array(#"{"event":"queueDrained","queue":"#.utf8)
        body += Array((try? JobJSONLines.makeEncoder().encode(status)) ?? Data("null".utf8))
        body.append(125)
        let entries = newOutboxEntries(.queueDrained, body: body)
        drainAnnounced.insert(name)
        journal.enqueue(OutboxEntry.journalLine(entries))
        for entry in entries { notificationContinuation.yield(entry) }
    }

    /// The receiver of `seq` answered 2xx, or the message was dropped: it leaves the outbox.
    func delivered(_ seq: Int) {
        guard outbox.removeValue(forKey: seq) != nil else { return }
        journal.enqueue(OutboxEntry.deliveredLine(seq))
    }

    /// The messages not yet delivered: those `STATE/outbox.json` kept at the last cut, then
    /// the journal's (entries added, acknowledgements removed), in order. Messages for a
    /// webhook the configuration no longer has are dropped (logged).
    func recoverOutbox(saved: OutboxEntry.Saved, journaled: [OutboxEntry.JournalLine]) {
        nextOutboxSeq = max(nextOutboxSeq, saved.nextSeq)
        func add(_ entry: OutboxEntry) {
            outbox[entry.seq] = entry
            nextOutboxSeq = max(nextOutboxSeq, entry.seq + 1)  // delivered or not, a seq is used once
        }
        saved.entries.forEach(add)
        for line in journaled {
            switch line {
            case .entries(let entries): entries.forEach(add)
            case .delivered(let seq): outbox[seq] = nil
            }
        }
        let urls = Set(webhooks.map(\.url))
        for entry in outbox.values.sorted(by: { $0.seq < $1.seq }) {
            if urls.contains(entry.url) {
                notificationContinuation.yield(entry)
            } else {
                logger.warning(
                    "Webhook message dropped: its URL is no longer in notify.webhooks",
                    metadata: ["seq": "\(entry.seq)", "url": "\(entry.url)", "event": "\(entry.event.rawValue)"]
                )
                delivered(entry.seq)
            }
        }
    }
}
