#!/usr/bin/env bash
# Runs each fuzz target for a bounded time from its regression corpus (fuzz/corpus/<target>/),
# both at once (one core each). What the fuzzer finds on the way goes to a temporary folder, so
# the corpus in the repository stays the small regression set; a crash fails this script and
# leaves the input in fuzz/artifacts/<target>/.
#
#   bash fuzz/run.sh                  # 60 s per target (FUZZ_SECONDS=600 for a longer run)
#   bash fuzz/run.sh state_load       # one target
#
# Only the stable Rust toolchain is here: cargo-fuzz passes AddressSanitizer and libFuzzer's
# flags through -Z options, which RUSTC_BOOTSTRAP=1 lets stable rustc accept.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=("$@")
((${#targets[@]})) || targets=(device_file state_load)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
flags=(--fuzz-dir fuzz --debug-assertions)

echo "== building the fuzz targets (AddressSanitizer, debug assertions)"
cargo fuzz build "${flags[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pids=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    extra=()
    # The plugin instance lives across inputs, so every input allocates more than it frees and
    # libFuzzer would run a full leak scan after each (15× slower); RSS stays flat (~0.5 GB).
    [ "$t" = state_load ] && extra=(-detect_leaks=0)
    echo "== fuzzing $t for $seconds s from $(ls fuzz/corpus/$t | wc -l) regression inputs"
    cargo fuzz run "${flags[@]}" "$t" "$work/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -dict="fuzz/dict/$t.dict" -print_final_stats=1 \
        "${extra[@]}" >"$work/$t.log" 2>&1 &
    pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
    t=${targets[$i]}
    if wait "${pids[$i]}"; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$' || echo "?")
        cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1 || true)
        echo "fuzz $t: $runs executions in $seconds s, $cov, corpus $(ls fuzz/corpus/$t | wc -l) + $(ls "$work/$t" | wc -l) new inputs, no crash"
    else
        status=1
        echo "fuzz $t FAILED (the input is in fuzz/artifacts/$t/):"
        grep -v '^#[0-9]' "$work/$t.log" | tail -60
    fi
done
exit $status
