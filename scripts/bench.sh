#!/usr/bin/env bash
# Produce/consume benchmark: one potok-broker (release build) on loopback, then the
# example cluster (3 coordinators, 3 brokers, `potok-operator up`) with replication factor
# 3 and acks=all, driven by librdkafka through bench/ (the rdkafka crate), beside this
# disk's sequential write rate with fdatasync measured by dd in the same directory; last,
# the failover time after kill -9 of a partition leader; then the ksql server of the same
# cluster: end-to-end records per second (and per core of its CPU time) for the seed's
# filter and 10-second tumbling SUM over JSON records; last, with BENCH_COMPOSE=1, the same
# replicated produce run against docker-compose.yaml's stack (release image) through its
# published ports, for the containers' overhead; with BENCH_OPERATOR=1, `potok-operator up`'s
# declarative resources (bench/operator_bench.py on confluent-kafka): seconds from a saved
# Topic manifest edit to the change seen through the Kafka protocol, and the rate at which
# kafka-reassign-partitions moves a 1 GiB partition between brokers. Prints figures; asserts nothing.
# librdkafka is built from source by the rdkafka crate: cmake and the -dev packages below
# are installed from Debian when missing. Processes are stopped by the ids they started with.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

librdkafka_build_deps="cmake libcurl4-openssl-dev libssl-dev libsasl2-dev zlib1g-dev"
# shellcheck disable=SC2086
if ! command -v cmake >/dev/null 2>&1 || ! dpkg -s $librdkafka_build_deps >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $librdkafka_build_deps >/dev/null
fi
records="${RECORDS:-500000}"
ksql_records="${KSQLDB_RECORDS:-1000000}"

cargo build --release -p potok-broker --bin potok-broker -p potok-operator --bin potok-operator \
    -p potok-ksql --bin potok-ksql
(cd bench && CARGO_TARGET_DIR=../target/bench cargo build --release)

data=$(mktemp -d /var/tmp/potok-bench.XXXXXX)
broker=
operator=
trap 'kill $broker $operator 2>/dev/null || true; wait; rm -rf "$data"' EXIT

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
kill "$broker"
wait "$broker" || true
broker=

echo "== potok-operator up examples/cluster.yaml: 3 brokers, replication factor 3, min.insync.replicas=2"
target/release/potok-operator up -f examples/cluster.yaml --data-dir "$data/cluster" >"$data/up.log" 2>&1 &
operator=$!
until grep -q "^Bootstrap servers:" "$data/up.log"; do
    kill -0 "$operator" || { cat "$data/up.log"; exit 1; }
    sleep 0.2
done
bootstrap=$(sed -n 's/^Bootstrap servers: //p' "$data/up.log")
target/bench/release/potok-bench --bootstrap-server "$bootstrap" --records "$records" \
    --replication-factor 3 --acks all

echo "== failover: kill -9 of the leader during acks=all production (broker.session.timeout.ms=9000)"
target/bench/release/potok-bench --bootstrap-server "$bootstrap" --replication-factor 3 \
    --failover-kill "pkill -9 -P $operator -f \"potok-broker-\$(({leader} - 1)).properties\""

echo "== ksql: persistent queries end to end, $ksql_records JSON records, one partition"
ksql_pid=$(pgrep -P "$operator" -f "potok-ksql-0.properties")
target/bench/release/potok-ksql-bench --bootstrap-server "$bootstrap" --ksql-url http://localhost:8088 \
    --ksql-pid "$ksql_pid" --records "$ksql_records"

if [ "${BENCH_COMPOSE:-0}" = 1 ]; then
    # The stack publishes the ports the local cluster used: stop it first.
    kill "$operator"
    wait "$operator" || true
    operator=
    echo "== docker-compose.yaml: 3 brokers in containers, replication factor 3, acks=all"
    bash scripts/compose-up.sh release >"$data/compose.log" 2>&1 || { cat "$data/compose.log"; exit 1; }
    target/bench/release/potok-bench --bootstrap-server localhost:9092,localhost:9093,localhost:9094 \
        --records "$records" --replication-factor 3 --acks all
    docker-compose down --volumes
fi

if [ "${BENCH_OPERATOR:-0}" = 1 ]; then
    # It runs its own `up` on the same fixed addresses: stop the cluster above first.
    if [ -n "$operator" ]; then
        kill "$operator"
        wait "$operator" || true
        operator=
    fi
    cargo build --release -p potok-client --bin kafka-reassign-partitions
    if ! .venv/bin/python -c 'import confluent_kafka' 2>/dev/null; then
        python3 -m venv .venv
        .venv/bin/pip install --quiet --disable-pip-version-check 'confluent-kafka>=2.3,<3'
    fi
    echo "== potok-operator up: manifest edits to live changes, and a 1 GiB partition reassigned"
    # The test suites hold this lock while they use the same addresses.
    flock /tmp/potok-pytest.lock .venv/bin/python bench/operator_bench.py --bin-dir target/release
fi
