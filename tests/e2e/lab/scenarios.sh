# The lab's scenarios. Sourced by tests/e2e/lab_incident_test.sh after lib/common.sh and lib/lab.sh
# (which start Ceph and Prometheus once); each scenario_NAME FORMAT runs its own proxy, registry
# and registry-rca, asserts, and stops them.

# --- per-scenario plumbing ------------------------------------------------------------------------

# lab_scenario_begin NAME FORMAT STORE_LOG PROXY_ARGS...
#   STORE_LOG: which store log registry-rca reads as its `type: s3` source: rgw (radosgw's own log,
#   for runs without faults), proxy (the proxy's AWS access log: the store as the registry sees it,
#   faults included) or none.
lab_scenario_begin() {
  SCEN_NAME=$1 SCEN_FORMAT=$2 SCEN_STORE=$3; shift 3
  SCEN=$SCEN_NAME-$SCEN_FORMAT
  SD=$WORK/$SCEN
  mkdir -p "$SD" "$SD/images"
  SCEN_T0=$(lab_now)
  lab_log "scenario=$SCEN begins"
  BUCKET=lab-$SCEN
  local status
  status=$(lab_s3 create-bucket "$BUCKET") || { echo "lab: create bucket $BUCKET: $status"; return 1; }
  lab_log "bucket $BUCKET created on radosgw 127.0.0.1:$RGW_PORT: $status"
  lab_proxy_start "$SD" "$@" || return 1
  lab_registry_start "$SD" "$BUCKET" "$SCEN_FORMAT" || return 1
  local sources="  - name: registry
    type: registry
    paths: [\"$REG_LOG\"]"
  case $SCEN_STORE in
    rgw) STORE_LOG=$RGW_LOG ;;
    proxy) STORE_LOG=$S3_ACCESS_LOG ;;
    *) STORE_LOG="" ;;
  esac
  if [[ -n $STORE_LOG && $LAB_S3_SOURCES == 1 ]]; then
    sources+="
  - name: store
    type: s3
    paths: [\"$STORE_LOG\"]"
  fi
  lab_rca_start "$SD" "$sources" || return 1
  lab_prom_targets "$SCEN"  # counters are cumulative: the first scrape may come late
  ROTATED=0
}

# The registry log files, oldest first.
reg_logs() {
  [[ -f $REG_LOG.1 ]] && echo "$REG_LOG.1"
  echo "$REG_LOG"
}

# Harbor-style rotation once mid-run, at a quiet moment (registry-rca has read everything):
# copytruncate loses what is written between the copy and the truncate, for any reader.
lab_scenario_rotate() {
  wait_for 30 lab_rca_caught_up registry "$REG_LOG" || echo "lab: registry-rca behind before rotation"
  lab_rotate "$REG_LOG" "$SD"
  ROTATED=1
  lab_log "registry log rotated (copytruncate): $(wc -l <"$REG_LOG.1") lines in registry.log.1"
}

# lab_uploads_decided N: registry-rca has given at least N uploads a raced_* or failed outcome.
lab_uploads_decided() {
  local got
  got=$(scrape "$RCA_PORT" | grep -E '^registry_rca_uploads_total\{' |
    grep -E 'outcome="(raced_[a-z]+|failed[a-z_]*)"' | awk '{s += $NF} END {printf "%d", s}')
  ((got >= $1))
}

# Everything registry-rca reports equals what the registry says, through /metrics and through
# Prometheus. Extra arguments go to referee.py check.
lab_scenario_end() {
  local -a logs
  mapfile -t logs < <(reg_logs)
  local total failed_uploads
  total=$(python3 "$LAB_DIR/referee.py" summary "${logs[@]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  failed_uploads=$(python3 "$LAB_DIR/referee.py" summary "${logs[@]}" |
    python3 -c 'import json,sys; print(len(set(json.load(sys.stdin)["patch500_uuids"])))')
  check "[$SCEN] registry-rca read every line of the registry log ($(cat "${logs[@]}" | wc -l))" \
    wait_for 30 lab_rca_caught_up registry "${logs[@]}"
  if [[ -n $STORE_LOG && $LAB_S3_SOURCES == 1 ]]; then
    check "[$SCEN] registry-rca read every line of the store log ($(wc -l <"$STORE_LOG"))" \
      wait_for 30 lab_rca_caught_up store "$STORE_LOG"
  fi
  check "[$SCEN] registry-rca counted all $total responses of the access log" \
    wait_for 30 metric_is "$RCA_PORT" 'registry_rca_responses_total' "$total"
  # A failed upload is decided once the client had its retry window (10 s of log time) to
  # try again on the same upload; until then it is in no outcome. Wait for the decisions.
  if ((failed_uploads > 0)); then
    check "[$SCEN] registry-rca decided the $failed_uploads failed uploads (retry window over)" \
      wait_for 40 lab_uploads_decided "$failed_uploads"
  fi
  scrape "$RCA_PORT" >"$SD/metrics.txt"
  curl -fsS --max-time 10 "http://127.0.0.1:$REG_DEBUG_PORT/metrics" >"$SD/registry-metrics.txt" || true

  local line verdict what store_args=()
  if [[ -n $STORE_LOG && $LAB_S3_SOURCES == 1 ]]; then store_args=(--store-log "$STORE_LOG"); fi
  while IFS=$'\t' read -r verdict what; do
    case $verdict in
      ok) check "[$SCEN] $what" true ;;
      *) check "[$SCEN] $what (referee said: $verdict)" false ;;  # FAIL, or anything unexpected
    esac
  done < <(python3 "$LAB_DIR/referee.py" check --metrics "http://127.0.0.1:$RCA_PORT/metrics" \
    --s3-log "$S3_ACCESS_LOG" --events "$S3_EVENTS" --bucket "$BUCKET" \
    "${store_args[@]}" "$@" "${logs[@]}" 2>"$SD/referee.err" ||
    echo "FAIL	referee.py crashed: $(tail -n 3 "$SD/referee.err" | tr '\n' ' ')")

  # The registry's own count of 5xx, read through Prometheus, against registry-rca's.
  local t_end reg5 rca5 rsp5
  t_end=$(date +%s)
  if wait_for 20 lab_prom_fresh "$SCEN" "$t_end"; then
    reg5=$(lab_prom_query "sum(registry_http_requests_total{scenario=\"$SCEN\",code=~\"5..\"}) or vector(0)")
    rca5=$(lab_prom_query "sum(registry_rca_errors_total{scenario=\"$SCEN\",code=~\"5..\"}) or vector(0)")
    rsp5=$(lab_prom_query "sum(registry_rca_responses_total{scenario=\"$SCEN\",code=~\"5..\"}) or vector(0)")
    lab_log "prometheus: registry_http_requests_total 5xx=$reg5 registry_rca_errors_total 5xx=$rca5 registry_rca_responses_total 5xx=$rsp5"
    check "[$SCEN] Prometheus: registry-rca's per-cause 5xx sum ($rca5) equals the registry's own registry_http_requests_total 5xx ($reg5)" \
      test "$rca5" == "$reg5"
    check "[$SCEN] Prometheus: registry-rca's 5xx responses ($rsp5) equal its 5xx errors ($rca5)" \
      test "$rsp5" == "$rca5"
  else
    check "[$SCEN] Prometheus scraped registry-rca and the registry after the scenario" false
  fi
  check "[$SCEN] registry still running" kill -0 "$REG_PID"
  check "[$SCEN] registry-rca still running" kill -0 "$RCA_PID"
  LAB_SUMMARY+=("$(printf '%-22s %s' "$SCEN" "$(python3 "$LAB_DIR/referee.py" brief "${logs[@]}" \
    --metrics "http://127.0.0.1:$RCA_PORT/metrics")") took $(awk -v a="$SCEN_T0" -v b="$(lab_now)" \
    'BEGIN {printf "%.1f", b - a}')s")
  lab_prom_targets_drop "$SCEN"
  lab_stop "$RCA_PID" "$REG_PID" "$PROXY_PID"
  lab_log "scenario=$SCEN ends"
}

# --- clients --------------------------------------------------------------------------------------

# lab_image NAME SIZES: builds an OCI layout under the scenario dir; prints its directory.
lab_image() {
  local dir=$SD/images/$1
  python3 "$LAB_DIR/mkimage.py" "$dir" --layers "$2" --tag "$1" >"$dir.json"
  lab_log "built image $1 layers(bytes)=$2 -> $(cat "$dir.json")" >/dev/null
}

# lab_push NAME REPO:TAG [skopeo args...]: sets PUSH_RC.
lab_push() {
  local name=$1 ref=$2; shift 2
  local t0; t0=$(lab_now)
  PUSH_RC=0
  timeout 120 skopeo --insecure-policy copy --dest-tls-verify=false "$@" \
    "oci:$SD/images/$name:$name" "docker://127.0.0.1:$REG_PORT/$ref" \
    >>"$SD/skopeo.log" 2>&1 || PUSH_RC=$?
  lab_log "push $name -> $ref args=[$*] rc=$PUSH_RC took=$(awk -v a="$t0" -v b="$(lab_now)" 'BEGIN {printf "%.1f", b - a}')s"
}

# lab_pull REPO:TAG: sets PULL_RC.
lab_pull() {
  local t0; t0=$(lab_now)
  PULL_RC=0
  rm -rf "$SD/pulled"
  timeout 120 skopeo --insecure-policy copy --src-tls-verify=false \
    "docker://127.0.0.1:$REG_PORT/$1" "oci:$SD/pulled:x" >>"$SD/skopeo.log" 2>&1 || PULL_RC=$?
  lab_log "pull $1 rc=$PULL_RC took=$(awk -v a="$t0" -v b="$(lab_now)" 'BEGIN {printf "%.1f", b - a}')s"
}

# lab_curl_upload REPO GAP: POST, GAP seconds, PATCH 1 MiB, and PUT ?digest if the PATCH was
# accepted. Sets PATCH_CODE and PUT_CODE.
lab_curl_upload() {
  local repo=$1 gap=$2 base="http://127.0.0.1:$REG_PORT" loc code
  head -c 1048576 /dev/urandom >"$SD/chunk.bin"
  local digest="sha256:$(sha256sum "$SD/chunk.bin" | cut -d' ' -f1)"
  PATCH_CODE=000 PUT_CODE=000
  loc=$(curl -s --max-time 60 -D - -o /dev/null -X POST "$base/v2/$repo/blobs/uploads/" |
    sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')
  if [[ -z $loc ]]; then lab_log "curl POST /v2/$repo/blobs/uploads/ -> no Location"; return 0; fi
  [[ $loc == /* ]] && loc=$base$loc
  sleep "$gap"
  local headers=$SD/curl-headers.txt
  PATCH_CODE=$(curl -s --max-time 60 -D "$headers" -o "$SD/curl-body.txt" -w '%{http_code}' -X PATCH \
    -H 'Content-Type: application/octet-stream' --data-binary @"$SD/chunk.bin" "$loc")
  lab_log "curl POST -> PATCH after ${gap}s gap ($repo) -> $PATCH_CODE $(head -c 300 "$SD/curl-body.txt")"
  if [[ $PATCH_CODE == 202 ]]; then
    loc=$(sed -n 's/^[Ll]ocation: *//p' "$headers" | tr -d '\r')
    [[ $loc == /* ]] && loc=$base$loc
    PUT_CODE=$(curl -s --max-time 60 -o "$SD/curl-body.txt" -w '%{http_code}' -X PUT \
      -H 'Content-Length: 0' "$loc&digest=$digest")
    lab_log "curl PUT ?digest ($repo) -> $PUT_CODE"
  fi
}

lab_curl() {  # lab_curl METHOD PATH: one plain request, code logged
  local code
  local how=(-X "$1")
  [[ $1 == HEAD ]] && how=(--head)  # -X HEAD would wait for a body that never comes
  code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' "${how[@]}" "http://127.0.0.1:$REG_PORT$2")
  lab_log "curl $1 $2 -> $code"
}

# --- scenarios ------------------------------------------------------------------------------------

# Normal pushes and pulls through the proxy (no fault): no 5xx may be reported, every response
# counted. registry-rca reads radosgw's own log as the store log.
scenario_normal() {
  lab_scenario_begin normal "$1" rgw || return 1
  local repo=lab/normal-$1
  lab_image img1 1048576,3145728
  lab_image img2 2097152
  lab_push img1 "$repo:v1"
  check "[$SCEN] push img1 succeeds" test "$PUSH_RC" -eq 0
  lab_scenario_rotate
  lab_push img2 "$repo-b:v1"
  check "[$SCEN] push img2 to a second repository succeeds" test "$PUSH_RC" -eq 0
  lab_curl_upload "$repo-curl" 0
  check "[$SCEN] curl POST->PATCH (0 s gap)->PUT completes (202, 201)" \
    test "$PATCH_CODE/$PUT_CODE" == 202/201
  lab_pull "$repo:v1"
  check "[$SCEN] pull img1 back succeeds" test "$PULL_RC" -eq 0
  lab_curl GET "/v2/$repo/tags/list"
  lab_curl HEAD "/v2/$repo/manifests/v1"
  lab_curl GET "/v2/$repo/manifests/does-not-exist"
  lab_curl GET "/v2/_catalog"
  lab_scenario_end --no-5xx || return 1
}

# The incident: the store acknowledges CreateMultipartUpload but the upload becomes listable only
# 2.2 s after the create arrived; a PATCH in between gets 500 `s3aws: Path not found`.
scenario_async_create() {
  lab_scenario_begin async-create "$1" proxy --hide-new-uploads "$LAB_HIDE_DELAY" || return 1
  local repo=lab/async-create-$1
  lab_image img1 1048576,3145728
  lab_push img1 "$repo:v1"
  check "[$SCEN] skopeo push fails (as in the incident)" test "$PUSH_RC" -ne 0
  lab_scenario_rotate
  lab_push img1 "$repo:v1" --retry-times 2
  lab_curl_upload "$repo-curl" 0
  check "[$SCEN] curl PATCH 0 s after POST gets 500" test "$PATCH_CODE" == 500
  lab_curl_upload "$repo-curl" 3
  check "[$SCEN] curl PATCH 3 s after POST succeeds (202, then PUT 201)" \
    test "$PATCH_CODE/$PUT_CODE" == 202/201
  lab_log "in-progress multipart uploads left in $BUCKET: $(lab_s3 list-uploads "$BUCKET")"
  lab_scenario_end --patch-referee --store-checks --delay "$LAB_HIDE_DELAY" \
    --expect-cause upload_not_yet_visible 3 || return 1
}

# The store goes down in the middle of a push: first answering 503 ServiceUnavailable (as a load
# balancer in front of a dead radosgw does), then resetting connections; then it comes back.
scenario_store_down() {
  lab_scenario_begin store-down "$1" proxy --latency REST.PUT.PART:1000 || return 1
  local repo=lab/store-down-$1
  lab_image big 12582912,12582912
  lab_image small 1048576
  (lab_push big "$repo:v1"; echo "$PUSH_RC" >"$SD/push-big.rc") &
  local push_pid=$!
  if wait_for 60 grep -q 'REST.PUT.PART' "$S3_ACCESS_LOG"; then
    lab_log "first REST.PUT.PART in the S3 access log: store goes down (503)"
  else
    lab_log "no REST.PUT.PART seen within 60 s: store goes down anyway"
  fi
  lab_proxy_control '{"down": "503"}'
  wait "$push_pid" || true
  check "[$SCEN] push with the store down mid-push fails" test "$(cat "$SD/push-big.rc")" -ne 0
  lab_curl_upload "$repo-curl" 0
  lab_scenario_rotate
  lab_proxy_control '{"down": "reset"}'
  lab_curl_upload "$repo-curl" 0
  lab_push small "$repo:v2"
  check "[$SCEN] push while the store resets connections fails" test "$PUSH_RC" -ne 0
  lab_proxy_control '{"down": "", "latency": []}'
  lab_push small "$repo:v2"
  check "[$SCEN] push after the store came back succeeds" test "$PUSH_RC" -eq 0
  lab_push big "$repo:v1"
  check "[$SCEN] the interrupted push, retried, succeeds" test "$PUSH_RC" -eq 0
  lab_pull "$repo:v1"
  check "[$SCEN] pull succeeds" test "$PULL_RC" -eq 0
  lab_scenario_end --expect-cause storage_internal_error 1 \
    --expect-cause storage_unreachable 1 || return 1
}

# Throttling: 503 SlowDown from the store. A burst of four on UploadPart (the SDK's retries absorb
# it, but the registry's upload then resumes at the wrong offset: 404 at the PUT), SlowDown on
# every CreateMultipartUpload (the registry's POST fails with 500 after the SDK's retries), then
# (in the first format of the run only) random 10 % SlowDown on every operation, absorbed by the
# SDK's retries or not, then none.
scenario_throttling() {
  lab_scenario_begin throttling "$1" proxy --slowdown-ops REST.PUT.PART \
    --slowdown-first REST.PUT.PART:4 --seed 7 || return 1
  local repo=lab/throttling-$1
  lab_image img1 3145728
  lab_image img2 1048576
  lab_push img1 "$repo:v1"
  lab_proxy_control '{"slowdown_ops": "REST.POST.UPLOADS", "slowdown_prob": 1.0, "slowdown_first": []}'
  lab_push img2 "$repo-b:v1"
  check "[$SCEN] push with every CreateMultipartUpload throttled fails" test "$PUSH_RC" -ne 0
  lab_scenario_rotate
  lab_curl_upload "$repo-curl" 0
  check "[$SCEN] curl POST throttled: no upload started" test "$PATCH_CODE" == 000
  if [[ $1 == "${LAB_FORMATS%% *}" ]]; then  # once per run: ~20 s of retries
    lab_proxy_control '{"slowdown_ops": "", "slowdown_prob": 0.10, "slowdown_first": []}'
    lab_push img2 "$repo-b:v1"
  fi
  lab_proxy_control '{"slowdown_ops": "", "slowdown_prob": 0, "slowdown_first": []}'
  lab_push img1 "$repo:v1"
  check "[$SCEN] push without throttling succeeds" test "$PUSH_RC" -eq 0
  lab_log "SlowDown answers: $(grep -c 'SlowDown' "$S3_EVENTS" || true)"
  lab_scenario_end --expect-cause storage_throttled 1 || return 1
}
