import Foundation
import JobModel
import PropertyBased
import Testing

@testable import jobrunner

/// The job state machine alone, in-process: every (state, event) pair, and properties over
/// random event sequences.
@Suite struct JobLifecycleTests {
    typealias State = JobLifecycle.State
    typealias Event = JobLifecycle.Event

    static let now = Date(timeIntervalSince1970: 1_767_571_200)

    static func record(exitCode: Int? = 0, signal: Int? = nil, error: String = "", oomKills: Int? = nil) -> ExitRecord {
        ExitRecord(
            id: 1,
            pid: 4242,
            startedAtMicros: 1_767_571_200_000_000,
            endedAtMicros: 1_767_571_203_500_000,
            exitCode: exitCode,
            signal: signal,
            userMicros: 700_000,
            systemMicros: 300_000,
            maxRssKilobytes: 2048,
            leftoverProcesses: 0,
            cgroup: nil,
            memoryPeakBytes: nil,
            oomKills: oomKills,
            error: error
        )
    }

    /// Every state the machine knows.
    static let states: [(String, State)] =
        [("pending", .pending), ("starting", .starting), ("running", .running)]
        + JobLifecycle.StopReason.allCases.map { ("stopping(\($0.rawValue))", .stopping($0)) }
        + JobStatus.allCases.filter(\.isFinal).map { ("ended(\($0.rawValue))", .ended($0)) }

    /// Every event, with the variants of an exit that lead to different ends.
    static let events: [(String, Event)] = [
        ("launch", .launch),
        ("spawned", .spawned),
        ("spawnPostponed", .spawnPostponed),
        ("spawnFailed", .spawnFailed("cannot start jobshim")),
        ("adopted", .adopted(pid: 77)),
        ("sampled", .sampled(JobMetrics(sampleCount: 1), rssNow: 10, limit: 100)),
        ("sampledOverLimit", .sampled(JobMetrics(sampleCount: 1), rssNow: 200, limit: 100)),
        ("timeoutDue", .timeoutDue),
        ("cancelRequested", .cancelRequested),
        ("exited(0)", .exited(record())),
        ("exited(1)", .exited(record(exitCode: 1))),
        ("exited(signal)", .exited(record(exitCode: nil, signal: 9))),
        ("exited(execError)", .exited(record(exitCode: 127, error: "exec: No such file or directory"))),
        ("exited(oomKill)", .exited(record(exitCode: nil, signal: 9, oomKills: 1))),
        ("lost", .lost("lost: its shim exited without an exit record")),
        ("retryDue", .retryDue),
        ("dependencyWaiting", .dependencyWaiting("waiting for job 7 to end succeeded")),
        ("dependenciesMet", .dependenciesMet),
        ("dependencyFailed", .dependencyFailed("dependencyFailed: job 7 ended failed, not succeeded")),
        ("shuttingDown", .shuttingDown),
    ]

    static func name(_ state: State) -> String {
        states.first { $0.1 == state }!.0
    }

    /// A job whose record agrees with `state`.
    static func job(in state: State, attempt: Int = 1) -> Job {
        var job = Job(id: 1, name: "j", command: ["/bin/true"], status: state.status, attempt: attempt)
        if state.status != .pending { job.startedAt = now }
        if state.status.isFinal { job.endedAt = now }
        return job
    }

    /// One line per pair: `state + event -> next change [actions]`, or `refused`.
    static func row(_ state: (String, State), _ event: (String, Event), retries: Int = 0) -> String {
        var job = job(in: state.1)
        let context = JobLifecycle.Context(now: now, retries: retries, nextID: 2, hasMemoryLimit: true)
        switch JobLifecycle.decide(event.1, in: state.1, job: &job, context: context) {
        case .failure:
            return "\(state.0) + \(event.0) -> refused"
        case .success(let d):
            let actions = d.actions.map { "\($0)" }.joined(separator: ", ")
            return "\(state.0) + \(event.0) -> \(name(d.next)) \(d.change) [\(actions)]"
        }
    }

    /// The whole table, the illegal pairs included. A change here is a change of how every
    /// job lives: README › How a job lives must follow (see `readmeDiagramListsEveryTransition`).
    @Test func everyStateAndEventPair() {
        let expected = """
            pending + launch -> starting durable [spawn]
            pending + spawned -> refused
            pending + spawnPostponed -> refused
            pending + spawnFailed -> refused
            pending + adopted -> running durable []
            pending + sampled -> pending none []
            pending + sampledOverLimit -> pending none []
            pending + timeoutDue -> pending none []
            pending + cancelRequested -> ended(cancelled) durable [finished(JobModel.JobStatus.cancelled)]
            pending + exited(0) -> refused
            pending + exited(1) -> refused
            pending + exited(signal) -> refused
            pending + exited(execError) -> refused
            pending + exited(oomKill) -> refused
            pending + lost -> ended(lost) durable [finished(JobModel.JobStatus.lost)]
            pending + retryDue -> pending none [enqueue]
            pending + dependencyWaiting -> pending durable []
            pending + dependenciesMet -> pending none [enqueue]
            pending + dependencyFailed -> ended(skipped) durable [finished(JobModel.JobStatus.skipped)]
            pending + shuttingDown -> pending none []
            starting + launch -> refused
            starting + spawned -> running none []
            starting + spawnPostponed -> pending durable [requeue]
            starting + spawnFailed -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            starting + adopted -> refused
            starting + sampled -> starting live []
            starting + sampledOverLimit -> stopping(memoryLimit) live [signalStop(jobrunner.JobLifecycle.StopReason.memoryLimit)]
            starting + timeoutDue -> stopping(timeout) none [signalStop(jobrunner.JobLifecycle.StopReason.timeout)]
            starting + cancelRequested -> stopping(cancelled) none [signalStop(jobrunner.JobLifecycle.StopReason.cancelled)]
            starting + exited(0) -> ended(succeeded) durable [finished(JobModel.JobStatus.succeeded)]
            starting + exited(1) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            starting + exited(signal) -> ended(crashed) durable [finished(JobModel.JobStatus.crashed)]
            starting + exited(execError) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            starting + exited(oomKill) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            starting + lost -> ended(lost) durable [killLeftovers, finished(JobModel.JobStatus.lost)]
            starting + retryDue -> refused
            starting + dependencyWaiting -> refused
            starting + dependenciesMet -> refused
            starting + dependencyFailed -> refused
            starting + shuttingDown -> starting none []
            running + launch -> refused
            running + spawned -> refused
            running + spawnPostponed -> refused
            running + spawnFailed -> refused
            running + adopted -> running none []
            running + sampled -> running live []
            running + sampledOverLimit -> stopping(memoryLimit) live [signalStop(jobrunner.JobLifecycle.StopReason.memoryLimit)]
            running + timeoutDue -> stopping(timeout) none [signalStop(jobrunner.JobLifecycle.StopReason.timeout)]
            running + cancelRequested -> stopping(cancelled) none [signalStop(jobrunner.JobLifecycle.StopReason.cancelled)]
            running + exited(0) -> ended(succeeded) durable [finished(JobModel.JobStatus.succeeded)]
            running + exited(1) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            running + exited(signal) -> ended(crashed) durable [finished(JobModel.JobStatus.crashed)]
            running + exited(execError) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            running + exited(oomKill) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            running + lost -> ended(lost) durable [killLeftovers, finished(JobModel.JobStatus.lost)]
            running + retryDue -> refused
            running + dependencyWaiting -> refused
            running + dependenciesMet -> refused
            running + dependencyFailed -> refused
            running + shuttingDown -> running none []
            """
        var rows: [String] = []
        for state in Self.states.prefix(3) {
            for event in Self.events { rows.append(Self.row(state, event)) }
        }
        let got = rows.joined(separator: "\n")
        for (line, want) in zip(got.split(separator: "\n"), expected.split(separator: "\n")) where line != want {
            Issue.record("got  \(line)\nwant \(want)")
        }
        #expect(rows.count == expected.split(separator: "\n").count)
    }

    @Test func stoppingStatesEndAsAskedWhateverTheTiming() {
        let expected = """
            stopping(timeout) + spawned -> stopping(timeout) none [signalStop(jobrunner.JobLifecycle.StopReason.timeout)]
            stopping(timeout) + spawnPostponed -> pending durable [requeue]
            stopping(timeout) + cancelRequested -> stopping(timeout) none []
            stopping(timeout) + timeoutDue -> stopping(timeout) none []
            stopping(timeout) + exited(0) -> ended(timedOut) durable [finished(JobModel.JobStatus.timedOut)]
            stopping(timeout) + exited(signal) -> ended(timedOut) durable [finished(JobModel.JobStatus.timedOut)]
            stopping(timeout) + exited(oomKill) -> ended(timedOut) durable [finished(JobModel.JobStatus.timedOut)]
            stopping(cancelled) + spawned -> stopping(cancelled) none [signalStop(jobrunner.JobLifecycle.StopReason.cancelled)]
            stopping(cancelled) + spawnPostponed -> ended(cancelled) durable [finished(JobModel.JobStatus.cancelled)]
            stopping(cancelled) + spawnFailed -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            stopping(cancelled) + cancelRequested -> stopping(cancelled) none []
            stopping(cancelled) + exited(0) -> ended(cancelled) durable [finished(JobModel.JobStatus.cancelled)]
            stopping(cancelled) + exited(1) -> ended(cancelled) durable [finished(JobModel.JobStatus.cancelled)]
            stopping(cancelled) + exited(signal) -> ended(cancelled) durable [finished(JobModel.JobStatus.cancelled)]
            stopping(cancelled) + lost -> ended(lost) durable [killLeftovers, finished(JobModel.JobStatus.lost)]
            stopping(memoryLimit) + sampledOverLimit -> stopping(memoryLimit) live []
            stopping(memoryLimit) + exited(0) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            stopping(memoryLimit) + exited(signal) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            stopping(memoryLimit) + exited(execError) -> ended(failed) durable [finished(JobModel.JobStatus.failed)]
            """
        for want in expected.split(separator: "\n") {
            let parts = want.components(separatedBy: " + ")
            let eventName = parts[1].components(separatedBy: " -> ")[0]
            let state = Self.states.first { $0.0 == parts[0] }!
            let event = Self.events.first { $0.0 == eventName }!
            #expect(Self.row(state, event) == String(want))
        }
    }

    @Test func anEndedJobRefusesEverythingButShutdown() {
        for state in Self.states where state.0.hasPrefix("ended") {
            for event in Self.events {
                let row = Self.row(state, event)
                if event.0 == "shuttingDown" {
                    #expect(row == "\(state.0) + shuttingDown -> \(state.0) none []")
                } else {
                    // An exit after lost, a cancel after the end, a second exit, …
                    #expect(row.hasSuffix("-> refused"), "\(row)")
                }
            }
        }
    }

    /// The bug this machine was written for: a job marked `lost` while the service ran
    /// did not move the change counter, so `GET /v1/stats` counted it as running.
    @Test func lostIsAChangeLikeAnyOther() {
        for state in [State.pending, .starting, .running, .stopping(.cancelled)] {
            var job = Self.job(in: state)
            let decision = try? JobLifecycle.decide(
                .lost("lost: its shim exited without an exit record"),
                in: state,
                job: &job,
                context: .init(now: Self.now)
            ).get()
            #expect(decision?.change == .durable)
            #expect(job.status == .lost && job.endedAt != nil)
        }
    }

    // MARK: - Outcome and retry policy

    @Test func outcomeClassification() {
        typealias R = JobLifecycle.StopReason
        let cases: [(ExitRecord, R?, Bool, JobStatus, String?)] = [
            (Self.record(), nil, false, .succeeded, nil),
            (Self.record(exitCode: 3), nil, false, .failed, nil),
            (Self.record(exitCode: nil, signal: 11), nil, false, .crashed, nil),
            (Self.record(exitCode: nil, signal: 9, oomKills: 1), nil, false, .crashed, "oomKilled"),
            (Self.record(exitCode: nil, signal: 9, oomKills: 1), nil, true, .failed, "memoryLimit"),
            (Self.record(exitCode: nil, signal: 9, oomKills: 1), .timeout, true, .timedOut, "timeout"),
            (Self.record(exitCode: 0), .timeout, false, .timedOut, "timeout"),
            (Self.record(exitCode: nil, signal: 15), .cancelled, false, .cancelled, "cancelled"),
            (Self.record(exitCode: nil, signal: 9), .memoryLimit, true, .failed, "memoryLimit"),
            (Self.record(exitCode: 127, error: "exec: No such file"), .cancelled, false, .failed, "exec: No such file"),
        ]
        for (record, stop, limit, status, reason) in cases {
            let got = JobOutcome.classify(record, stop: stop, hasMemoryLimit: limit)
            #expect(got.status == status && got.reason == reason, "\(record) \(String(describing: stop)) \(limit)")
        }
    }

    @Test func retryPolicy() {
        let policy = RetryPolicy(baseDelaySeconds: 1, maxDelaySeconds: 5, noRetryExitCodes: [2])
        func job(_ status: JobStatus, attempt: Int, exitCode: Int? = 1) -> Job {
            Job(id: 1, name: "j", command: [], status: status, exitCode: exitCode, attempt: attempt)
        }
        #expect(policy.delay(after: job(.failed, attempt: 1), retries: 3) == 1)
        #expect(policy.delay(after: job(.crashed, attempt: 2), retries: 3) == 2)
        #expect(policy.delay(after: job(.timedOut, attempt: 3), retries: 3) == 4)
        #expect(policy.delay(after: job(.failed, attempt: 4), retries: 3) == nil, "no retries left")
        #expect(policy.delay(after: job(.failed, attempt: 1), retries: 0) == nil)
        #expect(policy.delay(after: job(.failed, attempt: 1, exitCode: 2), retries: 3) == nil, "noRetryExitCodes")
        #expect(policy.delay(after: job(.cancelled, attempt: 1), retries: 3) == nil)
        #expect(policy.delay(after: job(.succeeded, attempt: 1, exitCode: 0), retries: 3) == nil)
        #expect(policy.delay(after: job(.lost, attempt: 1, exitCode: nil), retries: 3) == nil)
        let many = RetryPolicy(baseDelaySeconds: 1, maxDelaySeconds: 5)
        #expect(many.delay(after: job(.failed, attempt: 9), retries: 20) == 5, "capped")
    }

    // MARK: - Properties over random event sequences

    /// A history driven only by the machine, as the supervisor drives it: commit on a
    /// change, the journal on a durable one, a new job for each scheduled retry.
    struct Model {
        var jobs: [Job] = []
        var states: [State] = []
        var journal: [Int] = []
        var counter = 0
        var retries: Int

        init(jobs count: Int, retries: Int) {
            self.retries = retries
            for id in 1...count {
                jobs.append(Job(id: id, name: "j\(id)", command: ["/bin/true"], status: .pending))
                states.append(.pending)
            }
        }

        mutating func apply(_ event: Event, to index: Int) {
            let id = index + 1
            let state = states[index]
            var job = jobs[index]
            let before = job
            let context = JobLifecycle.Context(
                now: JobLifecycleTests.now,
                retries: retries,
                policy: RetryPolicy(baseDelaySeconds: 1, maxDelaySeconds: 60),
                nextID: jobs.count + 1,
                hasMemoryLimit: true
            )
            switch JobLifecycle.decide(event, in: state, job: &job, context: context) {
            case .failure:
                #expect(job == before, "a refused event changes nothing")
            case .success(let decision):
                // The record changes exactly when the decision says so.
                #expect((job != before) == (decision.change != .none), "\(state) \(event)")
                if job.status != before.status { #expect(decision.change == .durable, "\(state) \(event)") }
                #expect(decision.next.status == job.status, "the state and the record agree")
                if case .ended(let status) = state {
                    #expect(decision.next == .ended(status) && decision.change == .none, "terminal states are final")
                }
                if decision.change != .none {
                    counter += 1
                    jobs[index] = job
                }
                if decision.change == .durable { journal.append(id) }
                states[index] = decision.next
                for case .scheduleRetry(let retryID, _) in decision.actions {
                    #expect(retryID == jobs.count + 1)
                    jobs.append(JobLifecycle.retry(of: jobs[index], id: retryID))
                    states.append(.pending)
                    counter += 1
                    journal.append(retryID)
                }
            }
        }
    }

    static let eventChoices: [Event] = events.map(\.1)

    @Test func randomSequencesKeepTheInvariants() async {
        // Each step: an event (n / 8) for one of the jobs (n % 8, modulo their count).
        let steps = Gen.int(in: 0...(Self.eventChoices.count * 8 - 1)).array(of: 1...120)
        await propertyCheck(count: 300, input: steps, Gen.int(in: 0...3)) { steps, retries in
            var model = Model(jobs: 3, retries: retries)
            var durable = 0
            var changes = 0
            for step in steps {
                let eventIndex = step / 8
                let index = (step % 8) % model.jobs.count
                let journaled = model.journal.count
                let counted = model.counter
                model.apply(Self.eventChoices[eventIndex], to: index)
                durable += model.journal.count - journaled
                changes += model.counter - counted
                #expect(model.counter - counted >= model.journal.count - journaled, "the counter moves on every change")
            }
            #expect(model.journal.count == durable)
            for (index, job) in model.jobs.enumerated() {
                #expect(model.states[index].status == job.status)
                if job.status.isFinal { #expect(job.endedAt != nil, "an ended job has its end time") }
                if let parent = job.parentId {
                    let p = model.jobs[parent - 1]
                    #expect(p.retriedBy == job.id, "retriedBy and parentId link both ways")
                    #expect(job.attempt == p.attempt + 1, "attempts grow by one")
                    #expect(p.status.isFailure)
                }
                if let child = job.retriedBy { #expect(model.jobs[child - 1].parentId == job.id) }
                #expect(job.attempt <= retries + 1, "no more attempts than retries allow")
            }
        }
    }
}

extension JobLifecycleTests {
    /// The machine's transitions as the README draws them: `from --> to : event`, states
    /// that change (a stop's reason and an exit's kind are folded into one node and one
    /// label).
    static var drawnTransitions: Set<String> {
        func node(_ state: State) -> String {
            switch state {
            case .stopping: "stopping"
            case .ended(let status): status.rawValue
            default: name(state)
            }
        }
        var lines: Set<String> = []
        for state in states {
            for event in events {
                var job = job(in: state.1)
                let context = JobLifecycle.Context(now: now, hasMemoryLimit: true)
                guard case .success(let d) = JobLifecycle.decide(event.1, in: state.1, job: &job, context: context),
                    node(d.next) != node(state.1)
                else { continue }
                let label = event.0.split(separator: "(").first.map(String.init)!
                lines.insert(
                    "\(node(state.1)) --> \(node(d.next)) : \(label == "sampledOverLimit" ? "sampled" : label)"
                )
            }
        }
        return lines
    }

    @Test func readmeDiagramListsEveryTransition() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "```mermaid").dropFirst().first)
        let diagram = section.components(separatedBy: "```")[0]
        let drawn = Set(
            diagram.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.contains(" --> ") && !$0.hasPrefix("[*]") && !$0.contains("--> [*]") }
        )
        let machine = Self.drawnTransitions
        #expect(machine.subtracting(drawn).isEmpty, "missing from the README: \(machine.subtracting(drawn).sorted())")
        #expect(drawn.subtracting(machine).isEmpty, "not in the machine: \(drawn.subtracting(machine).sorted())")
    }
}
