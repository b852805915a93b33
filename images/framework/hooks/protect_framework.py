"""PreToolUse hook: refuses edits aimed at the framework tree (the file modes refuse them anyway)."""
import json
import os
import sys

event = json.load(sys.stdin)
target = str(event.get("tool_input", {}).get("file_path", ""))
root = os.path.realpath(os.path.expanduser("~/.coditect"))
if target and os.path.realpath(os.path.expanduser(target)).startswith(root + os.sep):
    print(f"{target} is part of the read-only CODITECT framework", file=sys.stderr)
    sys.exit(2)
sys.exit(0)
