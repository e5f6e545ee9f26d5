#!/usr/bin/env bash
# Builds the `potok` image from this machine's build: `scripts/image.sh [release|debug] [TAG]`.
# Compiles the binaries (release by default), copies them stripped into target/image and
# runs `docker build`, from potok-base:bookworm when it exists (scripts/base-image.sh makes
# it where no registry can be reached), else from Debian's public image.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"
tag="${2:-potok:latest}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

binaries=(potok-broker potok-ksql ksql potok-ui potok-operator kafka-topics kafka-configs
    kafka-console-producer kafka-console-consumer kafka-consumer-groups kafka-reassign-partitions)
case "$profile" in
    release) cargo build --release --workspace --bins ;;
    debug) cargo build --workspace --bins ;;
    *) echo "usage: scripts/image.sh [release|debug] [TAG]" >&2; exit 2 ;;
esac

rm -rf target/image
mkdir -p target/image
for binary in "${binaries[@]}"; do
    strip --strip-all -o "target/image/$binary" "target/$profile/$binary"
done

base=debian:bookworm-slim
if docker image inspect potok-base:bookworm >/dev/null 2>&1; then
    base=potok-base:bookworm
fi
docker build --build-arg BASE="$base" --tag "$tag" .
docker image ls "$tag"
