#!/usr/bin/env bash
# Upload visibility through the daemon: on the lab capture where a proxy hid new uploads from listings for
# 2.2 s, the explain API and the scraped metrics give create-to-visible as bounds (a lower bound
# for uploads never seen visible), not the store's few-millisecond acknowledgement.
source "$(dirname "$0")/lib/common.sh"
command -v promtool >/dev/null || { echo "promtool missing: run scripts/install-deps.sh --test"; exit 1; }

lab=$TESTDATA/corpus/lab/s3-async-create
cp "$lab/registry.log" "$lab/s3-access.log" "$WORK/"
registry_store_config "$WORK/config.yaml"
port=$(free_port)
check "daemon becomes ready" start_daemon visibility "$WORK/config.yaml" "$port"
# Failed uploads are decided once the retry window (10 s of log time) passed quietly.
check "the 5 uploads never seen visible get a lower bound each" wait_for 40 metric_is "$port" \
  'registry_rca_upload_create_to_visible_lower_bound_seconds_count\{bucket="lab-s3-async-create-text"\}' 5
check "only the upload seen visible is in the duration histogram" metric_is "$port" \
  'registry_rca_upload_create_to_visible_duration_seconds_count\{bucket="lab-s3-async-create-text"\}' 1
scrape "$port" > "$WORK/metrics.txt"
check "the repository's maximum is a lower bound, not the 4-13 ms acknowledgement" python3 - "$WORK/metrics.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r'^registry_rca_upload_create_to_visible_max_seconds\{repository="lab/s3-async-create"\} (\S+)$', text, re.M)
assert m and float(m.group(1)) >= 0.1, m and m.group(0)
PY
check "promtool check metrics accepts the exposition" \
  bash -c "promtool check metrics < '$WORK/metrics.txt' > '$WORK/promtool.err' 2>&1 && ! grep -q . '$WORK/promtool.err'"

# The PATCH of dd76ec6c arrived at 41.182 (answer 41.279 less 96.6 ms) and its listing took
# 48.1 ms: not visible at 41.231; the POST that created it arrived at 41.107 (the store's log has
# whole seconds). So the upload was still invisible at least 0.123 s after create.
curl -fsS "http://127.0.0.1:$port/api/v1/uploads/dd76ec6c-8952-4e17-921b-3a7532f1889a" > "$WORK/explain.json"
check "explain API: the bounds, in numbers and in words" python3 - "$WORK/explain.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = d["visibility"]
assert d["outcome"] == "raced_failed", d
assert v["kind"] == "lower_bound", v
assert v["upper_seconds"] is None, v
assert v["lower_seconds"] >= 41.2305 - 41.1070 - 0.0005, v
assert v["acknowledged_seconds"] <= 0.013, v
assert "never seen visible" in v["text"] and "acknowledged after 0.006 s" in v["text"], v
assert v["text"] in d["verdict"], d["verdict"]
assert "after the upload was visible" not in d["verdict"], d["verdict"]
PY
finish
