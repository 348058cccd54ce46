#!/usr/bin/env bash
# System-mode tests: boots target/qemu/vp2730d.img (scripts/qemu/build-image.sh)
# in qemu-system-aarch64 -M virt -cpu cortex-a72 under TCG, with QEMU user
# networking forwarding a host port to the guest's 443 (and one to its sshd),
# then, from the host:
#   1. waits for systemd to report vp2730d ready (Type=notify: the test image's
#      vp2730d-ready.service, ordered after it, prints a line on the serial
#      console) and records boot-to-ready time;
#   2. checks the unit as the guest's systemd sees it (systemd-analyze verify
#      and security, user and groups, state directory, watchdog, journal);
#   3. REST and Socket.IO checks (scripts/qemu/checks.py: login, a GET of every
#      GET route, PATCHes read back, an event through tests/socketio/tap.mjs);
#   4. kill -9 of the daemon inside the guest: systemd restarts it, settings kept;
#      a frozen daemon (SIGSTOP) stops feeding the watchdog: systemd kills and
#      restarts it;
#   5. a clean VM restart (poweroff, new QEMU process on the same disk): settings
#      kept in SQLite on the guest disk;
#   6. a power cut (QEMU killed right after a PATCH was answered): settings kept;
#   and the daemon's RSS inside the VM. The VM is killed on exit, whatever happens.
#
#   scripts/qemu/system-tests.sh            # builds the image first if missing
# Timings and measurements: target/qemu/run/results.txt (docs/arm.md has them).
set -euo pipefail
. "$(dirname "$0")/../arm/lib.sh"
cd "$REPO"

RUN=$QEMU_DIR/run
READY_TIMEOUT=${VP2730_READY_TIMEOUT:-300}
results=$RUN/results.txt

step "prerequisites"
need_pkgs qemu-system-arm qemu-utils openssh-client curl python3
[ -f "$QEMU_DIR/vp2730d.img" ] || scripts/qemu/build-image.sh
if [ ! -d tests/socketio/node_modules/socket.io-client ]; then
    (cd tests/socketio && npm ci --no-audit --no-fund --loglevel=error)
fi
rm -rf "$RUN"
mkdir -p "$RUN"
: >"$results"
qemu-img create -q -f qcow2 -F raw -b "$QEMU_DIR/vp2730d.img" "$RUN/disk.qcow2"
HTTPS_PORT=$(free_port)
SSH_PORT=$(free_port)
BASE=https://127.0.0.1:$HTTPS_PORT
qemu_pid=

cleanup() {
    local rc=$?
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill -TERM "$qemu_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$qemu_pid" 2>/dev/null || true
    fi
    if [ "$rc" != 0 ]; then
        echo "---- last console lines ($RUN/console-*.log) ----"
        tail -n 40 "$(ls -t "$RUN"/console-*.log 2>/dev/null | head -n 1)" 2>/dev/null || true
    fi
    for c in "$RUN"/ssh-*; do
        [ -S "$c" ] && ssh -q -o "ControlPath=$c" -O exit root@127.0.0.1 2>/dev/null || true
    done
    rm -f "$RUN/disk.qcow2"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

record() { echo "$*" | tee -a "$results"; }

g() { # a command in the guest, as root over ssh
    # One multiplexed connection per boot: a new ssh handshake costs seconds under TCG.
    ssh -q -i "$QEMU_CACHE/id_ed25519" -p "$SSH_PORT" -o BatchMode=yes -o ConnectTimeout=10 \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -o ControlMaster=auto -o "ControlPath=$RUN/ssh-$boot_n" -o ControlPersist=300 \
        root@127.0.0.1 "$@"
}

boot_n=0
boot() { # starts the VM; returns at once (boot_start: when it started)
    boot_n=$((boot_n + 1))
    console=$RUN/console-$boot_n.log
    boot_start=$(date +%s%N)
    qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 512 \
        -nographic -monitor none -serial "file:$console" -no-reboot \
        -kernel "$QEMU_CACHE/vmlinuz" -initrd "$QEMU_CACHE/initrd.img" \
        -append "console=ttyAMA0 root=/dev/vda rw panic=-1" \
        -drive "file=$RUN/disk.qcow2,format=qcow2,if=none,id=hd0" \
        -device virtio-blk-pci,drive=hd0 -device virtio-rng-pci \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$HTTPS_PORT-:443,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" \
        -device virtio-net-pci,netdev=n0,romfile= \
        </dev/null >"$RUN/qemu-$boot_n.log" 2>&1 &
    qemu_pid=$!
}

wait_ready() { # waits for the ready line of this boot; prints seconds since boot()
    local deadline=$(($(date +%s) + READY_TIMEOUT))
    while ! grep -q "VP2730D-READY" "$console" 2>/dev/null; do
        kill -0 "$qemu_pid" 2>/dev/null || die "QEMU exited during boot $boot_n ($(cat "$RUN/qemu-$boot_n.log"))"
        [ "$(date +%s)" -lt "$deadline" ] || die "vp2730d not ready within ${READY_TIMEOUT}s of boot $boot_n"
        sleep 0.2
    done
    awk -v s="$boot_start" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", (e - s) / 1e9 }'
}

wait_ssh() {
    for _ in $(seq 1 120); do
        g true 2>/dev/null && return 0
        sleep 1
    done
    die "no ssh into the guest"
}

stop_vm() { # clean poweroff; waits for QEMU to exit
    g systemctl poweroff 2>/dev/null || true
    ssh -q -o "ControlPath=$RUN/ssh-$boot_n" -O exit root@127.0.0.1 2>/dev/null || true
    for _ in $(seq 1 1200); do
        kill -0 "$qemu_pid" 2>/dev/null || { wait "$qemu_pid" 2>/dev/null || true; qemu_pid=; return 0; }
        sleep 0.1
    done
    die "the VM did not power off within 120 s"
}

rss() { # VmRSS / VmHWM of the daemon, in KiB
    g 'p=$(systemctl show -P MainPID vp2730d); grep -E "^(VmRSS|VmHWM)" /proc/$p/status' | awk '{ printf "%s %s KiB  ", $1, $2 }'
}

fails=0
run_checks() { "$@" || fails=$((fails + 1)); }

# --- 1. first boot --------------------------------------------------------------
step "boot 1 (fresh disk: first boot runs systemd-sysusers, the daemon creates its store)"
boot
t=$(wait_ready)
record "boot-to-ready (first boot): $t s   $(grep -o 'VP2730D-READY.*' "$console" | head -n 1)"
wait_ssh

# --- 2. the unit as systemd sees it ------------------------------------------------
step "the unit in the guest"
g 'systemd-analyze verify /usr/lib/systemd/system/vp2730d.service' && record "systemd-analyze verify (guest): OK" ||
    { record "systemd-analyze verify (guest): FAILED"; fails=$((fails + 1)); }
record "systemd-analyze security (guest): $(g 'systemd-analyze security vp2730d.service 2>&1 | tail -n 1')"
props=$(g 'systemctl show vp2730d -p Type -p ActiveState -p SubState -p User -p WatchdogUSec -p Restart -p NRestarts -p StateDirectory -p MainPID')
echo "$props" | sed 's/^/   /'
guest_check() { # guest_check NAME SHELL-TEST
    if g "$2" >/dev/null 2>&1; then echo "  ok    $1"; else echo "  FAIL  $1"; fails=$((fails + 1)); fi
}
guest_check "Type=notify, active/running" 'systemctl show vp2730d -p Type -p SubState | tr "\n" " " | grep -q "Type=notify SubState=running"'
guest_check "runs as vp2730d with dialout, i2c, gpio and no other group" \
    'p=$(systemctl show -P MainPID vp2730d); [ "$(ps -o user= -p $p)" = vp2730d ] && [ "$(id -nG vp2730d | tr " " "\n" | sort | tr "\n" " ")" = "dialout gpio i2c vp2730d " ]'
guest_check "only CAP_NET_BIND_SERVICE (effective, ambient)" \
    'p=$(systemctl show -P MainPID vp2730d); grep -q "^CapEff:.*0000000000000400" /proc/$p/status && grep -q "^CapAmb:.*0000000000000400" /proc/$p/status'
guest_check "state directory /var/lib/vp2730d: vp2730d, 0700, settings.db" \
    '[ "$(stat -c "%U %a" /var/lib/vp2730d)" = "vp2730d 700" ] && [ -f /var/lib/vp2730d/settings.db ]'
guest_check "listens on 0.0.0.0:443" 'ss -Hltn "sport = :443" | grep -q "0.0.0.0:443"'
guest_check "watchdog armed (WatchdogUSec=10s)" '[ "$(systemctl show -P WatchdogUSec vp2730d)" = 10s ]'
guest_check "logs in the journal (SYSLOG_IDENTIFIER=vp2730d, \"ready\")" \
    'journalctl -b -u vp2730d -o json --no-pager | grep "\"SYSLOG_IDENTIFIER\":\"vp2730d\"" | grep -q ready'
guest_check "sandbox: / read-only and /home hidden for the daemon" \
    'p=$(systemctl show -P MainPID vp2730d); grep -Eq "^[0-9]+ [0-9]+ [0-9:]+ / / ro[, ]" /proc/$p/mountinfo && grep -q " /home " /proc/$p/mountinfo'

# --- 3. REST + Socket.IO from the host --------------------------------------------------
step "REST and Socket.IO checks from the host ($BASE)"
s=$(date +%s)
run_checks python3 scripts/qemu/checks.py api "$BASE" "$RUN/state.json"
record "rss after the API checks: $(rss)"
record "api checks: $(($(date +%s) - s)) s"

# --- 4. kill -9 inside the guest -------------------------------------------------------
step "kill -9 of the daemon inside the guest: systemd restarts it"
old=$(g 'systemctl show -P MainPID vp2730d')
s=$(date +%s%N)
g "kill -9 $old"
new=
for _ in $(seq 1 300); do
    st=$(g 'systemctl show vp2730d -p MainPID -p ActiveState -p SubState -p NRestarts' | tr '\n' ' ' || true)
    pid=$(echo "$st" | grep -o 'MainPID=[0-9]*' | cut -d= -f2)
    active=$(echo "$st" | grep -o 'ActiveState=[a-z]*' | cut -d= -f2)
    sub=$(echo "$st" | grep -o 'SubState=[a-z]*' | cut -d= -f2)
    nrestarts=$(echo "$st" | grep -o 'NRestarts=[0-9]*' | cut -d= -f2)
    if [ "${pid:-0}" != 0 ] && [ "$pid" != "$old" ] && [ "$active" = active ] && [ "$sub" = running ]; then
        new=$pid
        break
    fi
    sleep 0.2
done
if [ -n "$new" ] && [ "$nrestarts" = 1 ]; then
    record "kill -9: restarted by systemd in $(awk -v s="$s" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", (e - s) / 1e9 }') s (pid $old -> $new, NRestarts=$nrestarts)"
    echo "  ok    systemd restarted the daemon after kill -9"
else
    echo "  FAIL  no restart after kill -9 (state: $st)"
    fails=$((fails + 1))
fi
run_checks python3 scripts/qemu/checks.py verify "$BASE" "$RUN/state.json" "after kill -9"

step "watchdog: a frozen daemon (SIGSTOP) is killed and restarted by systemd"
old=$(g 'systemctl show -P MainPID vp2730d')
s=$(date +%s%N)
g "kill -STOP $old"
new=
for _ in $(seq 1 300); do
    st=$(g 'systemctl show vp2730d -p MainPID -p SubState -p NRestarts' | tr '\n' ' ' || true)
    pid=$(echo "$st" | grep -o 'MainPID=[0-9]*' | cut -d= -f2)
    sub=$(echo "$st" | grep -o 'SubState=[a-z]*' | cut -d= -f2)
    nrestarts=$(echo "$st" | grep -o 'NRestarts=[0-9]*' | cut -d= -f2)
    if [ "${pid:-0}" != 0 ] && [ "$pid" != "$old" ] && [ "$sub" = running ]; then
        new=$pid
        break
    fi
    sleep 0.5
done
if [ -n "$new" ] && g 'journalctl -b -u vp2730d --no-pager | grep -q "Watchdog timeout"'; then
    record "watchdog: frozen daemon restarted in $(awk -v s="$s" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", (e - s) / 1e9 }') s (WatchdogSec=10, TimeoutAbortSec=5; NRestarts=$nrestarts)"
    echo "  ok    watchdog timeout -> restart"
else
    echo "  FAIL  no watchdog restart (state: $st)"
    fails=$((fails + 1))
fi

# --- 5. VM restart ---------------------------------------------------------------------
step "clean VM restart (poweroff, then a new QEMU on the same disk)"
stop_vm
boot
t=$(wait_ready)
record "boot-to-ready (second boot): $t s"
wait_ssh
record "rss right after boot: $(rss)"
run_checks python3 scripts/qemu/checks.py verify "$BASE" "$RUN/state.json" "after a VM restart"

# --- 6. power cut ----------------------------------------------------------------------
step "power cut right after a PATCH was answered"
tok=$(curl -sfk -X POST "$BASE/api/v2.0/auth/tokens" \
    -d "{\"authorization\":\"$(printf administrator:password | base64)\"}" | sed 's/.*"credential":"\([^"]*\)".*/\1/')
code=$(curl -sk -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: $tok" \
    "$BASE/api/v2.0/audio/outputs/ALL" -d '{"volume": 23}')
outputs=$(curl -sfk -H "Authorization: $tok" "$BASE/api/v2.0/audio/outputs")
kill -KILL "$qemu_pid"
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=
ssh -q -o "ControlPath=$RUN/ssh-$boot_n" -O exit root@127.0.0.1 2>/dev/null || true
[ "$code" = 204 ] || { echo "  FAIL  PATCH before the power cut: $code"; fails=$((fails + 1)); }
python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
s["/audio/outputs"] = json.loads(sys.argv[2])
json.dump(s, open(sys.argv[1], "w"))' "$RUN/state.json" "$outputs"
boot
t=$(wait_ready)
record "boot-to-ready (after the power cut): $t s"
run_checks python3 scripts/qemu/checks.py verify "$BASE" "$RUN/state.json" "after a power cut"
wait_ssh
g 'journalctl -b -u vp2730d --no-pager -o cat | tail -n 5' | sed 's/^/   journal: /'
stop_vm

step "done in $(elapsed) s"
cat "$results"
if [ "$fails" != 0 ]; then
    echo "system-mode: $fails check group(s) failed"
    exit 1
fi
echo "system-mode: all checks passed"
