#!/usr/bin/env bash
# Metrics checked by value, each driven to a known figure by a real daemon on real files:
# registry_rca_rotations_total (one rotation of each kind), registry_rca_lines_skipped_total (by
# reason), registry_rca_source_lag_bytes (0 once read; its non-zero values are a unit test:
# tailers_source_lag_test), registry_rca_positions_write_failures_total (a positions file that
# cannot be written), registry_rca_late_events_total and registry_rca_uploads_evicted_total (a
# store log against the registry's).
source "$(dirname "$0")/lib/common.sh"

now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
access_line() {  # a registry access-log line of request $1
  printf '127.0.0.1 - - [%s] "GET /v2/values/app/manifests/%s HTTP/1.1" 200 2 "" "curl/7.88.1"\n' \
    "$(LC_ALL=C date -u '+%d/%b/%Y:%H:%M:%S +0000')" "$1"
}
lines_of() { metric_is "$port" "registry_rca_lines_read_total\\{source=\"$1\"\\}" "$2"; }
value_is() { metric_is "$port" "$1" "$2"; }
stop_daemon() {  # SIGTERM, and the daemon exits 0 (a crash at shutdown fails the test)
  local status=0
  kill -TERM "$DAEMON_PID"
  wait_for 20 bash -c "! kill -0 $DAEMON_PID" || kill -KILL "$DAEMON_PID"
  wait "$DAEMON_PID" || status=$?
  check "the daemon exits 0 after SIGTERM" test "$status" -eq 0
}

# --- 1. rotations_total, one of each kind, and lag 0 once everything is read -------------------
mkdir -p "$WORK/elsewhere"
access_line a1 > "$WORK/registry.log"
registry_config "$WORK/rotations.yaml" 'poll_interval: 100ms'
port=$(free_port)
check "rotations: daemon becomes ready" start_daemon rotations "$WORK/rotations.yaml" "$port"
check "rotations: the first line is read" wait_for 20 lines_of registry 1
rotation() { value_is "registry_rca_rotations_total\\{kind=\"$1\",source=\"registry\"\\}" "$2"; }
# rename: the file is moved away and a new one created at the path.
mv "$WORK/registry.log" "$WORK/registry.log.1"
access_line a2 > "$WORK/registry.log"
check "rotations: a rename is counted as kind=rename" wait_for 20 rotation rename 1
check "rotations: the new file is read" wait_for 20 lines_of registry 2
# truncate: copytruncate's copy, then the file emptied in place.
cp "$WORK/registry.log" "$WORK/registry.log.2"
: > "$WORK/registry.log"
check "rotations: a truncation is counted as kind=truncate" wait_for 20 rotation truncate 1
access_line a3 >> "$WORK/registry.log"
check "rotations: the truncated file is read again" wait_for 20 lines_of registry 3
# replace: another file renamed over the path (the old one unlinked).
access_line a4 > "$WORK/elsewhere/new.log"
mv "$WORK/elsewhere/new.log" "$WORK/registry.log"
check "rotations: a file renamed over the path is counted as kind=replace" \
  wait_for 20 rotation replace 1
check "rotations: the replacing file is read" wait_for 20 lines_of registry 4
# delete: the file unlinked, nothing at the path.
rm "$WORK/registry.log"
check "rotations: a deletion is counted as kind=delete" wait_for 20 rotation delete 1
rotations_all() {  # "kind=value ..." of every rotations_total series of the source
  scrape "$port" | sed -n 's/^registry_rca_rotations_total{kind="\([a-z_]*\)",source="registry"} /\1=/p' |
    sort | tr '\n' ' '
}
check "rotations: exactly one of each kind, no permission_denied" test "$(rotations_all)" == \
  "delete=1 permission_denied=0 rename=1 replace=1 truncate=1 "
check "lag: 0 bytes behind once every file is read" \
  value_is 'registry_rca_source_lag_bytes\{source="registry"\}' 0
check "rotations: 4 lines read in all, none twice" lines_of registry 4
stop_daemon

# --- 2. lines_skipped_total by reason -------------------------------------------------------------
mkdir -p "$WORK/skipped"
{
  access_line s1
  printf 'this line is not from a registry\n'
  printf '%s\n' "$(head -c 3000 /dev/zero | tr '\0' 'x')"  # longer than max_line_bytes
  access_line s2
} > "$WORK/skipped/registry.log"
{
  printf 'not an S3 access log line\n'
} > "$WORK/skipped/s3.log"
cat > "$WORK/skipped.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths: ["$WORK/skipped/registry.log"]
  - name: store
    type: s3
    paths: ["$WORK/skipped/s3.log"]
start_at: beginning
positions_file: $WORK/skipped/positions.json
poll_interval: 100ms
max_line_bytes: 1024
access_window: 1s
YAML
port=$(free_port)
check "skipped: daemon becomes ready" start_daemon skipped "$WORK/skipped.yaml" "$port"
# The over-long line is skipped by the tailer before it is a line: not in lines_read_total.
check "skipped: the 3 registry lines of normal length are read" wait_for 20 lines_of registry 3
check "skipped: every store line is read" wait_for 20 lines_of store 1
skipped() { value_is "registry_rca_lines_skipped_total\\{reason=\"$2\",source=\"$1\"\\}" "$3"; }
# README: "longer lines are skipped and counted (`line_too_long`)".
check "skipped: the line longer than max_line_bytes is line_too_long" \
  skipped registry line_too_long 1
check "skipped: the foreign line is unknown_format" skipped registry unknown_format 1
check "skipped: the foreign store line is not_access_line" skipped store not_access_line 1
check "skipped: nothing else is skipped" value_is 'registry_rca_lines_skipped_total\{' 3
check "skipped: the two access lines are counted" wait_for 20 value_is 'registry_rca_responses_total\{' 2
stop_daemon

# --- 3. positions_write_failures_total: every scrape's write fails --------------------------------
mkdir -p "$WORK/posfail"
access_line p1 > "$WORK/posfail/registry.log"
: > "$WORK/posfail/not-a-directory"
cat > "$WORK/posfail.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths: ["$WORK/posfail/registry.log"]
start_at: beginning
positions_file: $WORK/posfail/not-a-directory/positions.json
poll_interval: 100ms
YAML
port=$(free_port)
check "positions: daemon becomes ready" start_daemon posfail "$WORK/posfail.yaml" "$port"
SCRAPES=0
# Each scrape writes the positions once, and fails; the counter shows the failures before it.
# It is mirrored by the processing loop, so it may be a scrape behind: wait until it shows every
# failure logged before the scrape that reads it, after at least two.
failures_caught_up() {
  local before value
  before=$(grep -c 'saving positions' "$WORK/posfail.log.err" || true)
  SCRAPES=$((SCRAPES + 1))
  value=$(metric_sum "$port" 'registry_rca_positions_write_failures_total') || return 1
  [[ $before -ge 2 && $value == "$before" ]]
}
check "positions: the counter equals the failed writes logged" wait_for 20 failures_caught_up
check "positions: one failed write per scrape ($SCRAPES scrapes)" \
  test "$(grep -c 'saving positions' "$WORK/posfail.log.err")" -eq "$SCRAPES"
stop_daemon

# --- 4. late_events_total and uploads_evicted_total: a store log against the registry's ----------
mkdir -p "$WORK/corr"
: > "$WORK/corr/registry.log"
: > "$WORK/corr/s3.log"
cat > "$WORK/corr.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths: ["$WORK/corr/registry.log"]
  - name: store
    type: s3
    paths: ["$WORK/corr/s3.log"]
start_at: beginning
positions_file: $WORK/corr/positions.json
poll_interval: 100ms
max_open_uploads: 2
reorder_window: 10m
YAML
repo=values/app
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# s3_line OP UUID SECONDS_AGO: one AWS server access log line of the lab's bucket.
s3_line() {
  local key="docker/registry/v2/repositories/$repo/_uploads/$2/data" request
  case $1 in
    REST.POST.UPLOADS) request="POST /lab/$key?uploads= HTTP/1.1" ;;
    *) request="PUT /lab/$key?partNumber=1&uploadId=x HTTP/1.1" ;;
  esac
  printf 'owner lab [%s] 127.0.0.1 requester REQ%s %s %s "%s" 200 - 357 - 120 120 "-" "aws-sdk-go/1.44.133" - hostid SigV4 - AuthHeader 127.0.0.1:9000 - - -\n' \
    "$(LC_ALL=C date -u -d "@$(($(date +%s) - $3))" '+%d/%b/%Y:%H:%M:%S +0000')" "$RANDOM" \
    "$1" "$key" "$request"
}
port=$(free_port)
check "correlation: daemon becomes ready" start_daemon corr "$WORK/corr.yaml" "$port"
# A PATCH the registry failed, then the store's create of that upload: the upload is decided.
x=$(uuid 1)
printf 'time="%s" level=error msg="response completed with error" err.code=unknown err.detail="s3aws: Path not found: /docker/registry/v2/repositories/%s/_uploads/%s/data" err.message="unknown error" http.request.id=patch-1 http.request.method=PATCH http.request.uri="/v2/%s/blobs/uploads/%s" http.response.status=500 vars.name=%s vars.uuid=%s\n' \
  "$(now)" "$repo" "$x" "$repo" "$x" "$repo" "$x" >> "$WORK/corr/registry.log"
check "correlation: the failed PATCH is counted" wait_for 20 value_is 'registry_rca_errors_total\{.*code="500"' 1
s3_line REST.POST.UPLOADS "$x" 1 >> "$WORK/corr/s3.log"
check "correlation: with the store's create the upload is decided" \
  wait_for 20 value_is 'registry_rca_uploads_total\{' 1
check "late: nothing late yet" value_is 'registry_rca_late_events_total\{' 0
# A store event of the decided upload: late, after the decision.
s3_line REST.PUT.PART "$x" 0 >> "$WORK/corr/s3.log"
check "late: an event after its upload was decided counts as side=after_decision" \
  wait_for 20 value_is 'registry_rca_late_events_total\{side="after_decision"\}' 1
# A create an hour older than the registry's time, of an upload not held: outside the window.
s3_line REST.POST.UPLOADS "$(uuid 2)" 3600 >> "$WORK/corr/s3.log"
check "late: a store event older than reorder_window counts as side=store" \
  wait_for 20 value_is 'registry_rca_late_events_total\{side="store"\}' 1
check "evicted: nothing evicted while under max_open_uploads" \
  value_is 'registry_rca_uploads_evicted_total\{' 0
# Three new uploads with room for two (the decided one still held): two evicted.
for n in 3 4 5; do s3_line REST.POST.UPLOADS "$(uuid "$n")" 0 >> "$WORK/corr/s3.log"; done
check "correlation: every store line is read" wait_for 20 lines_of store 6
check "evicted: 4 uploads held with max_open_uploads 2 evict 2 (reason capacity)" \
  wait_for 20 value_is 'registry_rca_uploads_evicted_total\{reason="capacity"\}' 2
check "evicted: no other reason" value_is 'registry_rca_uploads_evicted_total\{' 2
check "late: 2 late events in all" value_is 'registry_rca_late_events_total\{' 2
check "correlation: the open uploads are capped at 2" value_is 'registry_rca_uploads_open ' 2
stop_daemon
finish
