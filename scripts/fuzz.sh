#!/usr/bin/env bash
# Runs the request-frame fuzz target for N seconds (default 60). cargo-fuzz needs nightly
# compiler flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
RUSTC_BOOTSTRAP=1 cargo fuzz run request_frame -- -max_total_time="$seconds" -rss_limit_mb=4096
