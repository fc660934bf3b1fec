#!/usr/bin/env bash
# The probes reload with the rest of the configuration (SIGHUP and POST /-/reload): a probe added
# to the file starts running and its metrics appear; a probe removed from it stops (no more
# requests to its target, its series leave the exposition); a probe kept keeps its series and
# values; a broken probes: section is rejected and the running probes go on. Against a small
# fake registry (POST 202, GET status 204, DELETE 204) that logs each request's repository.
source "$(dirname "$0")/lib/common.sh"

REG_PORT=$(free_port)
python3 "$(dirname "$0")/lib/fake_registry.py" "$REG_PORT" "$WORK/requests.log" &
PIDS+=($!)
check "the fake registry listens" wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$REG_PORT/"
: >"$WORK/registry.log"

write_config() {  # write_config PROBE_YAML...: the config with these probes (none: no probes:)
  registry_config "$WORK/config.yaml"
  if [[ $# -gt 0 ]]; then
    echo "probes:" >>"$WORK/config.yaml"
    for probe in "$@"; do printf '%s\n' "$probe" >>"$WORK/config.yaml"; done
  fi
}
probe() {  # probe NAME: a registry probe on the fake registry, every second
  printf '  - {name: %s, type: registry, url: "http://127.0.0.1:%s", repository: %s-repo, interval: 1s, timeout: 5s}' \
    "$1" "$REG_PORT" "$1"
}
runs() {  # runs NAME: the probe's visibility observations ("" when the series is absent)
  scrape "$port" | sed -n "s/^registry_rca_probe_visibility_seconds_count{probe=\"registry\",target=\"$1\"} //p"
}
runs_at_least() { local n; n=$(runs "$1"); [[ -n $n && $n -ge $2 ]]; }
posts() { grep -c "^POST [^ ]* repo=$1-repo " "$WORK/requests.log" || true; }
value_of() { scrape "$port" | sed -n "s/^$1 //p"; }

write_config "$(probe alpha)"
port=$(free_port)
check "daemon becomes ready" start_daemon reload "$WORK/config.yaml" "$port"
check "probe alpha runs (2 runs)" wait_for 30 runs_at_least alpha 2
check "no beta series before it is configured" test -z "$(runs beta)"

# SIGHUP: alpha replaced by beta.
write_config "$(probe beta)"
kill -HUP "$DAEMON_PID"
check "after SIGHUP probe beta runs (2 runs)" wait_for 30 runs_at_least beta 2
check "... and alpha's series left the exposition" test -z "$(runs alpha)"
check "... and alpha's success gauge too" \
  bash -c "! curl -fsS http://127.0.0.1:$port/metrics | grep -q 'target=\"alpha\"'"
alpha_posts=$(posts alpha)
beta_runs=$(runs beta)
check "beta keeps running (2 more runs)" wait_for 30 runs_at_least beta $((beta_runs + 2))
check "alpha sent nothing more after the reload (${alpha_posts} POSTs)" test "$(posts alpha)" -eq "$alpha_posts"

# POST /-/reload: alpha added back beside beta; beta keeps its series (no reset).
write_config "$(probe beta)" "$(probe alpha)"
beta_before=$(runs beta)
code=$(curl -s -o "$WORK/reload.body" -w '%{http_code}' -X POST "http://127.0.0.1:$port/-/reload")
check "POST /-/reload answers 200 (got $code)" test "$code" == 200
check "after POST /-/reload alpha runs again" wait_for 30 runs_at_least alpha 1
check "beta's observations went on from $beta_before (not reset)" runs_at_least beta "$beta_before"

# A broken probes: section: rejected, both probes go on.
write_config "$(probe beta)" "  - {name: broken, type: registry, url: ftp://nowhere}"
code=$(curl -s -o "$WORK/reload.body" -w '%{http_code}' -X POST "http://127.0.0.1:$port/-/reload")
check "a broken probe is refused (HTTP $code)" test "$code" == 400
check "registry_rca_config_last_reload_successful is 0" test "$(value_of registry_rca_config_last_reload_successful)" == 0
alpha_now=$(runs alpha)
check "the running probes go on (alpha past $alpha_now)" wait_for 30 runs_at_least alpha $((alpha_now + 1))
check "no series for the refused probe" test -z "$(runs broken)"

# No probes at all: the prober stops, every probe series goes.
write_config
kill -HUP "$DAEMON_PID"
check "with no probes: no probe series" wait_for 20 bash -c \
  "! curl -fsS http://127.0.0.1:$port/metrics | grep -q '^registry_rca_probe_visibility_seconds_count'"
check "the daemon is still ready" curl -fs -o /dev/null "http://127.0.0.1:$port/-/ready"
finish
