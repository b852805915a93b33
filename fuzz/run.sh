#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 30) on a copy of its seed corpus, so that what the fuzzer
# finds stays in a temporary folder and the committed corpus stays short. A crash fails the run and its
# input is kept under fuzz/artifacts/ for reproduction (`cargo fuzz run TARGET fuzz/artifacts/TARGET/…`).
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); RUSTC_BOOTSTRAP=1 lets the stable toolchain take
# the sanitizer flags cargo-fuzz passes.
# Usage: fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
if ! command -v cargo-fuzz >/dev/null; then
  echo "error: cargo-fuzz is not installed; install it with: cargo install cargo-fuzz --locked" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in config response; do
  cp -r "corpus/$target" "$work/$target"
  echo "fuzzing $target for ${seconds} s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$work/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 2> "$work/$target.log" || {
    tail -n 40 "$work/$target.log" >&2
    echo "error: fuzz target $target failed; the input that broke it is under fuzz/artifacts/$target/" >&2
    exit 1
  }
  grep -E '^stat::number_of_executed_units|^Done' "$work/$target.log" | tr '\n' ' '
  echo
done
