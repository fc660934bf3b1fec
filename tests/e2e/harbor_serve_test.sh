#!/usr/bin/env bash
# `registry-rca serve` with Harbor's three logs as sources (types registry, harbor_proxy,
# harbor_core): the lab capture of a real nginx in front of the registry
# (tests/testdata/harbor/lab/) is tailed from the start, written in two halves with a
# copytruncate rotation of proxy.log in between, plus a core.log whose canceled line falls inside
# the nginx 499. The scrape must show each of nginx's 4 client-visible errors once, with its cause,
# in registry_rca_hop_errors_total; registry_rca_errors_total must count none of them; every
# line read; an unknown source type refused by `check`.
source "$(dirname "$0")/lib/common.sh"

LAB=$TESTDATA/harbor/lab
PORT=$(free_port)
cat >"$WORK/config.yaml" <<YAML
sources:
  - {name: registry, type: registry, paths: ["$WORK/registry.log"]}
  - {name: proxy, type: harbor_proxy, paths: ["$WORK/proxy.log"]}
  - {name: core, type: harbor_core, paths: ["$WORK/core.log"]}
start_at: beginning
positions_file: $WORK/positions.json
poll_interval: 100ms
join_window: 2s
YAML
check "check accepts the harbor_proxy and harbor_core source types" \
  "$RRCA_BIN" check --config.file="$WORK/config.yaml"
sed 's/type: harbor_core/type: harbor_cor/' "$WORK/config.yaml" >"$WORK/bad.yaml"
check "check refuses an unknown source type, naming the four" \
  bash -c "! '$RRCA_BIN' check --config.file='$WORK/bad.yaml' >'$WORK/bad.out' 2>&1 &&
    grep -q 'type: must be registry, s3, harbor_proxy or harbor_core' '$WORK/bad.out'"

# The first half of each file, then the daemon, then a rotation and the rest.
head -n 6 "$LAB/proxy.log" >"$WORK/proxy.log"
head -n 30 "$LAB/registry.log" >"$WORK/registry.log"
# The 499 of the capture ends at 10:38:07: core's reverse proxy saw the cancel then.
printf '%s\n' "2026/12/07 10:38:07 http: proxy error: context canceled" >"$WORK/core.log"
start_daemon rca "$WORK/config.yaml" "$PORT"
wait_for 20 metric_is "$PORT" 'registry_rca_lines_read_total\{source="proxy"\}' 6
cp "$WORK/proxy.log" "$WORK/proxy.log.1" && : >"$WORK/proxy.log"  # copytruncate
tail -n +7 "$LAB/proxy.log" >>"$WORK/proxy.log"
tail -n +31 "$LAB/registry.log" >>"$WORK/registry.log"

lines=$(($(wc -l <"$LAB/proxy.log") + $(wc -l <"$LAB/registry.log") + 1))
check "every line of the three logs is read ($lines)" \
  wait_for 30 metric_is "$PORT" 'registry_rca_lines_read_total\{' "$lines"
# The join window is 2 s of log time; the logs end, so the daemon's clock moves it on.
check "the 4 errors nginx answered are counted once, at the proxy" \
  wait_for 30 metric_is "$PORT" 'registry_rca_hop_errors_total\{' 4
check "504 is proxy_upstream_timeout" \
  metric_is "$PORT" 'registry_rca_hop_errors_total\{cause="proxy_upstream_timeout",code="504",hop="proxy"' 1
check "502 of the killed registry is proxy_upstream_reset" \
  metric_is "$PORT" 'registry_rca_hop_errors_total\{cause="proxy_upstream_reset",code="502",hop="proxy"' 1
check "502 with the registry down is registry_unavailable" \
  metric_is "$PORT" 'registry_rca_hop_errors_total\{cause="registry_unavailable",code="502",hop="proxy"' 1
check "499 is client_gave_up, with core's canceled line as its evidence (not a second error)" \
  bash -c "[[ \$(curl -fsS http://127.0.0.1:$PORT/metrics | grep -E '^registry_rca_hop_errors_total\\{cause=\"client_gave_up\",code=\"499\",hop=\"proxy\"' | awk '{print \$NF}') == 1 ]] &&
    [[ \$(curl -fsS http://127.0.0.1:$PORT/metrics | grep -E '^registry_rca_hop_joins_total\\{outcome=\"core_attached\"\\}' | awk '{print \$NF}') == 1 ]]"
check "the registry's own error family counts none of them" \
  metric_is "$PORT" 'registry_rca_errors_total\{' 0
check "no line skipped" metric_is "$PORT" 'registry_rca_lines_skipped_total\{' 0
# The upload whose PATCH nginx answered 504: its explain shows that response of the proxy hop
# (the registry's own events say 202), with its cause, its offset from the POST and nginx's lines.
curl -fsS "http://127.0.0.1:$PORT/api/v1/uploads/035960fd-874f-4d81-86d8-5ec2dbdbf962" \
  >"$WORK/explain.json" || true
check "the upload's explain shows the nginx 504 of its PATCH, with cause, offset and raw lines" \
  python3 - "$WORK/explain.json" <<'PY'
import json, sys
explain = json.load(open(sys.argv[1]))
hops = explain["hops"]
assert len(hops) == 1, hops
hop = hops[0]
assert hop["hop"] == "proxy" and hop["method"] == "PATCH" and hop["status"] == 504, hop
assert hop["cause"] == "proxy_upstream_timeout", hop
assert "/blobs/uploads/035960fd-874f-4d81-86d8-5ec2dbdbf962?_state=" in hop["uri"], hop
# nginx's $time_local has whole seconds: the PATCH may seem to start up to 1 s before the POST.
assert -1 < hop["offset_seconds"] < 10 and 5 < hop["duration_seconds"] < 7, hop
assert "upstream timed out" in hop["line"] and '" 504 ' in hop["line"], hop
assert hop["source"].endswith("proxy.log") or hop["source"] == "proxy", hop
assert hop["time"].startswith("2026-12-07T10:37:"), hop
assert any(e["what"].startswith("PATCH 202") for e in explain["events"]), explain["events"]
PY
check "an upload without hop responses has \"hops\": []" \
  bash -c "curl -fsS http://127.0.0.1:$PORT/api/v1/uploads/8da32647-91e7-4164-ba51-e2985e4d8005 |
    python3 -c 'import json,sys; assert json.load(sys.stdin)[\"hops\"] == []'"
check "nothing left waiting" metric_is "$PORT" 'registry_rca_hop_join_pending ' 0
finish
