#!/usr/bin/env bash
# Harbor's request-id joins, proven for real: the lab's docker-registry 2.8 (s3 driver, one-node Ceph radosgw, the
# fault-injecting S3 proxy in between) behind a real Debian nginx configured like Harbor's proxy
# (make/photon/prepare/templates/nginx/nginx.http.conf.jinja: proxy_http_version 1.1, no request
# buffering, its timed_combined format, here with $time_local because this nginx writes a plain
# file and no syslog envelope adds the time; error log and access log in one proxy.log as
# Harbor's log container writes them; its 900 s timeouts shortened to 6 s: radosgw's CreateMultipartUpload alone
# takes ~2 s on 2 cores). curl causes, for real:
#   504  a PATCH slower than proxy_read_timeout (the S3 proxy delays ListMultipartUploads 10 s);
#   499  curl gives up after 3 s on such a PATCH;
#   502  the registry killed (SIGKILL) while a PATCH waits in it;
#   502  the registry down: connect() failed (111: Connection refused).
# `registry-rca analyze --proxy-log=proxy.log registry.log` must count each client-visible error
# once with the right cause; nginx's own access log is the referee (per status code:
# registry_rca_hop_errors_total + registry_rca_errors_total = nginx's lines of that status).
# Loopback only; about 1-2 minutes with Ceph's start. LAB_KEEP=1 keeps the scratch dir.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/lab.sh"
LAB_PACKAGES+=(nginx)
LAB_KEEP=${LAB_KEEP:-0}
D=$WORK/harbor
: >"$WORK/steps.log"

harbor_tails() {
  lab_print_tails "$WORK/steps.log" "$D/proxy.log" "$D/registry.log" "$D/analyze.err" \
    "$D/nginx.out"
}
lab_trap_exit harbor_tails
lab_lock "harbor lab" || exit 1

lab_install || { echo "lab: install failed"; exit 1; }
lab_ceph_start "$WORK/ceph" || { echo "lab: Ceph did not start"; exit 1; }
mkdir -p "$D/nginx-temp"
BUCKET=lab-harbor-proxy
lab_s3 create-bucket "$BUCKET" >/dev/null || { echo "lab: create bucket failed"; exit 1; }
lab_proxy_start "$D" || exit 1
lab_registry_start "$D" "$BUCKET" text || exit 1

NGINX_PORT=$(free_port)
cat >"$D/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $D/nginx.pid;
error_log $D/proxy.log warn;
daemon off;
events { worker_connections 64; }
http {
  client_body_temp_path $D/nginx-temp/body;
  proxy_temp_path $D/nginx-temp/proxy;
  fastcgi_temp_path $D/nginx-temp/fastcgi;
  uwsgi_temp_path $D/nginx-temp/uwsgi;
  scgi_temp_path $D/nginx-temp/scgi;
  tcp_nodelay on;
  proxy_http_version 1.1;
  upstream registry { server 127.0.0.1:$REG_PORT; }
  log_format timed_combined '\$remote_addr - \$remote_user [\$time_local] '
    '"\$request" \$status \$body_bytes_sent '
    '"\$http_referer" "\$http_user_agent" '
    '\$request_time \$upstream_response_time \$pipe';
  access_log $D/proxy.log timed_combined;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    client_max_body_size 0;
    location /v2/ {
      proxy_pass http://registry/v2/;
      proxy_set_header Host \$http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_send_timeout 6;
      proxy_read_timeout 6;
    }
  }
}
CONF
TZ=UTC nginx -c "$D/nginx.conf" -p "$D" >"$D/nginx.out" 2>&1 9>&- &
NGINX_PID=$!; PIDS+=($!)
wait_for 15 port_open "$NGINX_PORT" || { echo "lab: nginx not up"; cat "$D/nginx.out"; exit 1; }
lab_log "nginx up (pid $NGINX_PID) 127.0.0.1:$NGINX_PORT -> registry 127.0.0.1:$REG_PORT"
BASE=http://127.0.0.1:$NGINX_PORT
head -c 65536 /dev/urandom >"$D/chunk.bin"

# POST an upload through nginx; prints its absolute Location.
start_upload() {
  local loc
  loc=$(curl -s --max-time 30 -D - -o /dev/null -X POST "$BASE/v2/lab/harbor/blobs/uploads/" |
    sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')
  [[ -n $loc ]] || return 1
  [[ $loc == /* ]] && loc=$BASE$loc
  [[ $loc == http://127.0.0.1:$REG_PORT/* ]] && loc=$BASE${loc#http://127.0.0.1:$REG_PORT}
  printf '%s\n' "$loc"
}
patch() {  # patch LOCATION [CURL_ARGS...]: prints the status curl saw (000: none)
  local loc=$1; shift
  curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/octet-stream' \
    --data-binary @"$D/chunk.bin" "$@" "$loc" || true
}
uuid_of() { sed -n 's|.*/blobs/uploads/\([0-9a-f-]*\).*|\1|p' <<<"$1"; }
# The registry logged the end of a PATCH on upload $1.
registry_done() { grep -q "msg=\"response completed.*PATCH.*$1" "$D/registry.log"; }
in_flight() { [[ -n "$(ss -Htn state established "( dport = :$REG_PORT )" 2>/dev/null)" ]]; }

# 0. A normal PATCH: a success, counted as nothing.
loc=$(start_upload) || { echo "lab: POST failed"; exit 1; }
code=$(patch "$loc" --max-time 30)
lab_log "PATCH (no fault) -> $code"
check "a PATCH through nginx without a fault succeeds (202)" test "$code" = 202

# 1. 504: the store's listing takes 10 s, nginx waits 6 s.
lab_proxy_control '{"latency": ["REST.GET.UPLOADS:10000"]}'
loc=$(start_upload) || { echo "lab: POST failed"; exit 1; }
u504=$(uuid_of "$loc")
code=$(patch "$loc" --max-time 30)
lab_log "PATCH $u504 (store 10 s, proxy_read_timeout 6 s) -> $code"
check "nginx answered 504 to the slow PATCH" test "$code" = 504
check "the registry finished that PATCH itself later" wait_for 30 registry_done "$u504"

# 2. 499: curl gives up after 3 s.
loc=$(start_upload) || { echo "lab: POST failed"; exit 1; }
u499=$(uuid_of "$loc")
code=$(patch "$loc" --max-time 3)
lab_log "PATCH $u499 (curl --max-time 3) -> $code"
check "curl gave up (no status)" test "$code" = 000
wait_for 30 registry_done "$u499" || lab_log "registry logged nothing for $u499"
wait_for 10 grep -q '" 499 ' "$D/proxy.log"
check "nginx logged 499" grep -q '" 499 ' "$D/proxy.log"

# 3. 502: the registry is killed while a PATCH waits in it.
loc=$(start_upload) || { echo "lab: POST failed"; exit 1; }
ukill=$(uuid_of "$loc")
patch "$loc" --max-time 30 >"$D/killed.code" &
CURL_PID=$!
wait_for 10 in_flight || lab_log "no connection to the registry seen before the kill"
kill -9 "$REG_PID"
wait "$CURL_PID" 2>/dev/null
lab_stop "$REG_PID"
code=$(cat "$D/killed.code")
lab_log "PATCH $ukill, registry SIGKILLed meanwhile -> $code"
check "nginx answered 502 when the registry died mid-request" test "$code" = 502

# 4. 502: the registry is down.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/v2/")
lab_log "GET /v2/ with the registry down -> $code"
check "nginx answered 502 with the registry down" test "$code" = 502
lab_stop "$NGINX_PID" "$PROXY_PID"

# --- registry-rca on nginx's and the registry's logs ---------------------------------------------
"$RRCA_BIN" analyze --format=metrics --proxy-log="$D/proxy.log" "$D/registry.log" \
  >"$D/metrics.txt" 2>"$D/analyze.err"
"$RRCA_BIN" analyze --format=jsonl --proxy-log="$D/proxy.log" "$D/registry.log" \
  >"$D/errors.jsonl" 2>>"$D/analyze.err"
sum() {  # sum REGEX: the sum of the samples of metrics.txt matching REGEX
  { grep -E "^$1" "$D/metrics.txt" || true; } | awk '{s += $NF} END {printf "%d\n", s}'
}
# The referee: nginx's own access lines by status.
referee() { grep -cE "\" $1 [0-9]+ \"" "$D/proxy.log" || true; }
for c in 499 502 504; do
  want=$(referee "$c")
  got=$(($(sum "registry_rca_hop_errors_total\\{.*code=\"$c\"") + \
         $(sum "registry_rca_errors_total\\{.*code=\"$c\"")))
  check "status $c: registry-rca counts $got, nginx's access log has $want" test "$got" = "$want"
done
want=$(grep -cE '" (499|5[0-9][0-9]) [0-9]+ "' "$D/proxy.log" || true)
got=$(($(sum 'registry_rca_hop_errors_total\{') + $(sum 'registry_rca_errors_total\{')))
check "every error nginx answered is counted once ($got = $want, 4 caused)" \
  bash -c "[[ $got == $want && $want == 4 ]]"
check "the 504 is proxy_upstream_timeout" \
  test "$(sum 'registry_rca_hop_errors_total\{cause="proxy_upstream_timeout",code="504"')" = 1
check "the killed registry's 502 is proxy_upstream_reset" \
  test "$(sum 'registry_rca_hop_errors_total\{cause="proxy_upstream_reset",code="502"')" = 1
check "the 502 with the registry down is registry_unavailable" \
  test "$(sum 'registry_rca_hop_errors_total\{cause="registry_unavailable",code="502"')" = 1
check "the 499 is the client's (client_gave_up at nginx, or the registry's own 499)" \
  test "$(($(sum 'registry_rca_hop_errors_total\{cause="client_gave_up"') + \
           $(sum 'registry_rca_errors_total\{cause="client_disconnected",code="499"')))" = 1
check "the 504's evidence: the registry's own status and duration for that upload" \
  grep -qE "\"upload_uuid\":\"$u504\".*\"registry_status\":[0-9]+.*\"registry_duration_seconds\":[0-9]" \
  "$D/errors.jsonl"
check "every line of both logs was understood" \
  test "$(sum 'registry_rca_lines_skipped_total\{')" = 0
lab_log "hop errors: $(grep -E '^registry_rca_hop_errors_total\{' "$D/metrics.txt" | grep -v ' 0$' | tr '\n' ';')"
lab_log "registry errors: $(grep -E '^registry_rca_errors_total\{' "$D/metrics.txt" | grep -v ' 0$' | tr '\n' ';')"
lab_ceph_stop
finish
