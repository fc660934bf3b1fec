#!/usr/bin/env python3
"""Lints registry-rca's Grafana dashboards (python3 stdlib + promtool).

  python3 dashboards_lint.py ROOT            lint ROOT/dashboards/*.json
  python3 dashboards_lint.py ROOT --selftest prove the lint catches broken dashboards

Checks, per dashboard:
  - JSON structure: uid (stable, unique, [a-z0-9-]), title, schemaVersion 39, tags, time,
    templating with a `datasource` variable of type datasource (prometheus); `cause` (and, where
    required, `repository`) variables of type query from label_values(...);
  - every panel (rows included) has id, type, title, a non-empty description and a gridPos
    inside 24 columns, without overlapping another panel; query panels use ${datasource} and
    have targets with refId and expr;
  - every metric name in every expr and label_values() query is one registry-rca exports
    (the contract list below, histograms with _bucket/_sum/_count) or a recording rule of
    alerts/recording_rules.yml;
  - every $variable used is defined (or a Grafana built-in);
  - links to /d/<uid> point at one of the dashboards;
  - every expr, with variables substituted ($__rate_interval -> 5m, $__range -> 1h, other
    variables -> .*), parses: written into a temporary rules file as recording rules and checked
    with `promtool check rules`.
Prints one line per problem and a summary; exits 1 when there is any problem.
"""
from __future__ import annotations

import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

# The metrics registry-rca exports (issues 2, 3, 4, 8). Names are a contract.
COUNTERS_GAUGES = """
registry_rca_responses_total registry_rca_errors_total
registry_rca_upload_create_to_visible_seconds registry_rca_upload_create_to_visible_max_seconds
registry_rca_uploads_total registry_rca_s3_requests_total
registry_rca_lines_read_total registry_rca_bytes_read_total registry_rca_lines_skipped_total
registry_rca_records_total registry_rca_rule_hits_total registry_rca_repositories_folded_total
registry_rca_repositories_tracked registry_rca_repositories_limit registry_rca_source_up
registry_rca_files_open registry_rca_source_lag_bytes registry_rca_rotations_total
registry_rca_positions_write_failures_total registry_rca_config_last_reload_successful
registry_rca_build_info
registry_rca_probe_last_visibility_seconds registry_rca_probe_success
registry_rca_probe_failures_total registry_rca_probe_requests_total
""".split()
HISTOGRAMS = """
registry_rca_upload_age_at_failure_seconds registry_rca_upload_create_to_visible_duration_seconds
registry_rca_upload_unsafe_window_seconds registry_rca_upload_client_gap_seconds
registry_rca_upload_create_to_visible_lower_bound_seconds
registry_rca_s3_request_duration_seconds
registry_rca_probe_visibility_seconds registry_rca_probe_duration_seconds
""".split()
EXPORTED = set(COUNTERS_GAUGES) | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}

PANEL_TYPES = {"row", "timeseries", "stat", "table", "bargauge", "gauge", "piechart", "text",
               "heatmap", "state-timeline"}
BUILTIN_VARS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h",
                "__range_s": "3600", "__range_ms": "3600000", "__interval_ms": "60000"}
# Variables each dashboard must offer (beyond `datasource`).
REQUIRED_VARS = {
    "registry-rca-overview": ["cluster", "repository", "cause"],
    "registry-rca-repository": ["cluster", "repository", "cause"],
    "registry-rca-exporter": ["cluster", "instance", "cause"],
}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan", "Inf", "NaN", "atan2", "start", "end"}
VAR_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)")


def recording_rules(root: str) -> set[str]:
    path = os.path.join(root, "alerts", "recording_rules.yml")
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*-?\s*record:\s*'?([A-Za-z_:][A-Za-z0-9_:]*)'?\s*$", line)
            if m:
                names.add(m.group(1))
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (after variable substitution)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
    s = re.sub(r"`[^`]*`", "``", s)
    s = re.sub(r"\{[^{}]*\}", " ", s)                      # label matchers
    s = re.sub(r"\[[^\[\]]*\]", " ", s)                    # ranges, subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)", s):
        word = m.group(1)
        rest = s[m.end():].lstrip()
        if rest.startswith("(") or word in PROMQL_WORDS:
            continue                                       # function, aggregation, keyword
        names.add(word)
    return names


def substitute(expr: str, defined: set[str], undefined: set[str]) -> str:
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN_VARS:
            return BUILTIN_VARS[name]
        if name not in defined:
            undefined.add(name)
        return ".*"
    return VAR_RE.sub(repl, expr)


def all_panels(panels: list) -> list:
    out = []
    for p in panels:
        out.append(p)
        out.extend(all_panels(p.get("panels", []) or []))
    return out


def var_query(var: dict) -> str:
    q = var.get("query", "")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or var.get("definition", "")


def lint_dashboard(name: str, d: dict, allowed: set[str], uids: set[str],
                   exprs: list[tuple[str, str]]) -> list[str]:
    """Problems of one dashboard; appends (record name, substituted expr) to exprs."""
    problems = []
    P = lambda msg: problems.append(f"{name}: {msg}")  # noqa: E731

    uid = d.get("uid")
    if not isinstance(uid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", uid or ""):
        P(f"uid {uid!r} is not a stable [a-z0-9-] id of at most 40 characters")
        uid = "unknown"
    for key in ("title", "panels", "templating", "time", "tags"):
        if key not in d:
            P(f"missing top-level field {key!r}")
    if d.get("schemaVersion") != 39:
        P(f"schemaVersion is {d.get('schemaVersion')!r}, want 39")
    if d.get("id") not in (None,):
        P("id must be null (Grafana assigns it on import)")

    variables = d.get("templating", {}).get("list", [])
    by_name = {v.get("name"): v for v in variables}
    ds = by_name.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        P("needs a variable `datasource` of type datasource with query prometheus")
    for required in REQUIRED_VARS.get(uid, ["cause"]):
        v = by_name.get(required)
        if not v:
            P(f"needs a variable `{required}`")
        elif v.get("type") != "query" or not var_query(v).startswith("label_values("):
            P(f"variable `{required}` must be of type query from label_values(...)")
    defined = set(by_name)
    tag = re.sub(r"[^a-z0-9]", "_", uid)
    for v in variables:
        if v.get("type") != "query":
            continue
        if (v.get("datasource") or {}).get("uid") != "${datasource}":
            P(f"variable `{v.get('name')}` does not use ${{datasource}}")
        q = var_query(v)
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip(), re.S)
        if not m:
            P(f"variable `{v.get('name')}`: query {q!r} is not label_values(<selector>, <label>)")
            continue
        undefined: set[str] = set()
        sel = substitute(m.group(1), defined, undefined)
        for u in sorted(undefined):
            P(f"variable `{v.get('name')}` uses undefined variable ${u}")
        for metric in sorted(metric_names(sel) - allowed):
            P(f"variable `{v.get('name')}` uses unknown metric {metric}")
        exprs.append((f"lint:{tag}:var_{v.get('name')}", sel, f"{name} variable {v.get('name')}"))

    ids, rects = set(), []
    for p in all_panels(d.get("panels", [])):
        title = p.get("title") or "<untitled>"
        where = f"panel {p.get('id')} {title!r}"
        if not isinstance(p.get("id"), int) or p["id"] in ids:
            P(f"{where}: id missing or duplicate")
        ids.add(p.get("id"))
        if p.get("type") not in PANEL_TYPES:
            P(f"{where}: unknown panel type {p.get('type')!r}")
        if not p.get("title"):
            P(f"{where}: no title")
        if not (p.get("description") or "").strip():
            P(f"{where}: no description")
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in ("h", "w", "x", "y")):
            P(f"{where}: gridPos needs integer h, w, x, y")
        else:
            if g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24:
                P(f"{where}: gridPos outside 24 columns")
            for other, og in rects:
                if (g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and
                        g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]):
                    P(f"{where}: overlaps {other}")
            rects.append((where, g))
        text = json.dumps(p)
        for link in re.findall(r"/d/([A-Za-z0-9_-]+)", text):
            if link not in uids:
                P(f"{where}: links to unknown dashboard uid {link}")
        if p.get("type") in ("row", "text"):
            if p.get("targets"):
                P(f"{where}: a {p['type']} has no queries")
            continue
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            P(f"{where}: datasource must be ${{datasource}}")
        targets = p.get("targets") or []
        if not targets:
            P(f"{where}: no targets")
        refids = set()
        for t in targets:
            ref = t.get("refId")
            if not ref or ref in refids:
                P(f"{where}: target refId missing or duplicate")
            refids.add(ref)
            if (t.get("datasource") or {}).get("uid") not in (None, "${datasource}"):
                P(f"{where} {ref}: target datasource must be ${{datasource}}")
            expr = t.get("expr")
            if not (expr or "").strip():
                P(f"{where} {ref}: empty expr")
                continue
            undefined = set()
            sub = substitute(expr, defined, undefined)
            for u in sorted(undefined):
                P(f"{where} {ref}: undefined variable ${u}")
            for metric in sorted(metric_names(sub) - allowed):
                P(f"{where} {ref}: unknown metric {metric} (not exported by registry-rca, not a "
                  f"recording rule of alerts/recording_rules.yml)")
            exprs.append((f"lint:{tag}:panel_{p.get('id')}_{ref}", sub, f"{name} {where} {ref}"))
    return problems


def promtool_parse(exprs: list[tuple[str, str, str]]) -> list[str]:
    """Every expr through `promtool check rules` as a recording rule."""
    if not exprs:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_exprs.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("groups:\n- name: dashboard-exprs\n  rules:\n")
            for record, expr, _ in exprs:
                f.write(f"  - record: {json.dumps(record)}\n    expr: {json.dumps(expr)}\n")
        res = subprocess.run(["promtool", "check", "rules", path], capture_output=True,
                             text=True)
        if res.returncode == 0:
            return []
        out = res.stdout + res.stderr
        where = {record: origin for record, _, origin in exprs}
        problems = []
        for line in out.splitlines():
            for record, origin in where.items():
                if f'"{record}"' in line:
                    problems.append(f"{origin}: promtool: {line.strip()}")
                    break
        return problems or [f"promtool check rules failed:\n{out}"]


def lint(root: str, dashboards: dict[str, dict] | None = None) -> tuple[list[str], int, int]:
    allowed = EXPORTED | recording_rules(root)
    if dashboards is None:
        dashboards = {}
        paths = sorted(glob.glob(os.path.join(root, "dashboards", "*.json")))
        problems = []
        for path in paths:
            try:
                with open(path, encoding="utf-8") as f:
                    dashboards[os.path.basename(path)] = json.load(f)
            except (OSError, ValueError) as e:
                problems.append(f"{os.path.basename(path)}: not valid JSON: {e}")
        if problems:
            return problems, 0, 0
    if not dashboards:
        return ["no dashboards in dashboards/*.json"], 0, 0
    problems: list[str] = []
    uids: dict[str, str] = {}
    for name, d in dashboards.items():
        uid = d.get("uid")
        if uid in uids:
            problems.append(f"{name}: uid {uid} also used by {uids[uid]}")
        uids[uid] = name
    exprs: list[tuple[str, str, str]] = []
    for name, d in dashboards.items():
        problems += lint_dashboard(name, d, allowed, set(uids), exprs)
    problems += promtool_parse(exprs)
    panels = sum(len(all_panels(d.get("panels", []))) for d in dashboards.values())
    return problems, panels, len(exprs)


def selftest(root: str) -> int:
    """Each broken copy of a real dashboard must be reported."""
    base = {}
    for path in sorted(glob.glob(os.path.join(root, "dashboards", "*.json"))):
        with open(path, encoding="utf-8") as f:
            base[os.path.basename(path)] = json.load(f)
    name = "registry-rca-overview.json"
    if name not in base:
        print(f"selftest: {name} missing")
        return 1

    def first_query_panel(d):
        return next(p for p in all_panels(d["panels"]) if p.get("targets"))

    def no_description(d):
        first_query_panel(d)["description"] = ""

    def unknown_metric(d):
        first_query_panel(d)["targets"][0]["expr"] = "sum(rate(registry_http_requests_total[5m]))"

    def unparsable(d):
        first_query_panel(d)["targets"][0]["expr"] = 'sum(rate(registry_rca_responses_total[5m])'

    def undefined_variable(d):
        first_query_panel(d)["targets"][0]["expr"] = \
            'sum(registry_rca_source_up{instance=~"$nosuchvar"})'

    def wrong_schema(d):
        d["schemaVersion"] = 27

    def no_cause_variable(d):
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != "cause"]

    def bad_link(d):
        d["panels"][0]["description"] += " see /d/no-such-dashboard"

    def hardcoded_datasource(d):
        first_query_panel(d)["datasource"] = {"type": "prometheus", "uid": "PBFA97CFB590B2093"}

    cases = [no_description, unknown_metric, unparsable, undefined_variable, wrong_schema,
             no_cause_variable, bad_link, hardcoded_datasource]
    failures = 0
    for case in cases:
        broken = copy.deepcopy(base)
        case(broken[name])
        problems, _, _ = lint(root, broken)
        if problems:
            print(f"PASS  selftest {case.__name__}: reported ({problems[0][:110]})")
        else:
            print(f"FAIL  selftest {case.__name__}: the broken dashboard was accepted")
            failures += 1
    return 1 if failures else 0


def main() -> int:
    root = sys.argv[1]
    if "--selftest" in sys.argv[2:]:
        return selftest(root)
    problems, panels, exprs = lint(root)
    for p in problems:
        print("  " + p)
    if problems:
        print(f"dashboards lint: {len(problems)} problem(s)")
        return 1
    print(f"dashboards lint: {panels} panels, {exprs} queries: structure, descriptions, metric "
          f"names, variables, links and promtool parsing OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
