#!/usr/bin/env bash
# `registry-rca serve` end to end: tails a real registry log, counts what is appended, serves
# /metrics that promtool accepts, survives a restart without counting a line twice.
source "$(dirname "$0")/lib/common.sh"
command -v promtool >/dev/null || { echo "promtool missing: run scripts/install-deps.sh --test"; exit 1; }

lab=$TESTDATA/corpus/lab/s3-async-create
cp "$lab/registry.log" "$WORK/registry.log"
cp "$lab/registry-access.log" "$WORK/registry-access.log"
cat > "$WORK/config.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths: ["$WORK/registry.log", "$WORK/registry-access.log"]
start_at: beginning
positions_file: $WORK/state/positions.json
poll_interval: 100ms
YAML
port=$(free_port)
check "daemon becomes ready" start_daemon first "$WORK/config.yaml" "$port"

check "landing page links the metrics" bash -c "curl -fs http://127.0.0.1:$port/ | grep -q 'href=\"/metrics\"'"
check "healthy" bash -c "curl -fs http://127.0.0.1:$port/-/healthy | grep -q Healthy"
check "every cause exists at zero from start-up" \
  bash -c "curl -fs http://127.0.0.1:$port/metrics | grep -q '^registry_rca_errors_total{cause=\"storage_clock_skew\",code=\"\",operation=\"\",repository=\"\"} 0'"
check "all 25 responses of the access log counted once" \
  wait_for 20 metric_is "$port" 'registry_rca_responses_total' 25
check "the 5 async-create 500s are upload_not_yet_visible" \
  wait_for 10 metric_is "$port" 'registry_rca_errors_total\{cause="upload_not_yet_visible",code="500"' 5
check "build_info" bash -c "curl -fs http://127.0.0.1:$port/metrics | grep -q '^registry_rca_build_info{'"

# Appending: the incident's Harbor lines (syslog envelope) arrive later in the same file.
cat "$TESTDATA/corpus/seed/registry.log" >> "$WORK/registry.log"
check "appended seed PATCH counted with its cause and repository" \
  wait_for 10 metric_is "$port" \
  'registry_rca_errors_total\{cause="upload_not_yet_visible",code="500",operation="blob_upload_chunk",repository="gitlab-ci/100017681"\}' 1
check "lines read counts every physical line" \
  wait_for 10 metric_is "$port" 'registry_rca_lines_read_total\{source="registry"\}' \
  "$(cat "$WORK/registry.log" "$WORK/registry-access.log" | wc -l)"

scrape "$port" > "$WORK/metrics.txt"
check "promtool check metrics accepts the exposition" \
  bash -c "promtool check metrics < '$WORK/metrics.txt' 2>&1 | tee '$WORK/promtool.log.err' | { ! grep -q .; }"

# The README's metrics reference cannot drift: every family served is documented there.
undocumented() {
  grep '^# TYPE registry_rca_' "$WORK/metrics.txt" | awk '{print $3}' | sort -u | while read -r family; do
    grep -q "\`$family\`" "$RRCA_SOURCE_DIR/README.md" || echo "$family"
  done
}
missing=$(undocumented)
check "every exported family is in the README's metrics reference" test -z "$missing"
[[ -z $missing ]] || echo "undocumented: $missing"
kill -TERM "$DAEMON_PID"
exited=0
wait_for 10 bash -c "! kill -0 $DAEMON_PID" && exited=1
check "SIGTERM stops the daemon within 10 s" test "$exited" -eq 1
status=0; wait "$DAEMON_PID" || status=$?
check "exit status 0 after SIGTERM" test "$status" -eq 0
check "positions file written" test -s "$WORK/state/positions.json"

# Restart: nothing already counted is counted again; a new line is counted once.
port2=$(free_port)
check "restarted daemon becomes ready" start_daemon second "$WORK/config.yaml" "$port2"
printf '%s\n' '127.0.0.1 - - [29/Nov/2026:13:00:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"' >> "$WORK/registry-access.log"
check "after restart only the new response is counted" \
  wait_for 20 metric_is "$port2" 'registry_rca_responses_total' 1
check "and nothing else arrives with it" metric_is "$port2" 'registry_rca_errors_total' 0

finish
