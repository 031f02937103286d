#!/usr/bin/env bash
# Regenerates Sources/JobModel/Snapshot/snapshot.pb.swift from snapshot.proto.
# Needs Debian's protoc (apt-get install protobuf-compiler) and protoc-gen-swift
# built from swift-protobuf 1.39.0 (the runtime version Package.swift uses):
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf
#   git checkout 1.39.0 && swift build -c release --product protoc-gen-swift
# then: PROTOC_GEN_SWIFT=/path/to/.build/release/protoc-gen-swift scripts/generate-protobuf.sh
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
if [ -z "$plugin" ] || [ ! -x "$plugin" ]; then
    echo "error: protoc-gen-swift not found; set PROTOC_GEN_SWIFT (see the comment at the top of $0)" >&2
    exit 66
fi
command -v protoc >/dev/null || { echo "error: protoc not found: apt-get install protobuf-compiler" >&2; exit 66; }
dir=Sources/JobModel/Snapshot
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Internal \
    --swift_out="$dir" -I "$dir" "$dir/snapshot.proto"
echo "wrote $dir/snapshot.pb.swift"
