# Shared helpers for the script tests: a scratch dir, processes cleaned up by pid, free ports,
# waiting on conditions with deadlines (never fixed sleeps), reading metrics.
set -euo pipefail

RRCA_BIN=${RRCA_BIN:?RRCA_BIN must name the registry-rca binary}
export RRCA_SOURCE_DIR=${RRCA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
TESTDATA=$RRCA_SOURCE_DIR/tests/testdata
WORK=$(mktemp -d "/tmp/rrca-e2e-$(basename "$0" .sh).XXXXXX")
PIDS=()
FAILURES=0
PASSES=0

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $status -ne 0 || $FAILURES -ne 0 ]]; then
    echo "--- logs kept in $WORK"
    for log in "$WORK"/*.log.err; do [[ -f $log ]] && { echo "--- $log"; tail -n 30 "$log"; }; done
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS >= deadline )) && return 1
    sleep 0.1
  done
}

scrape() { curl -fsS "http://127.0.0.1:$1/metrics"; }

# is_sanitized BINARY: true when BINARY links a sanitizer runtime. ldd's output is read whole
# first: under pipefail `ldd | grep -q` fails at random when grep exits at its first match and
# ldd, still printing, dies of SIGPIPE (a sanitizer build then ran as if it were a release one).
is_sanitized() {
  local libs
  libs=$(ldd "$1" 2>/dev/null) || true
  grep -qE 'lib(a|t|ub)san' <<<"$libs"
}

# metric_sum PORT REGEX: the sum of the samples whose series matches REGEX (grep -E). A failed
# scrape prints "scrape-failed" and fails, so that no comparison with 0 passes on it.
metric_sum() {
  local body
  body=$(scrape "$1") || { echo "scrape-failed"; return 1; }
  printf '%s\n' "$body" | grep -E "^$2" | awk '{s += $NF} END {printf "%d\n", s}'
}

metric_is() { [[ "$(metric_sum "$1" "$2")" == "$3" ]]; }

check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then
    PASSES=$((PASSES + 1)); echo "ok   - $what"
  else
    FAILURES=$((FAILURES + 1)); echo "FAIL - $what"
  fi
}

finish() {
  echo "$(basename "$0" .sh): $PASSES passed, $FAILURES failed"
  [[ $FAILURES -eq 0 ]]
}

# registry_config FILE [YAML LINE...]: a config that reads $WORK/registry.log from its start and
# keeps positions in $WORK/positions.json; extra top-level lines are appended.
registry_config() {
  local file=$1
  shift
  {
    printf 'sources:\n  - name: registry\n    type: registry\n    paths: ["%s"]\n' \
      "$WORK/registry.log"
    printf 'start_at: beginning\npositions_file: %s\n' "$WORK/positions.json"
    if [[ $# -gt 0 ]]; then printf '%s\n' "$@"; fi
  } > "$file"
}

# registry_store_config FILE [YAML LINE...]: a config that reads the registry's log
# ($WORK/registry.log, and $WORK/registry-access.log when present) and the store's access log
# ($WORK/s3-access.log) from their start, polls every 100 ms and keeps positions in
# $WORK/positions.json; extra top-level lines are appended.
registry_store_config() {
  local file=$1 paths="\"$WORK/registry.log\""
  shift
  if [[ -e $WORK/registry-access.log ]]; then paths+=", \"$WORK/registry-access.log\""; fi
  {
    printf 'sources:\n  - name: registry\n    type: registry\n    paths: [%s]\n' "$paths"
    printf '  - name: store\n    type: s3\n    paths: ["%s"]\n' "$WORK/s3-access.log"
    printf 'start_at: beginning\npositions_file: %s\npoll_interval: 100ms\n' \
      "$WORK/positions.json"
    if [[ $# -gt 0 ]]; then printf '%s\n' "$@"; fi
  } >"$file"
}

# start_daemon NAME CONFIG PORT: runs `serve` in the background, remembers its pid.
start_daemon() {
  "$RRCA_BIN" serve --config.file="$2" --web.listen-address="127.0.0.1:$3" \
    >"$WORK/$1.log.out" 2>"$WORK/$1.log.err" &
  PIDS+=($!)
  DAEMON_PID=$!
  wait_for 20 curl -fs "http://127.0.0.1:$3/-/ready"
}

# start_hanging_downstream SECONDS: a webhook that listens but never accepts, so every delivery
# waits for the enricher's timeout and its queue fills; sets HANG_PORT.
start_hanging_downstream() {
  HANG_PORT=$(free_port)
  python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1024)
open(sys.argv[2], "w").write("ready\n")
time.sleep(float(sys.argv[3]))' "$HANG_PORT" "$WORK/hang.ready" "$1" &
  PIDS+=($!)
  wait_for 10 test -f "$WORK/hang.ready"
}
