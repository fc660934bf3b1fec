# Chromium helpers for the web UI's browser tests (sourced after common.sh): headless Debian
# chromium, its DOM as built, screenshots, and a layout measure of a page.
CHROMIUM=$(command -v chromium || true)
if [[ -z $CHROMIUM ]]; then
  echo "FAIL - chromium is missing: run scripts/install-deps.sh --test"
  exit 1
fi
ARTIFACTS=${RRCA_BUILD_DIR:-$WORK}/test-artifacts/ui
mkdir -p "$ARTIFACTS"
DOM=$RRCA_SOURCE_DIR/tests/e2e/lib/ui_dom.py

browser() {
  timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --no-first-run --user-data-dir="$WORK/chromium-profile" "$@" 2>>"$WORK/chromium.log.err"
}
dump_dom() { browser --dump-dom "$1" >"$2" && [[ -s $2 ]]; }
screenshot() { browser --window-size=1200,900 --screenshot="$2" "$1" >/dev/null && [[ -s $2 ]]; }

# layout_fits PAGE_FILE: the page (a file beside its style sheet), laid out 1000 px wide with
# every <details> opened, is no wider than that: long strings from logs wrap instead of pushing
# the page sideways. The measure runs in a wrapper page of the test's own (the UI's pages carry
# no script and their policy refuses any), which reads the framed page's scrollWidth.
layout_fits() {
  local page=$1 wrapper out
  wrapper="$(dirname "$page")/layout-$(basename "$page")"
  out="$wrapper.dom"
  cat >"$wrapper" <<HTML
<!doctype html><html><head><title>pending</title></head><body>
<iframe id="frame" src="$(basename "$page")" width="1000" height="700"></iframe>
<script>
document.getElementById('frame').addEventListener('load', function () {
  var d = this.contentDocument;
  d.querySelectorAll('details').forEach(function (e) { e.open = true; });
  document.title = 'layout ' + d.documentElement.scrollWidth + ' ' + d.documentElement.clientWidth;
});
</script></body></html>
HTML
  browser --allow-file-access-from-files --virtual-time-budget=5000 --dump-dom \
    "file://$wrapper" >"$out" || return 1
  local title
  title=$(grep -o '<title>layout [0-9]* [0-9]*</title>' "$out" | head -1)
  echo "    $(basename "$page"): $title" >&2
  [[ $title =~ layout\ ([0-9]+)\ ([0-9]+) ]] || return 1
  ((BASH_REMATCH[2] > 900 && BASH_REMATCH[1] <= BASH_REMATCH[2] + 2))
}

# save_page BASE PATH FILE: a daemon's page as served, beside its style sheet, for layout_fits.
save_page() {
  curl -fsS "$1$2" | sed 's#href="/ui/app.css"#href="app.css"#' >"$3" &&
    curl -fsS "$1/ui/app.css" >"$(dirname "$3")/app.css"
}
