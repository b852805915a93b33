"""Prints the framework's version and checks every file against MANIFEST.sha256; exit 1 on a mismatch.

Writes nothing: safe to run from the read-only tree.
"""
import hashlib
import os
import sys

root = os.path.realpath(os.path.expanduser(os.environ.get("CODITECT_FRAMEWORK_DIR", "~/.coditect")))
with open(os.path.join(root, "VERSION"), encoding="utf-8") as f:
    version = f.read().strip()
bad = 0
count = 0
with open(os.path.join(root, "MANIFEST.sha256"), encoding="utf-8") as manifest:
    for line in manifest:
        digest, path = line.rstrip("\n").split("  ", 1)
        with open(os.path.join(root, path), "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != digest:
                print(f"modified: {path}", file=sys.stderr)
                bad += 1
        count += 1
print(f"coditect framework {version}: {count} files, {'intact' if not bad else f'{bad} modified'}")
sys.exit(1 if bad else 0)
