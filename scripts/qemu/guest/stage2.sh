#!/bin/sh
# debootstrap's second stage, then the configuration that needs the guest's
# own tools. Prints STAGE2-OK or STAGE2-FAILED. Run by build-image.sh either
#   - in a chroot on the host (`/stage2.sh --chroot`; aarch64 programs run
#     through binfmt_misc + qemu-aarch64-static), or
#   - as PID 1 at the image's first boot under qemu-system-aarch64, where it
#     powers the VM off at the end.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
pid1=1
[ "${1:-}" = --chroot ] && pid1=
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
poweroff_vm() {
    sync
    if [ -n "$pid1" ]; then
        umount /sys 2>/dev/null
        mount -o remount,ro / 2>/dev/null
        sync
        echo o >/proc/sysrq-trigger
        sleep 10
    fi
}
fail() {
    echo "STAGE2-FAILED: $*"
    tail -n 40 /debootstrap/debootstrap.log 2>/dev/null
    poweroff_vm
    exit 1
}
echo "stage2: debootstrap --second-stage (uptime $(cut -d' ' -f1 /proc/uptime))"
/debootstrap/debootstrap --second-stage || fail "debootstrap --second-stage"
mountpoint -q /proc || mount -t proc proc /proc   # debootstrap unmounts it
echo "stage2: configuring (uptime $(cut -d' ' -f1 /proc/uptime))"
systemctl enable systemd-networkd.service ssh.service || fail "systemctl enable"
systemctl set-default multi-user.target || fail "set-default"
# No login prompt on the console (nothing reads it) and no timers that would
# compete with the tests for the emulated CPU.
systemctl mask serial-getty@ttyAMA0.service getty@tty1.service apt-daily.timer \
    apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer >/dev/null 2>&1 || true
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/*.log /var/cache/debconf/*-old
echo "STAGE2-OK (uptime $(cut -d' ' -f1 /proc/uptime))"
[ -n "$pid1" ] || { umount /sys /proc 2>/dev/null; exit 0; }
poweroff_vm
