import ArgumentParser
import Foundation
import JobModel

#if canImport(Glibc)
import Glibc
#endif

/// Messages to standard error and the exit codes of failures (sysexits).
enum Diagnostics {
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let noInput: Int32 = 66
    static let failure: Int32 = 1

    /// Writes `text` and a newline to standard error.
    static func error(_ text: String) {
        let line = "Error: " + text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// Writes a line of information to standard error (standard output may be the data).
    static func note(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// Rewrites the progress line on standard error (a terminal).
    static func progress(_ text: String) {
        let line = "\r\u{1B}[K" + text
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// Runs `body`; reports a known failure in one sentence and exits with its code.
    static func mapErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SnapshotError {
            self.error(error.message)
            switch error.code {
            case .notFound: throw ExitCode(noInput)
            case .io, .invalidArgument: throw ExitCode(failure)
            default: throw ExitCode(dataError)
            }
        } catch let error as JobFileError {
            self.error(error.message)
            switch error.code {
            case .notFound: throw ExitCode(noInput)
            case .badData: throw ExitCode(dataError)
            default: throw ExitCode(failure)
            }
        }
    }

    /// Runs `body` and, when `JOBSTATS_TIMING` is set, prints how long it took to
    /// standard error (`timing: load 0.312 s`): the phases of a run, for benchmarks.
    static func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        guard ProcessInfo.processInfo.environment["JOBSTATS_TIMING"] != nil else { return try body() }
        let clock = ContinuousClock()
        let start = clock.now
        let result = try body()
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let line = "timing: \(phase) \(String(format: "%.3f", seconds)) s\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        return result
    }

    /// The time reports are stamped with: `SOURCE_DATE_EPOCH` when set (reproducible
    /// output for regression tests), else now.
    static func now() -> Date {
        if let text = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let seconds = Double(text) {
            return Date(timeIntervalSince1970: seconds)
        }
        return Date()
    }
}
