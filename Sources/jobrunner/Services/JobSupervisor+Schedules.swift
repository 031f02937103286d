import Foundation
import JobModel
import Logging

/// Schedules: jobs launched at the times of a cron expression.
extension JobSupervisor {
    /// A run this late (the service was down) is missed: started once if the schedule
    /// catches up, else skipped.
    static let scheduleGraceSeconds = 60.0

    func scheduleList() -> [JobSchedule] { schedules.schedules }

    /// Adds a schedule (durable before the answer); its first run is the next time after now.
    func addSchedule(_ schedule: JobSchedule) throws -> JobSchedule {
        var next = schedules
        var schedule = schedule
        schedule.id = next.nextId
        next.nextId += 1
        next.schedules.append(schedule)
        try saveSchedules(next)
        logger.notice(
            "Schedule added",
            metadata: [
                "schedule.id": "\(schedule.id)", "schedule.name": "\(schedule.name)", "cron": "\(schedule.cron)",
            ]
        )
        return schedule
    }

    /// Removes a schedule (its jobs stay); `APIError.notFound` for an unknown id.
    func deleteSchedule(_ id: Int) throws -> JobSchedule {
        guard let index = schedules.schedules.firstIndex(where: { $0.id == id }) else {
            throw APIError.notFound("schedule \(id) not found")
        }
        var next = schedules
        let removed = next.schedules.remove(at: index)
        try saveSchedules(next)
        logger.notice("Schedule deleted", metadata: ["schedule.id": "\(id)"])
        return removed
    }

    private func saveSchedules(_ contents: ScheduleFile.Contents) throws {
        do {
            try ScheduleFile.save(contents, state: files.state)
        } catch {
            throw APIError.unavailable("cannot write \(ScheduleFile.path(state: files.state)): \(error)")
        }
        schedules = contents
    }

    /// Starts the runs that are due (called about once a second, and at start-up for the
    /// runs missed while the service was down).
    func runDueSchedules(now: Date = Date()) async {
        for id in schedules.schedules.map(\.id) {
            guard let schedule = schedules.schedules.first(where: { $0.id == id }),
                let cron = schedule.cronSchedule, let first = schedule.nextRunAt, first <= now
            else { continue }
            // The latest time due: runs missed while the service was down count once.
            var latest = first
            var missed = 0
            while missed < 1_000_000, let next = cron.next(after: latest), next <= now {
                latest = next
                missed += 1
            }
            let late = now.timeIntervalSince(latest) > Self.scheduleGraceSeconds
            if late && !schedule.catchUp {
                logger.notice(
                    "Schedule runs missed while the service was down are skipped (catchUp is false)",
                    metadata: [
                        "schedule.id": "\(id)", "missed": "\(missed + 1)", "last": "\(Timestamp.format(latest))",
                    ]
                )
                update(id) { $0.lastRunAt = latest.timeIntervalSince1970 }
                continue
            }
            await run(id, at: latest, late: late)
        }
    }

    /// Starts schedule `id`'s run of time `slot`, as its overlap policy says.
    private func run(_ id: Int, at slot: Date, late: Bool) async {
        guard let schedule = schedules.schedules.first(where: { $0.id == id }) else { return }
        var request = schedule.job.request(scheduleId: id)
        if let previous = schedule.lastJobId, let end = chainEnd(previous), !jobs.status(at: end - 1).isFinal {
            switch schedule.overlap {
            case .skip:
                logger.notice(
                    "Schedule run skipped: its previous job has not ended (overlap: skip)",
                    metadata: ["schedule.id": "\(id)", "job.id": "\(end)", "time": "\(Timestamp.format(slot))"]
                )
                update(id) {
                    $0.lastRunAt = slot.timeIntervalSince1970
                    $0.skippedRuns += 1
                }
                return
            case .queue:
                request.dependsOn = [JobDependency(job: end, on: .ended)]
            case .allow:
                break
            }
        }
        // Keyed by (schedule, time): a run created just before a crash that kept the file
        // from recording it is found again, not started twice.
        let key = IdempotencyKey(scope: "schedule:\(id)", key: Timestamp.format(slot), bodySHA256: "schedule")
        do {
            let (job, replayed) = try await create(request, idempotency: key)
            update(id) {
                $0.lastRunAt = slot.timeIntervalSince1970
                $0.lastJobId = job.id
            }
            logger.info(
                "Schedule run started",
                metadata: [
                    "schedule.id": "\(id)", "job.id": "\(job.id)", "time": "\(Timestamp.format(slot))",
                    "catchUp": "\(late)", "replayed": "\(replayed)",
                ]
            )
        } catch {
            // Not recorded (e.g. the journal cannot be written): tried again next time round.
            logger.error("Schedule run could not start", metadata: ["schedule.id": "\(id)", "error": "\(error)"])
        }
    }

    /// The last job of the retry chain that starts at `id`.
    private func chainEnd(_ id: Int) -> Int? {
        guard id >= 1, id <= jobs.count else { return nil }
        var current = id
        for _ in 0..<1_000 {
            guard let next = jobs[current - 1].retriedBy, next <= jobs.count else { break }
            current = next
        }
        return current
    }

    /// Changes schedule `id` and writes the file (a failed write is logged: the run's
    /// idempotency key keeps a repeat from starting it twice).
    private func update(_ id: Int, _ change: (inout JobSchedule) -> Void) {
        guard let index = schedules.schedules.firstIndex(where: { $0.id == id }) else { return }
        var next = schedules
        change(&next.schedules[index])
        do {
            try saveSchedules(next)
        } catch {
            schedules = next
            logger.error("Schedules file cannot be written", metadata: ["error": "\(error)"])
        }
    }
}
