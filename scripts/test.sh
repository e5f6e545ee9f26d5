#!/usr/bin/env bash
# The test command: installs test dependencies, builds everything and the potok image, runs
# the Rust tests, then the end-to-end suites against real Kafka clients, docker-compose.yaml's
# stack among them (tests/compose). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

bash scripts/install-test-deps.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

# Debug builds: the end-to-end suites check behaviour, not speed, and one build profile
# keeps the run short. scripts/bench.sh measures the release build.
cargo build --workspace --bins
# The potok image of these binaries for the Compose suite (tests/compose), on a base made
# with debootstrap where no registry can be reached (built once, then reused).
if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    bash scripts/base-image.sh
fi
bash scripts/image.sh debug potok:latest
# ksqlDB's own query-validation cases, when they sit beside the project.
if [ -d ../shared/ksql-qtt ]; then
    export KSQLDB_QTT_DIR="$(cd ../shared/ksql-qtt && pwd)"
fi
cargo test --workspace

bash scripts/fuzz.sh 30

POTOK_BIN_DIR="$PWD/target/debug" .venv/bin/python -m pytest tests/ -v -p no:cacheprovider
