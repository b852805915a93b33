"""SessionStart hook: tells Claude Code which framework version is loaded.

Runs from the read-only tree: it writes nothing (run with `python3 -B`, and PYTHONDONTWRITEBYTECODE=1).
"""
import json
import os

root = os.path.realpath(os.path.expanduser("~/.coditect"))
with open(os.path.join(root, "VERSION"), encoding="utf-8") as f:
    version = f.read().strip()
print(json.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart",
                                         "additionalContext": f"CODITECT framework {version} at {root}"}}))
