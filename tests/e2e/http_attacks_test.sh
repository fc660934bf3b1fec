#!/usr/bin/env bash
# The hostile-client HTTP reproductions against `registry-rca serve`, as an unauthenticated client on
# 127.0.0.1 would run them: bare-LF heads (finding 1), unframed and trickled bodies (2), 300 idle
# connections (5), announced 8 MB bodies (6), 40 bodies of 7 MB (7), the webhooks' floods (3, 4,
# 8, 9; the enricher's downstream hangs) and, with basic auth, a wrong-password flood (10). Each runs for 3 s while a separate process scrapes /metrics every
# 20 ms on fresh connections; every scrape must succeed and, in the release build, the scrape p99
# stays within 2x the idle p99 (tests/e2e/lib/http_attacks.py says how). Run twice: plaintext
# without auth, then TLS with basic auth. Bounded: about 90 s, loopback only.
source "$(dirname "$0")/lib/common.sh"

for command in curl python3; do
  command -v "$command" >/dev/null || { echo "http_attacks_test: needs $command"; exit 1; }
done
WEB=$TESTDATA/web
TIMING=(--timing)
if is_sanitized "$RRCA_BIN"; then
  TIMING=()  # a sanitizer's slowdown and shadow memory say nothing of latency or RSS
  echo "note - timing and RSS bounds not judged under a sanitizer"
fi

# A downstream webhook that hangs: it listens but never accepts, so the enricher's queue fills.
start_hanging_downstream 3600  # until cleanup: a slow (sanitizer) run outlasts any fixed time

: >"$WORK/registry.log"
registry_config "$WORK/config.yaml" \
  "enricher:" "  downstream_urls: [\"http://127.0.0.1:$HANG_PORT/hook\"]" "  timeout: 10s" \
  "  retries: 0"

echo "# plaintext, no auth"
PORT=$(free_port)
check "daemon becomes ready" start_daemon plain "$WORK/config.yaml" "$PORT"
check "the attacks leave /metrics answering" \
  python3 "$RRCA_SOURCE_DIR/tests/e2e/lib/http_attacks.py" --port "$PORT" --pid "$DAEMON_PID" \
  --enricher "${TIMING[@]}"
check "the refusals are counted: registry_rca_http_requests_refused_total" bash -c \
  "curl -fsS http://127.0.0.1:$PORT/metrics | grep -E '^registry_rca_http_requests_refused_total\\{reason=\"bad_request\"\\} [1-9]'"
check "the evictions are counted: registry_rca_http_connections_total{outcome=\"evicted\"}" bash -c \
  "curl -fsS http://127.0.0.1:$PORT/metrics | grep -E '^registry_rca_http_connections_total\\{outcome=\"evicted\"\\} [1-9]'"
kill "$DAEMON_PID"

echo "# TLS and basic auth, the attackers without credentials"
TPORT=$(free_port)
"$RRCA_BIN" serve --config.file="$WORK/config.yaml" --web.config.file="$WEB/tls_auth.good.yml" \
  --web.listen-address="127.0.0.1:$TPORT" >"$WORK/tls.log.out" 2>"$WORK/tls.log.err" &
PIDS+=($!)
TLS_PID=$!
check "TLS daemon becomes ready" wait_for 20 curl -fs --cacert "$WEB/ca.crt" \
  -u alice:alice-secret "https://localhost:$TPORT/-/ready"
check "the attacks leave /metrics answering over TLS with auth" \
  python3 "$RRCA_SOURCE_DIR/tests/e2e/lib/http_attacks.py" --port "$TPORT" --pid "$TLS_PID" \
  --cafile "$WEB/ca.crt" --auth alice:alice-secret "${TIMING[@]}"

finish
