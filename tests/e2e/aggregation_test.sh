#!/usr/bin/env bash
# Scaling out is Prometheus' job: two registry-rca instances over the two halves of the logs,
# summed the way the recording rules sum (`sum by (cause)`, `sum by (code)`), give the same totals
# as one instance over everything.
source "$(dirname "$0")/lib/common.sh"
lab=$TESTDATA/corpus/lab
half_a=(fs-normal s3-normal s3-async-create)
half_b=(s3-backend-down s3-slowdown s3rver-unsupported)
files() { for s in "$@"; do echo "$lab/$s/registry.log" "$lab/$s/registry-access.log"; done; }
# shellcheck disable=SC2046
"$RRCA_BIN" analyze --format=metrics $(files "${half_a[@]}") > "$WORK/a.prom"
# shellcheck disable=SC2046
"$RRCA_BIN" analyze --format=metrics $(files "${half_b[@]}") > "$WORK/b.prom"
# shellcheck disable=SC2046
"$RRCA_BIN" analyze --format=metrics $(files "${half_a[@]}" "${half_b[@]}") > "$WORK/all.prom"
sum_by() {  # sum_by LABEL METRIC FILES...: "value label" lines
  local label=$1 metric=$2; shift 2
  cat "$@" | grep -E "^$metric\{" | sed -E "s/.*$label=\"([^\"]*)\".* ([0-9.e+]+)\$/\1 \2/" |
    awk '{s[$1] += $2} END {for (k in s) if (s[k] != 0) printf "%s %d\n", k, s[k]}' | sort
}
for pair in "cause registry_rca_errors_total" "code registry_rca_responses_total" \
            "repository registry_rca_responses_total" "outcome registry_rca_uploads_total"; do
  set -- $pair
  check "sum by ($1) of $2: two halves = the whole" \
    diff <(sum_by "$1" "$2" "$WORK/a.prom" "$WORK/b.prom") <(sum_by "$1" "$2" "$WORK/all.prom")
done
causes=$(sum_by cause registry_rca_errors_total "$WORK/all.prom" | wc -l)
check "the whole has the lab's six causes ($causes)" test "$causes" -eq 6
finish
