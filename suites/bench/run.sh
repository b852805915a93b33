#!/usr/bin/env bash
# Conformance wall time, side by side in one run, on images already built (goal: at most half the
# baseline's time; the protection and Claude Code suites under 20 s):
#  1. the protection model and Claude Code suites (53 checks): `coditect-conformance run` against the
#     ADR's way, one `docker exec` per check (suites/bench/baseline.sh), with hyperfine, RUNS runs each;
#  2. ADR-193's whole run (93 checks): `coditect-conformance run` against the same 53 execs followed by
#     the 40 flow checks (license, heartbeat, signature) one after another, one process and one
#     container per check, as the ADR's shell suites run them; one run each (the flows wait on real
#     1 s heartbeats, so each run takes minutes).
# Needs hyperfine and the images (`just images`). Usage: suites/bench/run.sh [RUNS] (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
cargo build --release --locked -q -p coditect-suites --bin coditect-conformance
bin=target/release/coditect-conformance
"$bin" images > /dev/null
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(docker version -f 'Docker {{.Server.Version}}')"

ratio() { # JSON LABEL GOAL: the first command's mean against the second's
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ours, base = r[0]["mean"], r[1]["mean"]
print(f"{sys.argv[2]}: {ours:.1f} s against {base:.1f} s = {ours/base:.2f} of the baseline (goal: {sys.argv[3]})")
PY
}

hyperfine --runs "$runs" --export-markdown "$work/static.md" --export-json "$work/static.json" \
  -n "coditect-conformance, PM + CC (53)" "$bin run --suite protection_model --suite claude_code --reports $work/r1" \
  -n "one docker exec per check, PM + CC (53)" "suites/bench/baseline.sh"
cat "$work/static.md"
ratio "$work/static.json" "PM + CC (53 checks)" "under 20 s"

# The flow checks' IDs, from the catalog.
"$bin" list | awk -F'\t' '$2 == "license_validation" || $2 == "heartbeat" || $2 == "signature_verification" {print $1}' \
  > "$work/flows"
cat > "$work/serial.sh" <<EOF
#!/usr/bin/env bash
set -uo pipefail
failed=0
suites/bench/baseline.sh > /dev/null || failed=1
while read -r id; do
  "$bin" run --check "\$id" --reports "$work/serial/\$id" > /dev/null 2>&1 || { echo "FAIL \$id"; failed=1; }
done < "$work/flows"
exit \$failed
EOF
chmod +x "$work/serial.sh"
hyperfine --runs 1 --export-markdown "$work/all.md" --export-json "$work/all.json" \
  -n "coditect-conformance, ADR-193 (93)" \
  "$bin run --suite protection_model --suite claude_code --suite license_validation --suite heartbeat --suite signature_verification --reports $work/r2" \
  -n "one exec or container per check, serially (93)" "$work/serial.sh"
cat "$work/all.md"
ratio "$work/all.json" "ADR-193's 93 checks" "at most 0.5 of the baseline"
