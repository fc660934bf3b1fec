#!/usr/bin/env bash
# The active prober on the real lab: docker-registry 2.8 with its s3 driver on
# a one-node Ceph radosgw behind the fault-injecting proxy (tests/e2e/lab/). The proxy hides each
# new multipart upload from ListMultipartUploads for H seconds (H drawn per run in 0.5-3 s;
# PROBER_LAB_H replays one). Checks:
#   - `registry-rca probe` measures H with both probes (registry API and S3 API) within
#     ±10 % or ±50 ms; with H = 0 both report the store's normal latency (< 0.5 s);
#   - `registry-rca serve` runs the probes on its own thread and exports the probe metrics with
#     the same figures; SIGTERM stops it promptly;
#   - a leftover probe upload (a "crashed" run) is aborted by the next run;
#   - the probe's own requests (500s while the upload is hidden) are counted apart and never in
#     registry_rca_errors_total, while a user's PATCH that raced still is;
#   - the registry probe's uploads, correlated with the store's log, are not uploads: absent from
#     registry_rca_uploads_total and the explain API (registry_rca_probe_uploads_excluded_total);
#   - a curl client that retries PATCH on the same upload until it succeeds (then PUT) gives an
#     upload raced_recovered whose reported visibility interval contains H;
#   - SIGHUP/POST /-/reload of the probes: tests/e2e/prober_reload_test.sh (no lab needed);
#   - at the end ListMultipartUploads shows no in-progress upload in the bucket;
#   - a probe that cannot reach its target exits 1; a bad probes: section is a config error.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/lab.sh"

H=${PROBER_LAB_H:-$(python3 -c 'import random; print("%.2f" % random.uniform(0.5, 3.0))')}
echo "prober lab: hiding new uploads for H=${H}s (replay with PROBER_LAB_H=$H)"

prober_tails() {
  lab_print_tails "$WORK"/steps.log "$WORK"/*.out "$WORK"/rca.err "$WORK"/s3proxy-events.log \
    "$WORK"/registry.log "$WORK/ceph/log/rgw.out"
}
lab_trap_exit prober_tails
: >"$WORK/steps.log"
lab_lock "prober lab" || exit 1
lab_install || { echo "prober lab: install failed"; exit 1; }
lab_ceph_start "$WORK/ceph" || { echo "prober lab: Ceph did not start"; exit 1; }
BUCKET=prober-lab
lab_s3 create-bucket "$BUCKET" >/dev/null || { echo "prober lab: create bucket failed"; exit 1; }
lab_proxy_start "$WORK" || exit 1
lab_registry_start "$WORK" "$BUCKET" text || exit 1

printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
  "$LAB_ACCESS_KEY" "$LAB_SECRET_KEY" >"$WORK/s3-credentials"
RCA_PORT=$(free_port)
probe_config() {  # probe_config FILE INTERVAL
  cat >"$1" <<YAML
sources:
  - name: registry
    type: registry
    paths: ["$REG_LOG"]
  - name: store
    type: s3
    paths: ["$S3_ACCESS_LOG"]
start_at: beginning
positions_file: $WORK/positions.json
poll_interval: 100ms
probes:
  - name: lab
    type: registry
    url: http://127.0.0.1:$REG_PORT
    repository: registry-rca-probe
    interval: $2
    timeout: 15s
    poll_interval: 20ms
  - name: lab
    type: store
    endpoint: http://127.0.0.1:$PROXY_PORT
    bucket: $BUCKET
    credentials_file: s3-credentials
    interval: $2
    timeout: 15s
YAML
}
probe_config "$WORK/probe.yaml" 60s

# field LINE KEY: the value of KEY=... in a logfmt line.
field() { sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p" <<<" $1"; }
# within MEASURED EXPECTED: |measured - expected| <= max(10 % of expected, 50 ms).
within() {
  awk -v m="$1" -v e="$2" 'BEGIN { d = m - e; if (d < 0) d = -d; t = 0.1 * e; if (t < 0.05) t = 0.05;
    exit !(m != "" && d <= t) }'
}
run_probe_cli() {  # sets REG_LINE, STORE_LINE, PROBE_RC
  PROBE_RC=0
  "$RRCA_BIN" probe --config.file="$WORK/probe.yaml" >"$WORK/probe.out" 2>"$WORK/probe.err" ||
    PROBE_RC=$?
  cat "$WORK/probe.out" | tee -a "$WORK/steps.log"
  REG_LINE=$(grep '^probe=registry ' "$WORK/probe.out" || true)
  STORE_LINE=$(grep '^probe=store ' "$WORK/probe.out" || true)
}

# --- H > 0: a user races, a leftover of a crashed run, the CLI -------------------------------
leftover=$(curl -s --max-time 10 --aws-sigv4 "aws:amz:us-east-1:s3" \
  -u "$LAB_ACCESS_KEY:$LAB_SECRET_KEY" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  -X POST "http://127.0.0.1:$RGW_PORT/$BUCKET/registry-rca-probe/lab/crashed-run?uploads=")
check "a leftover probe upload was created for the sweep" grep -q "<UploadId>" <<<"$leftover"
lab_proxy_control "{\"hide_new_uploads\": $H}"
# A user's PATCH right after its POST races the store: its 500 must count. (It also warms the
# registry's storage driver: its first store call after start takes ~2 s, which a registry in
# service never shows and which is the registry's, not the store's visibility.)
loc=$(curl -s --max-time 30 -A "curl/lab-user" -D - -o /dev/null -X POST \
  "http://127.0.0.1:$REG_PORT/v2/lab/user/blobs/uploads/" | sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')
[[ $loc == /* ]] && loc=http://127.0.0.1:$REG_PORT$loc
user_code=$(curl -s --max-time 30 -A "curl/lab-user" -o /dev/null -w '%{http_code}' -X PATCH \
  -H 'Content-Type: application/octet-stream' --data-binary 'x' "$loc")
lab_log "user PATCH right after POST -> $user_code"
check "the user's PATCH right after its POST gets 500 (the race)" test "$user_code" == 500
wait_for 30 bash -c "curl -s -o /dev/null -w '%{http_code}' -X DELETE '$loc' | grep -q 204" ||
  echo "prober lab: the user's upload was not cancelled"

run_probe_cli
check "registry-rca probe exits 0 with H=$H (rc=$PROBE_RC)" test "$PROBE_RC" -eq 0
check "registry probe ok" test "$(field "$REG_LINE" result)" == ok
check "store probe ok" test "$(field "$STORE_LINE" result)" == ok
reg_vis=$(field "$REG_LINE" visibility_seconds)
store_vis=$(field "$STORE_LINE" visibility_seconds)
echo "H=$H registry probe=${reg_vis:-none} store probe=${store_vis:-none}"
check "registry probe measures H=$H within 10 % or 50 ms (got ${reg_vis:-none})" within "$reg_vis" "$H"
check "store probe measures H=$H within 10 % or 50 ms (got ${store_vis:-none})" within "$store_vis" "$H"
check "the registry probe saw the upload hidden first (checks > 1)" \
  test "$(field "$REG_LINE" checks)" -gt 1
check "the store probe aborted the leftover upload" test "$(field "$STORE_LINE" leftovers_aborted)" -ge 1

# --- the daemon -------------------------------------------------------------------------------
probe_config "$WORK/serve.yaml" 2s
"$RRCA_BIN" serve --config.file="$WORK/serve.yaml" --web.listen-address="127.0.0.1:$RCA_PORT" \
  >"$WORK/rca.out" 2>"$WORK/rca.err" 9>&- &
RCA_PID=$!; PIDS+=($!)
check "registry-rca serve is ready" wait_for 20 curl -fs --max-time 5 "http://127.0.0.1:$RCA_PORT/-/ready"
runs_at_least() {  # runs_at_least N: both probes' visibility histograms have N samples
  local body
  body=$(scrape "$RCA_PORT") || return 1
  for p in registry store; do
    grep -E "^registry_rca_probe_visibility_seconds_count\\{probe=\"$p\",target=\"lab\"\\}" <<<"$body" |
      awk -v n="$1" '{exit !($NF >= n)}' || return 1
  done
}
check "the daemon's probes ran twice each" wait_for 60 runs_at_least 2
scrape "$RCA_PORT" >"$WORK/metrics-h.txt" || true
grep -E '^registry_rca_probe_' "$WORK/metrics-h.txt" | grep -v '_bucket' | tee -a "$WORK/steps.log"
for p in registry store; do
  last=$(sed -n "s/^registry_rca_probe_last_visibility_seconds{probe=\"$p\",target=\"lab\"} //p" \
    "$WORK/metrics-h.txt")
  check "serve: registry_rca_probe_success{probe=$p} is 1" \
    grep -qE "^registry_rca_probe_success\\{probe=\"$p\",target=\"lab\"\\} 1$" "$WORK/metrics-h.txt"
  check "serve: $p probe's last visibility ${last:-none} is H=$H within 10 % or 50 ms" within "$last" "$H"
done
check "serve: no probe failure counted" \
  test "$(grep -E '^registry_rca_probe_failures_total' "$WORK/metrics-h.txt" | awk '{s += $NF} END {print s + 0}')" -eq 0

# A client that retries PATCH on the same upload until the store shows it, then PUTs the blob:
# the upload races and recovers, and its reported visibility interval contains H. (The proxy logs
# the create when the upload becomes listable, with H as its total time, like the incident's
# store: then the acknowledgement is the visible time and the interval is [H, H], in the log's
# milliseconds.)
retry_loc=$(curl -s --max-time 30 -A "curl/lab-retry" -D - -o /dev/null -X POST \
  "http://127.0.0.1:$REG_PORT/v2/lab/retry/blobs/uploads/" | sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')
[[ $retry_loc == /* ]] && retry_loc=http://127.0.0.1:$REG_PORT$retry_loc
RETRY_UUID=$(sed -n 's#.*/blobs/uploads/\([0-9a-f-]*\).*#\1#p' <<<"$retry_loc")
retry_patches=0 retry_head=""
until [[ $(head -1 <<<"$retry_head") == *" 202"* ]] || ((retry_patches >= 100)); do
  ((retry_patches > 0)) && sleep 0.1  # the client's own retry pause
  retry_head=$(curl -s --max-time 10 -A "curl/lab-retry" -D - -o /dev/null -X PATCH \
    -H 'Content-Type: application/octet-stream' --data-binary 'x' "$retry_loc" | tr -d '\r')
  retry_patches=$((retry_patches + 1))
done
retry_next=$(sed -n 's/^[Ll]ocation: *//p' <<<"$retry_head")
[[ $retry_next == /* ]] && retry_next=http://127.0.0.1:$REG_PORT$retry_next
retry_sep='?'; [[ $retry_next == *\?* ]] && retry_sep='&'
retry_put=$(curl -s --max-time 30 -A "curl/lab-retry" -o /dev/null -w '%{http_code}' -X PUT \
  "$retry_next${retry_sep}digest=sha256:$(printf x | sha256sum | cut -d' ' -f1)")
lab_log "retrying client: upload $RETRY_UUID, $retry_patches PATCHes, PUT -> $retry_put"
check "the retrying client's PATCH failed first, then worked ($retry_patches PATCHes)" \
  test "$retry_patches" -gt 1
check "the retrying client's PUT completed the upload ($retry_put)" test "$retry_put" == 201
explained() {
  curl -fsS "http://127.0.0.1:$RCA_PORT/api/v1/uploads/$1" >"$WORK/explain-$1.json" &&
    python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1])).get("outcome"))' \
      "$WORK/explain-$1.json"
}
check "the retried upload is decided" wait_for 60 explained "$RETRY_UUID"
check "its outcome is raced_recovered and its interval contains H=$H" python3 - \
  "$WORK/explain-$RETRY_UUID.json" "$H" <<'PY'
import json, sys
d, h = json.load(open(sys.argv[1])), float(sys.argv[2])
v = d["visibility"]
print(f"    outcome={d['outcome']} kind={v['kind']} lower={v['lower_seconds']} "
      f"upper={v['upper_seconds']} acknowledged={v['acknowledged_seconds']} H={h}")
assert d["outcome"] == "raced_recovered", d["outcome"]
assert v["kind"] in ("interval", "acknowledged"), v
# The bounds count from the create's start as registry-rca knows it: the store's log has whole
# seconds, so that is the registry's POST, which reaches the proxy (where the H seconds start) a
# little later -- a few ms, more on a loaded machine. The upload is hidden until H after the
# proxy saw the create, so registry-rca's true create-to-visible is H plus that delay: H is at
# most the upper bound, and above the lower bound less that delay (50 ms allowed, as for the
# probes' measurements).
assert v["lower_seconds"] - 0.05 <= h <= v["upper_seconds"] + 0.001, v
PY

# The registry probe's uploads: in the store's log like any upload, never an upload of ours.
probe_uuids=$(grep 'useragent=registry-rca-probe/' "$REG_LOG" |
  sed -n 's/.*vars\.uuid=\([0-9a-f-]*\).*/\1/p' | sort -u)
n_probe_uuids=$(wc -w <<<"$probe_uuids")
in_store=0
for u in $probe_uuids; do grep -q "_uploads/$u" "$S3_ACCESS_LOG" && in_store=$((in_store + 1)); done
check "the registry probe's uploads are in the store's log ($in_store of $n_probe_uuids)" \
  test "$in_store" -ge 2
known=0
for u in $probe_uuids; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RCA_PORT/api/v1/uploads/$u")
  [[ $code == 404 ]] || known=$((known + 1))
done
check "no probe upload is known to the explain API ($known of $n_probe_uuids)" test "$known" -eq 0
# A probe upload would be decided like a user's failed one (10 s of log time after its last event;
# the daemon's probes keep the log going): give it 15 s to show up, from the users' first decision.
users_decided() { grep -q 'repository="lab/' <<<"$(scrape "$RCA_PORT" | grep '^registry_rca_uploads_total{')"; }
probe_upload_counted() {  # the scrape read whole first: see is_sanitized
  local body
  body=$(scrape "$RCA_PORT") || return 1
  grep '^registry_rca_uploads_total{' <<<"$body" | grep -qv 'repository="lab/'
}
check "a user's upload is decided" wait_for 30 users_decided
never_within() { ! wait_for "$@"; }
check "no other repository's upload shows up in registry_rca_uploads_total within 15 s" \
  never_within 15 probe_upload_counted
scrape "$RCA_PORT" >"$WORK/metrics-uploads.txt" || true
grep -E '^registry_rca_(uploads_total|probe_uploads_excluded_total)' "$WORK/metrics-uploads.txt" |
  tee -a "$WORK/steps.log"
check "registry_rca_uploads_total has only users' repositories" \
  bash -c "grep -E '^registry_rca_uploads_total\{' '$WORK/metrics-uploads.txt' | grep -q 'lab/retry' &&
    ! grep -E '^registry_rca_uploads_total\{' '$WORK/metrics-uploads.txt' | grep -qv 'repository=\"lab/'"
check "registry_rca_uploads_total counts no more uploads than the users started (2)" \
  test "$(grep -E '^registry_rca_uploads_total\{' "$WORK/metrics-uploads.txt" | awk '{s += $NF} END {print s + 0}')" -le 2
excluded() { sed -n "s/^registry_rca_probe_uploads_excluded_total{what=\"$1\"} //p" "$WORK/metrics-uploads.txt"; }
check "probe uploads remembered ($(excluded upload)) and their store events dropped ($(excluded store_event))" \
  awk -v u="$(excluded upload)" -v e="$(excluded store_event)" 'BEGIN {exit !(u >= 2 && e >= 2)}'

# The probe's requests in the registry's log: its 500s are counted apart, never as errors.
probe_500s=$(grep -c 'useragent=registry-rca-probe/.*http.response.status=500' "$REG_LOG" || true)
check "the registry logged 500s for the probe's hidden uploads ($probe_500s)" test "$probe_500s" -gt 0
caught_up() {
  local want; want=$(wc -l <"$REG_LOG")
  [[ "$(metric_sum "$RCA_PORT" 'registry_rca_lines_read_total\{source="registry"\}')" -ge "$want" ]]
}
check "registry-rca read the registry's log" wait_for 30 caught_up
scrape "$RCA_PORT" >"$WORK/metrics-errors.txt" || true
errors=$(grep -E '^registry_rca_errors_total\{' "$WORK/metrics-errors.txt" | awk '{s += $NF} END {print s + 0}')
probe_errors=$(sed -n 's/^registry_rca_probe_requests_total{result="error"} //p' "$WORK/metrics-errors.txt")
# The users' error responses, by the access log: status >= 400 and another user agent.
user_errors=$(grep -E '^127\.0\.0\.1 - - \[' "$REG_LOG" | grep -v '"registry-rca-probe/[^"]*"$' |
  awk -F'"' '{split($3, f, " "); if (f[1] >= 400) n++} END {print n + 0}')
check "registry_rca_errors_total ($errors) equals the users' error responses ($user_errors), not the probe's" \
  test "$errors" -eq "$user_errors"
check "the user's race is counted (upload_not_yet_visible on lab/user)" \
  grep -qE '^registry_rca_errors_total\{.*cause="upload_not_yet_visible".*repository="lab/user"\} [1-9]' \
  "$WORK/metrics-errors.txt"
check "the probe's error responses are counted apart (${probe_errors:-none} >= $probe_500s)" \
  test "${probe_errors:-0}" -ge "$probe_500s"
check "no probe repository in registry_rca_responses_total" \
  bash -c "! grep -q 'repository=\"registry-rca-probe\"' '$WORK/metrics-errors.txt'"

t0=$SECONDS
kill -TERM "$RCA_PID"
check "serve stops within 10 s of SIGTERM" wait_for 10 bash -c "! kill -0 $RCA_PID"
lab_log "serve stopped $((SECONDS - t0)) s after SIGTERM"
lab_stop "$RCA_PID"

# --- H = 0: the store's normal latency -------------------------------------------------------
lab_proxy_control '{"hide_new_uploads": 0}'
run_probe_cli
check "registry-rca probe exits 0 with H=0" test "$PROBE_RC" -eq 0
for line in "$REG_LINE" "$STORE_LINE"; do
  p=$(field "$line" probe) v=$(field "$line" visibility_seconds)
  echo "H=0 $p probe=${v:-none}"
  check "H=0: the ${p:-?} probe reports the normal latency (${v:-none} s < 0.5 s)" \
    awk -v v="$v" 'BEGIN {exit !(v != "" && v < 0.5)}'
done

# --- failures and config errors ---------------------------------------------------------------
dead=$(free_port)
sed "s#http://127.0.0.1:$REG_PORT#http://127.0.0.1:$dead#; s#http://127.0.0.1:$PROXY_PORT#http://127.0.0.1:$dead#" \
  "$WORK/probe.yaml" >"$WORK/dead.yaml"
rc=0; "$RRCA_BIN" probe --config.file="$WORK/dead.yaml" >"$WORK/dead.out" 2>&1 || rc=$?
cat "$WORK/dead.out"
check "a probe whose target is down exits 1" test "$rc" -eq 1
check "... with reason=network for both" test "$(grep -c 'result=fail reason=network' "$WORK/dead.out")" -eq 2
cat >"$WORK/bad.yaml" <<YAML
sources:
  - name: registry
    paths: ["$REG_LOG"]
probes:
  - name: bad name
    type: registry
    url: ftp://h
    poll_interval: 0s
    colour: blue
  - name: s
    type: store
    endpoint: http://h
    bucket: Bad_Bucket
    prefix: docker/registry/v2/
YAML
rc=0; "$RRCA_BIN" check --config.file="$WORK/bad.yaml" >"$WORK/bad.out" 2>&1 || rc=$?
cat "$WORK/bad.out"
check "a bad probes: section is refused" test "$rc" -ne 0
for want in 'probes\[0\].name' 'probes\[0\].url' 'probes\[0\].poll_interval' \
  'probes\[0\].colour: unknown key' 'probes\[1\].bucket' 'probes\[1\].prefix'; do
  check "the config error names $want with file:line:col" grep -qE "bad.yaml:[0-9]+:[0-9]+: $want" "$WORK/bad.out"
done

# --- nothing left behind ----------------------------------------------------------------------
uploads=$(lab_s3 list-uploads "$BUCKET")
check "ListMultipartUploads on the bucket shows no in-progress upload (${uploads:-none})" test "$uploads" == 0
finish
