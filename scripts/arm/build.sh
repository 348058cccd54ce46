#!/usr/bin/env bash
# Builds the ARM artefact of vp2730d: the release binary for the board,
# cross-compiled with Debian's cross toolchain (docs/arm.md).
#
#   scripts/arm/build.sh                       # aarch64-unknown-linux-gnu
#   scripts/arm/build.sh armv7-unknown-linux-gnueabihf
#   scripts/arm/build.sh aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
#
# Installs what it needs (cross GCC, qemu-user, the rustup target) when
# missing, then for each target: `cargo build --release`, the size budget of
# the stripped binary (aarch64: 8 MiB), a smoke run under QEMU user-mode (the
# daemon starts on the simulated board and answers /api/v2.0/ping), and once
# `systemd-analyze verify` + `systemd-analyze security` of systemd/vp2730d.service.
# Artefacts: target/arm/<target>/vp2730d (+ .sha256), the unit and its sysusers.d
# snippet beside it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"${ARM_TARGETS:-aarch64-unknown-linux-gnu}"
BUDGET_MIB=${VP2730_SIZE_BUDGET_MIB:-8}

step "prerequisites (${targets[*]})"
need_pkgs curl systemd
for t in "${targets[@]}"; do need_cross "$t"; done

for t in "${targets[@]}"; do
    step "cargo build --release --target $t"
    timed "build $t" cargo build --release --locked --target "$t" -p vp2730d --bin vp2730d
    bin=$TARGET_DIR/$t/release/vp2730d
    out=$TARGET_DIR/arm/$t
    mkdir -p "$out"
    # The release profile strips already; strip again with the target's binutils
    # so the artefact is stripped whatever profile overrides were in effect.
    "$(strip_tool "$t")" -o "$out/vp2730d" "$bin"
    (cd "$out" && sha256sum vp2730d >vp2730d.sha256)
    cp systemd/vp2730d.service "$out/"
    cp systemd/vp2730d.sysusers "$out/vp2730d.sysusers.conf"
    size=$(stat -c %s "$out/vp2730d")
    echo "   $out/vp2730d: $size bytes ($(mib "$size") MiB) stripped, budget ${BUDGET_MIB} MiB"
    if [ "$t" = aarch64-unknown-linux-gnu ] && [ "$size" -gt $((BUDGET_MIB * 1048576)) ]; then
        die "the aarch64 binary is over the ${BUDGET_MIB} MiB flash budget"
    fi

    step "smoke run under QEMU user-mode ($t)"
    runner=$REPO/scripts/qemu/run-${t%%-*}
    "$runner" "$out/vp2730d" --version
    tmp=$(mktemp -d)
    port=$(free_port)
    "$runner" "$out/vp2730d" --sim --listen "127.0.0.1:$port" --data-dir "$tmp/data" \
        >"$tmp/stdout" 2>"$tmp/stderr" &
    pid=$!
    ok=
    for _ in $(seq 1 300); do
        if grep -q "listening on https://" "$tmp/stdout" 2>/dev/null; then
            ok=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$ok" ] && curl -sfk "https://127.0.0.1:$port/api/v2.0/ping" >/dev/null; then
        echo "   started on the simulated board and answered /api/v2.0/ping"
    else
        ok=
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ -z "$ok" ]; then
        cat "$tmp/stderr" >&2
        rm -rf "$tmp"
        die "$t binary did not come up under QEMU user-mode"
    fi
    rm -rf "$tmp"
done

step "systemd-analyze verify / security (systemd/vp2730d.service)"
# Offline, on a scratch root holding the host's stock units and our binary, so
# that ExecStart= resolves; the booted check is in scripts/qemu/system-tests.sh.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/usr/lib/systemd" "$root/etc" "$root/tmp"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
install -m 755 "$TARGET_DIR/arm/${targets[0]}/vp2730d" "$root/usr/bin/vp2730d"
install -m 644 systemd/vp2730d.service "$root/usr/lib/systemd/system/vp2730d.service"
systemd-analyze verify --root="$root" /usr/lib/systemd/system/vp2730d.service
echo "   systemd-analyze verify: OK"
systemd-analyze security --offline=true --root="$root" vp2730d.service 2>&1 | tail -n 1 | sed 's/^/   /'
step "done in $(elapsed) s"
