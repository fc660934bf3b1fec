#!/usr/bin/env bash
# Live alerting, end to end, on loopback with the real servers from Debian's packages:
#   registry-rca serve  <- logs appended in real time (lib/incident_feed.py replays the lab's
#                          s3-async-create incident with fresh UUIDs and current times)
#   prometheus          <- scrapes it every second, with alerts/ generated for `for: 10s`
#   alertmanager        <- the example config of alerts/ (URLs pointed at this test, short waits):
#                          registry-rca's enricher first (continue: true), then the downstream
#   lib/alert_sink.py   <- records what arrives: /enriched from registry-rca, /downstream from AM
# and checks through the real APIs that: the uploads-not-yet-visible alert fires with the right
# labels and annotations; the generic 5xx alert fires but is inhibited and never delivered; the
# sink gets the enriched notification (cause breakdown, example timeline with registry and store
# events); a burst of unexplained 5xx fires the unclassified alert; every dashboard query returns
# data. Prints the time to fire and to enriched delivery. Waits on conditions, never fixed sleeps;
# the deadlines are generous (a loaded CI machine can stall Prometheus' rule evaluation for a
# minute), a normal run takes about 70 s.
source "$(dirname "$0")/lib/common.sh"
LIB=$RRCA_SOURCE_DIR/tests/e2e/lib
LAB=$TESTDATA/corpus/lab/s3-async-create

if ! command -v prometheus >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null 2>&1; }
fi
for tool in prometheus prometheus-alertmanager promtool; do
  command -v "$tool" >/dev/null || { echo "FAIL - $tool missing (packages prometheus, prometheus-alertmanager)"; exit 1; }
done

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
# start NAME COMMAND...: a background server whose pid is cleaned up on exit.
start() {
  local name=$1; shift
  "$@" >"$WORK/$name.log.out" 2>"$WORK/$name.log.err" &
  PIDS+=($!)
}
live() { python3 "$LIB/alerts_live.py" "$@"; }

rca_port=$(free_port); prom_port=$(free_port); am_port=$(free_port); sink_port=$(free_port)
PROM=http://127.0.0.1:$prom_port
AM=http://127.0.0.1:$am_port
SINK_FILE=$WORK/sink.jsonl
touch "$WORK/registry.log" "$WORK/registry-access.log" "$WORK/s3-access.log"

# --- a real registry for the active probes (the dashboard's probe panels need their series): one
# probe measures it, one points at a closed port and fails (probe_failures_total). ---------------
reg_port=$(free_port); closed_port=$(free_port)
cat >"$WORK/docker-registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $WORK/registry-data}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$reg_port}
YAML
start docker-registry docker-registry serve "$WORK/docker-registry.yml"
check "the probed docker-registry is up" wait_for 20 curl -fs "http://127.0.0.1:$reg_port/v2/"

# --- the sink, and registry-rca with the enricher forwarding to it -------------------------------
start sink python3 "$LIB/alert_sink.py" --port "$sink_port" --out "$SINK_FILE"
check "the sink is up" wait_for 20 curl -fs "http://127.0.0.1:$sink_port/"
registry_store_config "$WORK/registry-rca.yaml"
cat >>"$WORK/registry-rca.yaml" <<YAML
enricher:
  downstream_urls: ["http://127.0.0.1:$sink_port/enriched"]
  timeout: 2s
  retries: 2
  dedupe_window: 5m
  dashboard_base_url: http://grafana.invalid:3000
  external_url: http://127.0.0.1:$rca_port
probes:
  - {name: lab, type: registry, url: "http://127.0.0.1:$reg_port", interval: 2s, timeout: 10s}
  - {name: down, type: registry, url: "http://127.0.0.1:$closed_port", interval: 2s, timeout: 2s}
YAML
check "registry-rca serve starts with an enricher: section" start_daemon rca "$WORK/registry-rca.yaml" "$rca_port"
enricher_status=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"alerts":[]}' \
  -H 'Content-Type: application/json' \
  "http://127.0.0.1:$rca_port/api/v1/alerts")
if [[ $enricher_status != 202 ]]; then
  check "POST /api/v1/alerts is served (got $enricher_status: the enricher is not wired into the daemon, see docs/enricher.md)" false
  finish; exit 1
fi
check "POST /api/v1/alerts answers 202 at once" true

# --- rules and the Alertmanager example, generated from alerts/config.toml ---------------------
cat >"$WORK/override.toml" <<TOML
[alertmanager]
enricher_url = "http://127.0.0.1:$rca_port/api/v1/alerts"
downstream_url = "http://127.0.0.1:$sink_port/downstream"
group_wait = "5s"
group_interval = "10s"
repeat_interval = "1h"
TOML
check "alerts/generate.py --for 10s writes the rules and the Alertmanager config" \
  python3 "$RRCA_SOURCE_DIR/alerts/generate.py" --for 10s --override "$WORK/override.toml" --out-dir "$WORK/rules"
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$WORK/rules/recording_rules.yml", "$WORK/rules/alerting_rules.yml"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$am_port"]}]
scrape_configs:
  - job_name: registry-rca
    static_configs:
      - targets: ["127.0.0.1:$rca_port"]
        labels: {cluster: e2e}
YAML
# Alertmanager inhibits only while the source alert fires. Where both conditions start together,
# the generic alert must hold longer than the cause alerts, or it pages before the cause alert
# can mute it: generate.py --for gives it three times the cause alerts' hold.
check "the generic alert holds 30s (cause alerts 10s)" python3 - "$WORK/rules/alerting_rules.yml" <<'PY'
import sys, yaml
rules = {r["alert"]: r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]}
assert rules["RegistryHigh5xxRatio"]["for"] == "30s", rules["RegistryHigh5xxRatio"]["for"]
assert rules["RegistryRCAUploadsNotYetVisible"]["for"] == "10s"
PY
check "promtool accepts the generated rules" \
  promtool check rules "$WORK/rules/recording_rules.yml" "$WORK/rules/alerting_rules.yml"

# --- the servers --------------------------------------------------------------------------------
start alertmanager prometheus-alertmanager --config.file="$WORK/rules/alertmanager.yml" \
  --storage.path="$WORK/am-data" --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address=
start prometheus prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$prom_port"
check "Alertmanager is ready" wait_for 60 curl -fs "$AM/-/ready"
check "Prometheus is ready" wait_for 60 curl -fs "$PROM/-/ready"
check "Prometheus scrapes registry-rca" wait_for 30 bash -c \
  "curl -fsG '$PROM/api/v1/query' --data-urlencode 'query=up{job=\"registry-rca\"} == 1' | grep -q '\"value\"'"

# --- the incident ---------------------------------------------------------------------------------
t0=$(now)
start feed python3 "$LIB/incident_feed.py" --lab "$LAB" --out-dir "$WORK" --round-every 3 --copytruncate-after 20 \
  --unclassified-flag "$WORK/unclassified.flag"
check "registry-rca counts upload_not_yet_visible 500s" wait_for 60 bash -c \
  "[[ \$(curl -fs http://127.0.0.1:$rca_port/metrics | grep -E '^registry_rca_errors_total\{.*cause=\"upload_not_yet_visible\".*code=\"500\"' | awk '{s+=\$NF} END {print s+0}') -gt 0 ]]"
t_counted=$(now)

check "Prometheus: RegistryRCAUploadsNotYetVisible fires {cause=upload_not_yet_visible, severity=critical, cluster=e2e}" \
  wait_for 180 live prom-firing "$PROM" RegistryRCAUploadsNotYetVisible cause=upload_not_yet_visible severity=critical cluster=e2e
t_fire=$(now)
live prom-firing "$PROM" RegistryRCAUploadsNotYetVisible >"$WORK/firing.json" || true
t_active=$(python3 -c "
import json, sys, datetime
a = json.load(open(sys.argv[1]))['activeAt']
print(datetime.datetime.fromisoformat(a.replace('Z', '+00:00')[:26] + '+00:00').timestamp())" "$WORK/firing.json" 2>/dev/null || echo "$t0")
check "its annotations: summary, description with numbers and top repositories, runbook_url" \
  live prom-annotations "$PROM" RegistryRCAUploadsNotYetVisible \
  "summary~Pushes fail: the object store acknowledged uploads before they were visible." \
  "description~registry responses/s failed with cause upload_not_yet_visible in cluster e2e" \
  "description~of all responses)" \
  "description~Top repositories: lab/s3-async-create" \
  "description~client POST→PATCH gap p5:" \
  "runbook_url~/docs/runbook.md#upload_not_yet_visible"
check "Prometheus: the generic RegistryHigh5xxRatio fires too (cluster=e2e)" \
  wait_for 180 live prom-firing "$PROM" RegistryHigh5xxRatio cluster=e2e
check "Alertmanager: RegistryHigh5xxRatio is inhibited (suppressed, inhibitedBy set)" \
  wait_for 120 live am-inhibited "$AM" RegistryHigh5xxRatio
check "the sink receives the enriched notification (causes, repositories, store, latency, timeline)" \
  wait_for 180 live sink-enriched "$SINK_FILE" RegistryRCAUploadsNotYetVisible
live sink-enriched "$SINK_FILE" RegistryRCAUploadsNotYetVisible >"$WORK/enriched.json" || true
t_enriched=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['received'])" "$WORK/enriched.json" 2>/dev/null || echo "$t0")
check "Alertmanager also delivers the original to the downstream route (continue: true)" \
  wait_for 120 bash -c "python3 '$LIB/alerts_live.py' sink-count '$SINK_FILE' RegistryRCAUploadsNotYetVisible | grep -q '/downstream'"

# --- a new failure: 5xx that no rule explains ------------------------------------------------------
t1=$(now)
touch "$WORK/unclassified.flag"
check "Prometheus: RegistryRCAUnclassified5xx fires {cause=unclassified, severity=critical}" \
  wait_for 180 live prom-firing "$PROM" RegistryRCAUnclassified5xx cause=unclassified severity=critical cluster=e2e
t_unclassified=$(now)
check "the sink receives the unclassified alert enriched" \
  wait_for 180 live sink-enriched "$SINK_FILE" RegistryRCAUnclassified5xx
check "RegistryHigh5xxRatio is still inhibited" live am-inhibited "$AM" RegistryHigh5xxRatio
check "RegistryHigh5xxRatio was never delivered (neither enriched nor downstream)" \
  bash -c "[[ \$(python3 '$LIB/alerts_live.py' sink-count '$SINK_FILE' RegistryHigh5xxRatio) == '{}' ]]"
check "the enricher's own metrics: notifications enriched, none failed or dropped" bash -c "
  m=\$(curl -fs http://127.0.0.1:$rca_port/metrics)
  grep -Eq '^registry_rca_enricher_notifications_enriched_total [1-9]' <<<\"\$m\" &&
  grep -Eq '^registry_rca_enricher_enrichment_failures_total 0' <<<\"\$m\" &&
  grep -Eq '^registry_rca_enricher_notifications_dropped_total 0' <<<\"\$m\" &&
  grep -Eq '^registry_rca_enricher_forwarded_total\{downstream=\"http://127.0.0.1:$sink_port/enriched\"\} [1-9]' <<<\"\$m\""
check "every dashboard query returns data on this Prometheus" \
  live dashboards "$RRCA_SOURCE_DIR" "$PROM"

delivery=$(curl -fs "http://127.0.0.1:$rca_port/metrics" | awk '
  /^registry_rca_enricher_delivery_duration_seconds_sum/ {s = $NF}
  /^registry_rca_enricher_delivery_duration_seconds_count/ {c = $NF}
  END {if (c > 0) printf "%.1f ms over %d notifications", 1000 * s / c, c; else print "unknown"}')
echo "--- enriched notification (RegistryRCAUploadsNotYetVisible):"
cat "$WORK/enriched.json" 2>/dev/null | sed 's/^/    /'
echo "figures: first upload_not_yet_visible counted $(since "$t_counted" "$t0") s after the first line;" \
  "alert pending (activeAt) after $(since "$t_active" "$t0") s;" \
  "uploads-not-yet-visible firing $(since "$t_fire" "$t0") s after the first line," \
  "enriched delivery $(since "$t_enriched" "$t0") s after it ($(since "$t_enriched" "$t_fire") s after firing);" \
  "unclassified firing $(since "$t_unclassified" "$t1") s after its burst began;" \
  "enricher: arrival to delivered, mean $delivery"
finish
