/// A dictionary of distinct strings: each string is stored once and referred to by index.
public struct StringPool: Sendable {
    /// The strings, by index.
    public private(set) var strings: [String] = []
    private var indices: [String: UInt32] = [:]

    public init() {}

    /// Number of distinct strings.
    public var count: Int { strings.count }

    /// The index of `string`, adding it when new.
    @inlinable
    public mutating func intern(_ string: String) -> UInt32 {
        if let index = lookUp(string) { return index }
        return add(string)
    }

    /// The index of `string`, or `nil` when it is not in the pool.
    public func lookUp(_ string: String) -> UInt32? {
        indices[string]
    }

    @usableFromInline
    mutating func add(_ string: String) -> UInt32 {
        let index = UInt32(strings.count)
        strings.append(string)
        indices[string] = index
        return index
    }

    /// The string at `index`.
    @inlinable
    public subscript(index: UInt32) -> String {
        strings[Int(index)]
    }
}
