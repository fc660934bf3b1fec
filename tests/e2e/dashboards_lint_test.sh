#!/usr/bin/env bash
# Static checks of dashboards/:
#   - the checked-in dashboards equal what dashboards/generate.py makes;
#   - structure and required fields (schemaVersion 39, stable uid, ${datasource} variable,
#     repository/cause variables from label_values), a description on every panel, no overlaps;
#   - every metric in every query is exported by registry-rca or is a recording rule of
#     alerts/recording_rules.yml; every variable is defined; links point at our dashboards;
#   - every query, variables substituted, parses with promtool (as a recording rule);
#   - the lint can fail: broken copies of a dashboard are each reported.
# Installs prometheus (promtool) with apt-get if missing. Exit status 0 when all checks pass.
set -uo pipefail

ROOT="${RRCA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
LINT="$ROOT/tests/e2e/lib/dashboards_lint.py"
passed=0
failed=()

check() {
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1))
    printf 'PASS  %s\n' "$name"
    printf '%s\n' "$out" | grep -E '^(dashboards lint|PASS  selftest)' | sed 's/^/      /'
  else
    failed+=("$name")
    printf 'FAIL  %s\n' "$name"
    printf '%s\n' "$out" | sed 's/^/      /'
  fi
}

if ! command -v promtool >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; }
  command -v promtool >/dev/null || { echo "FAIL  cannot install promtool (package prometheus)"; exit 1; }
fi
echo "dashboards: $ROOT/dashboards ($(promtool --version 2>&1 | head -1))"

check "dashboards equal dashboards/generate.py output" python3 "$ROOT/dashboards/generate.py" --check
check "dashboards lint (structure, descriptions, metrics, variables, promtool parse)" \
  python3 "$LINT" "$ROOT"
check "lint self-test (broken dashboards are reported)" python3 "$LINT" "$ROOT" --selftest

echo
echo "dashboards_lint_test: ${passed} passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
  printf '  failed: %s\n' "${failed[@]}"
  exit 1
fi
