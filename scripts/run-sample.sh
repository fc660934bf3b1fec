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
echo "Serving until Ctrl-C (config: $work/config.yaml)."
wait $pid
