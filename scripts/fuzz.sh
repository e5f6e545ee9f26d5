#!/usr/bin/env bash
# Runs each fuzz target for N seconds (default 60): request_frame (Kafka request frames into
# the broker's decoder) and ksql_statements (text into ksql's parser, planner, executor and
# engine, starting from the seeds in fuzz/seeds/). cargo-fuzz needs nightly compiler flags;
# RUSTC_BOOTSTRAP lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
RUSTC_BOOTSTRAP=1 cargo fuzz run request_frame -- -max_total_time="$seconds" -rss_limit_mb=4096
# ksql gets a tighter memory limit: no statement may need more than a small fraction of it.
mkdir -p corpus/ksql_statements
RUSTC_BOOTSTRAP=1 cargo fuzz run ksql_statements corpus/ksql_statements seeds/ksql_statements -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=131072
