#!/usr/bin/env python3
"""Checks that the documents listing cause ids agree with the catalogue (rules/causes.py).

  causes_checks.py readme ROOT [README]   the README's cause table has exactly the catalogue's
                                          ids, each once, with its severity and the cause alert
                                          of alerts/config.toml that names it (or —); the
                                          "N ordered rules for M causes" sentence is right
  causes_checks.py alerts-doc ROOT [MD]   docs/alerts.md's table gives each cause alert the causes
                                          alerts/config.toml gives it, and its "no alert" list is
                                          every other cause (but unclassified)
  causes_checks.py runbook ROOT           docs/runbook.md has a section for every cause, and
                                          every rule's `runbook:` anchor is a heading there
  causes_checks.py exposition ROOT FILE   the causes of FILE (`registry-rca analyze
                                          --format=metrics` of nothing: every cause at zero)
                                          are the catalogue's

Prints one line per problem; exit status 1 when there is one.
"""

import os
import re
import sys
import tomllib

import yaml


def catalogue(root):
    sys.path.insert(0, os.path.join(root, "rules"))
    import causes
    return causes.load([os.path.join(root, "rules", "default_rules.yaml")])


def rules_of(root):
    with open(os.path.join(root, "rules", "default_rules.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)["rules"]


def compare(what, listed, expected, desc="the catalogue's causes"):
    """Problems when `listed` (ids in document order) is not exactly `expected`, once each."""
    problems = [f"{what}: lists {c!r} twice" for c in sorted({c for c in listed
                                                                if listed.count(c) > 1})]
    problems += [f"{what}: lists {c!r}, not one of {desc}" for c in listed if c not in expected]
    problems += [f"{what}: does not list {c!r}, one of {desc}" for c in expected
                 if c not in listed]
    return problems


def readme(root, path=None):
    path = path or os.path.join(root, "README.md")
    text = open(path, encoding="utf-8").read()
    known = catalogue(root)
    with open(os.path.join(root, "alerts", "config.toml"), "rb") as f:
        cfg = tomllib.load(f)
    alert = {c: spec["alert"] for spec in cfg["cause_alert"] for c in spec["causes"]}
    alert["unclassified"] = cfg["unclassified"]["alert"]

    row = re.compile(r"^\| \[`([a-z0-9_]+)`\]\(docs/runbook\.md#([a-z0-9_]+)\) \| (\w+) \| "
                     r"(?:`(\w+)`|—) \|$", re.M)
    rows = row.findall(text)
    where = f"{os.path.basename(path)} cause table"
    problems = compare(where, [r[0] for r in rows], known)
    for cause, anchor, severity, alert_name in rows:
        if cause not in known:
            continue
        if anchor != cause:
            problems.append(f"{where}: {cause} links to the runbook section #{anchor}")
        if severity != known[cause]:
            problems.append(f"{where}: {cause} says {severity}, the catalogue {known[cause]}")
        if alert_name != alert.get(cause, ""):
            problems.append(f"{where}: {cause} says alert {alert_name or '—'}, "
                            f"alerts/config.toml {alert.get(cause, '—')}")

    n_rules = len(rules_of(root))
    counts = re.search(r"(\d+) ordered rules for (\d+) causes", text)
    if not counts:
        problems.append(f"{os.path.basename(path)}: no 'N ordered rules for M causes' sentence")
    elif (int(counts[1]), int(counts[2])) != (n_rules, len(known) - 1):
        problems.append(f"{os.path.basename(path)}: says {counts[0]}; the catalogue has "
                        f"{n_rules} rules for {len(known) - 1} causes (and unclassified)")
    if not problems:
        print(f"readme: the cause table lists the catalogue's {len(known)} causes, with their "
              f"severity and alert; {n_rules} rules for {len(known) - 1} causes")
    return problems


def alerts_doc(root, path=None):
    known = catalogue(root)
    text = open(path or os.path.join(root, "docs", "alerts.md"), encoding="utf-8").read()
    with open(os.path.join(root, "alerts", "config.toml"), "rb") as f:
        cfg = tomllib.load(f)
    problems = []
    for spec in cfg["cause_alert"]:
        row = re.search(rf"^\| `{spec['alert']}` \| ([^|]*) \|", text, re.M)
        listed = re.findall(r"`([a-z0-9_]+)`", row[1]) if row else []
        if sorted(listed) != sorted(spec["causes"]):
            problems.append(f"docs/alerts.md: the row of {spec['alert']} lists causes {listed}, "
                            f"alerts/config.toml {spec['causes']}")
    alerted = {c for spec in cfg["cause_alert"] for c in spec["causes"]} | {"unclassified"}
    m = re.search(r"Deliberately \*\*no alert\*\*:(.*?)—", text, re.S)
    listed = re.findall(r"`([a-z0-9_]+)`", m[1]) if m else []
    problems += compare("docs/alerts.md's \"no alert\" list", listed,
                        [c for c in known if c not in alerted], "the causes without an alert")
    if not problems:
        print(f"alerts-doc: docs/alerts.md gives {len(cfg['cause_alert'])} cause alerts their "
              f"causes and lists the {len(listed)} causes without one")
    return problems


def runbook(root):
    known = catalogue(root)
    text = open(os.path.join(root, "docs", "runbook.md"), encoding="utf-8").read()
    headings = set(re.findall(r"^#+\s+(\S+)\s*$", text, re.M))
    problems = [f"docs/runbook.md: no section for cause {c!r}" for c in known
                if c not in headings]
    rules = rules_of(root)
    for rule in rules:
        anchor = rule.get("runbook", "").partition("#")[2]
        if anchor not in headings:
            problems.append(f"rules/default_rules.yaml: rule {rule['name']}: runbook anchor "
                            f"#{anchor} is no heading of docs/runbook.md")
    if not problems:
        print(f"runbook: docs/runbook.md has a section for all {len(known)} causes and "
              f"the {len(rules)} rules' anchors")
    return problems


def exposition(root, path):
    text = open(path, encoding="utf-8").read()
    listed = re.findall(r'^registry_rca_errors_total\{[^}]*\bcause="([^"]*)"', text, re.M)
    known = catalogue(root)
    problems = compare("the binary's pre-created registry_rca_errors_total series", listed,
                       known)
    if not problems:
        print(f"exposition: the binary pre-creates exactly the catalogue's {len(known)} causes")
    return problems


def main():
    what, root, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    problems = {"readme": readme, "alerts-doc": alerts_doc, "runbook": runbook,
                "exposition": exposition}[what](root, *rest)
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
