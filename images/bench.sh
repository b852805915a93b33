#!/usr/bin/env bash
# Image build benchmark: a warm rebuild with nothing changed (must do no Docker build work); a rebuild
# after one framework file changed (which steps ran, which came from the cache, and how long); then the
# images' sizes. Needs hyperfine (Debian: hyperfine) and a Docker engine.
# Usage: images/bench.sh   (BENCH_LOG=FILE keeps the changed-payload build log)
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
# One framework file changed: only the steps from the framework's COPY on run again, in the base and in the
# images built on it. The file is restored (and the images rebuilt back) on exit.
probe=images/framework/CLAUDE.md
cp "$probe" "$work/CLAUDE.md.orig"
restore() { cp "$work/CLAUDE.md.orig" "$probe"; "$bin" images >/dev/null 2>&1 || true; rm -rf "$work"; }
trap restore EXIT
echo "<!-- bench $(date +%s) -->" >> "$probe"
start=$(date +%s.%N)
"$bin" images > "$work/changed.log" 2>&1
cp "$work/changed.log" "${BENCH_LOG:-/dev/null}"
end=$(date +%s.%N)
python3 - "$work/changed.log" "$start" "$end" <<'PY'
import re, sys
log = open(sys.argv[1]).read().splitlines()
print(f"one framework file changed: {float(sys.argv[3]) - float(sys.argv[2]):.1f} s for every image")
# Per image: each step, and whether the line after it said it came from the cache.
steps, order = {}, []
for line in log:
    m = re.match(r"\[(coditect-[a-z-]+):[^\]]*\]\s+([\d.]+)s (Step \d+/\d+ : .*|  \(from the cache\))", line)
    if not m:
        if "built in" in line or "up to date" in line:
            print("  " + line.strip())
        continue
    image, at, what = m.groups()
    if image not in steps:
        steps[image] = []
        order.append(image)
    if what.startswith("Step"):
        steps[image].append([what[:100], float(at), False])
    elif steps[image]:
        steps[image][-1][2] = True
for image in order:
    # ARG before FROM and FROM itself make no layer, so they are neither cached nor run.
    first_from = next((i for i, s in enumerate(steps[image]) if " : FROM " in s[0]), -1)
    layers = [s for s in steps[image][first_from + 1:] if " : FROM " not in s[0]]
    ran = [s for s in layers if not s[2]]
    cached = len(layers) - len(ran)
    first = ran[0][0] if ran else "-"
    print(f"  {image}: {len(layers)} steps after FROM, {cached} from the cache, {len(ran)} run; the first run: {first}")
PY
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^coditect-(base|docker|workstation|local-dev):' | sort
