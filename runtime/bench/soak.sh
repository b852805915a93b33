#!/usr/bin/env bash
# Soak: the licensed docker image beats every second for MINUTES (default 10) against the loopback mock
# on this machine; every 30 s the entrypoint's RSS (PID 1) is sampled. Reports beats expected against
# received, the longest gap, and RSS first/last/peak. Needs the images built (`just images`), python3.
# Usage: runtime/bench/soak.sh [MINUTES] [IMAGE]
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-10}
image=${2:-coditect-docker:$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)}
work=$(mktemp -d)
name=coditect-soak-$$
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; kill ${mock:-} 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])')
MOCK_BEAT_LOG="$work/beats" python3 runtime/bench/mock_api.py "$work/port" "$port" & mock=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
seconds=$((minutes * 60))
docker run -d --name "$name" --label ai.coditect.conformance=true --add-host host.docker.internal:host-gateway \
  --cap-drop ALL --security-opt no-new-privileges \
  -e CODITECT_LICENSE_KEY=CDT-SOAK-0000-0000-0000 -e CODITECT_API_URL="http://host.docker.internal:$port" \
  -e CODITECT_ALLOW_INSECURE_API=1 -e CODITECT_HEARTBEAT_INTERVAL=1 \
  "$image" sleep "$((seconds + 5))" > /dev/null
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); image $image; $minutes min at 1 s"
: > "$work/rss"
for _ in $(seq $((seconds / 30))); do
  sleep 30
  docker exec "$name" sh -c "awk '/VmRSS/ {print \$2}' /proc/1/status" >> "$work/rss"
done
docker exec "$name" sh -c "awk '/VmHWM/ {print \$2}' /proc/1/status" > "$work/hwm"
python3 - "$work/beats" "$work/rss" "$(cat "$work/hwm")" "$seconds" <<'PY'
import sys
at = [float(l) for l in open(sys.argv[1])]
rss = [int(l) for l in open(sys.argv[2]) if l.strip()]
gaps = [b - a for a, b in zip(at, at[1:])]
expected = int(sys.argv[4])
print(f"beats: {len(at)} received over {at[-1] - at[0]:.0f} s ({expected} s soak); longest gap {max(gaps):.3f} s; "
      f"gaps over 1.5 s: {sum(g > 1.5 for g in gaps)}")
print(f"RSS of PID 1: first {rss[0]} KiB, last {rss[-1]} KiB, peak {sys.argv[3]} KiB; "
      f"samples {rss}")
PY
