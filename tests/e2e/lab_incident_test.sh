#!/usr/bin/env bash
# The incident, reproduced for real: docker-registry 2.8 with its s3 driver on a one-node
# Ceph radosgw, behind a fault-injecting S3 proxy of our own, pushed to with skopeo and curl;
# registry-rca tails the registry's log (and the store's log) and Prometheus scrapes registry-rca
# and the registry's own /metrics. Every figure registry-rca reports is compared with the registry's
# access log (the referee) and with the registry's own registry_http_requests_total.
#
# Env: LAB_SCENARIOS (default "normal async_create store_down throttling"), LAB_FORMATS (registry
# log formatter(s), default "text json"), LAB_HIDE_DELAY (default 2.2), LAB_KEEP=1 keeps the
# scratch dir even on success. See tests/e2e/lab/README.md.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/lab.sh"
source "$LAB_DIR/scenarios.sh"

LAB_SCENARIOS=${LAB_SCENARIOS:-"normal async_create store_down throttling"}
LAB_FORMATS=${LAB_FORMATS:-"text json"}
LAB_HIDE_DELAY=${LAB_HIDE_DELAY:-2.2}
LAB_KEEP=${LAB_KEEP:-0}
LAB_S3_SOURCES=0
LAB_SUMMARY=()
LAB_T0=$(lab_now)
: >"$WORK/steps.log"

lab_tails() {
  lab_print_tails "$WORK/steps.log" "$WORK"/*/registry.log "$WORK"/*/registry-rca.err \
    "$WORK"/*/s3proxy.out "$WORK"/*/s3proxy-events.log "$WORK"/*/skopeo.log \
    "$WORK"/*/referee.err "$WORK/prometheus/prometheus.log" "$WORK/ceph/log/rgw.out" \
    "$WORK/ceph/log/osd.out" "$WORK/ceph/log/mon.out" "$WORK/apt.log"
}

lab_trap_exit lab_tails

run_scenario() {  # run_scenario NAME FORMAT
  lab_phase "scenario $1/$2"
  if ! "scenario_$1" "$2"; then
    check "[$1-$2] scenario ran to its end" false
    lab_stop "${RCA_PID:-}" "${REG_PID:-}" "${PROXY_PID:-}"
  fi
}

lab_lock lab || exit 1

lab_phase install
lab_install || { echo "lab: install failed"; exit 1; }
if [[ ! -x $RRCA_BIN ]]; then
  echo "lab: $RRCA_BIN missing"; exit 1
fi

# registry-rca must take the store's log as a `type: s3` source: every store-side assertion
# depends on it, so a refusal is a failure (the scenarios then run without the store log, and
# their store-side checks fail too, which says what is missing).
cat >"$WORK/s3-probe.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths: ["$WORK/probe-registry.log"]
  - name: store
    type: s3
    paths: ["$WORK/probe-s3.log"]
start_at: beginning
positions_file: $WORK/probe-positions.json
YAML
if "$RRCA_BIN" check --config.file="$WORK/s3-probe.yaml" >"$WORK/s3-probe.out" 2>&1; then
  LAB_S3_SOURCES=1
fi
check "registry-rca check accepts the store's log as a 'type: s3' source" test "$LAB_S3_SOURCES" -eq 1
[[ $LAB_S3_SOURCES -eq 1 ]] || echo "  registry-rca check said: $(head -c 300 "$WORK/s3-probe.out")"

lab_phase "ceph start"
lab_ceph_start "$WORK/ceph" || { echo "lab: Ceph did not start"; exit 1; }
lab_log "ceph up: mon $CEPH_MON_PID osd $CEPH_OSD_PID radosgw $CEPH_RGW_PID on 127.0.0.1:$RGW_PORT"

lab_phase "prometheus start"
lab_prometheus_start "$WORK/prometheus" || exit 1
lab_log "prometheus up (pid $PROM_PID) on 127.0.0.1:$PROM_PORT"

for format in $LAB_FORMATS; do
  for scenario in $LAB_SCENARIOS; do
    run_scenario "$scenario" "$format"
  done
done

lab_phase teardown
lab_stop "${PROM_PID:-}"
lab_ceph_stop
lab_phase_report
echo "--- scenarios (access log figures; registry-rca causes)"
printf '  %s\n' "${LAB_SUMMARY[@]}"
echo "--- total $(awk -v a="$LAB_T0" -v b="$(lab_now)" 'BEGIN {printf "%.1f", b - a}')s"
finish
