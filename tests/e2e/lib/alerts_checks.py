#!/usr/bin/env python3
"""Structural checks of alerts/ that promtool and amtool do not make (python3 stdlib only).

  coverage   every alert in alerting_rules.yml has severity and cause labels, summary,
             description and runbook_url annotations, and is tested in alerts/tests/ at least
             once firing with exp_annotations and once not firing (exp_alerts: []).
  inhibit    every alert name the Alertmanager inhibit rules name exists in alerting_rules.yml.
  docs       docs/alerts.md names every alert and documents every key of config.toml; every
             runbook_url anchor is a heading of docs/runbook.md (when that file exists).

Prints one line per problem; exits 1 when there is any.
"""
import glob
import os
import re
import sys


def alerts_in(rules_path):
    """{alert name: text of its rule} from a generated rules file (one rule per '- alert:')."""
    text = open(rules_path, encoding="utf-8").read()
    parts = re.split(r"^  - alert: ", text, flags=re.M)[1:]
    out = {}
    for part in parts:
        name, _, body = part.partition("\n")
        body = re.split(r"^- name: ", body, flags=re.M)[0]
        out[name.strip()] = body
    return out


def coverage(alerts_dir):
    problems = []
    alerts = alerts_in(os.path.join(alerts_dir, "alerting_rules.yml"))
    if not alerts:
        return ["no alerts found in alerting_rules.yml"]
    firing, quiet, files = {}, {}, {}
    for path in sorted(glob.glob(os.path.join(alerts_dir, "tests", "*.yml"))):
        lines = open(path, encoding="utf-8").read().splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^\s*alertname:\s*(\S+)\s*$", line)
            if not m:
                continue
            name = m.group(1)
            files.setdefault(name, set()).add(os.path.basename(path))
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if nxt == "exp_alerts: []":
                quiet[name] = quiet.get(name, 0) + 1
            elif nxt == "exp_alerts:":
                # firing case: require exp_annotations with the three annotations before the
                # next alert_rule_test item
                block = []
                for later in lines[i + 2:]:
                    if re.match(r"^\s*- eval_time:", later) or re.match(r"^  - interval:", later):
                        break
                    block.append(later)
                joined = "\n".join(block)
                if all(k in joined for k in ("exp_annotations:", "summary:", "description:",
                                             "runbook_url:")):
                    firing[name] = firing.get(name, 0) + 1
    for name, body in alerts.items():
        if not re.search(r"^\s+severity: \S+", body, re.M):
            problems.append(f"{name}: no severity label")
        expr = body.split("\n    for:", 1)[0]
        # a static cause label, or an expression whose result keeps the cause label
        if not (re.search(r"^\s+cause: \S+", body, re.M) or re.search(r"\bcause\b", expr)):
            problems.append(f"{name}: no cause label (static or from the expression)")
        for ann in ("summary:", "description:", "runbook_url:"):
            if ann not in body.split("annotations:", 1)[-1]:
                problems.append(f"{name}: no {ann[:-1]} annotation")
        if name not in files:
            problems.append(f"{name}: not tested in alerts/tests/")
            continue
        if not firing.get(name):
            problems.append(f"{name}: no firing test with exp_annotations (summary, description, "
                            f"runbook_url) in {sorted(files[name])}")
        if not quiet.get(name):
            problems.append(f"{name}: no not-firing test (exp_alerts: []) in {sorted(files[name])}")
    for name in files:
        if name not in alerts:
            problems.append(f"tests name alert {name}, which alerting_rules.yml does not define")
    if not problems:
        print(f"coverage: {len(alerts)} alerts, each with labels, annotations, a firing and a "
              f"not-firing test ({sum(firing.values())} firing, {sum(quiet.values())} quiet cases)")
    return problems


def inhibit(alerts_dir):
    alerts = alerts_in(os.path.join(alerts_dir, "alerting_rules.yml"))
    text = open(os.path.join(alerts_dir, "alertmanager.yml"), encoding="utf-8").read()
    section = text.split("inhibit_rules:", 1)
    if len(section) != 2:
        return ["alertmanager.yml has no inhibit_rules"]
    problems, named = [], 0
    for m in re.finditer(r'alertname(=~|=)"([^"]+)"', section[1]):
        for name in m.group(2).split("|"):
            named += 1
            if name not in alerts:
                problems.append(f"alertmanager.yml inhibit rule names unknown alert {name}")
    if not problems:
        print(f"inhibit: the inhibit rules name {named} alerts, all defined")
    return problems


def docs(alerts_dir):
    import tomllib
    root = os.path.dirname(os.path.abspath(alerts_dir))
    doc = open(os.path.join(root, "docs", "alerts.md"), encoding="utf-8").read()
    alerts = alerts_in(os.path.join(alerts_dir, "alerting_rules.yml"))
    with open(os.path.join(alerts_dir, "config.toml"), "rb") as f:
        cfg = tomllib.load(f)
    keys = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                keys.add(k)
                walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(cfg)
    problems = [f"docs/alerts.md does not name alert {a}" for a in alerts if f"`{a}`" not in doc]
    problems += [f"docs/alerts.md does not document config key {k}" for k in sorted(keys)
                 if f"`{k}`" not in doc and f"[{k}]" not in doc and f"[[{k}]]" not in doc]
    # every runbook_url anchor is a heading of docs/runbook.md
    runbook = os.path.join(root, "docs", "runbook.md")
    anchors = set()
    for body in alerts.values():
        m = re.search(r"runbook_url: '?[^#\s']*#([^'\n]+)", body)
        if m:
            anchors.add(m.group(1))
    if "{{ $labels.cause }}" in anchors:
        anchors.discard("{{ $labels.cause }}")
        anchors |= {c for a in cfg.get("cause_alert", []) for c in a["causes"]}
    checked = ""
    if os.path.exists(runbook):
        headings = {re.sub(r"[^a-z0-9_ -]", "", h.strip().lower()).replace(" ", "-")
                    for h in re.findall(r"^#+\s+(.*)$", open(runbook, encoding="utf-8").read(),
                                        re.M)}
        problems += [f"docs/runbook.md has no heading for runbook anchor #{a}"
                     for a in sorted(anchors - headings)]
        checked = f", and docs/runbook.md has all {len(anchors)} runbook anchors"
    if not problems:
        print(f"docs: docs/alerts.md names all {len(alerts)} alerts and {len(keys)} config "
              f"keys{checked}")
    return problems


def main():
    what, alerts_dir = sys.argv[1], sys.argv[2]
    problems = {"coverage": coverage, "inhibit": inhibit, "docs": docs}[what](alerts_dir)
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
