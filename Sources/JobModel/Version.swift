/// Versions of the product, shared by `jobrunner` and `jobstats`.
public enum ProductVersion {
    /// Semantic version of this release.
    public static let current = "0.1.0"
}
