#!/usr/bin/env bash
# Every test of Outpath, from a clean clone: installs what the tests need (Debian packages, a
# Python venv with pedalboard), builds the CLAP/VST3 bundles (release, and a debug build that
# aborts on any allocation in process()), then runs the Rust tests (engine, devices, warnings,
# CLI, the CLAP host, the editor in a CLAP host), the editor's screenshots through the standalone
# build, and the VST3 tests through pedalboard.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libx11-dev libxcb1-dev libx11-xcb-dev libxcursor-dev libgl-dev libxcb-icccm4-dev
          libxcb-dri2-0-dev libasound2-dev libjack-jackd2-dev xvfb xauth imagemagick xdotool)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "== installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The no-syscall check of tests/clap_host/robust.rs traces the audio thread with strace.
if ! command -v strace >/dev/null; then
    echo "== installing strace"
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends strace
fi

echo "== Python venv with pedalboard"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt

echo "== bundles"
cargo xtask bundle outpath --release
CARGO_TARGET_DIR=target/alloc-check cargo xtask bundle outpath --features assert_process_allocs

echo "== Rust tests (tests/editor.rs opens the editor in its own Xvfb when there is no DISPLAY)"
cargo test --release --workspace

echo "== The editor for real: the standalone build under Xvfb, screenshots in tests/artifacts/"
cargo build --release --features standalone --bin outpath_standalone
python3 tests/editor_screenshots.py

echo "== VST3 tests through pedalboard"
.venv/bin/python -m pytest tests/vst3_host.py -q -p no:cacheprovider

echo "== Fuzzing the device-file reader and the state loading, 60 s each (fuzz/run.sh)"
bash fuzz/run.sh
