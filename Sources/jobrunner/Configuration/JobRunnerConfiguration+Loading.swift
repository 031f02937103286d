import Foundation

extension JobRunnerConfiguration {
    /// Reads `path` (a JSON object, nested or with dotted keys), then the `JOBRUNNER_…`
    /// environment variables, then `overrides` (command line), each over the previous.
    ///
    /// - Throws: ``ConfigurationError`` naming the key for an unknown key, a wrong type or
    ///   a value out of range; naming the file when it is missing or not JSON.
    ///
    /// Why not apple/swift-configuration 1.4.0 (measured with
    /// `scripts/probe-swift-configuration.sh`, which reads the same files through its
    /// `FileProvider<JSONSnapshot>` and `EnvironmentVariablesProvider`): it reads
    /// `config.json` and the `JOBRUNNER_…` names alike, but it cannot keep three things users
    /// have now — a file with `notify.webhooks` (a list of objects) fails as a whole
    /// ("Unsupported primitive value type … at notify.webhooks.0"); a misspelt key
    /// (`jobs.maxConcurent`) is ignored without a word, because a snapshot cannot list its
    /// keys (so neither can `queues` or `jobs.baseEnvironment`, whose keys are the user's);
    /// and `"listen.port": true` reads as 1. Unknown keys refused with exit 78 naming them is
    /// the contract, so the key table below stays the one reader.
    static func load(
        path: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [String: String] = [:]
    ) throws -> JobRunnerConfiguration {
        var configuration = JobRunnerConfiguration()
        let byName = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(key: nil, "cannot read the configuration file \(path)")
            }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: data)
            } catch {
                throw ConfigurationError(key: nil, "\(path) is not valid JSON: \(error.localizedDescription)")
            }
            guard let root = object as? [String: Any] else {
                throw ConfigurationError(key: nil, "\(path) must hold a JSON object")
            }
            for (name, value) in flatten(root, prefix: "", known: byName) {
                guard let key = byName[name] else {
                    throw ConfigurationError(
                        key: name,
                        "is unknown (in \(path)); known keys: \(keys.map(\.name).joined(separator: ", "))"
                    )
                }
                try key.apply(&configuration, try convert(value, to: key))
            }
        }
        for key in keys {
            if let text = environment[environmentName(key.name)] {
                try key.apply(&configuration, try parse(text, for: key, source: environmentName(key.name)))
            }
        }
        for (name, text) in overrides {
            guard let key = byName[name] else { throw ConfigurationError(key: name, "is unknown") }
            try key.apply(&configuration, try parse(text, for: key, source: "the command line"))
        }
        if configuration.jobs.maxRetryDelaySeconds < configuration.jobs.retryDelaySeconds {
            throw ConfigurationError(key: "jobs.maxRetryDelaySeconds", "must not be below jobs.retryDelaySeconds")
        }
        if configuration.jobs.defaultRetries > configuration.jobs.maxRetries {
            throw ConfigurationError(key: "jobs.defaultRetries", "must not be above jobs.maxRetries")
        }
        return configuration
    }

    /// Nested objects become dotted keys, except the values of map-typed keys.
    private static func flatten(_ object: [String: Any], prefix: String, known: [String: Key]) -> [(String, Any)] {
        var out: [(String, Any)] = []
        for (k, v) in object {
            let name = prefix.isEmpty ? k : prefix + "." + k
            if let nested = v as? [String: Any], known[name]?.kind != .stringMap, known[name]?.kind != .json {
                out += flatten(nested, prefix: name, known: known)
            } else {
                out.append((name, v))
            }
        }
        return out
    }

    private static func convert(_ value: Any, to key: Key) throws(ConfigurationError) -> Any {
        func wrong(_ expected: String) -> ConfigurationError {
            ConfigurationError(key: key.name, "must be \(expected), not \(describe(value))")
        }
        let isNull = value is NSNull
        let number = value as? NSNumber
        let isBool = isJSONBool(value)
        switch key.kind {
        case .string:
            guard let s = value as? String else { throw wrong("a string") }
            return s
        case .optionalString:
            if isNull { return NSNull() }
            guard let s = value as? String else { throw wrong("a string or null") }
            return s
        case .int, .optionalInt:
            if isNull, key.kind == .optionalInt { return NSNull() }
            guard let n = number, !isBool, let i = Int(exactly: n.doubleValue) else {
                throw wrong(key.kind == .int ? "an integer" : "an integer or null")
            }
            return i
        case .double:
            guard let n = number, !isBool else { throw wrong("a number") }
            return n.doubleValue
        case .bool:
            guard let n = number, isBool else { throw wrong("true or false") }
            return n.boolValue
        case .intList:
            guard let list = value as? [Any] else { throw wrong("a list of integers") }
            var out: [Int] = []
            for item in list {
                guard let n = item as? NSNumber, let i = Int(exactly: n.doubleValue) else {
                    throw wrong("a list of integers")
                }
                out.append(i)
            }
            return out
        case .optionalStringList:
            if isNull { return NSNull() }
            guard let list = value as? [Any] else { throw wrong("a list of strings or null") }
            let strings = list.compactMap { $0 as? String }
            guard strings.count == list.count else { throw wrong("a list of strings or null") }
            return strings
        case .json:
            return value  // the key's `apply` checks its shape
        case .stringMap:
            guard let map = value as? [String: Any] else { throw wrong("an object of strings") }
            var out: [String: String] = [:]
            for (k, v) in map {
                guard let s = v as? String else { throw wrong("an object of strings") }
                out[k] = s
            }
            return out
        }
    }

    private static func parse(_ text: String, for key: Key, source: String) throws(ConfigurationError) -> Any {
        let value: Any
        switch key.kind {
        case .string: value = text
        case .optionalString: value = text == "null" ? NSNull() : text
        default:
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            else {
                throw ConfigurationError(key: key.name, "from \(source) is not a valid value: '\(text)'")
            }
            value = parsed
        }
        return try convert(value, to: key)
    }

    private static func describe(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let s = value as? String { return "\"\(s)\"" }
        return "\(value)"
    }
}

/// Whether a value from `JSONSerialization` is `true` or `false` (not the numbers 1 or 0).
func isJSONBool(_ value: Any) -> Bool {
    (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
}
