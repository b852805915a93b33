#!/usr/bin/env bash
# Runtime benchmark: release binary size, start-to-validated latency against a loopback mock, and steady
# RSS and CPU during heartbeats. Needs hyperfine (Debian: hyperfine) and python3.
# Usage: runtime/bench/run.sh [SECONDS_OF_HEARTBEATS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
soak=${1:-20}
work=$(mktemp -d)
trap 'kill ${mock:-} ${ep:-} 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -p coditect-runtime --quiet
bin=target/release/coditect-entrypoint

python3 runtime/bench/mock_api.py "$work/port" & mock=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
mkdir -p "$work/fw" && echo 2.3.1 > "$work/fw/VERSION" && (cd "$work/fw" && sha256sum VERSION > MANIFEST.sha256)
export CODITECT_LICENSE_KEY=CDT-BENCH-0000-0000-0000 CODITECT_API_URL="http://127.0.0.1:$(cat "$work/port")"
export CODITECT_FRAMEWORK_DIR="$work/fw" CODITECT_STATE_DIR="$work/state"

size=$(stat -c %s "$bin")
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "binary size (stripped): $size bytes = $(awk -v s="$size" 'BEGIN {printf "%.2f", s/10485760}') of the 10 MB goal"

# Start-to-validated, measured inside the process (from main to the accepted answer), 50 starts.
for _ in $(seq 50); do "$bin" run -- true 2>&1 | sed -n 's/.*license accepted.*since_start_us=\([0-9]*\).*/\1/p'; done \
  | sort -n > "$work/lat"
p50=$(awk '{a[NR]=$1} END {print a[int(NR*0.5)]}' "$work/lat"); p95=$(awk '{a[NR]=$1} END {print a[int(NR*0.95)]}' "$work/lat")
echo "start-to-validated: p50 ${p50} us, p95 ${p95} us = $(awk -v p="$p95" 'BEGIN {printf "%.3f", p/20000}') of the 20 ms goal (p95)"

# The whole cycle (exec, check, validate, spawn `true`, end, exit) against `true` alone, one hyperfine run.
hyperfine --warmup 3 --runs 30 --export-json "$work/h.json" -N "$bin run -- true" "true" > /dev/null 2>&1
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ep, base = r[0]["mean"] * 1000, r[1]["mean"] * 1000
print(f"whole cycle `run -- true`: {ep:.2f} ms mean, {ep/base:.1f}x `true` alone ({base:.2f} ms)")
PY

# Steady RSS and CPU with a 1 s heartbeat.
CODITECT_HEARTBEAT_INTERVAL=1 "$bin" run -- sleep "$((soak + 6))" 2> "$work/soak.log" & ep=$!
sleep 2; rss_start=$(awk '/VmRSS/ {print $2}' /proc/$ep/status); ticks_start=$(awk '{print $14+$15}' /proc/$ep/stat)
sleep "$soak"
rss_end=$(awk '/VmRSS/ {print $2}' /proc/$ep/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$ep/status)
ticks_end=$(awk '{print $14+$15}' /proc/$ep/stat); kill -TERM $ep; wait $ep || true
beats=$(grep -c "heartbeat acknowledged" "$work/soak.log")
cpu_ms=$(( (ticks_end - ticks_start) * 1000 / $(getconf CLK_TCK) ))
echo "steady RSS over ${soak} s of 1 s heartbeats: ${rss_start} KiB -> ${rss_end} KiB, peak ${hwm} KiB = $(awk -v h="$hwm" 'BEGIN {printf "%.2f", h/10240}') of the 10 MB goal"
echo "CPU: ${cpu_ms} ms over ${beats} beats = $(awk -v c="$cpu_ms" -v b="$beats" 'BEGIN {printf "%.2f", (b ? c/b : 0)}') ms per beat"
