#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds ttrack and plays the demo song.
# Until the terminal UI lands, "plays" means: render the demo to demo-synth.wav and describe it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cargo build --release --locked
./target/release/ttrack info songs/demo-synth.ttrk
./target/release/ttrack render songs/demo-synth.ttrk -o demo-synth.wav
echo "listen: aplay demo-synth.wav  (or any audio player)"
