"""Writing or checking generated files, shared by alerts/generate.py and dashboards/generate.py.

Both generators turn a config into checked-in files; with --check they compare instead of
writing and print a unified diff of every stale file (CI runs them so).
"""

from __future__ import annotations

import difflib
import os
import sys


def write_or_check(out_dir: str, files: dict[str, str], check: bool, context: int = 3) -> int:
    """Writes each name -> text under out_dir, or with `check` diffs it against the file there.

    Returns how many files differ (always 0 when writing)."""
    stale = 0
    for name, text in files.items():
        path = os.path.join(out_dir, name)
        if not check:
            os.makedirs(out_dir, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            continue
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            stale += 1
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True),
                path + " (checked in)", path + " (generated)", n=context))
    return stale
