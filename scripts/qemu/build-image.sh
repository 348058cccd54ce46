#!/usr/bin/env bash
# Builds the aarch64 system image that scripts/qemu/system-tests.sh boots in
# qemu-system-aarch64 (-M virt -cpu cortex-a72), entirely from Debian's
# packages plus our binary and unit:
#
#   $QEMU_CACHE/base.img     Debian bookworm arm64 rootfs (debootstrap, minbase +
#     (/var/cache/vp2730d-qemu) systemd, udev, openssh-server), Debian's arm64
#                            kernel modules; ext4, raw. Built once, then reused
#                            while this script and scripts/qemu/guest/ are unchanged.
#   $QEMU_CACHE/vmlinuz      Debian's arm64 kernel (linux-image-arm64)
#   $QEMU_CACHE/initrd.img   a tiny busybox initramfs that loads the virtio/ext4
#                            modules (built as modules in Debian's kernel)
#   $QEMU_CACHE/id_ed25519   root's ssh key for the guest
#   target/qemu/vp2730d.img  base.img + /usr/bin/vp2730d + systemd/vp2730d.service
#                            + its sysusers.d snippet, enabled: what the tests boot
#
# usage: scripts/qemu/build-image.sh [path/to/aarch64/vp2730d]
#   (default: target/aarch64-unknown-linux-gnu/release/vp2730d, from
#   scripts/arm/build.sh). Runs as root on a fresh Debian machine: installs what
#   it needs. VP2730_REBUILD_BASE=1 forces a new base image.
#        scripts/qemu/build-image.sh --base-only
#   only the Debian part (no binary needed): CI starts it early, in the
#   background, while cargo builds.
set -euo pipefail
. "$(dirname "$0")/../arm/lib.sh"
GUEST=$REPO/scripts/qemu/guest
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Beyond minbase: systemd as init, udev (loads the virtio modules the devices
# need), kmod, sshd for the tests' remote commands, iproute2/procps to inspect.
PACKAGES=systemd,systemd-sysv,udev,kmod,dbus,openssh-server,iproute2,procps
BASE_ONLY=0
if [ "${1:-}" = --base-only ]; then
    BASE_ONLY=1
    shift
fi
BIN=${1:-$TARGET_DIR/aarch64-unknown-linux-gnu/release/vp2730d}
IMG_SIZE=${VP2730_IMG_SIZE:-2G}
BOOT_TIMEOUT=${VP2730_STAGE2_TIMEOUT:-1200}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and the rootfs need it)"
if [ "$BASE_ONLY" = 0 ]; then
    [ -f "$BIN" ] || die "no $BIN: build it first (scripts/arm/build.sh)"
    file_arch=$(od -An -tx1 -j18 -N2 "$BIN" | tr -d ' ')
    [ "$file_arch" = "b700" ] || die "$BIN is not an aarch64 ELF binary"
fi

step "prerequisites"
need_pkgs debootstrap qemu-system-arm qemu-utils e2fsprogs cpio kmod gzip \
    openssh-client debian-archive-keyring ca-certificates systemd
mkdir -p "$QEMU_DIR" "$QEMU_CACHE"

# What the base image is made of; bump BASE_RECIPE when build_base changes what
# it produces (refactors that do not change the image keep the cache).
BASE_RECIPE=2
key=$( (
    echo "$BASE_RECIPE $SUITE $MIRROR $PACKAGES $IMG_SIZE"
    cat "$GUEST/initramfs-init" "$GUEST/stage2.sh" "$GUEST"/*.network "$GUEST/fstab"
) | sha256sum | cut -c1-16)

# The VM, if one is running, goes with us whatever happens.
vm_pid=
chroot_dir=
cleanup() {
    local rc=$?
    if [ -n "$vm_pid" ] && kill -0 "$vm_pid" 2>/dev/null; then
        kill -TERM "$vm_pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$vm_pid" 2>/dev/null || true
    fi
    [ -z "$chroot_dir" ] || unmount_below "$chroot_dir"
    binfmt_aarch64_off
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- base image ---
build_base() {
    local W=$QEMU_CACHE/work
    rm -rf "$W" "$QEMU_CACHE/base.img" "$QEMU_CACHE/base.key"
    mkdir -p "$W"

    step "arm64 kernel and busybox (apt-get download, private arm64 apt state)"
    # An apt configuration of its own, so the host's apt is left alone.
    local A=$W/apt
    mkdir -p "$A"/{lists/partial,cache/archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,debs}
    touch "$A/status"
    echo "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main" \
        >"$A/etc/sources.list"
    cat >"$A/apt.conf" <<EOF
Dir::Etc "$A/etc";
Dir::Etc::SourceList "$A/etc/sources.list";
Dir::Etc::SourceParts "$A/etc/sources.list.d";
Dir::Etc::Parts "$A/etc/apt.conf.d";
Dir::Etc::PreferencesParts "$A/etc/preferences.d";
Dir::State "$A";
Dir::State::Lists "$A/lists";
Dir::State::status "$A/status";
Dir::Cache "$A/cache";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Sandbox::User "root";
Debug::NoLocking "true";
Acquire::Languages "none";
EOF
    export APT_CONFIG=$A/apt.conf
    apt-get -qq update
    local kpkg
    kpkg=$(apt-cache depends linux-image-arm64 | awk '/Depends: linux-image-/ { print $2; exit }')
    [ -n "$kpkg" ] || die "cannot resolve linux-image-arm64"
    (cd "$A/debs" && apt-get -qq download "$kpkg" busybox-static)
    unset APT_CONFIG
    mkdir -p "$W/kernel" "$W/busybox"
    dpkg-deb -x "$A"/debs/linux-image-*.deb "$W/kernel"
    dpkg-deb -x "$A"/debs/busybox-static_*.deb "$W/busybox"
    local kver
    kver=$(ls "$W/kernel/lib/modules")
    echo "   kernel $kpkg ($kver)"

    step "debootstrap --foreign (first stage, on the host)"
    debootstrap --foreign --arch=arm64 --variant=minbase --include="$PACKAGES" \
        "$SUITE" "$W/rootfs" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
        {
            tail -n 30 "$W/debootstrap.log"
            die "debootstrap first stage"
        }

    # In a container debootstrap makes /proc a symlink to the host's; the guest
    # mounts its own.
    if [ -L "$W/rootfs/proc" ]; then
        rm -f "$W/rootfs/proc"
        mkdir -m 555 "$W/rootfs/proc"
    fi

    step "kernel modules, initramfs"
    cp "$W/kernel/boot/vmlinuz-$kver" "$QEMU_CACHE/vmlinuz.new"
    # Debian's full module tree, as linux-image-arm64 would install it (udev loads
    # virtio-net, virtio-rng, ... from there), indexed by the host's depmod.
    mkdir -p "$W/rootfs/usr/lib/modules"
    cp -a "$W/kernel/lib/modules/$kver" "$W/rootfs/usr/lib/modules/"
    depmod -b "$W/rootfs" "$kver"
    # The initramfs: busybox, the modules needed to reach the root disk (with
    # their dependencies, in load order), and our /init.
    local R=$W/initrd M=$W/rootfs/usr/lib/modules/$kver
    mkdir -p "$R/bin" "$R/lib/modules"
    cp "$W/busybox/bin/busybox" "$R/bin/busybox"
    cp "$GUEST/initramfs-init" "$R/init"
    chmod 755 "$R/init" "$R/bin/busybox"
    : >"$R/modules.list"
    add_module() { # depth-first: dependencies, then the module
        local path dep
        path=$(awk -F: -v m="/$1.ko" 'length($1) > length(m) && substr($1, length($1) - length(m) + 1) == m { print $1; exit }' "$M/modules.dep")
        [ -n "$path" ] || die "module $1 not in $kver"
        grep -qx "$path" "$R/modules.list" && return 0
        for dep in $(awk -F': ' -v p="$path" '$1 == p { print $2 }' "$M/modules.dep"); do
            dep=$(basename "$dep" .ko)
            add_module "$dep"
        done
        mkdir -p "$R/lib/modules/$(dirname "$path")"
        cp "$M/$path" "$R/lib/modules/$path"
        echo "$path" >>"$R/modules.list"
    }
    for m in virtio_pci virtio_blk crc32c_generic ext4 virtio-rng; do add_module "$m"; done
    echo "   initramfs modules: $(xargs -n1 basename <"$R/modules.list" | tr '\n' ' ')"
    (cd "$R" && find . | cpio --quiet -o -H newc | gzip -6) >"$QEMU_CACHE/initrd.img.new"

    step "rootfs configuration"
    local F=$W/rootfs
    install -m 644 "$GUEST/fstab" "$F/etc/fstab"
    echo vp2730 >"$F/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tvp2730\n' >"$F/etc/hosts"
    mkdir -p "$F/etc/systemd/network"
    install -m 644 "$GUEST"/*.network "$F/etc/systemd/network/"
    [ -f "$QEMU_CACHE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C vp2730-qemu -f "$QEMU_CACHE/id_ed25519"
    install -d -m 700 "$F/root/.ssh"
    install -m 600 "$QEMU_CACHE/id_ed25519.pub" "$F/root/.ssh/authorized_keys"
    install -m 755 "$GUEST/stage2.sh" "$F/stage2.sh"

    if binfmt_aarch64_on && chroot "$F" /bin/true 2>/dev/null; then
        second_stage_chroot "$W"
    else
        second_stage_vm "$W"
    fi

    mv "$W/base.img" "$QEMU_CACHE/base.img"
    mv "$QEMU_CACHE/vmlinuz.new" "$QEMU_CACHE/vmlinuz"
    mv "$QEMU_CACHE/initrd.img.new" "$QEMU_CACHE/initrd.img"
    echo "$key" >"$QEMU_CACHE/base.key"
    cp "$W/debootstrap.log" "$W"/stage2.*.log "$QEMU_CACHE/" 2>/dev/null || true
    rm -rf "$W"
}

# debootstrap's second stage (and the rest of stage2.sh) in a chroot on the
# host: binfmt_misc hands every aarch64 program to qemu-aarch64-static, so the
# packages' maintainer scripts run under QEMU user-mode, about 3-5x faster than
# under a booted TCG system. The root file system is then packed with mkfs.ext4 -d.
second_stage_chroot() {
    local W=$1 F=$1/rootfs log=$1/stage2.chroot.log s
    step "debootstrap --second-stage in a chroot (aarch64 via binfmt_misc + qemu-aarch64-static)"
    s=$(date +%s)
    chroot_dir=$F
    # dpkg syncs every file it unpacks: pointless for an image that is packed
    # afterwards (and mkfs.ext4 -d writes it out anyway).
    mkdir -p "$F/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io >"$F/etc/dpkg/dpkg.cfg.d/vp2730-build-unsafe-io"
    chroot "$F" /stage2.sh --chroot >"$log" 2>&1 || true
    rm -f "$F/etc/dpkg/dpkg.cfg.d/vp2730-build-unsafe-io"
    unmount_below "$F"
    chroot_dir=
    echo "   second stage (chroot): $(($(date +%s) - s)) s"
    if ! grep -q STAGE2-OK "$log"; then
        tail -n 60 "$log"
        die "second stage failed (log: $log)"
    fi
    grep -E "^stage2:|STAGE2-OK" "$log" | sed 's/^/   /'
    rm -f "$F/stage2.sh"
    pack_rootfs "$W"
}

# $W/rootfs -> $W/base.img (ext4, made by mkfs.ext4 -d: no mount needed).
pack_rootfs() {
    step "ext4 image ($IMG_SIZE, mkfs.ext4 -d: no mount needed)"
    rm -f "$1/base.img"
    mkfs.ext4 -q -F -L vp2730-root -d "$1/rootfs" "$1/base.img" "$IMG_SIZE"
}

# The same in the guest itself: the image's first boot runs stage2.sh as PID 1
# and powers off. For machines where binfmt_misc cannot be used.
second_stage_vm() {
    local W=$1
    pack_rootfs "$W"

    step "debootstrap --second-stage, booted in qemu-system-aarch64 (TCG)"
    local log=$W/stage2.vm.log s
    s=$(date +%s)
    qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
        -nographic -no-reboot -monitor none -serial "file:$log" \
        -kernel "$QEMU_CACHE/vmlinuz.new" -initrd "$QEMU_CACHE/initrd.img.new" \
        -append "console=ttyAMA0 root=/dev/vda rw init=/stage2.sh panic=-1" \
        -drive "file=$W/base.img,format=raw,if=none,id=hd0,cache=unsafe" \
        -device virtio-blk-pci,drive=hd0 -device virtio-rng-pci \
        -nic none </dev/null >"$W/qemu.log" 2>&1 &
    vm_pid=$!
    while kill -0 "$vm_pid" 2>/dev/null; do
        if [ $(($(date +%s) - s)) -gt "$BOOT_TIMEOUT" ]; then
            tail -n 60 "$log"
            die "second stage VM did not finish within ${BOOT_TIMEOUT}s"
        fi
        sleep 1
    done
    wait "$vm_pid" || { cat "$W/qemu.log"; tail -n 60 "$log"; die "QEMU failed"; }
    vm_pid=
    echo "   second stage VM: $(($(date +%s) - s)) s"
    if ! grep -q STAGE2-OK "$log"; then
        tail -n 60 "$log"
        die "second stage failed (console log: $log)"
    fi
    grep -E "^stage2:|STAGE2-OK" "$log" | sed 's/^/   /'
    # The stage2 script itself goes; the image boots systemd from now on.
    debugfs -w -R "rm /stage2.sh" "$W/base.img" >/dev/null 2>&1
    e2fsck -fy "$W/base.img" >/dev/null 2>&1 || true
}
# --- end base image ---

# One builder at a time per cache (two checkouts on one machine).
exec 9>"$QEMU_CACHE/.lock"
flock 9
if [ "${VP2730_REBUILD_BASE:-0}" != 1 ] && [ -f "$QEMU_CACHE/base.img" ] &&
    [ -f "$QEMU_CACHE/id_ed25519" ] && [ "$(cat "$QEMU_CACHE/base.key" 2>/dev/null)" = "$key" ]; then
    step "base image up to date ($QEMU_CACHE/base.img, key $key): reused"
else
    build_base
fi
if [ "$BASE_ONLY" = 1 ]; then
    step "base image done in $(elapsed) s"
    exit 0
fi

step "install vp2730d into the image (debugfs: no mount needed)"
img=$QEMU_DIR/vp2730d.img
stage=$QEMU_DIR/stage
rm -rf "$stage" "$img.new"
mkdir -p "$stage"
install -m 755 "$BIN" "$stage/vp2730d"
install -m 644 "$REPO/systemd/vp2730d.service" "$stage/vp2730d.service"
install -m 644 "$REPO/systemd/vp2730d.sysusers" "$stage/vp2730d.sysusers"
install -m 644 "$GUEST/vp2730d-ready.service" "$stage/vp2730d-ready.service"
cp --sparse=always "$QEMU_CACHE/base.img" "$img.new"
U=/usr/lib/systemd/system W=/etc/systemd/system/multi-user.target.wants
debugfs -w -f - "$img.new" >"$stage/debugfs.log" 2>&1 <<EOF
write $stage/vp2730d /usr/bin/vp2730d
write $stage/vp2730d.service $U/vp2730d.service
write $stage/vp2730d.sysusers /usr/lib/sysusers.d/vp2730d.conf
write $stage/vp2730d-ready.service $U/vp2730d-ready.service
symlink $W/vp2730d.service $U/vp2730d.service
symlink $W/vp2730d-ready.service $U/vp2730d-ready.service
EOF
if grep -Ei "error|not found|cannot|could not" "$stage/debugfs.log"; then
    die "debugfs could not install the files"
fi
e2fsck -fn "$img.new" >/dev/null 2>&1 || die "image fails e2fsck after the install"
mv "$img.new" "$img"
flock -u 9
echo "   $img: vp2730d $(stat -c %s "$BIN") bytes, unit $(sha256sum <"$REPO/systemd/vp2730d.service" | cut -c1-12)"
step "done in $(elapsed) s"
