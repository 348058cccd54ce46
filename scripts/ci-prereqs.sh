#!/usr/bin/env bash
# Everything the CI steps install, in one place and one apt run, before any
# of them starts: the base image build runs in the background beside the
# other steps, and two apt-gets at once would fight over dpkg's lock. Each
# script still installs what it needs when run on its own (lib.sh need_pkgs),
# which is then a no-op. Idempotent; needs root.
set -euo pipefail
. "$(dirname "$0")/arm/lib.sh"
# Cross toolchain and QEMU user-mode (scripts/arm, scripts/qemu/user-tests.sh),
# binfmt + debootstrap + QEMU system-mode (scripts/qemu/build-image.sh,
# system-tests.sh), systemd-analyze, curl.
need_pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-user-static \
    qemu-system-arm debootstrap e2fsprogs cpio kmod gzip openssh-client \
    debian-archive-keyring ca-certificates systemd curl
# On its own: the machine's image may carry a newer qemu-img from backports,
# and resolving it together with the list above is refused.
need_pkgs qemu-utils
need_rust_target aarch64-unknown-linux-gnu
echo "   prerequisites ready in $(elapsed) s"
