#!/usr/bin/env bash
# Fuzzes vp2730d with cargo-fuzz (libFuzzer), a bounded time per target.
#
#   scripts/fuzz.sh 60                      # every target, 60 s each
#   scripts/fuzz.sh 30 router patch_bodies  # some targets
#   FUZZ_SANITIZER=address scripts/fuzz.sh 60   # with ASan (slower)
#   FUZZ_BUILD=dev scripts/fuzz.sh 20           # fuzz/Cargo.toml's dev profile
#                                               # (opt-level 1; what CI runs): builds
#                                               # in ~5 min instead of ~7 on 2 cores,
#                                               # fuzzes at about the same rate
#
# Targets (fuzz/fuzz_targets, harnesses in fuzz/src/lib.rs):
#   router          Router::lookup: method + path -> route / 404 / 405 / 501
#   auth_header     Auth::check on raw Authorization headers
#   patch_bodies    parse_body + every resource's PATCH validation, GET -> PATCH back
#   hal_protocol    the video board's line protocol parsers (hal/src/protocol.rs)
#   hal_uart_link   the UART driver (hal/src/video_uart.rs) against arbitrary board bytes
#
# Installs cargo-fuzz if missing. The machine has a stable toolchain only:
# cargo-fuzz's nightly flags are enabled with RUSTC_BOOTSTRAP=1. Each run
# starts from fuzz/seeds/<target> and fuzz/regressions/<target> (committed)
# plus fuzz/corpus/<target> (kept between runs, not committed). Exits
# non-zero if any target crashed; the crashing input is in
# fuzz/artifacts/<target>/ -- copy it to fuzz/regressions/<target>/ once
# fixed (`cargo test` in fuzz/ replays those directories).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs=${1:?usage: scripts/fuzz.sh <seconds-per-target> [target...]}
shift
case "$secs" in '' | *[!0-9]*) echo "seconds must be a whole number" >&2; exit 2 ;; esac
all=(router auth_header patch_bodies hal_protocol hal_uart_link)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
sanitizer=${FUZZ_SANITIZER:-none}
# -O: release with debug assertions (the default); --dev: the dev profile.
case "${FUZZ_BUILD:-release}" in
release) build=(-O) ;;
dev) build=(--dev) ;;
*) echo "FUZZ_BUILD must be release or dev" >&2; exit 2 ;;
esac
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo install cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "== cargo fuzz build (sanitizer: $sanitizer, ${FUZZ_BUILD:-release})"
cargo fuzz build -s "$sanitizer" "${build[@]}" -a

mkdir -p ../target/fuzz-logs
failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t" "regressions/$t"
    log="../target/fuzz-logs/$t.log"
    echo "== $t: ${secs} s"
    status=0
    # -timeout: one input taking longer is a finding (a hang);
    # -rss_limit_mb: so is unbounded memory.
    cargo fuzz run -s "$sanitizer" "${build[@]}" -a "$t" "corpus/$t" "seeds/$t" "regressions/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "   $t: ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-cov: ?}, exit $status (log: target/fuzz-logs/$t.log)"
    if [ "$status" -ne 0 ]; then
        grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -5 || true
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "== crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "== no crash in: ${targets[*]}"
