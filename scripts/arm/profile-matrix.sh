#!/usr/bin/env bash
# Measures release-profile candidates for the board: for each combination of
# opt-level and LTO (plus a few extras), builds the aarch64 binary, strips it,
# records its size, and times it under QEMU user-mode on the simulated board:
#   start   spawn -> readiness line, fresh data dir (SQLite schema, TLS key,
#           argon2 hash of the factory account)
#   login   20 x POST /auth/tokens (argon2id verification: pure Rust)
#   get     400 x GET /api/v2.0/video/outputs on one keep-alive connection
#           (routing, auth, JSON rendering, TLS records)
#   tls     40 x full TLS handshake + GET /ping (ring: C and assembly)
# The binaries are built first, then timed round-robin (one candidate after the
# other, 3 rounds, best of each) so that load from elsewhere on the machine
# spreads over all candidates. QEMU user-mode is not the board, but the ratios
# between candidates carry over (same instruction stream, translated).
#
#   scripts/arm/profile-matrix.sh            # the full matrix (~1 h on 2 cores)
#   scripts/arm/profile-matrix.sh 3:thin z:fat
#   VP2730_MATRIX_REUSE=1 scripts/arm/profile-matrix.sh   # time the binaries built before
# A combination is OPT:LTO[:EXTRA...], EXTRA one of cgu1, cgu16 (codegen-units;
# without it the one of Cargo.toml applies), abort (panic = "abort") and hot3
# (argon2 and blake2 at opt-level 3).
# Results: target/arm/profile-matrix.md. Builds go to the usual target dir (the
# per-profile artefacts do not clobber each other's dependencies).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"
T=aarch64-unknown-linux-gnu
need_cross "$T"
need_pkgs curl

combos=("$@")
[ ${#combos[@]} -gt 0 ] || combos=(3:thin:cgu16 3:fat:cgu16 s:thin:cgu16 s:fat:cgu16 z:thin:cgu16 z:fat:cgu16 s:fat:cgu1)
out=$TARGET_DIR/arm/matrix
mkdir -p "$out"
report=$TARGET_DIR/arm/profile-matrix.md
RUN=$REPO/scripts/qemu/run-aarch64

best_of() { # best_of N CMD...: the smallest wall time of N runs, in ms
    local n=$1 best= s e ms
    shift
    for _ in $(seq 1 "$n"); do
        s=$(date +%s%N)
        "$@" >/dev/null
        e=$(date +%s%N)
        ms=$(((e - s) / 1000000))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

start_daemon() { # start_daemon BIN DIR: sets pid, port, ready_ms
    local bin=$1 dir=$2 s e
    rm -rf "$dir"
    mkdir -p "$dir"
    port=$(free_port)
    s=$(date +%s%N)
    "$RUN" "$bin" --sim --listen "127.0.0.1:$port" --data-dir "$dir/data" >"$dir/out" 2>"$dir/err" &
    pid=$!
    for _ in $(seq 1 1200); do
        grep -q "listening on" "$dir/out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || die "daemon died: $(cat "$dir/err")"
        sleep 0.05
    done
    e=$(date +%s%N)
    ready_ms=$(((e - s) / 1000000))
}

stop_daemon() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

auth_body=$(printf '{"authorization":"%s"}' "$(printf administrator:password | base64)")
do_logins() {
    local i
    for i in $(seq 1 20); do
        curl -sfk -X POST "https://127.0.0.1:$port/api/v2.0/auth/tokens" -d "$auth_body" >/dev/null
    done
}
do_gets() { curl -sfk -K "$1" >/dev/null; }
do_tls() { curl -sfk --no-sessionid -K "$1" >/dev/null; }

declare -A size build_s tag_of
bins=()
for c in "${combos[@]}"; do
    IFS=: read -r opt lto extra1 extra2 <<<"$c"
    args=(--config "profile.release.opt-level=$([ "$opt" = 3 ] && echo 3 || echo "\"$opt\"")"
        --config "profile.release.lto=\"$lto\"")
    extra=
    for x in ${extra1:-} ${extra2:-}; do
        case $x in
        cgu1) args+=(--config profile.release.codegen-units=1) extra+="cgu=1 " ;;
        cgu16) args+=(--config profile.release.codegen-units=16) extra+="cgu=16 " ;;
        hot3) # the password hash's crates at opt-level 3, the rest as given
            args+=(--config 'profile.release.package.argon2.opt-level=3'
                --config 'profile.release.package.blake2.opt-level=3')
            extra+="argon2+blake2@3 " ;;
        abort) args+=(--config 'profile.release.panic="abort"') extra+="panic=abort " ;;
        esac
    done
    bin=$out/vp2730d-$opt-$lto-${extra// /}
    bins+=("$bin")
    tag_of[$bin]="| $opt | $lto | ${extra:--} |"
    if [ "${VP2730_MATRIX_REUSE:-0}" = 1 ] && [ -f "$bin" ]; then
        build_s[$bin]=$(cat "$bin.build_s" 2>/dev/null || echo "?")
    else
        step "build opt-level=$opt lto=$lto $extra"
        s=$(date +%s)
        cargo build --release --locked --target "$T" -p vp2730d --bin vp2730d "${args[@]}" 2>&1 | tail -n 1
        build_s[$bin]=$(($(date +%s) - s))
        echo "${build_s[$bin]}" >"$bin.build_s"
        aarch64-linux-gnu-strip -o "$bin" "$TARGET_DIR/$T/release/vp2730d"
    fi
    size[$bin]=$(stat -c %s "$bin")
    echo "   $bin: ${size[$bin]} bytes"
done

declare -A st lg gt tl
min_into() { # min_into ARRAY KEY VALUE
    local -n a=$1
    if [ -z "${a[$2]:-}" ] || [ "$3" -lt "${a[$2]}" ]; then a[$2]=$3; fi
}
dir=$(mktemp -d)
for round in 1 2 3; do
    for bin in "${bins[@]}"; do
        step "round $round: $(basename "$bin") under qemu-aarch64"
        start_daemon "$bin" "$dir/run"
        min_into st "$bin" "$ready_ms"
        tok=$(curl -sfk -X POST "https://127.0.0.1:$port/api/v2.0/auth/tokens" -d "$auth_body" |
            sed 's/.*"credential":"\([^"]*\)".*/\1/')
        : >"$dir/gets"
        for _ in $(seq 1 400); do
            printf 'url = "https://127.0.0.1:%s/api/v2.0/video/outputs"\nheader = "Authorization: %s"\n' "$port" "$tok" >>"$dir/gets"
        done
        : >"$dir/tls"
        for _ in $(seq 1 40); do
            printf 'url = "https://127.0.0.1:%s/api/v2.0/ping"\nheader = "Connection: close"\n' "$port" >>"$dir/tls"
        done
        min_into lg "$bin" "$(best_of 1 do_logins)"
        min_into gt "$bin" "$(best_of 1 do_gets "$dir/gets")"
        min_into tl "$bin" "$(best_of 1 do_tls "$dir/tls")"
        stop_daemon
    done
done
rm -rf "$dir"

{
    echo "| opt-level | lto | extra | stripped bytes | MiB | start ms | 20 logins ms | 400 GETs ms | 40 TLS handshakes ms | build s |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for bin in "${bins[@]}"; do
        echo "${tag_of[$bin]} ${size[$bin]} | $(mib "${size[$bin]}") | ${st[$bin]} | ${lg[$bin]} | ${gt[$bin]} | ${tl[$bin]} | ${build_s[$bin]} |"
    done
} >"$report"
step "done: $report"
cat "$report"
