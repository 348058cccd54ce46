#!/usr/bin/env bash
# QEMU user-mode: the integration suite (tests/*.rs: REST over HTTPS, Socket.IO
# with the Node and Python clients, persistence, hot-plug on the board
# emulator, kill -9 crash safety) against the ARM artefact itself, the
# aarch64 release build of vp2730d (scripts/arm/build.sh), run under
# qemu-aarch64 on the simulated board.
#
# The test binaries are the host's (the suite is a set of clients); the daemon
# they start is the aarch64 binary: VP2730_DAEMON names it and VP2730_RUNNER
# (from scripts/qemu/run-aarch64 --runner) puts qemu-aarch64 before it, with
# scripts/qemu/termios2-shim.c preloaded so that the daemon's UART driver can
# open the emulator's pty under QEMU. So what is tested under emulation is
# exactly what is flashed: same profile, same optimisation, same code.
#
#   scripts/qemu/user-tests.sh              # everything but scripts/qemu/user-skip.txt
#   scripts/qemu/user-tests.sh events       # extra arguments filter tests (libtest)
set -euo pipefail
. "$(dirname "$0")/../arm/lib.sh"
cd "$REPO"
T=aarch64-unknown-linux-gnu

step "prerequisites"
need_cross "$T"
bin=$TARGET_DIR/arm/$T/vp2730d
if [ ! -x "$bin" ]; then
    step "no $bin yet: scripts/arm/build.sh"
    scripts/arm/build.sh "$T"
fi
file_arch=$(od -An -tx1 -j18 -N2 "$bin" | tr -d ' ')
[ "$file_arch" = "b700" ] || die "$bin is not an aarch64 ELF binary"
VP2730_RUNNER=$(scripts/qemu/run-aarch64 --runner)
export VP2730_RUNNER VP2730_DAEMON=$bin
echo "   daemon under test: $bin ($(stat -c %s "$bin") bytes)"
echo "   runner: $VP2730_RUNNER"

# What cannot run under qemu-user: see user-skip.txt.
skips=()
while read -r line; do
    line=${line%%#*}
    line=$(echo "$line" | xargs)
    [ -n "$line" ] || continue
    skips+=(--skip "$line")
done <scripts/qemu/user-skip.txt
echo "   left out under qemu-user (scripts/qemu/user-skip.txt): ${skips[*]:-nothing}"

step "integration tests against the aarch64 daemon under qemu-aarch64"
s=$(date +%s)
# The integration test targets of the workspace, with the feature set of the
# native run (scripts/test.sh), so that its test binaries are reused as built.
VP2730_TEST_SCOPE="--workspace --test *" scripts/test.sh --no-fail-fast -- "${skips[@]}" "$@"
step "user-mode suite done in $(($(date +%s) - s)) s (total $(elapsed) s)"
