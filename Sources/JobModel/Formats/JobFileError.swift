/// A CSV or JSON Lines file of jobs could not be read or written.
public struct JobFileError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable { case notFound, io, badData }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// The file does not exist.
        public static let notFound = Code(.notFound)
        /// The file system refused an operation.
        public static let io = Code(.io)
        /// The content is not valid jobs (bad CSV, JSON, field value).
        public static let badData = Code(.badData)
        public var description: String { "\(value)" }
    }

    public var code: Code
    /// What is wrong, naming the file and line.
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    public static func == (lhs: JobFileError, rhs: JobFileError) -> Bool { lhs.code == rhs.code }
}
