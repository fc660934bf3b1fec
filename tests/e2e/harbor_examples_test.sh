#!/usr/bin/env bash
# The example configurations of the hops in front of the registry (examples/harbor.yaml,
# kubernetes.yaml, gitlab.yaml): `registry-rca check` accepts each, and the README quotes each
# one whole (its ```yaml block that starts with the file's name), so the README cannot drift from
# what is tested. Then each is run for real: its paths pointed at the real lines of
# tests/testdata (Harbor's lab capture, the GitLab lines), `serve` must read every line and count
# nginx's errors at the proxy hop.
source "$(dirname "$0")/lib/common.sh"

EXAMPLES=$RRCA_SOURCE_DIR/examples
for name in harbor kubernetes gitlab; do
  check "check accepts examples/$name.yaml" \
    "$RRCA_BIN" check --config.file="$EXAMPLES/$name.yaml"
  # The README's block for this file: from "# examples/<name>.yaml" to the closing fence.
  python3 - "$RRCA_SOURCE_DIR/README.md" "$EXAMPLES/$name.yaml" "$WORK/$name.readme" <<'PY'
import sys
readme, example, out = sys.argv[1:]
lines = open(readme).read().split("\n")
marker = "# " + example.split("/")[-2] + "/" + example.split("/")[-1]
for i, line in enumerate(lines):
    if line.strip() == marker and i > 0 and lines[i - 1].startswith("```yaml"):
        end = lines.index("```", i)
        open(out, "w").write("\n".join(lines[i + 1:end]) + "\n")
        break
PY
  check "README quotes examples/$name.yaml whole" \
    bash -c "[[ -s '$WORK/$name.readme' ]] && diff <(grep -v '^#' '$EXAMPLES/$name.yaml') '$WORK/$name.readme'"
done

# Harbor's example on the lab capture: the three paths moved into $WORK.
LAB=$TESTDATA/harbor/lab
mkdir -p "$WORK/harbor"
cp "$LAB/registry.log" "$WORK/harbor/registry.log"
cp "$LAB/proxy.log" "$WORK/harbor/proxy.log"
printf '%s\n' "2026/12/07 10:38:07 http: proxy error: context canceled" >"$WORK/harbor/core.log"
PORT=$(free_port)
sed -e "s|/var/log/harbor|$WORK/harbor|g" -e "s|start_at: end|start_at: beginning|" \
  "$EXAMPLES/harbor.yaml" >"$WORK/harbor.yaml"
printf 'positions_file: %s\njoin_window: 2s\npoll_interval: 100ms\n' "$WORK/harbor.pos" \
  >>"$WORK/harbor.yaml"
start_daemon harbor "$WORK/harbor.yaml" "$PORT"
lines=$(($(wc -l <"$LAB/proxy.log") + $(wc -l <"$LAB/registry.log") + 1))
check "examples/harbor.yaml reads all three files ($lines lines)" \
  wait_for 30 metric_is "$PORT" 'registry_rca_lines_read_total\{' "$lines"
check "and counts nginx's 4 errors at the proxy hop" \
  wait_for 30 metric_is "$PORT" 'registry_rca_hop_errors_total\{[^}]*hop="proxy"' 4

# GitLab's example on the real GitLab lines (registry JSON, gitlab_access.log).
mkdir -p "$WORK/gitlab/registry" "$WORK/gitlab/nginx"
cp "$TESTDATA/gitlab/registry.log" "$WORK/gitlab/registry/current"
cp "$TESTDATA/gitlab/gitlab_access.log" "$WORK/gitlab/nginx/gitlab_registry_access.log"
: >"$WORK/gitlab/nginx/gitlab_registry_error.log"
PORT2=$(free_port)
sed -e "s|/var/log/gitlab|$WORK/gitlab|g" -e "s|start_at: end|start_at: beginning|" \
  "$EXAMPLES/gitlab.yaml" >"$WORK/gitlab.yaml"
printf 'positions_file: %s\njoin_window: 2s\npoll_interval: 100ms\n' "$WORK/gitlab.pos" \
  >>"$WORK/gitlab.yaml"
start_daemon gitlab "$WORK/gitlab.yaml" "$PORT2"
check "examples/gitlab.yaml reads every line (3 registry + 5 nginx)" \
  wait_for 30 metric_is "$PORT2" 'registry_rca_lines_read_total\{' 8
check "no GitLab line skipped" metric_is "$PORT2" 'registry_rca_lines_skipped_total\{' 0
check "GitLab's nginx 502 is counted once at the proxy hop" \
  wait_for 30 metric_is "$PORT2" 'registry_rca_hop_errors_total\{[^}]*code="502"[^}]*hop="proxy"' 1
finish
