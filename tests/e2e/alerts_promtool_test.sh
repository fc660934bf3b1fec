#!/usr/bin/env bash
# Static checks of alerts/ with the real tools from Debian's packages:
#   - the checked-in rule files and Alertmanager example equal what alerts/generate.py makes
#     from alerts/config.toml (thresholds and selectors live only there);
#   - promtool check rules, promtool test rules alerts/tests/*.yml (one file per alert family:
#     firing, not firing, annotations rendered exactly);
#   - amtool check-config and amtool routing tests of alerts/alertmanager.yml;
#   - coverage: every alert has severity/cause labels, summary/description/runbook_url, and a
#     firing and a not-firing test; every alert the inhibit rules name exists; docs/alerts.md
#     names every alert and config key;
#   - config variants (no aggregation label, the registry's own metric, short `for:`) still give
#     valid rules;
#   - the checks can fail: a stale generated file and a wrong expected annotation are caught.
# Installs prometheus (promtool) and prometheus-alertmanager (amtool) with apt-get if missing.
# Exit status: 0 when every check passes, 1 otherwise.
set -uo pipefail

ROOT="${RRCA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
ALERTS="$ROOT/alerts"
LIB="$ROOT/tests/e2e/lib"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=()

# check NAME COMMAND...: runs COMMAND, records the result, shows its output on failure.
check() {
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1))
    printf 'PASS  %s\n' "$name"
  else
    failed+=("$name")
    printf 'FAIL  %s\n' "$name"
    printf '%s\n' "$out" | sed 's/^/      /'
  fi
}

# expect_fail NAME COMMAND...: the check passes when COMMAND fails (the test can fail).
expect_fail() {
  local name="$1"; shift
  if "$@" >/dev/null 2>&1; then
    failed+=("$name")
    printf 'FAIL  %s (a broken input was accepted)\n' "$name"
  else
    passed=$((passed + 1))
    printf 'PASS  %s\n' "$name"
  fi
}

ensure_tools() {
  command -v promtool >/dev/null && command -v amtool >/dev/null && return 0
  local pkgs=(prometheus prometheus-alertmanager)
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$TMP/apt.log" 2>&1; then
    apt-get update -qq >>"$TMP/apt.log" 2>&1
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >>"$TMP/apt.log" 2>&1
  fi
  if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null; then
    echo "FAIL  cannot install promtool/amtool:"; tail -20 "$TMP/apt.log"
    exit 1
  fi
}

ensure_tools
echo "alerts: $ALERTS ($(promtool --version 2>&1 | head -1); $(amtool --version 2>&1 | head -1))"

check "generated files equal alerts/generate.py output" \
  python3 "$ALERTS/generate.py" --check
check "promtool check rules" \
  promtool check rules "$ALERTS/recording_rules.yml" "$ALERTS/alerting_rules.yml"
shopt -s nullglob
tests=("$ALERTS"/tests/*.yml)
shopt -u nullglob
if ((${#tests[@]} == 0)); then
  failed+=("promtool test rules (no test files in alerts/tests/)")
  echo "FAIL  promtool test rules: no test files in alerts/tests/"
else
  for t in "${tests[@]}"; do
    check "promtool test rules tests/$(basename "$t")" promtool test rules "$t"
  done
fi
check "amtool check-config alertmanager.yml" amtool check-config "$ALERTS/alertmanager.yml"
check "alert coverage (labels, annotations, firing and quiet tests)" \
  python3 "$LIB/alerts_checks.py" coverage "$ALERTS"
check "inhibit rules name existing alerts" python3 "$LIB/alerts_checks.py" inhibit "$ALERTS"
check "docs: every alert and config key documented, runbook anchors exist" \
  python3 "$LIB/alerts_checks.py" docs "$ALERTS"

# Routing: the enricher first (continue: true), then downstream; info goes nowhere; the
# exporter's own alerts skip the enricher.
route() {
  amtool config routes test --config.file="$ALERTS/alertmanager.yml" --verify.receivers="$1" \
    "${@:2}" 2>/dev/null
}
check "route: cause alert -> enricher, downstream" route registry-rca-enricher,downstream \
  alertname=RegistryRCAUploadsNotYetVisible severity=critical cause=upload_not_yet_visible cluster=prod
check "route: generic 5xx -> enricher, downstream" route registry-rca-enricher,downstream \
  alertname=RegistryHigh5xxRatio severity=critical cause=any
check "route: info alert -> blackhole only" route blackhole \
  alertname=RegistryRCACacheUnavailable severity=info cause=cache_unavailable
check "route: exporter alert -> downstream only" route downstream \
  alertname=RegistryRCASourceDown severity=warning cause=exporter

# Config variants give valid rules: no aggregation label, the registry's own metric for the
# generic alert, a job selector, and short hold times for a live test.
cat >"$TMP/variant.toml" <<'TOML'
[common]
aggregation_labels = []
rca_selector = 'job="registry-rca"'
[generic]
metric = "registry_http_requests_total"
selector = 'job="harbor-registry"'
TOML
check "variant: no aggregation label, registry_http_requests_total, job selector" bash -c "
  python3 '$ALERTS/generate.py' --override '$TMP/variant.toml' --out-dir '$TMP/variant' &&
  promtool check rules '$TMP/variant/recording_rules.yml' '$TMP/variant/alerting_rules.yml' &&
  amtool check-config '$TMP/variant/alertmanager.yml' &&
  grep -q 'registry_http_requests_total{job=\"harbor-registry\", code=~\"5..\"}' '$TMP/variant/alerting_rules.yml'"
# Every hold time becomes 10s, except the generic alert's: three times that, so that the cause
# alerts still fire (and mute it) first.
check "variant: --for 10s (for a live Prometheus test)" bash -c "
  python3 '$ALERTS/generate.py' --for 10s --out-dir '$TMP/fast' &&
  promtool check rules '$TMP/fast/alerting_rules.yml' &&
  test \$(grep -cE '^    for: 30s' '$TMP/fast/alerting_rules.yml') -eq 1 &&
  ! grep -E '^    for: ' '$TMP/fast/alerting_rules.yml' | grep -qvE 'for: (10s|30s)'"
check "generate.py refuses a generic alert that holds no longer than a cause alert" \
  bash -c "printf '[generic]\\nfor = \"5m\"\\n' > '$TMP/short.toml' &&
  ! python3 '$ALERTS/generate.py' --override '$TMP/short.toml' --out-dir '$TMP/short' \
    2> '$TMP/short.err' && grep -q 'is not longer than' '$TMP/short.err'"

# The checks can fail.
mkdir -p "$TMP/stale/tests"
cp "$ALERTS"/*.yml "$TMP/stale/"
# a threshold edited by hand instead of in config.toml
sed -i '0,/^    for: 10m$/s//    for: 1m/' "$TMP/stale/alerting_rules.yml"
check "self-test: the hand edit applied" \
  bash -c "! cmp -s '$ALERTS/alerting_rules.yml' '$TMP/stale/alerting_rules.yml'"
expect_fail "self-test: a hand-edited rules file is reported stale" \
  python3 "$ALERTS/generate.py" --check --out-dir "$TMP/stale"
cp "$ALERTS/tests/uploads_not_yet_visible_test.yml" "$TMP/stale/tests/"
sed -i 's/(4% of all responses)/(5% of all responses)/' \
  "$TMP/stale/tests/uploads_not_yet_visible_test.yml"
check "self-test: the wrong annotation applied" \
  grep -q '(5% of all responses)' "$TMP/stale/tests/uploads_not_yet_visible_test.yml"
cp "$ALERTS"/recording_rules.yml "$ALERTS"/alerting_rules.yml "$TMP/stale/"
expect_fail "self-test: a wrong expected annotation fails promtool test rules" \
  promtool test rules "$TMP/stale/tests/uploads_not_yet_visible_test.yml"

echo
echo "alerts_promtool_test: ${passed} passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
  printf '  failed: %s\n' "${failed[@]}"
  exit 1
fi
