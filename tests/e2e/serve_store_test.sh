#!/usr/bin/env bash
# The daemon with the object store's log: uploads joined per UUID, the explain and causes APIs,
# MinIO's audit webhook, and hostile log content that must not break the exposition or JSON.
source "$(dirname "$0")/lib/common.sh"
command -v promtool >/dev/null || { echo "promtool missing: run scripts/install-deps.sh --test"; exit 1; }

lab=$TESTDATA/corpus/lab/s3-async-create
cp "$lab/registry.log" "$lab/registry-access.log" "$lab/s3-access.log" "$WORK/"
registry_store_config "$WORK/config.yaml"
port=$(free_port)
check "daemon becomes ready" start_daemon store "$WORK/config.yaml" "$port"
check "the 5 failed uploads are raced_failed" \
  wait_for 20 metric_is "$port" 'registry_rca_uploads_total\{outcome="raced_failed"' 5
check "each failed PATCH is confirmed by the store's log" \
  metric_is "$port" 'registry_rca_upload_failures_confirmed_total\{cause="upload_not_yet_visible",evidence="store_log"\}' 5
check "the store's creates are counted" \
  metric_is "$port" 'registry_rca_s3_requests_total\{bucket="lab-s3-async-create-text",code="200",operation="create_multipart"\}' 6

uuid=a5c3381f-3bc6-4040-a438-e4b3462a8459
curl -fsS "http://127.0.0.1:$port/api/v1/uploads/$uuid" > "$WORK/explain.json"
check "explain API: valid JSON with the verdict and both sides" python3 - "$WORK/explain.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["outcome"] == "raced_failed", d
assert "POST was answered" in d["verdict"], d["verdict"]
sides = {e["side"] for e in d["events"]}
assert sides == {"registry", "store"}, sides
times = [e["time"] for e in d["events"]]
assert times == sorted(times), times
PY
check "explain API: unknown upload is 404" \
  bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/api/v1/uploads/nope) == 404 ]]"
curl -fsS "http://127.0.0.1:$port/api/v1/causes?since=24h" > "$WORK/causes.json"
check "causes API: counts by cause and repository with examples" python3 - "$WORK/causes.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
causes = {c["cause"]: c for c in d["causes"]}
c = causes["upload_not_yet_visible"]
assert c["count"] == 5, c
assert {r["repository"]: r["count"] for r in c["repositories"]} == {"lab/s3-async-create": 4, "lab/s3-async-create-curl": 1}, c
assert c["example"]["request_id"], c
PY
check "causes API: a bad since is a 400" \
  bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$port/api/v1/causes?since=banana') == 400 ]]"

# MinIO's audit webhook posts entries; they count like any store log line.
minio='{"version":"1","deploymentid":"x","time":"2026-11-29T12:51:00.100Z","trigger":"incoming","api":{"name":"NewMultipartUpload","bucket":"minio-registry","object":"docker/registry/v2/repositories/m/app/_uploads/11111111-2222-3333-4444-555555555555/data","status":"OK","statusCode":200,"timeToResponse":"2200000000ns"},"requestID":"17A","userAgent":"aws-sdk-go"}'
check "MinIO audit webhook accepted" curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "$minio" "http://127.0.0.1:$port/api/v1/ingest/minio-audit"
check "MinIO create counted" wait_for 10 metric_is "$port" \
  'registry_rca_s3_requests_total\{bucket="minio-registry",code="200",operation="create_multipart"\}' 1

# Hostile content: quotes, backslashes, control bytes, invalid UTF-8, a 10,000-character name.
long=$(head -c 10000 /dev/zero | tr '\0' 'a')
{
  printf 'time="2026-11-29T12:52:00Z" level=error msg="response completed with error" err.code=unknown err.detail="x\\"y\\\\z\001\033[31m\xff\xfe" http.request.id=h1 http.request.method=GET http.request.uri="/v2/%s/manifests/x" http.response.status=500 vars.name="%s"\n' "$long" "$long"
  printf 'time="2026-11-29T12:52:01Z" level=error msg="response completed with error" err.code=unknown err.detail="boom" http.request.id=h2 http.request.method=GET http.request.uri="/v2/ev\"il\\\\/manifests/x" http.response.status=500 vars.name="ev\\"il\\n\xc3\x28"\n'
} >> "$WORK/registry.log"
check "hostile lines are counted" wait_for 10 metric_is "$port" 'registry_rca_errors_total\{cause="unclassified".*repository="__invalid__"' 2
scrape "$port" > "$WORK/metrics.txt"
check "promtool check metrics accepts the exposition" \
  bash -c "promtool check metrics < '$WORK/metrics.txt' > '$WORK/promtool.log.err' 2>&1 && ! grep -q . '$WORK/promtool.log.err'"
curl -fsS "http://127.0.0.1:$port/api/v1/causes?since=24h" > "$WORK/causes2.json"
check "causes API stays valid JSON" python3 -c "import json,sys; json.load(open('$WORK/causes2.json'))"
finish
