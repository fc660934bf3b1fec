#!/usr/bin/env bash
# The cause ids have one source, the catalogue rules/default_rules.yaml (read for Python tools by
# rules/causes.py), and everything else that names causes is built or checked from it:
#   - the checked-in alert rules and dashboards equal what their generators write into an empty
#     directory;
#   - alerts/generate.py refuses a config naming an unknown cause (a typo) and a critical cause
#     that no alert names, saying where and which known ids are close; both generators refuse a
#     catalogue that no longer has a cause they name; neither writes anything then; a cause of
#     the user's own rules files is accepted when those files are given with --rules;
#   - the README's cause table lists exactly the catalogue's ids (severity, alert, runbook link),
#     docs/runbook.md has a section per cause, and the binary pre-creates a series for exactly
#     the catalogue's causes (RRCA_BIN, or build/exporter/registry-rca);
#   - docs/alerts.md gives each cause alert the config's causes and lists the others as "no alert";
#   - the checks can fail: a README without a row, with a wrong severity, with an extra id; a
#     docs/alerts.md that calls an alerted cause unalerted.
# Needs python3 and python3-yaml. Exit status: 0 when every check passes, 1 otherwise.
set -uo pipefail

ROOT="${RRCA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BIN="${RRCA_BIN:-$ROOT/build/exporter/registry-rca}"
CHECKS="$ROOT/tests/e2e/lib/causes_checks.py"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=()

pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
fail() {  # fail NAME [OUTPUT]
  failed+=("$1"); printf 'FAIL  %s\n' "$1"
  [[ -z "${2:-}" ]] || printf '%s\n' "$2" | sed 's/^/      /'
}

# check NAME COMMAND...: COMMAND succeeds.
check() {
  local name="$1" out; shift
  if out="$("$@" 2>&1)"; then pass "$name"; else fail "$name" "$out"; fi
}

# refuses NAME OUT_DIR EXPECTED COMMAND...: COMMAND fails, writes nothing to OUT_DIR, and its
# output contains every line of EXPECTED (fixed strings).
refuses() {
  local name="$1" out_dir="$2" expected="$3" out line; shift 3
  if out="$("$@" 2>&1)"; then fail "$name (it succeeded)" "$out"; return; fi
  if [[ -e "$out_dir" ]]; then fail "$name (it wrote $out_dir)" "$out"; return; fi
  while IFS= read -r line; do
    grep -qF -- "$line" <<<"$out" || { fail "$name (no \"$line\" in its output)" "$out"; return; }
  done <<<"$expected"
  pass "$name"
  printf '%s\n' "$out" | head -3 | cut -c1-200 | sed 's/^/      /'
}

echo "causes: $(python3 "$ROOT/rules/causes.py" | wc -l) in $ROOT/rules/default_rules.yaml"

# --- the generated files are up to date ----------------------------------------------------
check "alerts/generate.py into an empty directory equals alerts/" bash -c "
  python3 '$ROOT/alerts/generate.py' --out-dir '$TMP/alerts' &&
  for f in recording_rules.yml alerting_rules.yml alertmanager.yml; do
    diff -u \"$ROOT/alerts/\$f\" \"$TMP/alerts/\$f\" || exit 1; done"
check "dashboards/generate.py into an empty directory equals dashboards/" bash -c "
  mkdir -p '$TMP/dashboards' && python3 '$ROOT/dashboards/generate.py' --out-dir '$TMP/dashboards' &&
  diff -ru -x generate.py -x __pycache__ '$ROOT/dashboards' '$TMP/dashboards'"

# --- the generators refuse unknown causes --------------------------------------------------
sed 's/"storage_throttled"/"storage_throtled"/' "$ROOT/alerts/config.toml" >"$TMP/typo.toml"
line=$(grep -n '"storage_throtled"' "$TMP/typo.toml" | cut -d: -f1)
refuses "alerts: a typo'd cause id in the config" "$TMP/out-typo" \
"typo.toml:$line: cause_alert RegistryRCAStorageThrottled: unknown cause 'storage_throtled'
known causes close to it: storage_throttled" \
  python3 "$ROOT/alerts/generate.py" --config "$TMP/typo.toml" --out-dir "$TMP/out-typo"

cat >"$TMP/typo-override.toml" <<'TOML'
[[cause_alert]]
alert = "RegistryRCAUploadsNotYetVisible"
causes = ["upload_not_yet_visible", "upload_commit_not_visible",
          "hashstate_not_yet_visibel"]
TOML
refuses "alerts: a typo'd cause id in an --override file" "$TMP/out-override" \
"typo-override.toml:4: cause_alert RegistryRCAUploadsNotYetVisible: unknown cause 'hashstate_not_yet_visibel'
known causes close to it: hashstate_not_yet_visible" \
  python3 "$ROOT/alerts/generate.py" --override "$TMP/typo-override.toml" --out-dir "$TMP/out-override"

sed 's/"storage_clock_skew", //' "$ROOT/alerts/config.toml" >"$TMP/uncovered.toml"
refuses "alerts: a critical cause that no alert names" "$TMP/out-uncovered" \
"uncovered.toml: cause 'storage_clock_skew' is critical in rules/default_rules.yaml
but no [[cause_alert]] names it" \
  python3 "$ROOT/alerts/generate.py" --config "$TMP/uncovered.toml" --out-dir "$TMP/out-uncovered"

# The catalogue renames a cause: the alerts config and the dashboards' text still name the old id.
sed 's/^\(    cause: \)upload_listing_missing$/\1upload_listing_stale/' \
  "$ROOT/rules/default_rules.yaml" >"$TMP/renamed.yaml"
check "self-test: the rename applied" bash -c "
  grep -q 'cause: upload_listing_stale$' '$TMP/renamed.yaml' &&
  ! grep -q 'cause: upload_listing_missing$' '$TMP/renamed.yaml'"
refuses "alerts: a cause the catalogue no longer has" "$TMP/out-renamed-a" \
"alerts/config.toml:$(grep -n '"upload_listing_missing"' "$ROOT/alerts/config.toml" | cut -d: -f1): \
cause_alert RegistryRCAUploadSessionsLost: unknown cause 'upload_listing_missing'
: $TMP/renamed.yaml has no rule giving it; known causes close to it: upload_listing_stale
cause 'upload_listing_stale' is critical" \
  python3 "$ROOT/alerts/generate.py" --rules "$TMP/renamed.yaml" --out-dir "$TMP/out-renamed-a"
refuses "dashboards: a cause the catalogue no longer has" "$TMP/out-renamed-d" \
"dashboards/generate.py:
unknown cause 'upload_listing_missing'
: $TMP/renamed.yaml has no rule giving it; known causes close to it: upload_listing_stale" \
  python3 "$ROOT/dashboards/generate.py" --rules "$TMP/renamed.yaml" --out-dir "$TMP/out-renamed-d"

# A cause of the user's own rules_files may be alerted on when those files are given.
cat >"$TMP/mine.yaml" <<'YAML'
rules:
  - name: harbor_quota_hook
    cause: harbor_project_quota
    severity: warning
YAML
cat >"$TMP/mine.toml" <<'TOML'
[[cause_alert]]
alert = "HarborProjectQuota"
causes = ["harbor_project_quota"]
min_rate = 0.0
for = "5m"
severity = "warning"
explains_5xx = false
context = "operations"
summary = "Harbor refuses pushes over a project's quota."
action = "Raise the project's quota or delete tags."
TOML
refuses "alerts: a cause of a user's rules file, without --rules" "$TMP/out-mine-no" \
  "unknown cause 'harbor_project_quota'" \
  python3 "$ROOT/alerts/generate.py" --override "$TMP/mine.toml" --out-dir "$TMP/out-mine-no"
check "alerts: a cause of a user's rules file, with --rules catalogue --rules mine.yaml" bash -c "
  python3 '$ROOT/alerts/generate.py' --override '$TMP/mine.toml' --out-dir '$TMP/out-mine' \
    --rules '$ROOT/rules/default_rules.yaml' --rules '$TMP/mine.yaml' &&
  grep -q 'cause=\"harbor_project_quota\"' '$TMP/out-mine/alerting_rules.yml'"

# --- documents and the binary agree with the catalogue -------------------------------------
check "README's cause table = the catalogue" python3 "$CHECKS" readme "$ROOT"
check "docs/alerts.md: each alert's causes, the causes without an alert" \
  python3 "$CHECKS" alerts-doc "$ROOT"
check "docs/runbook.md has a section per cause" python3 "$CHECKS" runbook "$ROOT"
if [[ -x "$BIN" ]]; then
  check "the binary pre-creates exactly the catalogue's causes ($BIN)" bash -c "
    '$BIN' analyze --format=metrics - </dev/null >'$TMP/exposition.txt' &&
    python3 '$CHECKS' exposition '$ROOT' '$TMP/exposition.txt'"
else
  fail "the binary pre-creates exactly the catalogue's causes: no binary at $BIN (set RRCA_BIN)"
fi

# --- the document checks can fail ----------------------------------------------------------
broken() {  # broken NAME CHECK FILE SED_SCRIPT: a copy of FILE edited by SED_SCRIPT is reported
  local copy="$TMP/broken-$(basename "$3")"
  sed "$4" "$ROOT/$3" >"$copy"
  if cmp -s "$ROOT/$3" "$copy"; then
    fail "self-test: $1 (the edit did not apply)"
  elif python3 "$CHECKS" "$2" "$ROOT" "$copy" >"$TMP/broken.out" 2>&1; then
    fail "self-test: $1 is not reported"
  else
    pass "self-test: $1 is reported"; sed 's/^/    /' "$TMP/broken.out"
  fi
}
broken "a README without the denied row" readme README.md '/^| \[`denied`\]/d'
broken "a README with a wrong severity" readme README.md \
  's/^\(| \[`filesystem_full`\].*\) | critical |/\1 | warning |/'
broken "a README with an id the catalogue lacks" readme README.md \
  's/\[`storage_throttled`\](docs\/runbook.md#storage_throttled)/[`storage_throttling`](docs\/runbook.md#storage_throttling)/'
broken "docs/alerts.md with an alerted cause in its no-alert list" alerts-doc docs/alerts.md \
  's/^Deliberately \*\*no alert\*\*: /&`storage_throttled`, /'

echo
echo "causes_single_source_test: ${passed} passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
  printf '  failed: %s\n' "${failed[@]}"
  exit 1
fi
