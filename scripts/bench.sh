#!/usr/bin/env bash
# Produce/consume benchmark: one potok-broker (release build) on loopback, driven by
# librdkafka through bench/ (the rdkafka crate), beside this disk's sequential write rate
# with fdatasync measured by dd in the same directory. Prints figures; asserts nothing.
# Needs cmake, libcurl4-openssl-dev, libssl-dev, libsasl2-dev and zlib1g-dev for librdkafka.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
records="${RECORDS:-500000}"

cargo build --release -p potok-broker --bin potok-broker
(cd bench && CARGO_TARGET_DIR=../target/bench cargo build --release)

data=$(mktemp -d /var/tmp/potok-bench.XXXXXX)
trap 'kill $broker 2>/dev/null || true; rm -rf "$data"' EXIT

echo "== disk: dd 1 GiB, 1 MiB blocks, conv=fdatasync (in $data)"
dd if=/dev/zero of="$data/dd.bin" bs=1M count=1024 conv=fdatasync 2>&1 | tail -1
rm -f "$data/dd.bin"

target/release/potok-broker config/server.properties \
    --override log.dirs="$data/logs" \
    --override listeners=PLAINTEXT://127.0.0.1:19092 \
    --override advertised.listeners=PLAINTEXT://127.0.0.1:19092 \
    --override potok.metrics.listener= >"$data/broker.log" 2>&1 &
broker=$!
sleep 1

echo "== potok-broker, 1 broker, 1 KiB records, $records per run"
target/bench/release/potok-bench --bootstrap-server 127.0.0.1:19092 --records "$records"
