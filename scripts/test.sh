#!/usr/bin/env bash
# Quick start, second command: installs what the tests need and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
cargo test --locked
