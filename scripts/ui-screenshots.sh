#!/usr/bin/env bash
# Regenerates the README's screenshots of the web UI (docs/images/ui-*.png) with headless
# chromium: the timeline of the seed's upload (tests/testdata/correlation/seed: the incident's
# registry and radosgw lines, upload 9ac3ea44-…) and the overview on the bundled lab logs.
# Usage: scripts/ui-screenshots.sh BINARY [OUT_DIR]   (OUT_DIR: docs/images)
set -euo pipefail
binary=${1:?usage: ui-screenshots.sh BINARY [OUT_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/docs/images}
work=$(mktemp -d /tmp/registry-rca-screenshots.XXXXXX)
pid=
trap '[[ -n $pid ]] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$work"' EXIT
data=$root/tests/testdata
seed_upload=9ac3ea44-cbb6-4a1b-8048-6e59767c7370

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# serve NAME REGISTRY_PATHS STORE_PATHS: a daemon reading them from the start; sets base.
serve() {
  cat >"$work/$1.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths: [$2]
  - name: store
    type: s3
    paths: [$3]
start_at: beginning
positions_file: $work/$1-positions.json
poll_interval: 100ms
YAML
  local p
  p=$(port)
  "$binary" serve --config.file="$work/$1.yaml" --web.listen-address="127.0.0.1:$p" \
    >"$work/$1.out" 2>&1 &
  pid=$!
  base=http://127.0.0.1:$p
  for _ in $(seq 200); do curl -fs "$base/-/ready" >/dev/null && return 0; sleep 0.1; done
  echo "the daemon did not become ready: $(cat "$work/$1.out")" >&2
  return 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
shot() {
  timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$work/profile" --window-size=1200,"$3" --screenshot="$2" "$1" \
    >/dev/null 2>>"$work/chromium.err"
  echo "wrote $2"
}

serve seed "\"$data/correlation/seed/registry.log\"" "\"$data/correlation/seed/radosgw.log\""
# Decided once the store's create is read (the failed PATCH waits its retry window of log time).
for _ in $(seq 400); do
  curl -fs "$base/api/v1/uploads/$seed_upload" | grep -q '"outcome":"raced_failed"' && break
  sleep 0.1
done
curl -fs "$base/api/v1/uploads/$seed_upload" | grep -q '"outcome":"raced_failed"' ||
  { echo "the seed's upload was not decided raced_failed" >&2; exit 1; }
shot "$base/ui/uploads/$seed_upload" "$out/ui-timeline.png" 760
stop

lab=$data/corpus/lab
serve lab "$(printf '"%s", ' "$lab"/*/registry.log "$lab"/*/registry-access.log | sed 's/, $//')" \
  "$(printf '"%s", ' "$lab"/*/s3-access.log | sed 's/, $//')"
# Read to the end when two answers of the causes API half a second apart agree.
previous=
for _ in $(seq 60); do
  now=$(curl -fs "$base/api/v1/causes?since=24h" || true)
  [[ -n $now && $now == "$previous" ]] && break
  previous=$now
  sleep 0.5
done
shot "$base/?since=24h" "$out/ui-overview.png" 900
