#!/usr/bin/env bash
# The web UI in a real browser (Debian's chromium, headless): the daemon reads the lab's
# async-create incident (registry log, access log and the store's access log); the timeline page
# of a raced upload, as chromium builds its DOM, must show what the JSON API says (lanes, every
# event, the verdict, the visibility interval, the race mark). Then log content written by an
# attacker (markup and script in the store's error code and key) must stay inert text, on the
# timeline and on the search page. Last, analyze's HTML report of the same logs, opened from
# disk, draws every raced upload with the raw lines and loads nothing. Screenshots are kept in
# $RRCA_BUILD_DIR/test-artifacts/ui. (Hostile content and the layout: ui_hostile_test.sh.)
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ui_browser.sh"

lab=$TESTDATA/corpus/lab/s3-async-create
cp "$lab/registry.log" "$lab/registry-access.log" "$lab/s3-access.log" "$WORK/"
registry_store_config "$WORK/config.yaml"
port=$(free_port)
base=http://127.0.0.1:$port
check "daemon becomes ready" start_daemon ui "$WORK/config.yaml" "$port"

# The uploads whose PATCH failed with the incident's error, in log order.
mapfile -t failed < <(grep 'Path not found' "$lab/registry.log" |
  grep -o '_uploads/[0-9a-f-]\{36\}/data' | cut -d/ -f2 | awk '!seen[$0]++')
check "the lab log has uploads that failed on visibility" test "${#failed[@]}" -ge 1
raced_upload() {
  local uuid
  for uuid in "${failed[@]}"; do
    if curl -fs "$base/api/v1/uploads/$uuid" | grep -q '"outcome":"raced_'; then
      echo "$uuid"
      return 0
    fi
  done
  return 1
}
check "an upload is decided raced" wait_for 30 raced_upload
uuid=$(raced_upload || true)
curl -fs "$base/api/v1/uploads/$uuid" >"$WORK/explain.json" || true
# The daemon keeps each event's raw log line: every event of the raced upload has its line, and
# its failed PATCH's line is the registry's error naming the upload.
check "every event of the raced upload carries its raw log line" \
  python3 -c '
import json, sys
events = json.load(open(sys.argv[1]))["events"]
patch = [e["line"] for e in events if e["what"].startswith("PATCH 500")]
sys.exit(0 if events and all(isinstance(e.get("line"), str) for e in events) and patch
         and "Path not found" in patch[0] and sys.argv[2] in patch[0] else 1)
' "$WORK/explain.json" "$uuid"

# The timeline as the browser builds it, against the API.
check "chromium renders the timeline" dump_dom "$base/ui/uploads/$uuid" "$WORK/timeline.html"
check "the timeline shows the API's lanes, events, verdict, visibility and race" \
  python3 "$DOM" timeline "$WORK/timeline.html" "$WORK/explain.json"
check "screenshot of the timeline" screenshot "$base/ui/uploads/$uuid" "$ARTIFACTS/timeline.png"

curl -fsS -D "$WORK/page.headers" -o /dev/null "$base/ui/uploads/$uuid" || true
check "the page forbids script and inline style (Content-Security-Policy)" \
  grep -qi "^Content-Security-Policy: default-src 'none'; style-src 'self';" "$WORK/page.headers"
etag=$(curl -fsS -D - -o /dev/null "$base/ui/app.css" | tr -d '\r' | sed -n 's/^ETag: //Ip')
check "the style sheet has an ETag" test -n "$etag"
check "the style sheet is answered 304 when it did not change" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/ui/app.css")" = 304
check "the style sheet is small (under 8 KiB)" \
  test "$(curl -fsS "$base/ui/app.css" | wc -c)" -lt 8192

check "search by UUID redirects to the timeline" \
  bash -c "curl -fsS -o /dev/null -w '%{http_code} %{redirect_url}' '$base/ui/search?q=$uuid' |
    grep -qx '302 $base/ui/uploads/$uuid'"
check "chromium follows the search to the timeline" dump_dom "$base/ui/search?q=+$uuid+" "$WORK/search.html"
check "the searched page is the upload's" \
  python3 "$DOM" timeline "$WORK/search.html" "$WORK/explain.json"
check "an unknown upload is a 404 page" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$base/ui/uploads/00000000-0000-0000-0000-000000000000")" = 404

# The overview: the causes of the last hour of log time, as the causes API counts them.
curl -fs "$base/api/v1/causes?since=1h" >"$WORK/causes.json" || true
check "chromium renders the overview" dump_dom "$base/" "$WORK/overview.html"
check "the overview lists the API's causes in order with the total" \
  python3 "$DOM" overview "$WORK/overview.html" "$WORK/causes.json"
check "the overview links the metrics" grep -q 'href="/metrics"' "$WORK/overview.html"
curl -fs "$base/api/v1/latency" >"$WORK/latency.json" || true
check "uploads were seen visible (the latency API counts them)" \
  python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["create_to_visible_seconds"]["count"] > 0' "$WORK/latency.json"
check "the overview shows the latency API's create-to-visible percentiles" \
  python3 -c '
import json, sys
latency = json.load(open(sys.argv[1]))["create_to_visible_seconds"]
html = open(sys.argv[2]).read()
row = html[html.index("data-family=\"create_to_visible_seconds\""):]
row = row[:row.index("</tr>")]
assert ">%d<" % latency["count"] in row, row
assert "%.3f s" % latency["p50"] in row, row
' "$WORK/latency.json" "$WORK/overview.html"
check "the overview links a raced upload's timeline" grep -q 'href="/ui/uploads/' "$WORK/overview.html"
check "screenshot of the overview" screenshot "$base/" "$ARTIFACTS/overview.png"
check "a malformed window is refused with a page" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$base/?since=soon")" = 400

# The cause page of the incident's cause, from the overview's link.
cause_url="$base/ui/causes/upload_not_yet_visible?since=1h"
check "the overview links the cause page" grep -qF 'href="/ui/causes/upload_not_yet_visible?since=1h"' "$WORK/overview.html"
curl -fs "$base/api/v1/causes/upload_not_yet_visible?since=1h" >"$WORK/cause.json" || true
check "chromium renders the cause page" dump_dom "$cause_url" "$WORK/cause.html"
check "the cause page shows the API's summary, examples and uploads" \
  python3 "$DOM" cause "$WORK/cause.html" "$WORK/cause.json"
check "screenshot of the cause page" screenshot "$cause_url" "$ARTIFACTS/cause.png"
check "an unknown cause is a 404 page" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$base/ui/causes/no_such_cause")" = 404
check "an unknown cause is a 404 in the API" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/causes/no_such_cause")" = 404

# Search by a request id and by a repository: the recent errors that carry them.
request_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["examples"][0]["request_id"])' "$WORK/cause.json" 2>/dev/null || true)
check "the cause's latest example has a request id" test -n "$request_id"
check "chromium renders the search for a request id" dump_dom "$base/ui/search?q=$request_id" "$WORK/search-request.html"
check "the request's error is found, linked to its cause" \
  bash -c "grep -c '<tr class=\"match\">' '$WORK/search-request.html' | grep -qx 1 &&
    grep -qF 'href=\"/ui/causes/upload_not_yet_visible?since=24h\"' '$WORK/search-request.html'"
check "search by repository lists its errors" \
  bash -c "curl -fsS '$base/ui/search?q=lab%2Fs3-async-create' | grep -c '<tr class=\"match\">' | grep -qvx 0"

# Hostile log content: the store log is written by whoever controls the store's logging. A line
# for the same upload carries markup in its key and error code; it must show up as text.
script_key="<script>document.title='pwned'</script>"
img_code="<img/src=x/onerror=document.title='pwned'>"
grep -m1 "$uuid/startedat" "$lab/s3-access.log" |
  sed "s#_uploads/$uuid/startedat#_uploads/$uuid/$script_key#g; s# 200 - - # 403 $img_code - #" \
    >>"$WORK/s3-access.log"
check "the hostile store line reached the upload's timeline" \
  wait_for 20 bash -c "curl -fs '$base/api/v1/uploads/$uuid' | grep -qF 'onerror'"
check "chromium renders the timeline with hostile content" \
  dump_dom "$base/ui/uploads/$uuid" "$WORK/hostile.html"
check "hostile key and error code are inert text" \
  python3 "$DOM" inert "$WORK/hostile.html" "$script_key" "$img_code"
check "screenshot of the timeline with hostile content" \
  screenshot "$base/ui/uploads/$uuid" "$ARTIFACTS/timeline-hostile.png"
hostile_query='<script>document.title="pwned"</script>"><img/src=x/onerror=alert(1)>'
encoded=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$hostile_query")
check "chromium renders a search for markup" dump_dom "$base/ui/search?q=$encoded" "$WORK/search-hostile.html"
check "the searched markup is inert text" \
  python3 "$DOM" inert "$WORK/search-hostile.html" "$hostile_query"

# analyze --format=html on the lab's logs, opened from disk: every raced upload (as the text
# report names them) drawn with its raw lines, the overview's causes, nothing loaded.
"$RRCA_BIN" analyze --format=html --s3-log="$lab/s3-access.log" \
  "$lab/registry.log" "$lab/registry-access.log" >"$WORK/report.html" 2>"$WORK/analyze.log.err"
"$RRCA_BIN" analyze --s3-log="$lab/s3-access.log" "$lab/registry.log" "$lab/registry-access.log" \
  >"$WORK/report.txt" 2>>"$WORK/analyze.log.err" || true
mapfile -t raced < <(grep -o 'upload [0-9a-f-]\{36\} (raced' "$WORK/report.txt" | cut -d' ' -f2)
check "the text report names raced uploads" test "${#raced[@]}" -ge 1
check "chromium renders the report from disk" dump_dom "file://$WORK/report.html" "$WORK/report-dom.html"
check "the report draws every raced upload: lanes, events, raw lines, verdict, race mark" \
  python3 "$DOM" report "$WORK/report-dom.html" "${raced[@]}"
check "the report loads nothing and links nowhere outside itself" \
  python3 "$DOM" offline "$WORK/report-dom.html"
check "the report holds no injected element" python3 "$DOM" inert "$WORK/report-dom.html"
check "the report's overview lists the causes of the logs" \
  grep -q 'data-cause="upload_not_yet_visible"' "$WORK/report-dom.html"
check "screenshot of the report" screenshot "file://$WORK/report.html" "$ARTIFACTS/report.png"

# Harbor's nginx in front (the lab's proxy.log): the report draws its responses (the 504 of a
# PATCH that timed out upstream, ...) in a lane above the registry's, with their raw lines.
harbor=$TESTDATA/harbor/lab
"$RRCA_BIN" analyze --format=html --proxy-log="$harbor/proxy.log" "$harbor/registry.log" \
  >"$WORK/harbor-report.html" 2>>"$WORK/analyze.log.err"
check "chromium renders the Harbor report from disk" \
  dump_dom "file://$WORK/harbor-report.html" "$WORK/harbor-report-dom.html"
check "the Harbor report draws the proxy's 504, 502 and 499 above the registry, with their lines" \
  python3 "$DOM" hops "$WORK/harbor-report-dom.html" 504 502 499
check "the Harbor report loads nothing and links nowhere outside itself" \
  python3 "$DOM" offline "$WORK/harbor-report-dom.html"
finish
