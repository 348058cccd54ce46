# Helpers shared by scripts/arm/*.sh and scripts/qemu/*.sh (sourced, not run).
# shellcheck shell=bash

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The cross target of the board, and where cargo puts its build.
ARM_TARGET=${ARM_TARGET:-aarch64-unknown-linux-gnu}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
# Where the QEMU system image and its pieces live (one build per CI run; kept
# between runs on the same machine while the inputs are unchanged).
QEMU_DIR=${VP2730_QEMU_DIR:-$TARGET_DIR/qemu}
# The Debian base image, kernel and initramfs: outside the work tree, so that
# later CI runs on the same machine (fresh clones) reuse them while their inputs
# are unchanged (build-image.sh checks a hash of its inputs).
QEMU_CACHE=${VP2730_QEMU_CACHE:-/var/cache/vp2730d-qemu}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

_t0=$(date +%s)
step_t=$_t0

# `step NAME`: prints a heading with the time the previous step took.
step() {
    local now
    now=$(date +%s)
    echo "== [$(basename "$0") +$((now - _t0))s, last step $((now - step_t))s] $*"
    step_t=$now
}

# `elapsed`: seconds since the script started.
elapsed() { echo $(($(date +%s) - _t0)); }

# `timed LABEL CMD...`: runs CMD and prints how long it took.
timed() {
    local label=$1 s e
    shift
    s=$(date +%s.%N)
    "$@"
    e=$(date +%s.%N)
    awk -v l="$label" -v s="$s" -v e="$e" 'BEGIN { printf "   %s: %.1f s\n", l, e - s }'
}

die() {
    echo "ERROR: $*" >&2
    exit 1
}

# `need_pkgs PKG...`: installs the Debian packages that are missing (apt-get
# update only when something is missing). Idempotent; needs root.
_apt_updated=
need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "   installing: ${missing[*]}"
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    if [ -z "$_apt_updated" ]; then
        $sudo apt-get update -qq
        _apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# `need_rust_target TRIPLE`: the rustup target, once.
need_rust_target() {
    rustup target list --installed 2>/dev/null | grep -qx "$1" || rustup target add "$1"
}

# The cross toolchain and QEMU user-mode for ARM_TARGET.
need_cross() {
    case "$1" in
    aarch64-unknown-linux-gnu) need_pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user ;;
    armv7-unknown-linux-gnueabihf) need_pkgs gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user ;;
    *) die "no cross toolchain known for $1" ;;
    esac
    need_rust_target "$1"
}

# `strip_tool TRIPLE`: the binutils strip for the target.
strip_tool() {
    case "$1" in
    aarch64-unknown-linux-gnu) echo aarch64-linux-gnu-strip ;;
    armv7-unknown-linux-gnueabihf) echo arm-linux-gnueabihf-strip ;;
    esac
}

# `free_port`: a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# `mib BYTES`: bytes as MiB with two decimals.
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

# binfmt_misc: the kernel hands aarch64 ELF programs to qemu-aarch64-static.
# The F flag opens the emulator once, at registration, so that it also works
# inside a chroot that has no emulator of its own. The entry has a name of our
# own and is removed again by binfmt_aarch64_off. Returns 1 where binfmt_misc
# is not available (a container without the privilege): callers fall back.
BINFMT_DIR=/proc/sys/fs/binfmt_misc
BINFMT_NAME=vp2730-aarch64
_binfmt_ours=
binfmt_aarch64_on() {
    need_pkgs qemu-user-static
    [ -e "$BINFMT_DIR/register" ] || mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" 2>/dev/null || return 1
    [ -e "$BINFMT_DIR/$BINFMT_NAME" ] && return 0
    local magic='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    local mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    echo ":$BINFMT_NAME:M::$magic:$mask:/usr/bin/qemu-aarch64-static:F" >"$BINFMT_DIR/register" 2>/dev/null || return 1
    _binfmt_ours=1
}
binfmt_aarch64_off() {
    if [ -n "$_binfmt_ours" ] && [ -e "$BINFMT_DIR/$BINFMT_NAME" ]; then
        echo -1 >"$BINFMT_DIR/$BINFMT_NAME" 2>/dev/null || true
    fi
    _binfmt_ours=
}

# `unmount_below DIR`: unmounts everything mounted at or below DIR, deepest first.
unmount_below() {
    local d
    d=$(realpath "$1")
    awk -v d="$d" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
