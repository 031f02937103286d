// swift-tools-version: 6.1
// In-process benchmarks (ordo-one/package-benchmark). Run from this directory:
//   swift package --allow-writing-to-package-directory benchmark
// or `make bench` at the repository root. See README › Performance.
import PackageDescription

let package = Package(
    name: "jobrunner-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "jobrunner", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "JobRunnerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "JobModel", package: "jobrunner"),
                .product(name: "ProcessMonitor", package: "jobrunner"),
            ],
            path: "Benchmarks/JobRunnerBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        )
    ]
)
