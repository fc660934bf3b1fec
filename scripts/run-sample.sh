#!/usr/bin/env bash
# `make run`: the daemon on the logs bundled in tests/testdata/corpus (a real registry 2.8 on
# Ceph RGW with faults injected, and the incident's Harbor lines). Shows the first metrics, then
# keeps serving until Ctrl-C.
set -euo pipefail
binary=${1:?usage: run-sample.sh BINARY [PORT]}
port=${2:-9479}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/registry-rca-sample.XXXXXX)
corpus=$root/tests/testdata/corpus
cat > "$work/config.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths:
      - $corpus/seed/registry.log
      - $corpus/lab/*/registry.log
      - $corpus/lab/*/registry-access.log
  # The store's side of the same pushes: create-to-visible and the upload timelines need it.
  - name: store
    type: s3
    paths:
      - $corpus/lab/*/s3-access.log
start_at: beginning
positions_file: $work/positions.json
YAML
"$binary" serve --config.file="$work/config.yaml" --web.listen-address="127.0.0.1:$port" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT INT TERM
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 3  # the sample files are read at once; access lines wait a moment for their summaries
echo
echo "== registry-rca is serving http://127.0.0.1:$port/metrics — error responses by cause:"
curl -fs "http://127.0.0.1:$port/metrics" | grep '^registry_rca_errors_total' | grep -v ' 0$' || true
echo
echo "== the same logs as a report: $binary analyze $corpus/seed/registry.log"
"$binary" analyze "$corpus/seed/registry.log"
echo
# A raced upload of the async-create lab run: its timeline is the incident's picture.
# (An upload is decided once the logs moved past its retry window, or after a quiet while.)
raced=""
failed=$(grep 'Path not found' "$corpus/lab/s3-async-create/registry.log" |
  grep -o '_uploads/[0-9a-f-]\{36\}/data' | cut -d/ -f2 | awk '!seen[$0]++')
for _ in $(seq 30); do
  for uuid in $failed; do
    if curl -fs "http://127.0.0.1:$port/api/v1/uploads/$uuid" | grep -q '"outcome":"raced_'; then
      raced=$uuid
      break 2
    fi
  done
  sleep 1
done
echo "== open in a browser:"
echo "   http://127.0.0.1:$port/                      the landing page and search"
[[ -n $raced ]] && echo "   http://127.0.0.1:$port/ui/uploads/$raced   the timeline of a raced upload"
echo
echo "Serving until Ctrl-C (config: $work/config.yaml)."
wait $pid
