#!/usr/bin/env bash
# The alert enricher's deliveries through `registry-rca serve`, as an operator sees them: the
# downstream's records, the daemon's metrics and its log. One notification goes to five real
# downstreams on 127.0.0.1, in turn:
#   https, verified with enricher.ca_file (tests/testdata/web/ca.crt), Basic auth from the URL
#       -> receives the annotated alert, the Authorization header and the user agent
#   https with a self-signed certificate the CA did not issue
#       -> not delivered; failure counted, the log says "tls: ... certificate ..."
#   http that never answers       -> failure within the 1 s timeout, the log says "timeout"
#   a name that does not resolve  -> failure, the log says "resolve" (bounded by the timeout)
#   http that answers 200 with an endless body -> delivered, the body cut (not read out)
# A second notification reuses the connection to the https downstream. Credentials appear in
# neither the metrics nor the log. About 10 s, loopback only (plus one DNS query for .invalid).
source "$(dirname "$0")/lib/common.sh"

for command in curl python3 openssl; do
  command -v "$command" >/dev/null || { echo "enricher_https_test: needs $command"; exit 1; }
done
LIB=$(dirname "$0")/lib
WEB=$TESTDATA/web

# --- downstreams --------------------------------------------------------------------------------
# start_downstream NAME ARGS...: one enricher_downstreams.py, waited for until it listens.
start_downstream() {
  local name=$1; shift
  python3 "$LIB/enricher_downstreams.py" "$@" >"$WORK/$name.log.out" 2>"$WORK/$name.log.err" &
  PIDS+=($!)
  wait_for 10 grep -q ready "$WORK/$name.log.out"
}
# A certificate for 127.0.0.1 that no trusted CA issued (self-signed).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$WORK/rogue.key" -out "$WORK/rogue.crt" 2>/dev/null

GOOD=$(free_port); ROGUE=$(free_port); SILENT=$(free_port); ENDLESS=$(free_port)
check "https downstream (test CA) listens" start_downstream good sink --port "$GOOD" \
  --out "$WORK/good.jsonl" --cert "$WEB/server.crt" --key "$WEB/server.key"
check "https downstream (self-signed) listens" start_downstream rogue sink --port "$ROGUE" \
  --out "$WORK/rogue.jsonl" --cert "$WORK/rogue.crt" --key "$WORK/rogue.key"
check "silent downstream listens" start_downstream silent silent --port "$SILENT"
check "endless downstream listens" start_downstream endless endless --port "$ENDLESS" \
  --out "$WORK/endless.jsonl"

GOOD_URL="https://127.0.0.1:$GOOD/hook?team=a"
ROGUE_URL="https://127.0.0.1:$ROGUE/hook"
SILENT_URL="http://127.0.0.1:$SILENT/hook"
UNRESOLVABLE_URL="http://registry-rca-e2e.invalid/hook"
ENDLESS_URL="http://127.0.0.1:$ENDLESS/hook"

# --- registry-rca ---------------------------------------------------------------------------------
: >"$WORK/registry.log"
# The password is "s:cret@x", percent-encoded in the URL.
registry_config "$WORK/config.yaml" \
  "enricher:" \
  "  downstream_urls:" \
  "    - \"https://bot:s%3Acret%40x@127.0.0.1:$GOOD/hook?team=a\"" \
  "    - \"$ROGUE_URL\"" \
  "    - \"$SILENT_URL\"" \
  "    - \"$UNRESOLVABLE_URL\"" \
  "    - \"$ENDLESS_URL\"" \
  "  ca_file: $WEB/ca.crt" \
  "  timeout: 1s" \
  "  retries: 0"
check "registry-rca check accepts https downstreams and enricher.ca_file" \
  "$RRCA_BIN" check --config.file="$WORK/config.yaml"
printf 'sources: [{name: r, paths: [/x]}]\nenricher:\n  downstream_urls: [https://h/]\n  ca_file: %s\n' \
  "$WORK/missing.pem" >"$WORK/bad.yaml"
check "registry-rca check refuses a ca_file it cannot read, saying which key" bash -c "
  ! '$RRCA_BIN' check --config.file='$WORK/bad.yaml' >'$WORK/bad.out' 2>&1 &&
  grep -q 'enricher.ca_file: $WORK/missing.pem: cannot read the file' '$WORK/bad.out'"

PORT=$(free_port)
check "registry-rca serve starts" start_daemon rca "$WORK/config.yaml" "$PORT"
LOG="$WORK/rca.log.err"

payload() {  # payload GROUP_KEY FINGERPRINT
  cat <<JSON
{"receiver":"registry-rca-enricher","status":"firing","alerts":[{"status":"firing",
 "labels":{"alertname":"RegistryRCAUploadsNotYetVisible","cause":"upload_not_yet_visible","severity":"critical"},
 "annotations":{"summary":"Pushes fail."},"startsAt":"2026-11-29T12:30:00Z","endsAt":"0001-01-01T00:00:00Z",
 "generatorURL":"http://prometheus/graph","fingerprint":"$2"}],
 "groupLabels":{"alertname":"RegistryRCAUploadsNotYetVisible"},"commonLabels":{"severity":"critical"},
 "commonAnnotations":{"summary":"Pushes fail."},"externalURL":"http://am:9093","version":"4",
 "groupKey":"$1","truncatedAlerts":0}
JSON
}
post() {
  curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$(payload "$1" "$2")" "http://127.0.0.1:$PORT/api/v1/alerts"
}
# deliveries_ended N: at least N (notification, downstream) deliveries ended, delivered or not.
deliveries_ended() {
  local ended
  ended=$(metric_sum "$PORT" 'registry_rca_enricher_(forwarded|forward_failures)_total') &&
    ((ended >= $1))
}

check "the enricher takes the notification (202)" test "$(post g1 f1)" = 202
check "every downstream's delivery ends (delivered or given up) within 10 s" \
  wait_for 10 deliveries_ended 5
METRICS=$(scrape "$PORT")
printf '%s\n' "$METRICS" >"$WORK/metrics.txt"
series() { grep -F "$1{downstream=\"$2\"}" <<<"$METRICS" | awk '{print $NF}'; }

echo "# https with the configured CA, Basic auth from the URL"
check "the https downstream received the annotated alert" python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
alert = r[0]["body"]["alerts"][0]
assert alert["annotations"]["rca_summary"], alert
assert r[0]["body"]["enrichment"]["source"] == "registry-rca"
assert r[0]["path"] == "/hook?team=a", r[0]["path"]' "$WORK/good.jsonl"
check "it carried Authorization: Basic of bot:s:cret@x (percent-decoded user info)" python3 -c '
import base64, json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["authorization"] == "Basic " + base64.b64encode(b"bot:s:cret@x").decode(), r["authorization"]
assert r["user_agent"].startswith("registry-rca/"), r["user_agent"]' "$WORK/good.jsonl"
check "forwarded_total counts it under the URL without user info" \
  test "$(series registry_rca_enricher_forwarded_total "$GOOD_URL")" = 1

echo "# https with a certificate the CA did not issue"
check "the self-signed downstream received nothing" test ! -s "$WORK/rogue.jsonl"
check "forward_failures_total counts it" \
  test "$(series registry_rca_enricher_forward_failures_total "$ROGUE_URL")" = 1
check "the log says it was the certificate, and against which CA" \
  grep -qF "$ROGUE_URL did not take the notification (tls: SSL certificate problem: self-signed certificate (verified with $WEB/ca.crt))" "$LOG"

echo "# a downstream that never answers; a name that does not resolve"
check "forward_failures_total counts the silent one" \
  test "$(series registry_rca_enricher_forward_failures_total "$SILENT_URL")" = 1
check "the log says timeout" grep -qF "$SILENT_URL did not take the notification (timeout: " "$LOG"
check "forward_failures_total counts the unresolvable one" \
  test "$(series registry_rca_enricher_forward_failures_total "$UNRESOLVABLE_URL")" = 1
check "the log says the name did not resolve (or, with a hanging resolver, timeout)" grep -qE \
  "registry-rca-e2e.invalid/hook did not take the notification \((resolve: Could not resolve host: registry-rca-e2e.invalid|timeout: Resolving timed out)" "$LOG"
# Five downstreams in turn: 1 s for the silent one, the others well under it.
check "the whole delivery took less than 3.5 s (timeouts bound every step)" python3 -c '
import re, sys
s = float(re.search(r"^registry_rca_enricher_delivery_duration_seconds_sum (\S+)$", sys.argv[1], re.M).group(1))
assert 0.9 < s < 3.5, s' "$METRICS"

echo "# an endless answer"
check "the endless downstream's 200 counts as delivered" \
  test "$(series registry_rca_enricher_forwarded_total "$ENDLESS_URL")" = 1
check "it got out less than 32 MiB of its 1 GiB before the enricher hung up" python3 -c '
import json, sys
sent = json.loads(open(sys.argv[1]).readline())["sent"]
assert sent < 32 << 20, sent' "$WORK/endless.jsonl"

echo "# credentials stay out of metrics and logs"
check "no user info in /metrics" bash -c "! grep -qE 'bot[:@]|s%3Acret|s:cret' '$WORK/metrics.txt'"
check "no user info in the log" bash -c "! grep -qE 'bot[:@]|s%3Acret|s:cret' '$LOG' '$WORK/rca.log.out'"

echo "# connection reuse"
check "a second notification is taken" test "$(post g2 f2)" = 202
records_at_least() { (($(wc -l <"$1") >= $2)); }  # records_at_least FILE N
check "and delivered to the https downstream" wait_for 10 records_at_least "$WORK/good.jsonl" 2
check "over the same connection (one client port for both)" python3 -c '
import json, sys
ports = {json.loads(l)["client_port"] for l in open(sys.argv[1])}
assert len(ports) == 1, ports' "$WORK/good.jsonl"

finish
