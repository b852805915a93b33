#!/usr/bin/env bash
# Image build benchmark: a warm rebuild with nothing changed (must do no Docker build work), then the
# images' sizes. Needs hyperfine (Debian: hyperfine) and a Docker engine.
# Usage: images/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p coditect-suites --bin coditect-conformance
bin=target/release/coditect-conformance
"$bin" images >/dev/null 2>&1 || "$bin" images   # make sure everything is built once, loudly if it fails
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
hyperfine --warmup 1 --runs 5 --export-json "$work/warm.json" "$bin images" >/dev/null 2>&1
python3 - "$work/warm.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"warm rebuild, nothing changed: {r['mean']:.2f} s mean (min {r['min']:.2f} s, max {r['max']:.2f} s) = {r['mean']/5:.2f} of the 5 s goal")
PY
"$bin" images 2>&1 | grep -q "built in" && { echo "error: a warm rebuild did build work" >&2; exit 1; }
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^coditect-(base|docker|workstation|local-dev):' | sort
