#!/usr/bin/env bash
# Benchmarks vp2730d on the simulated device and rewrites docs/benchmarks.md
# (keeping its `## Binary size` section, which another tool maintains).
#
#   scripts/bench.sh                 # the full run (about 2-3 minutes after the build)
#   scripts/bench.sh --quick --out /tmp/bench.md   # a 1 s-per-point smoke run elsewhere
#
# Builds the daemon and the load generator (crates/bench) in release, then
# runs target/release/vp2730-bench, which starts target/release/vp2730d
# --sim on 127.0.0.1:0 with its data on this file system, drives it over
# HTTPS and Socket.IO on loopback only, and stops it. Every phase is bounded
# in time and count; the whole run is capped at 10 minutes. Arguments go to
# vp2730-bench (see `target/release/vp2730-bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo build --release (vp2730d, vp2730-bench)"
cargo build --release -p vp2730d -p vp2730-bench

# 1000 sockets + 256 connections + the daemon's own files: the bench raises
# its soft limit to the hard one itself; raise the hard one too when we may.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== vp2730-bench"
exec target/release/vp2730-bench "$@"
