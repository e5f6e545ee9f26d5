#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: kcat (librdkafka), curl
# (HTTP/2 requests), debootstrap (the image's base, scripts/base-image.sh) and Chromium with
# its chromedriver (the console's browser tests) from Debian, and the Python clients,
# pexpect, pytest and Selenium in .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kcat >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1 \
    || ! command -v debootstrap >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq kcat curl debootstrap >/dev/null
fi

# The browser tests drive Debian's Chromium through Debian's chromedriver: Selenium is never
# left to download a driver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium chromium-driver >/dev/null
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install --quiet --locked cargo-fuzz
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check \
    'confluent-kafka>=2.3,<3' 'kafka-python>=2.0.2,<4' 'pytest>=7,<9' 'pexpect>=4.8,<5' \
    'selenium>=4.15,<5'
# helm-sdkpy declares Python 3.12 but runs on 3.11: it is Helm's Go library behind cffi.
.venv/bin/pip install --quiet --disable-pip-version-check --ignore-requires-python \
    'helm-sdkpy>=0.1.32,<0.2' 'pyyaml>=6,<7'
