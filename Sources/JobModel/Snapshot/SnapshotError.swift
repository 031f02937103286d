/// A snapshot could not be read or written.
///
/// `message` names the file and says what is wrong; `code` is for programs. Two errors
/// are equal when their codes are.
public struct SnapshotError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case notFound, io, badMagic, unsupportedVersion, truncated, corruptData, invalidArgument
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The file does not exist.
        public static let notFound = Code(.notFound)
        /// The file system refused an operation (permissions, disk full, …).
        public static let io = Code(.io)
        /// The file is not a jobrunner snapshot.
        public static let badMagic = Code(.badMagic)
        /// The file was written by a newer format version than this reader knows.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The file ends before its last record.
        public static let truncated = Code(.truncated)
        /// The file's content is damaged.
        public static let corruptData = Code(.corruptData)
        /// The caller asked for something impossible (a count that does not match, …).
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { "\(value)" }
    }

    public var code: Code
    /// What failed, naming the path and, where known, the byte offset.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    public static func == (lhs: SnapshotError, rhs: SnapshotError) -> Bool {
        lhs.code == rhs.code
    }
}
