#!/usr/bin/env python3
"""The cause ids of the root-cause catalogue, read the way the C++ engine reads them.

rules/default_rules.yaml is the one list of cause ids. The engine (RuleSet, compiled with that
file) gives id 0 to `unclassified` and numbers the other causes in the order their first rule
appears; a cause's severity is the most severe of the rules that give it. alerts/generate.py,
dashboards/generate.py and tests/e2e/causes_single_source_test.sh read the ids here, so that a
cause they name and the catalogue does not have is an error, not an alert that never fires.

  python3 rules/causes.py                   # one id per line, `unclassified` first
  python3 rules/causes.py --severity        # id and severity
  python3 rules/causes.py FILE...           # the causes of these rules files instead (e.g. the
                                            # built-in catalogue and your rules_files)

Needs python3-yaml (installed by scripts/install-deps.sh --test).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CATALOGUE = os.path.join(HERE, "default_rules.yaml")
UNCLASSIFIED = "unclassified"  # RuleSet::kUnclassified: no rule matched; it pages (critical)
_RANK = {"info": 1, "warning": 2, "critical": 3}


class CatalogueError(Exception):
    pass


def show(path: str) -> str:
    """A path as messages print it: relative to the repository when inside it."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def load(paths: list[str] | None = None) -> dict[str, str]:
    """Cause id -> severity, in the engine's order, of the rules in `paths` (default: the
    built-in catalogue). Disabled rules give no cause. Raises CatalogueError."""
    try:
        import yaml
    except ImportError:
        raise CatalogueError("reading the cause catalogue needs python3-yaml") from None
    causes = {UNCLASSIFIED: "critical"}
    for path in paths or [CATALOGUE]:
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as e:
            raise CatalogueError(f"cannot read the cause catalogue {show(path)}: {e}") from None
        rules = doc.get("rules") if isinstance(doc, dict) else None
        if not isinstance(rules, list):
            raise CatalogueError(f"{show(path)}: no `rules:` list (format: rules/README.md)")
        for rule in rules:
            if not isinstance(rule, dict) or rule.get("disabled") is True:
                continue
            cause, severity = rule.get("cause"), rule.get("severity")
            if not isinstance(cause, str) or severity not in _RANK:
                raise CatalogueError(f"{show(path)}: rule {rule.get('name')!r} needs a cause "
                                     f"and a severity (critical, warning or info)")
            if _RANK[severity] > _RANK.get(causes.get(cause, ""), 0):
                causes[cause] = severity
    return causes


def locate(paths: list[str], needle: str) -> str:
    """'file:line' of the first line of `paths` that contains `needle`, else the first file."""
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if needle in line:
                        return f"{show(path)}:{number}"
        except OSError:
            pass
    return show(paths[0])


def unknown(named: dict[str, str], known: dict[str, str], catalogue: str) -> list[str]:
    """One message per id of `named` (id -> where it is named) that `known` does not have,
    with the known ids close to it."""
    problems = []
    for cause, where in named.items():
        if cause in known:
            continue
        close = difflib.get_close_matches(cause, list(known), n=3, cutoff=0.7)
        hint = ("known causes close to it: " + ", ".join(close)) if close else \
            "none is close to it (`python3 rules/causes.py` lists them)"
        problems.append(f"{where}: unknown cause {cause!r}: {catalogue} has no rule giving it; "
                        f"{hint}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help=f"rules files (default: {show(CATALOGUE)})")
    ap.add_argument("--severity", action="store_true", help="print each cause's severity too")
    args = ap.parse_args()
    try:
        causes = load(args.files)
    except CatalogueError as e:
        print(f"causes.py: {e}", file=sys.stderr)
        return 2
    for cause, severity in causes.items():
        print(f"{cause} {severity}" if args.severity else cause)
    return 0


if __name__ == "__main__":
    sys.exit(main())
