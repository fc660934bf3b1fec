#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer above its own, or declares its code in
another layer's namespace.

The layers, lowest first (the order of RRCA_LIBRARIES in the top-level CMakeLists.txt):

  common < tailers/follow, tailers/parse < rules < prober < exporter/metrics
         < exporter/pipeline < exporter/web < exporter/ui < exporter/enricher < exporter/app

A file may include its own folder (subfolders included: tailers/parse/s3/ is tailers/parse) and any
folder of a lower layer. Two folders of the same rank
(tailers/follow and tailers/parse) may not include each other: a parser is a pure function of its
bytes and knows nothing of files. Nothing includes exporter/app (main.cc is in it). bench/, fuzz/
and tests/ stand above everything and are not checked.

Each layer has one namespace (NAMESPACES below): exporter/pipeline is rrca::pipeline, so a reader
who meets `pipeline::RecentErrors` knows the folder it lives in. A file opens its own layer's
namespace (or one nested in it, like rrca::tailers::registry_fields); it may open a lower layer's
namespace only to forward-declare a class of it, and never a higher or a sibling layer's.

  scripts/check_layering.py [ROOT]     # prints every violation as file:line: message; exit 1 if any
"""

from __future__ import annotations

import os
import re
import sys

# folder -> rank; higher ranks may include lower ones.
LAYERS = {
    "common": 0,
    "tailers/follow": 1,
    "tailers/parse": 1,
    "rules": 2,
    "prober": 3,
    "exporter/metrics": 4,
    "exporter/pipeline": 5,
    "exporter/web": 6,
    "exporter/ui": 7,
    "exporter/enricher": 8,
    "exporter/app": 9,
}
# layer -> its namespace. tailers/follow and tailers/parse share rrca::tailers (the same rank, and
# neither includes the other, so a name cannot be ambiguous).
NAMESPACES = {
    "common": "rrca",
    "tailers/follow": "rrca::tailers",
    "tailers/parse": "rrca::tailers",
    "rules": "rrca::rules",
    "prober": "rrca::prober",
    "exporter/metrics": "rrca::metrics",
    "exporter/pipeline": "rrca::pipeline",
    "exporter/web": "rrca::web",
    "exporter/ui": "rrca::ui",
    "exporter/enricher": "rrca::enricher",
    "exporter/app": "rrca::app",
}
NAMESPACE = re.compile(r"^namespace\s+(rrca(?:::\w+)*)\s*\{")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path: str) -> str | None:
    """The layer folder a repository-relative path belongs to (longest match), or None."""
    best = None
    for folder in LAYERS:
        if path.startswith(folder + "/") and (best is None or len(folder) > len(best)):
            best = folder
    return best


def sources_of(root: str, folder: str) -> list[str]:
    """Repository-relative .h/.cc paths in a layer's folder and its subfolders (tailers/parse/s3/),
    except those of a layer nested inside it (none today)."""
    base = os.path.join(root, folder)
    paths = []
    for directory, subdirs, names in os.walk(base):
        subdirs.sort()
        for name in sorted(names):
            if name.endswith((".h", ".cc")):
                rel = os.path.relpath(os.path.join(directory, name), root).replace(os.sep, "/")
                if layer_of(rel) == folder:
                    paths.append(rel)
    return paths


def layer_of_namespace(name: str) -> str | None:
    """The layer whose namespace `name` is or is nested in (longest match); "rrca" alone is common."""
    best = None
    for folder, namespace in NAMESPACES.items():
        if name == namespace or name.startswith(namespace + "::"):
            if best is None or len(namespace) > len(NAMESPACES[best]):
                best = folder
    return best


def namespace_violation(folder: str, name: str) -> str | None:
    """Why opening namespace `name` in a file of `folder` is wrong, or None if it is allowed."""
    owner = layer_of_namespace(name)
    if owner is None:
        return f"opens namespace {name}, which belongs to no layer"
    if NAMESPACES[owner] == NAMESPACES[folder] or LAYERS[owner] < LAYERS[folder]:
        return None
    return f"{folder} opens namespace {name} of {owner} (its own is {NAMESPACES[folder]})"


def namespace_violations(folder: str, rel: str, lines: list[str]) -> list[str]:
    found = []
    opened = []
    for number, line in enumerate(lines, 1):
        m = NAMESPACE.match(line)
        if not m:
            continue
        opened.append(m.group(1))
        why = namespace_violation(folder, m.group(1))
        if why:
            found.append(f"{rel}:{number}: {why}")
    own = NAMESPACES[folder]
    if opened and not any(n == own or n.startswith(own + "::") for n in opened):
        found.append(f"{rel}:1: {folder} declares nothing in its namespace {own}")
    return found


def include_violations(root: str, folder: str, rel: str, lines: list[str]) -> list[str]:
    found = []
    for number, line in enumerate(lines, 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        target = m.group(1)
        if not os.path.exists(os.path.join(root, target)):
            found.append(f"{rel}:{number}: includes {target}, which does not exist "
                         "(includes are paths from the repository root)")
            continue
        to = layer_of(target)
        if to is None or to == folder:
            continue
        if LAYERS[to] >= LAYERS[folder]:
            found.append(f"{rel}:{number}: {folder} includes {target} of {to}, "
                         f"which is not below it")
    return found


def violations(root: str) -> list[str]:
    found = []
    for folder in LAYERS:
        for rel in sources_of(root, folder):
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                lines = f.readlines()
            found += include_violations(root, folder, rel, lines)
            found += namespace_violations(folder, rel, lines)
    return found


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    found = violations(root)
    for v in found:
        print(v)
    checked = sum(len(sources_of(root, folder)) for folder in LAYERS)
    print(f"layering: {checked} files, {len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
