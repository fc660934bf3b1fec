#!/usr/bin/env bash
# Torture test of the tailer against Debian's real logrotate.
#
# tail_writer appends N numbered lines at full speed (one write(2) per line) while logrotate -f
# rotates the file over and over with its own state file; tail_count follows the file with
# tailers::SourceWatcher and a daemon-like processing loop. Run twice:
#   create        rename + new file, postrotate HUPs the writer to reopen: nothing may be lost or
#                 duplicated.
#   copytruncate  copy, then truncate in place (Harbor's config): lines written between the copy
#                 and the truncate exist in no file and are lost by any tailer. The test measures
#                 that window from the files on disk and requires every line the tailer missed to
#                 be inside it, and nothing to be duplicated.
#   both again with a slow consumer: the processing loop sleeps per chunk, so the queue fills
#                 and the tailer waits (backpressure) while rotations go on, several of them
#                 before it reads on: same requirements.
#
# Env: RRCA_BUILD_DIR (set by ctest); TAILER_TORTURE_LINES (default 2000000);
# TAILER_ROTATE_PAUSE seconds between logrotate runs (default 0.05); KEEP_WORK=1 keeps the files.
set -euo pipefail

BUILD_DIR="${RRCA_BUILD_DIR:?run through ctest, or set RRCA_BUILD_DIR}"
TOOLS="$BUILD_DIR/tests/tools"
LINES="${TAILER_TORTURE_LINES:-2000000}"
PAUSE="${TAILER_ROTATE_PAUSE:-0.05}"
export PATH="$PATH:/usr/sbin:/sbin"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

ensure_logrotate() {
  command -v logrotate >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing logrotate with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q logrotate >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q logrotate >/dev/null 2>&1; } || true
  fi
  command -v logrotate >/dev/null || fail "logrotate is missing and cannot be installed (needs root and apt-get)"
}

# Waits until a file exists, at most $2 seconds.
wait_for_file() {
  local deadline=$((SECONDS + $2))
  until [ -e "$1" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $1"
    sleep 0.01
  done
}

# Prints the value of key=value in a file of such pairs.
figure() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }

PIDS=()
WORK=$(mktemp -d /tmp/rrca_tailer_logrotate.XXXXXX)
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

write_config() {
  local dir=$1 mode=$2
  {
    echo "$dir/app.log {"
    echo "  rotate 5000"
    echo "  nocompress"
    echo "  missingok"
    echo "  notifempty"
    if [ "$mode" = copytruncate ]; then
      echo "  copytruncate"
    else
      echo "  create"
      echo "  postrotate"
      echo "    kill -HUP \"\$(cat $dir/writer.pid)\""
      echo "  endscript"
    fi
    echo "}"
  } >"$dir/logrotate.conf"
  chmod 600 "$dir/logrotate.conf"  # logrotate ignores configs others can write
}

run_mode() {
  local mode=$1 delay_us=${2:-0} dir="$WORK/$1-${2:-0}"
  mkdir -p "$dir"
  chmod 700 "$dir"
  : >"$dir/app.log"
  write_config "$dir" "$mode"

  "$TOOLS/tail_count" --follow "$dir/app.log" --expect "$LINES" --done_file "$dir/done" \
    --ready_file "$dir/ready" --missing_out "$dir/tailer.missing" \
    --positions "$dir/positions.json" --consumer_delay_us "$delay_us" \
    >"$dir/count.out" 2>"$dir/count.err" &
  local count_pid=$!
  PIDS+=("$count_pid")
  wait_for_file "$dir/ready" 30

  local start=$SECONDS
  "$TOOLS/tail_writer" --path "$dir/app.log" --lines "$LINES" --pid_file "$dir/writer.pid" \
    >"$dir/writer.out" &
  local writer_pid=$!
  PIDS+=("$writer_pid")
  wait_for_file "$dir/writer.pid" 30
  local runs=0
  while kill -0 "$writer_pid" 2>/dev/null; do
    logrotate -f -s "$dir/state" "$dir/logrotate.conf" 2>>"$dir/logrotate.err" || true
    runs=$((runs + 1))
    sleep "$PAUSE"
  done
  wait "$writer_pid" || fail "$mode: tail_writer failed"
  local write_seconds=$((SECONDS - start))
  touch "$dir/done"
  wait "$count_pid" || { cat "$dir/count.err" >&2; fail "$mode: tail_count did not finish"; }

  local rotated
  rotated=$(find "$dir" -maxdepth 1 -name 'app.log.*' | wc -l)
  "$TOOLS/tail_count" --scan --expect "$LINES" --missing_out "$dir/disk.missing" \
    "$dir"/app.log "$dir"/app.log.* >"$dir/scan.out"
  local tailer_missing disk_missing unexplained duplicates out_of_range
  tailer_missing=$(wc -l <"$dir/tailer.missing")
  disk_missing=$(wc -l <"$dir/disk.missing")
  unexplained=$(grep -cvxFf "$dir/disk.missing" "$dir/tailer.missing" || true)
  duplicates=$(figure "$dir/count.out" tailer_duplicates)
  out_of_range=$(figure "$dir/count.out" out_of_range)

  echo "== $mode (consumer delay ${delay_us}us per chunk): $LINES lines written in ~${write_seconds}s, logrotate ran $runs times," \
    "$rotated rotated files"
  echo "   tailer: $(cat "$dir/count.out")"
  echo "   disk:   $(cat "$dir/scan.out")"
  echo "   $(cat "$dir/writer.out")"
  [ -s "$dir/logrotate.err" ] && { echo "   logrotate stderr:"; sed 's/^/     /' "$dir/logrotate.err" | head -5; }

  [ "$rotated" -ge 3 ] || fail "$mode: only $rotated rotations happened during the write; nothing was tested"
  [ "$rotated" -lt 5000 ] || fail "$mode: logrotate deleted old copies; the disk count is incomplete"
  [ "$duplicates" = 0 ] || fail "$mode: $duplicates lines were counted twice"
  [ "$out_of_range" = 0 ] || fail "$mode: $out_of_range lines with unknown numbers"
  [ "$unexplained" = 0 ] ||
    fail "$mode: $unexplained lines are in a file on disk but the tailer missed them" \
      "(first: $(grep -vxFf "$dir/disk.missing" "$dir/tailer.missing" | head -3 | tr '\n' ' '))"
  if [ "$mode" = create ]; then
    [ "$disk_missing" = 0 ] || fail "create: $disk_missing lines are missing on disk (writer bug?)"
    [ "$tailer_missing" = 0 ] || fail "create: the tailer lost $tailer_missing lines"
    [ "$(figure "$dir/count.out" rotations)" -ge 3 ] || fail "create: the tailer saw < 3 rotations"
    echo "   OK: rename rotation lost nothing and duplicated nothing"
  else
    [ "$(figure "$dir/count.out" truncations)" -ge 3 ] || fail "copytruncate: tailer saw < 3 truncations"
    echo "   copytruncate window: $disk_missing of $LINES lines are in no file. logrotate copies" \
      "in 8 KiB read/write steps up to EOF, fsyncs the copy, then truncates: lines written after" \
      "its last read (mostly during the fsync) exist only until the truncate, and are lost for" \
      "any tailer that had not read them yet. This tailer read $((disk_missing - tailer_missing))" \
      "of them before the truncate and missed $tailer_missing, all inside that window."
    echo "   OK: every missed line is explained by the copytruncate window; nothing duplicated"
  fi
  [ "${KEEP_WORK:-0}" = 1 ] || rm -f "$dir"/app.log*  # ~100 MB per mode
}

ensure_logrotate
[ -x "$TOOLS/tail_writer" ] && [ -x "$TOOLS/tail_count" ] || fail "build tail_writer and tail_count first"
run_mode create 0
run_mode copytruncate 0
run_mode create 10000
run_mode copytruncate 10000
for slow in create-10000 copytruncate-10000; do
  [ "$(figure "$WORK/$slow/count.out" queue_full_waits)" -gt 0 ] ||
    fail "$slow: the slow consumer never filled the queue: backpressure was not tested"
done
echo "PASS"
