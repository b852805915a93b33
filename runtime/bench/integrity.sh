#!/usr/bin/env bash
# Cost of the framework check at start (signature + every file's SHA-256), as `coditect-entrypoint verify
# --manifest-only` runs it, on the real framework tree and on a synthetic large one, beside
# `sha256sum -c` (the shell way, without the signature) in the same hyperfine run. Needs hyperfine and
# openssl. The entrypoint is built with a throw-away manifest key compiled in, in its own target folder.
# Usage: runtime/bench/integrity.sh [FILES_IN_THE_LARGE_TREE] (default 5000 files of 8 KiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
files=${1:-5000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl ecparam -name secp384r1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$work/key.pem"
openssl ec -in "$work/key.pem" -pubout -out "$work/key.pub" 2>/dev/null
CODITECT_MANIFEST_PUBLIC_KEY="$(cat "$work/key.pub")" CARGO_TARGET_DIR=target/bench-integrity \
  cargo build --release --locked -q -p coditect-runtime --bin coditect-entrypoint
bin=target/bench-integrity/release/coditect-entrypoint

sign() { # a tree: its manifest (sha256sum's format) and the signature the image build makes
  (cd "$1" && find . -type f ! -name 'MANIFEST.sha256*' | sed 's|^\./||' | sort | xargs -d '\n' sha256sum > MANIFEST.sha256)
  openssl dgst -sha384 -sign "$work/key.pem" "$1/MANIFEST.sha256" | base64 -w0 > "$1/MANIFEST.sha256.sig"
}
mkdir -p "$work/real" && cp -r images/framework/. "$work/real/" && sign "$work/real"
mkdir -p "$work/large"
for i in $(seq "$files"); do
  d="$work/large/d$((i % 50))"; mkdir -p "$d"; head -c 8192 /dev/urandom > "$d/f$i"
done
echo 9.9.9 > "$work/large/VERSION" && sign "$work/large"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
for tree in real large; do
  n=$(wc -l < "$work/$tree/MANIFEST.sha256"); bytes=$(du -sb "$work/$tree" | cut -f1)
  echo "tree $tree: $n files, $bytes bytes"
  CODITECT_FRAMEWORK_DIR="$work/$tree" "$bin" verify --manifest-only
done
hyperfine --warmup 3 --runs 20 -N --export-markdown "$work/result.md" \
  -n "entrypoint, real tree" "env CODITECT_FRAMEWORK_DIR=$work/real $bin verify --manifest-only" \
  -n "sha256sum -c, real tree" "sh -c 'cd $work/real && sha256sum --quiet -c MANIFEST.sha256'" \
  -n "entrypoint, $files files" "env CODITECT_FRAMEWORK_DIR=$work/large $bin verify --manifest-only" \
  -n "sha256sum -c, $files files" "sh -c 'cd $work/large && sha256sum --quiet -c MANIFEST.sha256'"
cat "$work/result.md"
