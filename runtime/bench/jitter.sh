#!/usr/bin/env bash
# Heartbeat jitter: the release entrypoint beats every second against the loopback mock for BEATS beats
# (default 100); the mock logs each beat's arrival on its monotonic clock, and the gaps' deviation from
# 1 s gives p50, p99 and max jitter (goal: p99 under 20 ms), plus drift (last beat against n intervals
# after the first). Needs python3. Usage: runtime/bench/jitter.sh [BEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
beats=${1:-100}
work=$(mktemp -d)
trap 'kill ${mock:-} ${ep:-} 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --locked -p coditect-runtime --quiet
bin=target/release/coditect-entrypoint
MOCK_BEAT_LOG="$work/beats" python3 runtime/bench/mock_api.py "$work/port" & mock=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
mkdir -p "$work/fw" && echo 2.3.1 > "$work/fw/VERSION" && (cd "$work/fw" && sha256sum VERSION > MANIFEST.sha256)
export CODITECT_LICENSE_KEY=CDT-BENCH-0000-0000-0000 CODITECT_API_URL="http://127.0.0.1:$(cat "$work/port")"
export CODITECT_FRAMEWORK_DIR="$work/fw" CODITECT_STATE_DIR="$work/state" CODITECT_HEARTBEAT_INTERVAL=1

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
"$bin" run -- sleep "$((beats + 2))" 2> "$work/ep.log" & ep=$!
wait $ep || true
python3 - "$work/beats" "$beats" <<'PY'
import sys
at = [float(l) for l in open(sys.argv[1])][: int(sys.argv[2]) + 1]
gaps = [b - a for a, b in zip(at, at[1:])]
dev = sorted(abs(g - 1.0) * 1000 for g in gaps)
pick = lambda q: dev[min(len(dev) - 1, int(q * len(dev)))]
drift = (at[-1] - at[0] - (len(at) - 1)) * 1000
print(f"{len(at)} beats, {len(gaps)} gaps at 1 s: jitter p50 {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms, "
      f"max {dev[-1]:.2f} ms = {pick(0.99)/20:.3f} of the 20 ms goal (p99); drift over the run {drift:+.2f} ms")
PY
