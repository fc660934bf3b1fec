# Helpers for the end-to-end lab (tests/e2e/lab_incident_test.sh): installs, a one-node Ceph with
# radosgw, the fault-injecting S3 proxy, docker-registry, Prometheus, phase timing.
# Source after lib/common.sh (uses WORK, PIDS, wait_for, free_port, check).

LAB_DIR=${RRCA_SOURCE_DIR}/tests/e2e/lab
LAB_PACKAGES=(docker-registry skopeo ceph-mon ceph-osd radosgw ceph-common prometheus logrotate
  python3 curl)
LAB_ACCESS_KEY=LABACCESSKEY0000001
LAB_SECRET_KEY=labsecretkey0000000000000000000000000001

export PATH="$PATH:/usr/sbin:/sbin"

lab_now() { date +%s.%N; }
lab_ts() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# Phase timing: lab_phase NAME starts a phase (ending the previous one); lab_phase_end ends it.
LAB_PHASE=""
LAB_PHASE_T0=0
LAB_PHASE_TIMES=()
lab_phase_end() {
  [[ -z $LAB_PHASE ]] && return 0
  local took
  took=$(awk -v a="$LAB_PHASE_T0" -v b="$(lab_now)" 'BEGIN {printf "%.1f", b - a}')
  LAB_PHASE_TIMES+=("$(printf '%-28s %6ss' "$LAB_PHASE" "$took")")
  echo "=== phase $LAB_PHASE done in ${took}s"
  LAB_PHASE=""
}
lab_phase() {
  lab_phase_end
  LAB_PHASE=$1
  LAB_PHASE_T0=$(lab_now)
  echo "=== phase $1 ($(lab_ts))"
}
lab_phase_report() {
  lab_phase_end
  echo "--- phase times"
  printf '  %s\n' "${LAB_PHASE_TIMES[@]}"
}

lab_log() { echo "$(lab_ts) $*" | tee -a "$WORK/steps.log"; }

# Installs what the lab drives, idempotently: quiet when all is there, `apt-get update` only when
# something is missing, and no service of these packages is started by the install.
lab_install() {
  local missing=() package
  for package in "${LAB_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "lab: missing packages (${missing[*]}); run as root or install them" >&2
    return 1
  fi
  echo "lab: installing ${missing[*]}"
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local status=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
  } >"$WORK/apt.log" 2>&1 || status=$?
  [[ $made_policy -eq 1 ]] && rm -f /usr/sbin/policy-rc.d
  if [[ $status -ne 0 ]]; then
    echo "lab: apt-get failed ($status)"; tail -n 30 "$WORK/apt.log"; return 1
  fi
  # Belt and braces: packages whose units started anyway (no policy-rc.d honoured) are stopped.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl stop docker-registry prometheus ceph.target 2>/dev/null || true
  fi
}

# --- a one-node Ceph: monitor, memstore OSD, radosgw (beast) -------------------------------------
# lab_ceph_start DIR: writes DIR/ceph.conf, starts the daemons (pids in PIDS and CEPH_*_PID),
# creates the S3 user with fixed keys. Sets RGW_PORT, CEPH_CONF, RGW_LOG.
lab_ceph_start() {
  local d=$1 mon_port fsid
  mkdir -p "$d"/{run,log,mon,osd/ceph-0}
  mon_port=$(free_port)
  RGW_PORT=$(free_port)
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  CEPH_CONF=$d/ceph.conf
  RGW_LOG=$d/log/radosgw.log
  export CEPH_CONF
  cat > "$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon initial members = a
mon host = v1:127.0.0.1:$mon_port
public addr = 127.0.0.1
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
run dir = $d/run
admin socket = $d/run/\$cluster-\$name.asok
log file = $d/log/\$cluster-\$name.log
keyring = $d/keyring
mon data = $d/mon/\$cluster-\$id
osd data = $d/osd/\$cluster-\$id
pid file = $d/run/\$name.pid
[osd]
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 460
osd max object namespace len = 64
# The OSD is placed in the CRUSH map by us; its own start-up crush/device-class commands raced
# the monitor now and then ("mon_cmd_maybe_osd_create fail: 'wrong fsid'", OSD never up).
osd crush update on start = false
osd class update on start = false
osd memory target = 939524096
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
debug rgw = 1
log file = $RGW_LOG
rgw data = $d/rgw
rgw enable usage log = false
CONF
  ceph-authtool --create-keyring "$d/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$d/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$d/monmap" --keyring "$d/keyring" -c "$CEPH_CONF" \
    >"$d/log/mkfs-mon.out" 2>&1
  ceph-mon -f -i a -c "$CEPH_CONF" >"$d/log/mon.out" 2>&1 9>&- &
  CEPH_MON_PID=$!; PIDS+=($!)
  wait_for 30 timeout 5 ceph -c "$CEPH_CONF" mon stat || { echo "lab: ceph-mon not up"; return 1; }
  local osd_id
  osd_id=$(timeout 20 ceph -c "$CEPH_CONF" osd create)
  ceph-osd --mkfs -i "$osd_id" -c "$CEPH_CONF" >"$d/log/mkfs-osd.out" 2>&1
  timeout 20 ceph -c "$CEPH_CONF" osd crush add "osd.$osd_id" 1 root=default host=localhost \
    >/dev/null 2>&1
  local attempt
  for attempt in 1 2; do
    ceph-osd -f -i "$osd_id" -c "$CEPH_CONF" >>"$d/log/osd.out" 2>&1 9>&- &
    CEPH_OSD_PID=$!; PIDS+=($!)
    wait_for 30 bash -c "timeout 5 ceph -c '$CEPH_CONF' osd stat | grep -q ' 1 up'" && break
    echo "lab: ceph-osd not up after 30 s (attempt $attempt)"
    lab_stop "$CEPH_OSD_PID"; CEPH_OSD_PID=""
    [[ $attempt -eq 2 ]] && return 1
  done
  mkdir -p "$d/rgw"
  radosgw -n client.rgw.a -f -c "$CEPH_CONF" >"$d/log/rgw.out" 2>&1 9>&- &
  CEPH_RGW_PID=$!; PIDS+=($!)
  wait_for 90 curl -fs --max-time 5 "http://127.0.0.1:$RGW_PORT/" || { echo "lab: radosgw not up"; return 1; }
  timeout 60 radosgw-admin -c "$CEPH_CONF" user create --uid=registry --display-name=registry \
    --access-key="$LAB_ACCESS_KEY" --secret-key="$LAB_SECRET_KEY" >"$d/log/user.out" 2>&1 ||
    { echo "lab: radosgw-admin user create failed"; cat "$d/log/user.out"; return 1; }
}

# Stops the Ceph daemons by pid, radosgw first.
lab_ceph_stop() {
  local pid
  for pid in "${CEPH_RGW_PID:-}" "${CEPH_OSD_PID:-}" "${CEPH_MON_PID:-}"; do
    if [[ -n $pid ]]; then lab_stop "$pid"; fi
  done
  CEPH_RGW_PID="" CEPH_OSD_PID="" CEPH_MON_PID=""
}

# lab_trap_exit ON_FAILURE: replaces common.sh's EXIT trap for a lab test. At exit it stops
# everything the test started (lab_stop_all); after a failure it calls the function ON_FAILURE
# (which prints the logs that explain it) and keeps $WORK, otherwise it removes $WORK unless
# LAB_KEEP=1.
lab_trap_exit() {
  LAB_ON_FAILURE=$1
  trap lab_exit EXIT
  trap 'echo "lab: interrupted"; exit 143' TERM INT HUP
}
lab_exit() {
  local status=$?
  set +e
  lab_stop_all
  if [[ $status -ne 0 || $FAILURES -ne 0 ]]; then
    "$LAB_ON_FAILURE"
  elif [[ ${LAB_KEEP:-0} == 1 ]]; then
    echo "--- logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}

# lab_lock NAME: one lab at a time on a machine (they share ports, Ceph's setup and 2 cores);
# under ctest the RESOURCE_LOCK already serialises them, this covers runs by hand.
lab_lock() {
  exec 9>/tmp/registry-rca-lab.lock
  if ! flock -n 9; then
    echo "$1: another lab runs on this machine; waiting for it (at most 10 minutes)"
    flock -w 600 9 || { echo "$1: still locked after 10 minutes"; return 1; }
  fi
}

# lab_stop_all: for a lab test's EXIT trap. Stops every process the test started, newest first
# (registry-rca, registry, proxy, Prometheus ...), and the Ceph daemons last, so that nothing
# talks to a store that is already gone while it stops.
lab_stop_all() {
  local ceph=" ${CEPH_RGW_PID:-} ${CEPH_OSD_PID:-} ${CEPH_MON_PID:-} " others=() i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    [[ $ceph == *" ${PIDS[i]} "* ]] || others+=("${PIDS[i]}")
  done
  if [[ ${#others[@]} -gt 0 ]]; then lab_stop "${others[@]}"; fi
  lab_ceph_stop
}

# lab_print_tails FILE...: after a failure, the last 20 lines of each non-empty file (cut at 400
# characters: some lines are megabytes on purpose).
lab_print_tails() {
  local f
  echo "--- logs kept in $WORK"
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "--- tail $f"
    tail -n 20 "$f" | cut -c1-400
  done
}

# --- processes ------------------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# lab_stop PID...: stops processes this lab started, by pid, and forgets them (so that cleanup can
# never signal a recycled pid).
lab_stop() {
  local pid keep=() p
  for pid in "$@"; do
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
  done
  for pid in "$@"; do
    [[ -z $pid ]] && continue
    wait_for 15 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    local gone=0
    for pid in "$@"; do [[ $p == "$pid" ]] && gone=1; done
    if [[ $gone -eq 0 ]]; then keep+=("$p"); fi
  done
  PIDS=("${keep[@]}")
  return 0
}

# lab_proxy_start DIR ARGS...: the fault-injecting S3 proxy in front of radosgw.
lab_proxy_start() {
  local d=$1; shift
  PROXY_PORT=$(free_port)
  PROXY_CONTROL=$d/s3proxy-control.json
  S3_ACCESS_LOG=$d/s3-access.log
  S3_EVENTS=$d/s3proxy-events.log
  : >"$PROXY_CONTROL"
  python3 "$LAB_DIR/s3proxy.py" --listen "127.0.0.1:$PROXY_PORT" --upstream "127.0.0.1:$RGW_PORT" \
    --access-log "$S3_ACCESS_LOG" --events-log "$S3_EVENTS" --control "$PROXY_CONTROL" "$@" \
    >"$d/s3proxy.out" 2>&1 9>&- &
  PROXY_PID=$!; PIDS+=($!)
  wait_for 15 port_open "$PROXY_PORT" || { echo "lab: s3proxy not up"; return 1; }
  lab_log "s3proxy up (pid $PROXY_PID) 127.0.0.1:$PROXY_PORT -> 127.0.0.1:$RGW_PORT args: $*"
}

# lab_proxy_control JSON: changes the proxy's faults at run time (atomically).
lab_proxy_control() {
  printf '%s\n' "$1" >"$PROXY_CONTROL.tmp" && mv "$PROXY_CONTROL.tmp" "$PROXY_CONTROL"
  lab_log "s3proxy control: $1"
}

lab_s3() {
  python3 "$LAB_DIR/s3cli.py" --endpoint "http://127.0.0.1:$RGW_PORT" \
    --access-key "$LAB_ACCESS_KEY" --secret-key "$LAB_SECRET_KEY" "$@"
}

# lab_registry_start DIR BUCKET FORMAT: docker-registry 2.8 with the s3 driver at the proxy, its
# stdout (access log) and stderr (application log) into one file, as Harbor's log container
# writes them. Sets REG_PORT, REG_DEBUG_PORT, REG_LOG, REG_PID.
lab_registry_start() {
  local d=$1 bucket=$2 format=$3
  REG_PORT=$(free_port)
  REG_DEBUG_PORT=$(free_port)
  REG_LOG=$d/registry.log
  # No `health.storagedriver` check: its 503s are answered before the instrumented router, so the
  # registry's own registry_http_requests_total never counts them (see README).
  cat >"$d/registry-config.yml" <<YAML
version: 0.1
log:
  level: debug
  formatter: $format
  fields:
    service: registry
    environment: lab-$(basename "$d")
  accesslog:
    disabled: false
storage:
  s3:
    region: us-east-1
    regionendpoint: http://127.0.0.1:$PROXY_PORT
    bucket: $bucket
    accesskey: $LAB_ACCESS_KEY
    secretkey: $LAB_SECRET_KEY
    secure: false
    v4auth: true
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$REG_PORT
  secret: lab-http-secret-$(basename "$d")
  headers:
    X-Content-Type-Options: [nosniff]
  debug:
    addr: 127.0.0.1:$REG_DEBUG_PORT
    prometheus:
      enabled: true
      path: /metrics
YAML
  env -u AWS_CA_BUNDLE docker-registry serve "$d/registry-config.yml" >>"$REG_LOG" 2>&1 9>&- &
  REG_PID=$!; PIDS+=($!)
  wait_for 20 port_open "$REG_PORT" || { echo "lab: registry not up"; tail -n 20 "$REG_LOG"; return 1; }
  wait_for 10 curl -fs --max-time 5 "http://127.0.0.1:$REG_DEBUG_PORT/metrics" || return 1
  lab_log "registry up (pid $REG_PID) 127.0.0.1:$REG_PORT debug 127.0.0.1:$REG_DEBUG_PORT format=$format bucket=$bucket"
}

# lab_rotate LOGFILE STATEDIR: one Harbor-style rotation (logrotate copytruncate), forced.
lab_rotate() {
  cat >"$2/logrotate.conf" <<CONF
$1 {
  copytruncate
  rotate 3
  missingok
  nocompress
}
CONF
  logrotate -f -s "$2/logrotate.state" "$2/logrotate.conf"
}

# lab_rca_start DIR SOURCES_YAML: registry-rca serve over the scenario's logs. Sets RCA_PORT.
lab_rca_start() {
  local d=$1 sources=$2
  RCA_PORT=$(free_port)
  mkdir -p "$d/rca-state"
  cat >"$d/registry-rca.yaml" <<YAML
sources:
$sources
start_at: beginning
positions_file: $d/rca-state/positions.json
poll_interval: 100ms
YAML
  "$RRCA_BIN" serve --config.file="$d/registry-rca.yaml" --web.listen-address="127.0.0.1:$RCA_PORT" \
    >"$d/registry-rca.out" 2>"$d/registry-rca.err" 9>&- &
  RCA_PID=$!; PIDS+=($!)
  wait_for 20 curl -fs --max-time 5 "http://127.0.0.1:$RCA_PORT/-/ready" ||
    { echo "lab: registry-rca not ready"; tail -n 20 "$d/registry-rca.err"; return 1; }
}

# registry-rca has read every line of FILES... (source label SOURCE).
lab_rca_caught_up() {
  local source=$1; shift
  local want
  want=$(cat "$@" 2>/dev/null | wc -l)
  [[ "$(metric_sum "$RCA_PORT" "registry_rca_lines_read_total\\{source=\"$source\"\\}")" == "$want" ]]
}

# --- Prometheus -----------------------------------------------------------------------------------
lab_prometheus_start() {
  local d=$1
  PROM_DIR=$d
  PROM_PORT=$(free_port)
  mkdir -p "$d/targets" "$d/data"
  cat >"$d/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: lab
    file_sd_configs:
      - files: ["$d/targets/*.json"]
        refresh_interval: 1s
YAML
  prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=1h \
    >"$d/prometheus.log" 2>&1 9>&- &
  PROM_PID=$!; PIDS+=($!)
  wait_for 30 curl -fs --max-time 5 "http://127.0.0.1:$PROM_PORT/-/ready" ||
    { echo "lab: prometheus not ready"; tail -n 20 "$d/prometheus.log"; return 1; }
}

# lab_prom_targets SCENARIO: Prometheus scrapes this scenario's registry-rca and registry.
lab_prom_targets() {
  cat >"$PROM_DIR/targets/$1.json.tmp" <<JSON
[{"targets": ["127.0.0.1:$RCA_PORT"], "labels": {"scenario": "$1", "component": "registry-rca"}},
 {"targets": ["127.0.0.1:$REG_DEBUG_PORT"], "labels": {"scenario": "$1", "component": "registry"}}]
JSON
  mv "$PROM_DIR/targets/$1.json.tmp" "$PROM_DIR/targets/$1.json"
}
lab_prom_targets_drop() { rm -f "$PROM_DIR/targets/$1.json"; }

# lab_prom_query EXPR: the value of a one-sample instant query ("" when the result is empty).
lab_prom_query() {
  curl -fsS --max-time 10 --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}

# Both of the scenario's targets are up and were scraped after time T (unix seconds).
lab_prom_fresh() {
  local v
  v=$(lab_prom_query "min(timestamp(up{scenario=\"$1\"} == 1)) > $2 and count(up{scenario=\"$1\"} == 1) == 2")
  [[ -n $v ]]
}

# common.sh's scrape, with a deadline (a hung daemon must fail the test, not hang it).
scrape() { curl -fsS --max-time 10 "http://127.0.0.1:$1/metrics"; }
