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
# sum_by LABEL METRIC FILES...: one line per value of LABEL, `"value" sum`, the value quoted so
# that the empty one (`repository=""`: /v2/, the catalog) is a line like any other; a series
# without the label counts as <absent>. Sums of 0 are left out (Prometheus' sum has no such row).
sum_by() {
  python3 - "$@" <<'PY'
import collections, json, re, sys
label, metric, files = sys.argv[1], sys.argv[2], sys.argv[3:]
series = re.compile(r'^' + re.escape(metric) + r'\{(.*)\} (\S+)$')
labels = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
sums = collections.Counter()
for name in files:
    for line in open(name):
        m = series.match(line.rstrip("\n"))
        if m:
            key = dict(labels.findall(m.group(1))).get(label)
            sums[json.dumps(key) if key is not None else "<absent>"] += float(m.group(2))
for key in sorted(sums):
    if sums[key] != 0:
        print("%s %.17g" % (key, sums[key]))
PY
}
for pair in "cause registry_rca_errors_total" "code registry_rca_responses_total" \
            "repository registry_rca_responses_total" "outcome registry_rca_uploads_total"; do
  set -- $pair
  check "sum by ($1) of $2: two halves = the whole" \
    diff <(sum_by "$1" "$2" "$WORK/a.prom" "$WORK/b.prom") <(sum_by "$1" "$2" "$WORK/all.prom")
done
causes=$(sum_by cause registry_rca_errors_total "$WORK/all.prom" | wc -l)
check "the whole has the lab's six causes ($causes)" test "$causes" -eq 6
# The sums compared above do hold the responses without a repository (/v2/, the catalog).
empty_repository() { sum_by repository registry_rca_responses_total "$WORK/all.prom" | grep '^"" ' >/dev/null; }
check 'sum by (repository) has the repository="" row' empty_repository
finish
