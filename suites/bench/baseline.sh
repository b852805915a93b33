#!/usr/bin/env bash
# The ADR's way, as a baseline: one `docker exec` per check, a shell one-liner each, on one running
# container of the base image, for the protection model (25) and Claude Code (28) suites. Exits 0 when
# every check held; prints the failures. Used by suites/bench/run.sh beside `coditect-conformance run`.
# Usage: suites/bench/baseline.sh [IMAGE]
set -uo pipefail
image=${1:-coditect-base:1.0.0}
c=coditect-baseline-$$
docker run -d --name "$c" --label ai.coditect.conformance=true --entrypoint sleep "$image" 600 > /dev/null || exit 2
trap 'docker rm -f "$c" > /dev/null 2>&1' EXIT
failed=0
check() { # ID USER COMMAND: the command must exit 0
  local id=$1 user=$2; shift 2
  docker exec -u "$user" "$c" sh -c "$*" > /dev/null 2>&1 || { echo "FAIL $id"; failed=$((failed + 1)); }
}
T=/opt/coditect
check PM-01 root "test -z \"\$(find $T ! -user root -o ! -group root)\""
check PM-02 root "test -z \"\$(find $T -type f ! -perm 0444)\""
check PM-03 root "test -z \"\$(find $T -type d ! -perm 0555)\""
check PM-04 root "test -z \"\$(find $T -perm /7000)\""
check PM-05 root "for l in \$(find $T -type l); do case \$(readlink -f \$l) in $T/*) ;; *) exit 1;; esac; done"
check PM-06 root "cd $T && sha256sum --quiet -c MANIFEST.sha256"
check PM-07 root "test \"\$(id -u developer):\$(id -g developer)\" = 1000:1000"
check PM-08 root "! id -nG developer | grep -qwE 'sudo|wheel|admin|root|docker'"
check PM-09 root "! command -v sudo"
check PM-10 developer "! echo x | su -c true root"
check PM-11 root "passwd -S root | grep -q ' L '"
check PM-12 root "test -z \"\$(find / -xdev -type f -perm /6000 2>/dev/null)\""
check PM-13 developer "test \"\$(id -u)\" = 1000"
check PM-14 developer "test \"\$(readlink ~/.coditect)\" = $T"
check PM-15 developer "! sh -c 'echo x > $T/CLAUDE.md' && cd $T && grep ' CLAUDE.md\$' MANIFEST.sha256 | sha256sum --quiet -c -"
check PM-16 developer "! sh -c 'echo x >> $T/CLAUDE.md'"
check PM-17 developer "! truncate -s 0 $T/CLAUDE.md"
check PM-18 developer "! touch $T/new"
check PM-19 developer "! rm -f $T/CLAUDE.md && test -f $T/CLAUDE.md"
check PM-20 developer "! mv $T/CLAUDE.md $T/x.md && test -f $T/CLAUDE.md"
check PM-21 developer "! chmod 0666 $T/CLAUDE.md && test \$(stat -c %a $T/CLAUDE.md) = 444"
check PM-22 developer "! chown developer $T/CLAUDE.md && test \$(stat -c %U $T/CLAUDE.md) = root"
check PM-23 developer "! mkdir $T/newdir"
check PM-24 developer "! ln $T/CLAUDE.md $T/hard"
check PM-25 developer "! sh -c 'echo x > ~/.coditect/CLAUDE.md'"
check CC-01 developer "claude --version | grep -q 2.1.332"
check CC-02 developer "node --version | grep -q '^v20\\.'"
check CC-03 developer "python3 --version | grep -q 'Python 3\\.11'"
check CC-04 developer "npm --version"
check CC-05 developer "git --version"
check CC-06 developer "test \"\$HOME\" = /home/developer"
check CC-07 developer "test \"\$(pwd)\" = /workspace"
check CC-08 root "test \$(stat -c %U /workspace) = developer"
check CC-09 developer "touch /workspace/.b && rm /workspace/.b"
check CC-10 developer "test \"\$(readlink -f ~/.coditect)\" = $T"
check CC-11 developer "find $T -type f ! -name MANIFEST.sha256 -exec cat {} + > /dev/null"
check CC-12 developer "find $T -type d -exec ls {} + > /dev/null"
check CC-13 developer "test -O ~/.claude && touch ~/.claude/.b && rm ~/.claude/.b"
check CC-14 developer "test -O ~/.claude/settings.json && python3 -m json.tool ~/.claude/settings.json"
check CC-15 developer "python3 -c 'import json,os,shlex,sys; s=json.load(open(os.path.expanduser(\"~/.claude/settings.json\"))); c=[h[\"command\"] for g in s.get(\"hooks\",{}).values() for x in g for h in x.get(\"hooks\",[])]; sys.exit(0 if c and all(any(a.startswith(\"/home/developer/.coditect/\") and os.path.isfile(a) for a in shlex.split(k)) for k in c) else 1)'"
check CC-16 developer "test \"\$(readlink -f ~/.claude/CLAUDE.md)\" = $T/CLAUDE.md"
check CC-17 developer "test -n \"\$(ls ~/.claude/agents/)\""
check CC-18 developer "test -n \"\$(ls ~/.claude/commands/)\""
check CC-19 developer "test -n \"\$(ls ~/.claude/skills/)\""
check CC-20 developer "cd /workspace && python3 ~/.coditect/scripts/python/coditect_info.py"
check CC-21 developer "cd /workspace && node ~/.coditect/scripts/node/coditect-info.js"
check CC-22 developer "python3 -B ~/.coditect/hooks/session_start.py | grep -q \"\$(cat $T/VERSION)\""
check CC-23 root "cd $T && sha256sum --quiet -c MANIFEST.sha256 && test -z \"\$(find $T -name __pycache__)\""
check CC-24 developer "test \"\$PYTHONDONTWRITEBYTECODE\" = 1"
check CC-25 root "test -s $T/VERSION"
check CC-26 developer "! test -w \$(readlink -f \$(command -v claude)) && ! test -w \$(readlink -f \$(command -v node))"
check CC-27 developer "d=\$(mktemp -d -p /workspace) && cd \$d && npm init -y && cd / && rm -rf \$d"
check CC-28 developer "! echo '{\"tool_input\":{\"file_path\":\"~/.coditect/CLAUDE.md\"}}' | python3 -B ~/.coditect/hooks/protect_framework.py && echo '{\"tool_input\":{\"file_path\":\"/workspace/app.py\"}}' | python3 -B ~/.coditect/hooks/protect_framework.py"
echo "baseline: 53 checks, $failed failed"
exit $((failed > 0))
