#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds ttrack and opens the demo song in
# the terminal UI. Without a sound card it runs silently on a clock (the status line says so).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cargo build --release --locked
exec ./target/release/ttrack songs/demo-synth.ttrk "$@"
