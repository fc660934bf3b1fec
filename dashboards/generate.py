#!/usr/bin/env python3
"""Generates registry-rca's Grafana dashboards (JSON, schemaVersion 39, Grafana 10/11).

  registry-rca-overview.json     5xx by cause, explained vs unclassified, top repositories per
                                 cause, the race margin (create-to-visible and unsafe window
                                 p50/p99 against the client gap p5), store errors
  registry-rca-repository.json   one repository (or a few) in detail
  registry-rca-exporter.json     registry-rca's own health

The JSON files are checked in; `--check` compares them with what this script generates and exits
1 with a diff when they differ (tests/e2e/dashboards_lint_test.sh runs it). Queries use only the
metrics registry-rca exports and the recording rules of alerts/recording_rules.yml; panels on
recording rules use their fixed 5 m window, panels on raw counters use $__rate_interval.

Every cause id the dashboards name, in a query's `cause` matcher or in panel text through
`cause()`, must be in the catalogue, rules/default_rules.yaml (read by rules/causes.py): the
script exits 2 and writes nothing otherwise.

Python 3 and python3-yaml (the catalogue).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "rules"))
import causes as catalogue  # noqa: E402  rules/causes.py
import generated_files  # noqa: E402  rules/generated_files.py

DS = {"type": "prometheus", "uid": "${datasource}"}
SERVER_ERRORS = '5..|unknown'  # alerts/config.toml common.server_error_code_regex


# --------------------------------------------------------------------------------------------
# Cause ids. Panel text names a cause through cause(), which records where; queries are scanned
# for `cause` matchers. main() checks both against the catalogue.
# --------------------------------------------------------------------------------------------
NAMED_CAUSES: dict[str, str] = {}  # cause id -> "dashboards/generate.py:line"
CAUSE_MATCHER = re.compile(r'\bcause\s*(=~|!~|!=|=)\s*"([^"]*)"')


def cause(cause_id: str) -> str:
    """A cause id for panel text, recorded for main()'s check against the catalogue."""
    line = inspect.currentframe().f_back.f_lineno
    NAMED_CAUSES.setdefault(cause_id, f"{catalogue.show(__file__)}:{line}")
    return cause_id


def query_causes(boards: dict[str, dict]) -> dict[str, str]:
    """Cause ids in the `cause` matchers of every panel's queries -> where they are."""
    named = {}
    for name, board in boards.items():
        for panel in board["panels"]:
            for t in panel.get("targets", []):
                for op, value in CAUSE_MATCHER.findall(t["expr"]):
                    for cause_id in value.split("|") if op in ("=~", "!~") else [value]:
                        if re.fullmatch(r"[a-z][a-z0-9_]*", cause_id):  # not $cause or .*
                            named.setdefault(cause_id, f"dashboards/{name}: panel "
                                                       f"{panel['title']!r}")
    return named


# --------------------------------------------------------------------------------------------
# Variables.
# --------------------------------------------------------------------------------------------
def datasource_var() -> dict:
    return {
        "name": "datasource", "label": "Data source", "type": "datasource",
        "query": "prometheus", "current": {}, "hide": 0, "includeAll": False, "multi": False,
        "options": [], "refresh": 1, "regex": "", "skipUrlSync": False,
    }


def query_var(name: str, label: str, query: str, multi: bool = True,
              include_all: bool = True) -> dict:
    var = {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {},
        "hide": 0, "includeAll": include_all, "multi": multi, "options": [], "refresh": 2,
        "regex": "", "skipUrlSync": False, "sort": 1,
    }
    if include_all:
        var["allValue"] = ".*"
    return var


CLUSTER = query_var("cluster", "Cluster", "label_values(registry_rca_build_info, cluster)")
REPOSITORY = query_var("repository", "Repository", 'label_values(registry_rca_responses_total'
                       '{cluster=~"$cluster"}, repository)')
CAUSE = query_var("cause", "Cause", 'label_values(registry_rca_errors_total{cluster=~"$cluster"}'
                  ', cause)')
BUCKET = query_var("bucket", "Store bucket", 'label_values(registry_rca_s3_requests_total'
                   '{cluster=~"$cluster"}, bucket)')
INSTANCE = query_var("instance", "Instance", 'label_values(registry_rca_build_info'
                     '{cluster=~"$cluster"}, instance)')
SOURCE = query_var("source", "Source", 'label_values(registry_rca_lines_read_total'
                   '{cluster=~"$cluster", instance=~"$instance"}, source)')


# --------------------------------------------------------------------------------------------
# Panels. A small layout helper places panels left to right, 24 columns wide.
# --------------------------------------------------------------------------------------------
class Layout:
    def __init__(self):
        self.panels: list[dict] = []
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def _place(self, panel: dict, w: int, h: int) -> dict:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        panel["id"] = self.next_id
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)
        return panel

    def row(self, title: str, description: str) -> None:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self._place({"type": "row", "title": title, "description": description,
                     "collapsed": False, "panels": []}, 24, 1)
        self.x, self.y, self.row_h = 0, self.y + 1, 0

    def add(self, panel: dict, w: int, h: int) -> dict:
        return self._place(panel, w, h)


def target(expr: str, legend: str = "__auto", ref: str = "A", instant: bool = False,
           table: bool = False) -> dict:
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend,
         "range": not instant, "instant": instant, "refId": ref}
    if table:
        t["format"] = "table"
    return t


def refs(targets: list[dict]) -> list[dict]:
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return targets


def timeseries(title: str, description: str, targets: list[dict], unit: str = "short",
               stack: bool = False, min0: bool = True, overrides: list | None = None) -> dict:
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stack else 0,
              "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    defaults = {"unit": unit, "custom": custom}
    if min0:
        defaults["min"] = 0
    return {
        "type": "timeseries", "title": title, "description": description, "datasource": DS,
        "targets": refs(targets),
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom",
                               "calcs": ["mean", "max", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def stat(title: str, description: str, expr: str, unit: str = "short",
         steps: list | None = None, decimals: int | None = None) -> dict:
    defaults = {"unit": unit, "color": {"mode": "thresholds"},
                "thresholds": {"mode": "absolute",
                               "steps": steps or [{"color": "green", "value": None}]}}
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat", "title": title, "description": description, "datasource": DS,
        "targets": refs([target(expr, legend=title)]),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                    "orientation": "auto", "textMode": "auto"},
    }


def table(title: str, description: str, expr: str, unit: str, columns: list[str],
          links: dict | None = None) -> dict:
    """An instant table: one row per series, the given label columns and the value."""
    overrides = [{"matcher": {"id": "byName", "options": "Value"},
                  "properties": [{"id": "unit", "value": unit},
                                 {"id": "displayName", "value": "value"}]}]
    for column, link in (links or {}).items():
        overrides.append({"matcher": {"id": "byName", "options": column},
                          "properties": [{"id": "links", "value": [link]}]})
    return {
        "type": "table", "title": title, "description": description, "datasource": DS,
        "targets": refs([target(expr, legend="", instant=True, table=True)]),
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": overrides},
        "options": {"showHeader": True, "sortBy": [{"displayName": "value", "desc": True}]},
        "transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True},
            "indexByName": {c: i for i, c in enumerate(columns + ["Value"])}}}],
    }


def threshold_steps(*pairs) -> list[dict]:
    steps = [{"color": pairs[0], "value": None}]
    for value, color in zip(pairs[1::2], pairs[2::2]):
        steps.append({"color": color, "value": value})
    return steps


def dashboard(uid: str, title: str, description: str, variables: list[dict],
              layout: Layout) -> dict:
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"asDropdown": False, "icon": "external link", "includeVars": True,
                   "keepTime": True, "tags": ["registry-rca"], "targetBlank": False,
                   "title": "registry-rca", "tooltip": "", "type": "dashboards", "url": ""}],
        "panels": layout.panels,
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": ["registry-rca"],
        "templating": {"list": [datasource_var()] + variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


REPO_LINK = {
    "title": "Open ${__data.fields.repository} in the repository dashboard",
    "url": "/d/registry-rca-repository/registry-rca-repository?${datasource:queryparam}"
           "&${cluster:queryparam}&var-repository=${__data.fields.repository}"
           "&var-cause=${__data.fields.cause}&${__url_time_range}",
}


# --------------------------------------------------------------------------------------------
# Overview.
# --------------------------------------------------------------------------------------------
def overview() -> dict:
    c = 'cluster=~"$cluster"'
    cc = f'{c}, cause=~"$cause"'
    five = f'code=~"{SERVER_ERRORS}"'
    L = Layout()
    L.row("Now", "The registry's health in five numbers, summed over every registry-rca "
                 "instance of the selected clusters.")
    L.add(stat("Responses/s", "Registry responses per second (registry_rca_responses_total, "
               "5 m rate, every instance).",
               f"sum(cluster:registry_rca_responses:rate5m{{{c}}})", "reqps"), 4, 4)
    L.add(stat("5xx ratio", "Share of registry responses with a 5xx status over the last 5 m "
               "(the number the generic 5xx alert uses; alerts/config.toml generic.max_ratio).",
               f"sum(cluster:registry_rca_responses_5xx:rate5m{{{c}}})\n/\n"
               f"sum(cluster:registry_rca_responses:rate5m{{{c}}})",
               "percentunit", threshold_steps("green", 0.01, "yellow", 0.05, "red")), 5, 4)
    L.add(stat("5xx explained", "Share of the error responses with a 5xx (or unknown) status "
               "that a root-cause rule explains. Below 100 %: some 5xx are `unclassified` — a "
               "failure registry-rca does not know yet.",
               f"sum(cause_code:registry_rca_errors:rate5m{{{c}, {five}, cause!=\"unclassified\"}})"
               f"\n/\nsum(cluster:registry_rca_errors_5xx:rate5m{{{c}}})",
               "percentunit", threshold_steps("red", 0.9, "yellow", 0.99, "green")), 5, 4)
    L.add(stat("Unclassified 5xx/s", "5xx per second that no rule explains "
               "(RegistryRCAUnclassified5xx pages above alerts/config.toml unclassified.min_rate).",
               f"sum(cause_code:registry_rca_errors:rate5m{{{c}, cause=\"unclassified\", {five}}})",
               "reqps", threshold_steps("green", 0.001, "yellow", 0.01, "red"), 3), 5, 4)
    L.add(stat("Race margin (worst bucket)", "Client POST→PATCH gap p5 minus the unsafe window "
               "p99, for the worst store bucket. Positive: the fastest clients still resume "
               "their uploads after the store made them visible. Near or below 0: PATCHes fail "
               f"with 500 ({cause('upload_not_yet_visible')}).",
               f"min(bucket:registry_rca_upload_race_margin_seconds:rate5m{{{c}, "
               f"bucket=~\"$bucket\"}})",
               "s", threshold_steps("red", 0, "yellow", 0.1, "green")), 5, 4)

    L.row("Causes", "Why the registry answered errors: every error response counted with its "
                    "root cause (registry_rca_errors_total, recording rules cause*:…:rate5m).")
    L.add(timeseries("5xx by cause", "Server errors (5xx, or status unknown because the "
                     "summary line never came) per second, by root cause, summed over every "
                     "instance. `unclassified` means no rule matched.",
                     [target(f"sum by (cause) (cause_code:registry_rca_errors:rate5m{{{cc}, "
                             f"{five}}}) > 0", "{{cause}}")], "reqps", stack=True), 12, 9)
    L.add(timeseries("Explained vs unclassified 5xx", "5xx per second that a rule explains "
                     "against those no rule explains. A growing unclassified band is a new kind "
                     "of failure.",
                     [target(f"sum(cause_code:registry_rca_errors:rate5m{{{c}, {five}, "
                             f"cause!=\"unclassified\"}})", "explained"),
                      target(f"sum(cause_code:registry_rca_errors:rate5m{{{c}, {five}, "
                             f"cause=\"unclassified\"}})", "unclassified")],
                     "reqps", stack=True,
                     overrides=[{"matcher": {"id": "byName", "options": "unclassified"},
                                 "properties": [{"id": "color", "value": {
                                     "mode": "fixed", "fixedColor": "red"}}]},
                                {"matcher": {"id": "byName", "options": "explained"},
                                 "properties": [{"id": "color", "value": {
                                     "mode": "fixed", "fixedColor": "green"}}]}]), 12, 9)
    L.add(table("Top repositories per cause", "The 5 repositories with the most errors per "
                "cause over the last 5 m (instant). Click a repository to open its dashboard. "
                "`__other__` collects repositories beyond the repository cap.",
                f"topk by (cause) (5, sum by (cause, repository) "
                f"(cause_repository:registry_rca_errors:rate5m{{{cc}, repository=~\"$repository\"}})"
                f" > 0)", "reqps", ["cause", "repository"],
                {"repository": REPO_LINK}), 12, 9)
    L.add(timeseries("4xx by cause", "Client errors per second by cause. Mostly harmless "
                     f"({cause('blob_unknown')} on HEAD, {cause('manifest_unknown')}, "
                     f"{cause('unauthorized')}); {cause('upload_invalid')} and "
                     f"{cause('upload_unknown')} point at replicas without a shared "
                     "http.secret or purged uploads.",
                     [target(f"sum by (cause) (cause_code:registry_rca_errors:rate5m{{{cc}, "
                             f"code=~\"4..\"}}) > 0", "{{cause}}")], "reqps", stack=True), 12, 9)

    L.row("Race margin", "The incident's mechanism: the store acknowledges a multipart upload "
                         "before it is listable. When the unsafe window outgrows the clients' "
                         "POST→PATCH gap, pushes fail with 500.")
    b = f'{c}, bucket=~"$bucket"'
    q = "bucket_quantile:registry_rca_upload_{}:histogram_quantile"
    L.add(timeseries("Unsafe window p50/p99 vs client gap p5", "Unsafe window: how long after "
                     "the registry answered the POST an upload can still be invisible in the "
                     "store. Client gap: POST answer → first PATCH. While the unsafe p99 stays "
                     "well below the client gap p5, no client races; RegistryRCAUploadRaceMarginLow "
                     "fires when the p99 reaches half the p5.",
                     [target(f"max by (bucket) ({q.format('unsafe_window_seconds')}{{{b}, "
                             f"quantile=\"0.99\"}})", "unsafe window p99 {{bucket}}"),
                      target(f"max by (bucket) ({q.format('unsafe_window_seconds')}{{{b}, "
                             f"quantile=\"0.5\"}})", "unsafe window p50 {{bucket}}"),
                      target(f"min by (bucket) ({q.format('client_gap_seconds')}{{{b}, "
                             f"quantile=\"0.05\"}})", "client gap p5 {{bucket}}")],
                     "s", overrides=[{"matcher": {"id": "byRegexp", "options": "client gap.*"},
                                      "properties": [{"id": "custom.lineStyle", "value": {
                                          "fill": "dash", "dash": [10, 10]}}]}]), 8, 9)
    L.add(timeseries("Create-to-visible p50/p99 vs client gap p5", "Create-to-visible: from the "
                     "store receiving CreateMultipartUpload to the upload being listable (from "
                     "the store's own log; the incident's store took 2.2 s). Compared with the "
                     "clients' POST→PATCH gap p5.",
                     [target(f"max by (bucket) ({q.format('create_to_visible_duration_seconds')}"
                             f"{{{b}, quantile=\"0.99\"}})", "create-to-visible p99 {{bucket}}"),
                      target(f"max by (bucket) ({q.format('create_to_visible_duration_seconds')}"
                             f"{{{b}, quantile=\"0.5\"}})", "create-to-visible p50 {{bucket}}"),
                      target(f"min by (bucket) ({q.format('client_gap_seconds')}{{{b}, "
                             f"quantile=\"0.05\"}})", "client gap p5 {{bucket}}")],
                     "s", overrides=[{"matcher": {"id": "byRegexp", "options": "client gap.*"},
                                      "properties": [{"id": "custom.lineStyle", "value": {
                                          "fill": "dash", "dash": [10, 10]}}]}]), 8, 9)
    lb = f"registry_rca_upload_create_to_visible_lower_bound_seconds_bucket{{{b}}}"
    L.add(timeseries("Create-to-visible lower bounds (seen not visible)", "Uploads the store "
                     "acknowledged but that were then seen not visible (a PATCH failed with "
                     "\"Path not found\", a listing missed them): the last moment seen not "
                     "visible, after the create. A lower bound of create-to-visible: an upload "
                     "later seen visible also has its upper bound in the panel beside; one never "
                     "seen visible (censored: the client gave up) has only this one. Any line "
                     "here means the acknowledgement came before visibility; per second, right "
                     "axis: uploads with a lower bound.",
                     [target(f"histogram_quantile(0.99, sum by (bucket, le) (rate({lb}"
                             f"[$__rate_interval])))", "lower bound p99 {{bucket}}"),
                      target(f"histogram_quantile(0.5, sum by (bucket, le) (rate({lb}"
                             f"[$__rate_interval])))", "lower bound p50 {{bucket}}"),
                      target(f"sum by (bucket) (rate(registry_rca_upload_create_to_visible_"
                             f"lower_bound_seconds_count{{{b}}}[$__rate_interval])) > 0",
                             "uploads/s {{bucket}}")],
                     "s", overrides=[{"matcher": {"id": "byRegexp", "options": "uploads/s.*"},
                                      "properties": [{"id": "unit", "value": "reqps"},
                                                     {"id": "custom.axisPlacement",
                                                      "value": "right"}]}]), 8, 9)
    L.add(timeseries("Race margin", "Client gap p5 minus unsafe window p99 per bucket "
                     "(seconds; below 0 the fastest 5 % of clients race the store), and the "
                     "share of the margin used (unsafe p99 / gap p5; the early-warning alert "
                     "fires at alerts/config.toml race_margin.max_ratio).",
                     [target(f"bucket:registry_rca_upload_race_margin_seconds:rate5m{{{b}}}",
                             "margin {{bucket}}"),
                      target(f"bucket:registry_rca_upload_race_margin:ratio_rate5m{{{b}}}",
                             "used {{bucket}}")],
                     "s", min0=False,
                     overrides=[{"matcher": {"id": "byRegexp", "options": "used.*"},
                                 "properties": [{"id": "unit", "value": "percentunit"},
                                                {"id": "custom.axisPlacement",
                                                 "value": "right"}]}]), 8, 8)
    L.add(timeseries("Upload outcomes", "Uploads per second by outcome: completed, raced_ok "
                     "(PATCH inside the unsafe window but it worked), raced_failed (the "
                     "incident), raced_recovered (a PATCH failed while the upload was "
                     "invisible; the client retried on the same upload and it completed), "
                     "failed_other, abandoned.",
                     [target(f"sum by (outcome) (outcome:registry_rca_uploads:rate5m{{{c}}})",
                             "{{outcome}}")], "reqps", stack=True), 8, 8)
    L.add(table("Slowest repositories: create-to-visible max (5 m)", "Per repository, the "
                "longest create-to-visible latency in the exporter's 5 m window, the maximum "
                "over all instances: when the upload was seen visible (the store's "
                "acknowledgement when nothing contradicts it), or for an upload never seen "
                "visible, a lower bound.",
                f"topk(10, repository:registry_rca_upload_create_to_visible_max_seconds:max"
                f"{{{c}, repository=~\"$repository\"}})", "s", ["repository"],
                {"repository": REPO_LINK}), 8, 8)

    L.row("Active probes", "registry-rca's own synthetic uploads (probes:): how long after "
                           "its create an upload becomes visible, measured every minute even "
                           "when nobody pushes.")
    L.add(timeseries("Probed visibility lag vs client gap p5", "Registry probe: from its "
                     "POST to the first GET of the upload's status that answered 204 (what a "
                     "client that resumes at once sees, plus the POST's own time). Store probe: from "
                     "CreateMultipartUpload to the listing that shows it. Above the clients' "
                     "POST→PATCH gap p5 the fastest clients race the store; "
                     "RegistryRCAProbeRaceMarginExceeded fires on the registry probe.",
                     [target(f"max by (probe, target) (registry_rca_probe_last_visibility_seconds"
                             f"{{{c}}})", "{{probe}} {{target}}"),
                      target(f"min ({q.format('client_gap_seconds')}{{{c}, "
                             f"quantile=\"0.05\"}})", "client gap p5")],
                     "s", overrides=[{"matcher": {"id": "byRegexp", "options": "client gap.*"},
                                      "properties": [{"id": "custom.lineStyle", "value": {
                                          "fill": "dash", "dash": [10, 10]}}]}]), 12, 8)
    L.add(timeseries("Probe success and failures", "1 while the last run of each probe "
                     "measured visibility and cleaned up; failed runs by reason (auth, create, "
                     "not_visible, network, cleanup, ...).",
                     [target(f"min by (probe, target) (registry_rca_probe_success{{{c}}})",
                             "success {{probe}} {{target}}"),
                      target(f"sum by (probe, target, reason) (increase("
                             f"registry_rca_probe_failures_total{{{c}}}[$__rate_interval])) > 0",
                             "failed {{probe}} {{target}} {{reason}}")], "short"), 12, 8)

    L.row("Object store", "From the store's own log (S3 access log, RGW, MinIO audit): what "
                          "the store answered the registry.")
    L.add(timeseries("Store request errors by operation and code", "Non-2xx answers of the "
                     "object store per second, by normalised S3 operation and status "
                     "(503 = SlowDown/throttling, 403 = credentials or clock, 404 on "
                     "list_multipart/upload_part = uploads not visible or vanished).",
                     [target(f"sum by (operation, code) (bucket_operation_code:registry_rca_s3_"
                             f"requests:rate5m{{{b}, code!~\"2..\"}}) > 0",
                             "{{operation}} {{code}}")], "reqps", stack=True), 12, 8)
    L.add(timeseries("Store request latency p99 by operation", "p99 duration of store requests "
                     "as the store logged them, by operation. A slow create_multipart on an "
                     "asynchronous store widens the unsafe window.",
                     [target(f"max by (operation) (bucket_operation_quantile:registry_rca_s3_"
                             f"request_duration_seconds:histogram_quantile{{{b}}})",
                             "{{operation}}")], "s"), 12, 8)
    L.add(timeseries("Upload age at failure p50 by cause", "How old uploads were (since the "
                     "`_state` StartedAt) when they failed, by cause: young uploads point at "
                     f"{cause('upload_not_yet_visible')}, old ones at "
                     f"{cause('upload_listing_missing')} or purges.",
                     [target(f"histogram_quantile(0.5, sum by (cause, le) (rate("
                             f"registry_rca_upload_age_at_failure_seconds_bucket{{{cc}}}"
                             f"[$__rate_interval])))", "{{cause}}")], "s"), 24, 8)
    return dashboard("registry-rca-overview", "registry-rca / Overview",
                     "Registry errors by root cause, the upload race margin and the object "
                     "store, from registry-rca.",
                     [CLUSTER, REPOSITORY, CAUSE, BUCKET], L)


# --------------------------------------------------------------------------------------------
# Repository drill-down.
# --------------------------------------------------------------------------------------------
def repository() -> dict:
    r = 'cluster=~"$cluster", repository=~"$repository"'
    rc = f'{r}, cause=~"$cause"'
    L = Layout()
    L.row("Repository", "The selected repositories, summed over every registry-rca instance.")
    L.add(stat("Responses/s", "Responses per second for the selected repositories.",
               f"sum(rate(registry_rca_responses_total{{{r}}}[$__rate_interval]))", "reqps"),
          6, 4)
    L.add(stat("5xx ratio", "Share of the selected repositories' responses with a 5xx status.",
               f"sum(rate(registry_rca_responses_total{{{r}, code=~\"5..\"}}[$__rate_interval]))"
               f"\n/\nsum(rate(registry_rca_responses_total{{{r}}}[$__rate_interval]))",
               "percentunit", threshold_steps("green", 0.01, "yellow", 0.05, "red")), 6, 4)
    L.add(stat("Errors/s (selected causes)", "Error responses per second with the selected "
               "causes (5 m rate).",
               f"sum(cause_repository:registry_rca_errors:rate5m{{{rc}}})", "reqps"), 6, 4)
    L.add(stat("Create-to-visible max (5 m)", "Longest create-to-visible latency of the "
               "selected repositories' uploads in the exporter's 5 m window.",
               f"max(repository:registry_rca_upload_create_to_visible_max_seconds:max{{{r}}})",
               "s", threshold_steps("green", 0.5, "yellow", 2, "red")), 6, 4)
    L.row("Errors", "Which causes, operations and status codes.")
    L.add(timeseries("Errors by cause", "Error responses per second by root cause (5 m rate).",
                     [target(f"sum by (cause) (cause_repository:registry_rca_errors:rate5m"
                             f"{{{rc}}}) > 0", "{{cause}}")], "reqps", stack=True), 12, 9)
    L.add(timeseries("Errors by operation and status", "Error responses per second by API "
                     "operation (blob_upload_chunk = PATCH, blob_upload_complete = PUT, ...) "
                     "and HTTP status (`unknown`: the summary line never came).",
                     [target(f"sum by (operation, code) (rate(registry_rca_errors_total{{{rc}}}"
                             f"[$__rate_interval])) > 0", "{{operation}} {{code}}")],
                     "reqps", stack=True), 12, 9)
    L.add(timeseries("Responses by operation and status", "Every response per second by "
                     "operation and status, errors or not.",
                     [target(f"sum by (operation, code) (rate(registry_rca_responses_total"
                             f"{{{r}}}[$__rate_interval]))", "{{operation}} {{code}}")],
                     "reqps", stack=True), 12, 9)
    L.add(table("Errors in the time range", "Error responses over the dashboard's time range "
                "by cause, operation and status.",
                f"sum by (repository, cause, operation, code) (increase(registry_rca_errors_total"
                f"{{{rc}}}[$__range])) > 0", "short",
                ["repository", "cause", "operation", "code"]), 12, 9)
    L.row("Uploads", "Blob uploads of the selected repositories, joined with the store's log.")
    L.add(timeseries("Upload outcomes", "Uploads per second by outcome (completed, raced_ok, "
                     "raced_failed, raced_recovered, failed_other, abandoned).",
                     [target(f"sum by (outcome) (rate(registry_rca_uploads_total{{{r}}}"
                             f"[$__rate_interval]))", "{{outcome}}")], "reqps", stack=True),
          12, 8)
    L.add(timeseries("Create-to-visible latency", "Latest create-to-visible latency and its "
                     "5 m maximum per repository (from the store's log), maximum over instances.",
                     [target(f"max by (repository) (registry_rca_upload_create_to_visible_seconds"
                             f"{{{r}}})", "latest {{repository}}"),
                      target(f"max by (repository) (registry_rca_upload_create_to_visible_max_"
                             f"seconds{{{r}}})", "5m max {{repository}}")], "s"), 12, 8)
    return dashboard("registry-rca-repository", "registry-rca / Repository",
                     "One repository's responses, errors by cause and uploads, from "
                     "registry-rca.", [CLUSTER, REPOSITORY, CAUSE], L)


# --------------------------------------------------------------------------------------------
# Exporter health.
# --------------------------------------------------------------------------------------------
def exporter() -> dict:
    i = 'cluster=~"$cluster", instance=~"$instance"'
    s = f'{i}, source=~"$source"'
    L = Layout()
    L.row("Status", "Is every registry-rca instance reading its logs and counting?")
    L.add(stat("Sources up", "Log sources with at least one open file, of all sources "
               "(registry_rca_source_up). RegistryRCASourceDown fires for a source down 10 m.",
               f"sum(registry_rca_source_up{{{s}}})\n/\ncount(registry_rca_source_up{{{s}}})",
               "percentunit", threshold_steps("red", 0.99, "green")), 5, 4)
    L.add(stat("Config reload", "1 when every instance's last configuration reload "
               "succeeded (registry_rca_config_last_reload_successful).",
               f"min(registry_rca_config_last_reload_successful{{{i}}})", "bool",
               threshold_steps("red", 1, "green")), 4, 4)
    L.add(stat("Repository cap used", "Tracked repositories / max_repositories, highest "
               "instance. At 100 % new repositories are folded into `__other__`.",
               f"max(registry_rca_repositories_tracked{{{i}}}\n/\n"
               f"registry_rca_repositories_limit{{{i}}})",
               "percentunit", threshold_steps("green", 0.8, "yellow", 1, "red")), 5, 4)
    L.add(table("Build", "Version and revision of every instance (registry_rca_build_info).",
                f"registry_rca_build_info{{{i}}}", "short", ["instance", "version", "revision"]),
          10, 4)
    L.row("Reading", "Lines and bytes read, skipped, parsed into records.")
    L.add(timeseries("Lines read/s", "Lines read per second by instance and source. Flat at 0 "
                     "for a source that is up: RegistryRCANoLinesRead.",
                     [target(f"sum by (instance, source) (rate(registry_rca_lines_read_total"
                             f"{{{s}}}[$__rate_interval]))", "{{instance}} {{source}}")],
                     "short"), 12, 8)
    L.add(timeseries("Bytes read/s", "Bytes read per second by instance and source.",
                     [target(f"sum by (instance, source) (rate(registry_rca_bytes_read_total"
                             f"{{{s}}}[$__rate_interval]))", "{{instance}} {{source}}")],
                     "Bps"), 12, 8)
    L.add(timeseries("Lines skipped/s by reason", "Lines not parsed, by reason (too long, "
                     "bad JSON, unrelated lines of a mixed log, ...). "
                     "RegistryRCALinesSkipped fires above 5 % (without the benign reasons).",
                     [target(f"sum by (source, reason) (rate(registry_rca_lines_skipped_total"
                             f"{{{s}}}[$__rate_interval])) > 0", "{{source}} {{reason}}")],
                     "short", stack=True), 12, 8)
    L.add(timeseries("Records/s by format", "Records (after joining continuation lines and "
                     "removing envelopes) per second, by detected format.",
                     [target(f"sum by (source, format) (rate(registry_rca_records_total{{{s}}}"
                             f"[$__rate_interval]))", "{{source}} {{format}}")],
                     "short", stack=True), 12, 8)
    L.row("Files", "Positions, rotations, lag.")
    L.add(timeseries("Lag behind the end of files", "Bytes not read yet, by instance and "
                     "source. Growing: registry-rca falls behind (RegistryRCASourceLagging).",
                     [target(f"max by (instance, source) (registry_rca_source_lag_bytes{{{s}}})",
                             "{{instance}} {{source}}")], "bytes"), 8, 8)
    L.add(timeseries("Files open", "Open files per source; 0 means the source is down.",
                     [target(f"sum by (instance, source) (registry_rca_files_open{{{s}}})",
                             "{{instance}} {{source}}")], "short"), 8, 8)
    L.add(timeseries("Rotations", "Rotations per source and kind (rename, truncate, delete, "
                     "...) in each interval.",
                     [target(f"sum by (source, kind) (increase(registry_rca_rotations_total"
                             f"{{{s}}}[$__rate_interval])) > 0", "{{source}} {{kind}}")],
                     "short", stack=True), 8, 8)
    L.row("Rules and labels", "Which rules fire, and the repository cap.")
    L.add(timeseries("Rule hits/s", "Classified requests per second by rule and cause "
                     "(registry_rca_rule_hits_total).",
                     [target(f"sum by (rule, cause) (rate(registry_rca_rule_hits_total{{{i}, "
                             f"cause=~\"$cause\"}}[$__rate_interval])) > 0", "{{rule}} → {{cause}}")],
                     "short", stack=True), 12, 8)
    L.add(timeseries("Repositories tracked and folded", "Tracked repositories against the "
                     "limit per instance, and events per second counted under "
                     "repository=\"__other__\" because the cap was reached.",
                     [target(f"max by (instance) (registry_rca_repositories_tracked{{{i}}})",
                             "tracked {{instance}}"),
                      target(f"max by (instance) (registry_rca_repositories_limit{{{i}}})",
                             "limit {{instance}}"),
                      target(f"sum by (instance) (rate(registry_rca_repositories_folded_total"
                             f"{{{i}}}[$__rate_interval]))", "folded/s {{instance}}")],
                     "short",
                     overrides=[{"matcher": {"id": "byRegexp", "options": "folded.*"},
                                 "properties": [{"id": "custom.axisPlacement",
                                                 "value": "right"}]}]), 6, 8)
    L.add(timeseries("Positions file write failures", "Failed writes of the positions file "
                     "per interval (RegistryRCAPositionsWriteFailing).",
                     [target(f"sum by (instance) (increase(registry_rca_positions_write_failures"
                             f"_total{{{i}}}[$__rate_interval]))", "{{instance}}")],
                     "short"), 6, 8)
    return dashboard("registry-rca-exporter", "registry-rca / Exporter health",
                     "registry-rca's own health: sources, lines, parsing, files, rules and the "
                     "repository cap.", [CLUSTER, INSTANCE, SOURCE, CAUSE], L)


# --------------------------------------------------------------------------------------------
def dashboards() -> dict[str, dict]:
    return {"registry-rca-overview.json": overview(),
            "registry-rca-repository.json": repository(),
            "registry-rca-exporter.json": exporter()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--check", action="store_true",
                    help="compare with the files in --out-dir instead of writing them")
    ap.add_argument("--rules", action="append", metavar="FILE",
                    help="rules files whose causes the dashboards may name (default: the "
                         "catalogue, rules/default_rules.yaml)")
    args = ap.parse_args()
    boards = dashboards()
    try:
        rules = args.rules or [catalogue.CATALOGUE]
        known = catalogue.load(rules)
    except catalogue.CatalogueError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 2
    problems = catalogue.unknown({**NAMED_CAUSES, **query_causes(boards)}, known,
                                 " + ".join(catalogue.show(path) for path in rules))
    for problem in problems:
        print(f"generate.py: {problem}", file=sys.stderr)
    if problems:
        return 2
    files = {name: json.dumps(board, indent=2, ensure_ascii=False) + "\n"
             for name, board in boards.items()}
    stale = generated_files.write_or_check(args.out_dir, files, args.check, context=1)
    if args.check:
        if stale:
            print(f"{stale} dashboard(s) differ from dashboards/generate.py: run it")
            return 1
        print("dashboards are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
