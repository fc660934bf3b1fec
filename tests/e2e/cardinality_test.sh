#!/usr/bin/env bash
# A cardinality attack through the daemon: 1,000,000 distinct repository names and 100,000
# distinct unknown error details. The series stay at the configured cap, the folding is counted
# and logged (rate-limited), and memory stays bounded.
source "$(dirname "$0")/lib/common.sh"
CAP=200
registry_config "$WORK/config.yaml" "max_repositories: $CAP"
python3 - "$WORK/registry.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for start in range(0, 1_000_000, 10_000):
        f.write("".join(
            '10.0.0.1 - - [29/Nov/2026:13:00:00 +0000] "GET /v2/attack/r%d/manifests/latest HTTP/1.1" 404 0 "" "x"\n' % i
            for i in range(start, start + 10_000)))
    for i in range(100_000):
        f.write('time="2026-11-29T13:00:01Z" level=error msg="response completed with error" '
                'err.code=unknown err.detail="novel failure number %d" http.request.id=d%d '
                'http.request.method=GET http.request.uri="/v2/lib/app/manifests/x" '
                'http.response.status=500 vars.name="lib/app"\n' % (i, i))
PY
port=$(free_port)
check "daemon becomes ready" start_daemon attack "$WORK/config.yaml" "$port"
check "all 1,100,000 responses counted" wait_for 120 metric_is "$port" 'registry_rca_responses_total' 1100000
scrape "$port" > "$WORK/metrics.txt"
series=$(grep -c '^registry_rca_responses_total{' "$WORK/metrics.txt")
repos=$(grep '^registry_rca_responses_total{' "$WORK/metrics.txt" | sed -E 's/.*repository="([^"]*)".*/\1/' | sort -u | wc -l)
echo "responses_total series: $series, distinct repository values: $repos"
check "repository label values stay at the cap (+ __other__)" test "$repos" -le $((CAP + 1))
# The first $CAP names get a label; every later event, the 100,000 of lib/app included, folds.
check "folding is counted" metric_is "$port" 'registry_rca_repositories_folded_total' $((1100000 - CAP))
check "100,000 distinct error details make one series, not 100,000" \
  test "$(grep -c '^registry_rca_errors_total{cause="unclassified",code="500"' "$WORK/metrics.txt")" -eq 1
check "folding is logged, rate-limited" \
  test "$(grep -c '__other__' "$WORK/attack.log.err")" -le 3 -a "$(grep -c '__other__' "$WORK/attack.log.err")" -ge 1
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
echo "daemon peak RSS: $((rss_kib / 1024)) MiB"
check "peak memory stays bounded (< 128 MiB)" test "$rss_kib" -lt 131072
finish
