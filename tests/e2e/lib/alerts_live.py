#!/usr/bin/env python3
"""Checks for the live alerting test (tests/e2e/alerts_live_test.sh), through the real APIs.

  alerts_live.py prom-firing PROM ALERTNAME [label=value ...]
      exit 0 when Prometheus (/api/v1/alerts) has ALERTNAME firing with those labels; prints it
  alerts_live.py prom-annotations PROM ALERTNAME SUBSTRING...
      exit 0 when its rendered annotations (summary, description, runbook_url) contain every
      SUBSTRING (each `key~text`: the annotation `key` contains `text`)
  alerts_live.py am-inhibited AM ALERTNAME
      exit 0 when Alertmanager (/api/v2/alerts) holds ALERTNAME suppressed by an inhibit rule
  alerts_live.py sink-enriched SINK_FILE ALERTNAME
      exit 0 when the sink got, on /enriched, a notification holding ALERTNAME with the
      enrichment: rca_* annotations, counts by cause, and (for upload causes) a timeline
      example with both the registry's and the store's events; prints the figures
  alerts_live.py sink-count SINK_FILE ALERTNAME
      prints how many notifications, per path, named ALERTNAME
  alerts_live.py dashboards ROOT PROM
      runs every dashboard query (variables substituted as the lint does) against Prometheus'
      /api/v1/query; exit 0 when each returns data, else lists the empty ones

Python 3 standard library only.
"""
import json
import os
import sys
import urllib.parse
import urllib.request


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def prom_alerts(prom: str, name: str) -> list:
    data = get(f"{prom}/api/v1/alerts")["data"]["alerts"]
    return [a for a in data if a["labels"].get("alertname") == name]


def prom_firing(prom: str, name: str, labels: list[str]) -> int:
    want = dict(item.split("=", 1) for item in labels)
    for alert in prom_alerts(prom, name):
        if alert["state"] == "firing" and all(alert["labels"].get(k) == v for k, v in want.items()):
            print(json.dumps(alert))
            return 0
    return 1


def prom_annotations(prom: str, name: str, checks: list[str]) -> int:
    firing = [a for a in prom_alerts(prom, name) if a["state"] == "firing"]
    if not firing:
        print(f"{name} is not firing")
        return 1
    annotations = firing[0]["annotations"]
    bad = 0
    for check in checks:
        key, text = check.split("~", 1)
        if text not in annotations.get(key, ""):
            print(f"annotation {key} lacks {text!r}: {annotations.get(key)!r}")
            bad += 1
    return 1 if bad else 0


def am_inhibited(am: str, name: str) -> int:
    query = urllib.parse.urlencode({"filter": f'alertname="{name}"', "inhibited": "true",
                                    "silenced": "true", "active": "true"})
    alerts = get(f"{am}/api/v2/alerts?{query}")
    for alert in alerts:
        status = alert.get("status", {})
        if status.get("state") == "suppressed" and status.get("inhibitedBy"):
            print(json.dumps({"labels": alert["labels"], "status": status}))
            return 0
    print(json.dumps([a.get("status") for a in alerts]))
    return 1


def sink_records(path: str) -> list:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def names_in(record) -> set:
    body = record.get("body") or {}
    return {a.get("labels", {}).get("alertname") for a in body.get("alerts", [])}


def sink_enriched(path: str, name: str) -> int:
    for record in sink_records(path):
        body = record.get("body") or {}
        if record["path"] != "/enriched" or name not in names_in(record):
            continue
        problems = []
        enrichment = body.get("enrichment")
        if not isinstance(enrichment, dict):
            problems.append("no top-level enrichment object")
            enrichment = {}
        alert = next(a for a in body["alerts"] if a["labels"].get("alertname") == name)
        cause = alert["labels"].get("cause", "")
        ann = alert.get("annotations", {})
        for key in ("summary", "description", "runbook_url", "rca_summary", "rca_causes",
                    "rca_top_repositories", "rca_store_errors", "rca_latency",
                    "rca_dashboard_url", "rca_runbook_url"):
            if not ann.get(key):
                problems.append(f"annotation {key} missing")
        if cause and not ann.get("rca_summary", "").startswith(cause + ":"):
            problems.append(f"rca_summary does not name {cause}: {ann.get('rca_summary')!r}")
        if cause and cause not in ann.get("rca_causes", ""):
            problems.append(f"rca_causes lacks {cause}: {ann.get('rca_causes')!r}")
        if f"var-cause={cause}" not in ann.get("rca_dashboard_url", ""):
            problems.append(f"dashboard link without var-cause: {ann.get('rca_dashboard_url')!r}")
        details = [d for d in enrichment.get("alerts", []) if d.get("alertname") == name]
        if not details:
            problems.append("enrichment.alerts has no entry for the alert")
            details = [{}]
        d = details[0]
        counts = {c["cause"]: c["count"] for c in d.get("causes", [])}
        if not counts.get(cause):
            problems.append(f"no count for {cause} in {counts}")
        examples = d.get("examples", [])
        if cause.startswith("upload_"):
            if not ann.get("rca_example_upload") or not ann.get("rca_example_timeline"):
                problems.append("rca_example_upload / rca_example_timeline missing")
            if not examples:
                problems.append("no example upload timeline")
            elif {e.get("side") for e in examples[0].get("events", [])} != {"registry", "store"}:
                problems.append(f"the example timeline lacks a side: {examples[0]}")
        if problems:
            print("\n".join(problems))
            return 1
        print(json.dumps({
            "received": record["received"],
            "rca_summary": ann.get("rca_summary"),
            "rca_causes": ann.get("rca_causes"),
            "rca_top_repositories": ann.get("rca_top_repositories"),
            "rca_store_errors": ann.get("rca_store_errors"),
            "rca_latency": ann.get("rca_latency"),
            "rca_example_upload": ann.get("rca_example_upload"),
            "rca_example_timeline": ann.get("rca_example_timeline"),
            "rca_dashboard_url": ann.get("rca_dashboard_url"),
            "examples": len(examples),
        }, indent=1))
        return 0
    return 1


def sink_count(path: str, name: str) -> int:
    counts: dict[str, int] = {}
    for record in sink_records(path):
        if name in names_in(record):
            counts[record["path"]] = counts.get(record["path"], 0) + 1
    print(json.dumps(counts, sort_keys=True))
    return 0


def dashboards(root: str, prom: str) -> int:
    sys.path.insert(0, os.path.join(root, "tests", "e2e", "lib"))
    import dashboards_lint  # the lint's own query extraction and variable substitution

    allowed = dashboards_lint.EXPORTED | dashboards_lint.recording_rules(root)
    loaded = {}
    for name in sorted(os.listdir(os.path.join(root, "dashboards"))):
        if name.endswith(".json"):
            with open(os.path.join(root, "dashboards", name), encoding="utf-8") as f:
                loaded[name] = json.load(f)
    uids = {d.get("uid") for d in loaded.values()}
    exprs: list = []
    for name, d in loaded.items():
        dashboards_lint.lint_dashboard(name, d, allowed, uids, exprs)
    empty = []
    for _, expr, origin in exprs:
        query = urllib.parse.urlencode({"query": expr})
        try:
            result = get(f"{prom}/api/v1/query?{query}")["data"]["result"]
        except Exception as e:  # noqa: BLE001 - report any failure of the query
            empty.append(f"{origin}: error {e}: {expr}")
            continue
        if not result:
            empty.append(f"{origin}: no data: {expr}")
    for line in empty:
        print("  " + line)
    print(f"dashboard queries: {len(exprs)}, with data: {len(exprs) - len(empty)}, "
          f"empty: {len(empty)}")
    return 1 if empty else 0


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "prom-firing":
        return prom_firing(args[0], args[1], args[2:])
    if command == "prom-annotations":
        return prom_annotations(args[0], args[1], args[2:])
    if command == "am-inhibited":
        return am_inhibited(args[0], args[1])
    if command == "sink-enriched":
        return sink_enriched(args[0], args[1])
    if command == "sink-count":
        return sink_count(args[0], args[1])
    if command == "dashboards":
        return dashboards(args[0], args[1])
    print(f"unknown command {command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
