#!/bin/sh
# Can apple/swift-configuration 1.4.0 read what jobrunner's configuration accepts today?
# Builds a throw-away package in a temporary directory (nothing of it is committed) that
# reads config.json and three small files through FileProvider<JSONSnapshot> and
# EnvironmentVariablesProvider, and prints what each gives. Issue #10 item 7 asked for
# this measurement before moving the loader; see the comment on
# JobRunnerConfiguration.load for the findings.
#   scripts/probe-swift-configuration.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/swift-configuration-probe.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR/Sources/probe"
cat > "$DIR/Package.swift" <<'SWIFT'
// swift-tools-version: 6.2
import PackageDescription
let package = Package(
    name: "probe",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "https://github.com/apple/swift-configuration", exact: "1.4.0")],
    targets: [
        .executableTarget(
            name: "probe",
            dependencies: [.product(name: "Configuration", package: "swift-configuration")]
        )
    ]
)
SWIFT
cat > "$DIR/Sources/probe/main.swift" <<'SWIFT'
import Configuration
import SystemPackage

let args = CommandLine.arguments
func show(_ label: String, _ body: () async throws -> String) async {
    do { print("\(label): \(try await body())") } catch { print("\(label): error: \(error)") }
}
// 1. the repository's config.json
await show("config.json, listen.port") {
    let reader = ConfigReader(provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(args[1])))
    return "\(try reader.requiredInt(forKey: "listen.port"))"
}
// 2. a webhook (a list of objects, as notify.webhooks is)
await show("notify.webhooks = [{url, events}]") {
    let reader = ConfigReader(provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(args[2])))
    return "\(try reader.requiredString(forKey: "instance"))"
}
// 3. a typo: "maxConcurent"; does anything say so?
await show("jobs.maxConcurent (typo) = 4, jobs.maxConcurrent read") {
    let reader = ConfigReader(provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(args[3])))
    return "\(String(describing: try reader.int(forKey: "jobs.maxConcurrent"))) (no error: the typo is ignored)"
}
// 4. a boolean where an integer belongs
await show("listen.port = true") {
    let reader = ConfigReader(provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(args[4])))
    return "\(try reader.requiredInt(forKey: "listen.port")) (accepted)"
}
// 5. the environment's names
await show("JOBRUNNER_JOBS_MAX_CONCURRENT=7") {
    let reader = ConfigReader(
        provider: EnvironmentVariablesProvider(environmentVariables: ["JOBRUNNER_JOBS_MAX_CONCURRENT": "7"])
    ).scoped(to: "jobrunner")
    return "\(String(describing: try reader.int(forKey: "jobs.maxConcurrent")))"
}
SWIFT
printf '{"instance":"a","notify":{"webhooks":[{"url":"http://127.0.0.1:9/","events":["jobSucceeded"]}]}}' > "$DIR/webhooks.json"
printf '{"jobs":{"maxConcurent":4}}' > "$DIR/typo.json"
printf '{"listen":{"port":true}}' > "$DIR/bool.json"
(cd "$DIR" && swift build -q --product probe >/dev/null 2>&1 || swift build --product probe)
"$DIR/.build/debug/probe" "$ROOT/config.json" "$DIR/webhooks.json" "$DIR/typo.json" "$DIR/bool.json"
