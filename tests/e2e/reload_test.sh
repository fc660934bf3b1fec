#!/usr/bin/env bash
# Reloading the rules for real: a changed user rule classifies the next error line with its new
# cause after SIGHUP; a broken rules file or config is rejected (registry_rca_config_last_reload_
# successful 0) and the running rules keep classifying; POST /-/reload does the same with 200/400.
source "$(dirname "$0")/lib/common.sh"

mkdir -p "$WORK/rules"
: > "$WORK/registry.log"
registry_config "$WORK/config.yaml" 'poll_interval: 100ms' 'rules_files: ["rules/*.yaml"]'
cp "$WORK/config.yaml" "$WORK/config.good"

# One "manifest unknown" error response of request $1 (the registry's own summary line).
error_line() {
  printf 'time="%s" level=error msg="response completed with error" err.code="manifest unknown" err.message="manifest unknown" http.request.id=%s http.request.method=GET http.request.uri="/v2/reload/app/manifests/v9" http.response.status=404 vars.name=reload/app vars.reference=v9\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1"
}
# user_rule CAUSE [PATTERN]: the user rules file, one rule that replaces the default rule
# manifest_unknown (in its place: its examples stay its own) and gives CAUSE to those errors.
user_rule() {
  local pattern=${2:-^manifest unknown\$}
  cat > "$WORK/rules/user.yaml" <<YAML
rules:
  - name: manifest_unknown
    cause: $1
    severity: warning
    summary: The reload test's rule.
    runbook: https://example.invalid/runbook
    match: {err.code: '$pattern'}
    examples:
      match:
        - '$(error_line example | sed "s/'/''/g")'
YAML
}
cause_is() { metric_is "$port" "registry_rca_errors_total\\{cause=\"$1\"" "$2"; }
# The raw value of one series (fails when the scrape fails or the series is not there).
value_of() {
  local body
  body=$(scrape "$port") || return 1
  printf '%s\n' "$body" | awk -v s="$1" '$1 == s {print $2; found = 1} END {exit !found}'
}
reload_ok() { [[ "$(value_of registry_rca_config_last_reload_successful)" == "$1" ]]; }
stamp() { value_of registry_rca_config_last_reload_success_timestamp_seconds; }
stamp_moved() { [[ "$(stamp)" != "$1" ]]; }
fails_grep() { ! grep -q "$@"; }
post_reload() { curl -s -o "$WORK/reload.body" -w '%{http_code}' -X POST "http://127.0.0.1:$port/-/reload"; }

user_rule reload_cause_one
check "the config with the first rule passes registry-rca check" \
  "$RRCA_BIN" check --config.file="$WORK/config.yaml"
port=$(free_port)
check "daemon becomes ready" start_daemon reload "$WORK/config.yaml" "$port"
check "the start counts as a successful load" reload_ok 1
error_line r1 >> "$WORK/registry.log"
check "the first rule classifies the first error" wait_for 20 cause_is reload_cause_one 1

# 1. SIGHUP with a changed rule: the next error gets the new cause, the old count stays.
t0=$(stamp)
user_rule reload_cause_two
kill -HUP "$DAEMON_PID"
check "SIGHUP: the reload succeeds (its timestamp moves)" wait_for 20 stamp_moved "$t0"
check "SIGHUP: last reload successful is 1" reload_ok 1
error_line r2 >> "$WORK/registry.log"
check "SIGHUP: the changed rule gives the next error its new cause" \
  wait_for 20 cause_is reload_cause_two 1
check "SIGHUP: the error counted before keeps its old cause" cause_is reload_cause_one 1

# 2. SIGHUP with a broken rules file: rejected, the running rules keep working.
t1=$(stamp)
user_rule reload_cause_broken '(unclosed'
kill -HUP "$DAEMON_PID"
check "SIGHUP, broken rules: last reload successful goes to 0" wait_for 20 reload_ok 0
check "SIGHUP, broken rules: the success timestamp stays" test "$(stamp)" == "$t1"
check "SIGHUP, broken rules: the error is logged with the file" \
  wait_for 10 grep -q "user.yaml" "$WORK/reload.log.err"
error_line r3 >> "$WORK/registry.log"
check "SIGHUP, broken rules: the running rule still classifies" \
  wait_for 20 cause_is reload_cause_two 2
check "SIGHUP, broken rules: its cause is never used" cause_is reload_cause_broken 0

# 3. POST /-/reload: 400 for the broken rules file, and for a broken config file.
logged() { grep -c "$1" "$WORK/reload.log.err" || true; }
more_logged() { [[ $(logged "$1") -gt $2 ]]; }
n=$(logged user.yaml)  # the SIGHUP above logged it already: the POST must log it again
check "POST /-/reload, broken rules: 400" test "$(post_reload)" == 400
# The answer names no file (callers may be anyone); the log does.
check "POST /-/reload, broken rules: the answer names no file" fails_grep "user.yaml" "$WORK/reload.body"
check "POST /-/reload, broken rules: the log names the file" \
  wait_for 10 more_logged user.yaml "$n"
user_rule reload_cause_three
printf 'no_such_key: 1\n' >> "$WORK/config.yaml"
check "POST /-/reload, unknown config key: 400" test "$(post_reload)" == 400
check "POST /-/reload, unknown config key: the log names the key" \
  grep -q "no_such_key" "$WORK/reload.log.out" "$WORK/reload.log.err"
check "POST /-/reload, rejected: last reload successful is 0" reload_ok 0
error_line r4 >> "$WORK/registry.log"
check "POST /-/reload, rejected: the running rule still classifies" \
  wait_for 20 cause_is reload_cause_two 3
check "POST /-/reload, rejected: the rule of the rejected reload is not used" \
  cause_is reload_cause_three 0

# 4. POST /-/reload with a good config: 200, and the new rule applies.
cp "$WORK/config.good" "$WORK/config.yaml"
t2=$(stamp)
check "POST /-/reload, fixed config: 200" test "$(post_reload)" == 200
check "POST /-/reload, fixed config: last reload successful is 1" reload_ok 1
check "POST /-/reload, fixed config: the success timestamp moves" stamp_moved "$t2"
error_line r5 >> "$WORK/registry.log"
check "POST /-/reload: the new rule gives the next error its cause" \
  wait_for 20 cause_is reload_cause_three 1
check "every error counted once, under the rules of its time" \
  metric_is "$port" 'registry_rca_errors_total\{' 5
check "GET /-/reload is refused (405)" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/reload")" == 405
check "still healthy" curl -fs "http://127.0.0.1:$port/-/healthy"
finish
