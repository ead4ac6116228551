#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ttrack needs, only those that are missing.
#   scripts/deps.sh build   packages to build and run ttrack
#   scripts/deps.sh test    packages to build and run the whole test suite
# Uses sudo when not run as root. Without apt-get it says what to install and stops.
# The audio tests (tests/e2e_audio.rs) route ALSA's default device into a file with the null and
# file PCMs, which are part of libasound2 itself: no libasound2-plugins needed. libjack-jackd2-dev is
# needed to build (the jack crate checks for it with pkg-config), though libjack itself is loaded at
# run time: a machine without JACK runs ttrack with the ALSA host.
set -euo pipefail
kind="${1:-build}"
build=(pkg-config libasound2-dev libjack-jackd2-dev)
test=(tmux jackd2 libasound2-plugins ffmpeg)
case "$kind" in
    build) want=("${build[@]}") ;;
    test) want=("${build[@]}" "${test[@]}") ;;
    *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "ttrack needs these packages (or your system's equivalent): ${missing[*]}" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
