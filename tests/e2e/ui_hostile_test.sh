#!/usr/bin/env bash
# Hostile log content in a real browser (headless chromium), on the daemon's pages and in
# analyze's HTML report opened from disk: repository names, URIs, error details and store keys
# carrying <script>, quotes, javascript: URLs and 5,000-character strings must render as text
# (no element injected, no script run: a payload would set document.title or add an element),
# the raw log lines included; and the layout must hold (long strings wrap: the page laid out
# 1000 px wide stays 1000 px wide). Screenshots in $RRCA_BUILD_DIR/test-artifacts/ui.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/ui_browser.sh"

lab=$TESTDATA/corpus/lab/s3-async-create
uuid=$(grep -m1 'Path not found' "$lab/registry.log" | grep -o '_uploads/[0-9a-f-]\{36\}/data' | cut -d/ -f2)
long=$(printf 'W%.0s' $(seq 5000))
script="<script>document.title='pwned'</script>"
img="<img src=x onerror=\"document.body.appendChild(document.createElement('marquee'))\">"
jsurl="javascript:document.title='pwned'"
# The lab's incident with the raced upload's lines made hostile: its error detail, URI and
# repository name in the registry's log, its store key and error code in the store's log.
python3 - "$lab" "$WORK" "$uuid" "$long" "$script" "$img" "$jsurl" <<'PY'
import sys
lab, work, uuid, long, script, img, jsurl = sys.argv[1:]
hostile = f'{script} {img} "{jsurl}" {long}'
def rewrite(name, change):
    with open(f"{lab}/{name}") as f, open(f"{work}/{name}", "w") as out:
        for line in f:
            out.write(change(line) if uuid in line else line)
def registry(line):
    line = line.replace("Path not found: ", "Path not found: " + hostile.replace('"', '\\"') + " ")
    line = line.replace("vars.name=lab/s3-async-create",
                        'vars.name="lab/s3-async-create' + script.replace('"', '\\"') + '"')
    return line.replace('http.request.uri="/v2/', 'http.request.uri="/v2/' + jsurl + long + '/')
def access(line):  # the same URI as the application log's, so that both still join
    return line.replace(' /v2/', ' /v2/' + jsurl + long + '/')
def store(line):
    return line.replace(f"_uploads/{uuid}/startedat",
                        f"_uploads/{uuid}/startedat" + script.replace(" ", "%20") + long)
rewrite("registry.log", registry)
rewrite("registry-access.log", access)
rewrite("s3-access.log", store)
PY
check "the hostile copies differ from the lab's logs" \
  bash -c "! cmp -s '$lab/registry.log' '$WORK/registry.log' && ! cmp -s '$lab/s3-access.log' '$WORK/s3-access.log'"
registry_store_config "$WORK/config.yaml"
port=$(free_port)
base=http://127.0.0.1:$port
check "daemon becomes ready" start_daemon ui "$WORK/config.yaml" "$port"
check "the hostile upload has a timeline" \
  wait_for 30 bash -c "curl -fs '$base/api/v1/uploads/$uuid' | grep -q '\"outcome\":\"raced_'"
curl -fs "$base/api/v1/uploads/$uuid" >"$WORK/explain.json" || true
check "the hostile store key reached the timeline" grep -qF "startedat<script>" "$WORK/explain.json"

# Every page where log content shows, as chromium builds it: inert, and the layout holds.
mkdir -p "$WORK/pages"
declare -A pages=(
  [timeline]="/ui/uploads/$uuid"
  [cause]="/ui/causes/upload_not_yet_visible?since=24h"
  [overview]="/?since=24h"
  [search]="/ui/search?q=lab%2Fs3-async-create"
)
for name in timeline cause overview search; do
  check "chromium renders the $name page" dump_dom "$base${pages[$name]}" "$WORK/$name.html"
  check "the $name page holds no injected element and ran no script" \
    python3 "$DOM" inert "$WORK/$name.html"
  save_page "$base" "${pages[$name]}" "$WORK/pages/$name.html"
  check "the $name page laid out 1000 px wide stays 1000 px wide" layout_fits "$WORK/pages/$name.html"
done
check "the hostile store key is shown as text on the timeline" \
  python3 "$DOM" inert "$WORK/timeline.html" "startedat$script"
check "the hostile error detail is shown as text on the cause page" \
  python3 "$DOM" inert "$WORK/cause.html" "Path not found: $script $img"
check "screenshot of the hostile timeline" screenshot "$base${pages[timeline]}" "$ARTIFACTS/hostile-timeline.png"

# analyze's HTML report of the same hostile logs, opened from disk.
"$RRCA_BIN" analyze --format=html --s3-log="$WORK/s3-access.log" \
  "$WORK/registry.log" "$WORK/registry-access.log" >"$WORK/pages/report.html" 2>"$WORK/analyze.log.err"
check "analyze writes the HTML report" test -s "$WORK/pages/report.html"
check "chromium renders the report from disk" dump_dom "file://$WORK/pages/report.html" "$WORK/report.html"
check "the report holds no injected element and ran no script" \
  python3 "$DOM" inert "$WORK/report.html" "startedat$script" "Path not found: $script $img"
check "the report loads nothing and links nowhere outside itself" \
  python3 "$DOM" offline "$WORK/report.html"
check "the report's raw lines show the hostile text as text, a long one cut with its marker" \
  python3 "$DOM" rawlines "$WORK/report.html" "$script" "$jsurl" "…[truncated: "
check "the report draws the hostile upload with its raw lines" \
  python3 "$DOM" report "$WORK/report.html" "$uuid"
check "the report laid out 1000 px wide stays 1000 px wide" layout_fits "$WORK/pages/report.html"
check "screenshot of the hostile report" screenshot "file://$WORK/pages/report.html" \
  "$ARTIFACTS/hostile-report.png"
finish
