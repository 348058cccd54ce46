#!/usr/bin/env bash
# QEMU user-mode: the whole test suite (unit tests, integration tests against
# the real daemon on the simulated board, Socket.IO tests with the Node and
# Python clients) built for aarch64-unknown-linux-gnu and run under
# qemu-aarch64. The cargo runner (.cargo/config.toml -> scripts/qemu/run-aarch64)
# runs each test binary under QEMU and sets VP2730_RUNNER, with which the
# harness (tests/common/mod.rs) starts the cross-built daemon under QEMU too.
# The Socket.IO clients (node, python) are the host's: only our code is ARM.
# The simulated board's pty works through scripts/qemu/termios2-shim.c.
#
#   scripts/qemu/user-tests.sh              # everything but scripts/qemu/user-skip.txt
#   scripts/qemu/user-tests.sh events       # extra arguments filter tests (libtest)
set -euo pipefail
. "$(dirname "$0")/../arm/lib.sh"
cd "$REPO"
T=aarch64-unknown-linux-gnu

step "prerequisites"
need_cross "$T"

# What cannot run under qemu-user: see user-skip.txt.
excludes=()
skips=()
while read -r line; do
    line=${line%%#*}
    line=$(echo "$line" | xargs)
    [ -n "$line" ] || continue
    case $line in
    crate:*) excludes+=(--exclude "${line#crate:}") ;;
    *) skips+=(--skip "$line") ;;
    esac
done <scripts/qemu/user-skip.txt
echo "   left out under qemu-user (scripts/qemu/user-skip.txt): ${excludes[*]:-} ${skips[*]:-}"

step "cargo test --target $T, under qemu-aarch64 (scripts/test.sh)"
s=$(date +%s)
scripts/test.sh --target "$T" --no-fail-fast "${excludes[@]}" -- "${skips[@]}" "$@"
step "user-mode suite done in $(($(date +%s) - s)) s (total $(elapsed) s)"
