/// The registry of patterns: one line per pattern.
public enum PatternSuite {
    /// Every pattern, in output order.
    public static func all(_ options: AnalysisOptions) -> [any Pattern] {
        [
            NamePattern(options: options),
            NamePrefixPattern(options: options),
            HourOfDayPattern(options: options),
            DayOfWeekPattern(options: options),
            DurationPattern(options: options),
            StatusPattern(options: options),
            RetriesPattern(options: options),
            ExitCodesPattern(options: options),
            MemoryLeakPattern(options: options),
            IOBurstPattern(options: options),
            NetBurstPattern(options: options),
            StalledPattern(options: options),
            FlakyPattern(options: options),
            ChangePointPattern(options: options),
            ContrastPattern(options: options),
            FailureSignaturePattern(options: options),
        ] + options.rules.map { RulePattern(rule: $0, options: options) }
    }

    /// Every built-in pattern id, in output order.
    public static var ids: [String] { all(AnalysisOptions()).map(\.id) }
}
