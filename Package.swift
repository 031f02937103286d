// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "jobrunner",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "JobModel", targets: ["JobModel"]),
        .executable(name: "jobstats", targets: ["jobstats"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .target(name: "CSystemSupport"),
        .target(
            name: "JobModel",
            dependencies: [
                "CZstd",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Snapshot/snapshot.proto"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "jobstats",
            dependencies: [
                "CSystemSupport",
                "JobModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JobModelTests",
            dependencies: ["JobModel"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JobStatsTests",
            dependencies: [
                "JobModel",
                "jobstats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
