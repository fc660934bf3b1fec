#!/usr/bin/env bash
# Exactly once for what a user counts: responses and errors, not lines. A registry writes its
# application log and its access log to two files (the access log in a file of its own, so each
# access line waits access_window for a partner), and the requests are of the kinds that wait in
# the joiner across a restart:
#   * access-only successes (no application line at all): counted after access_window;
#   * PATCH 500s whose error line comes first and whose summary comes 0.5-3 s later (a long
#     join), with their access line in the other file after the summary: one error each.
# The daemon is stopped at random moments, with SIGKILL and then, in a second run, with SIGTERM,
# and restarted; a scraper reads /metrics every 200 ms. increase() over the scrapes of
# registry_rca_responses_total and registry_rca_errors_total must equal what was written: a
# response waiting at a scrape is carried over in the positions file, one counted is not
# counted again, and one counted after the last scrape is counted again by the next process.
source "$(dirname "$0")/lib/common.sh"
REQUESTS=${RRCA_RESTART_REQUESTS:-3000}
KILLS=${RRCA_RESTART_KILLS:-6}
SEED=${RRCA_SEED:-$RANDOM}

run_scenario() {  # run_scenario KILL|TERM
  local signal=$1 dir="$WORK/$1"
  mkdir -p "$dir"
  : > "$dir/app.log"
  : > "$dir/access.log"
  cat > "$dir/config.yaml" <<EOF
sources:
  - name: app
    type: registry
    paths: ["$dir/app.log"]
  - name: access
    type: registry
    paths: ["$dir/access.log"]
start_at: beginning
positions_file: $dir/positions.json
poll_interval: 50ms
access_window: 3s
join_window: 10s
EOF
  python3 - "$dir" "$RRCA_BIN" "$(free_port)" "$REQUESTS" "$KILLS" "$SEED" "$signal" \
    <<'PY' > "$dir/restart.out" 2> "$dir/restart.log.err"
import datetime, json, os, random, shutil, signal, sys, threading, time
sys.path.insert(0, os.environ["RRCA_SOURCE_DIR"] + "/tests/e2e/lib")
from restart_harness import Harness
work, binary, port, n, kills, seed, sig = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7]), sys.argv[7]
random.seed(seed)
harness = Harness(work, binary, port, kills_wait_for_scrapes=True,
                  stop_signal=signal.SIGKILL if sig == "KILL" else signal.SIGTERM)

def logrus_time(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

def access_time(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")

def request_fields(i):
    uuid = f"00000000-0000-4000-8000-{i:012d}"
    uri = f"/v2/lab/restart/blobs/uploads/{uuid}"
    return uuid, uri, (f'http.request.id=req-{i} http.request.method=PATCH http.request.uri="{uri}" '
                       f'vars.name=lab/restart vars.uuid={uuid}')

def error_line(i, t):
    uuid, uri, fields = request_fields(i)
    return (f'time="{logrus_time(t)}" level=error msg="error resolving upload: s3aws: Path not found: '
            f'/docker/registry/v2/repositories/lab/restart/_uploads/{uuid}/data" {fields}\n')

def summary_line(i, t, started):
    uuid, uri, fields = request_fields(i)
    return (f'time="{logrus_time(t)}" level=error msg="response completed with error" err.code=unknown '
            f'err.detail="s3aws: Path not found: /docker/registry/v2/repositories/lab/restart/_uploads/'
            f'{uuid}/data" err.message="unknown error" {fields} http.response.duration={t - started:.6f}s '
            f'http.response.status=500\n')

def patch_access_line(i, t):
    uuid, uri, fields = request_fields(i)
    return f'127.0.0.1 - - [{access_time(t)}] "PATCH {uri} HTTP/1.1" 500 203 "" "writer n={i}"\n'

def get_access_line(i, t):
    return (f'127.0.0.1 - - [{access_time(t)}] "GET /v2/lab/restart/blobs/sha256:{i:064x} HTTP/1.1" '
            f'200 2 "" "writer n={i}"\n')

errors = 0
def writer():
    """Batches every 50 ms: new access-only GETs, new PATCH error lines, and the summaries (then
    their access lines) of PATCHes whose error line is 0.5-3 s old."""
    global errors
    waiting = []  # (due, i, started)
    i = 0
    app = open(os.path.join(work, "app.log"), "a")
    access = open(os.path.join(work, "access.log"), "a")
    while i < n or waiting:
        now = time.time()
        for _ in range(20):
            if i >= n:
                break
            if i % 4 == 0:
                app.write(error_line(i, now))
                waiting.append((now + random.uniform(0.5, 3.0), i, now))
                errors += 1
            else:
                access.write(get_access_line(i, now))
            i += 1
        due = [w for w in waiting if w[0] <= now]
        waiting = [w for w in waiting if w[0] > now]
        for _, k, started in due:
            app.write(summary_line(k, now, started))
        app.flush()
        for _, k, started in due:
            access.write(patch_access_line(k, started))
        access.flush()
        time.sleep(0.05)

harness.start()
harness.thread.start()
writing = threading.Thread(target=writer); writing.start()
for k in range(kills):
    time.sleep(random.uniform(0.5, 2.0))
    harness.kill()
    harness.samples.append(("killed", None))
    if os.path.exists(f"{work}/positions.json"):  # for the post-mortem of a failed run
        shutil.copy(f"{work}/positions.json", f"{work}/positions.{k}.json")
    time.sleep(random.uniform(0, 0.5))
    harness.start()
writing.join()
harness.finish(n, "registry_rca_responses_total", settle=6.0)  # > access_window: no late double
json.dump(harness.samples, open(f"{work}/samples.json", "w"))
print(f"signal={sig} seed={seed} requests={n} errors_written={errors} kills={kills} "
      f"scrapes={harness.scrapes()} responses={harness.increase('registry_rca_responses_total')} "
      f"errors={harness.increase('registry_rca_errors_total')}")
PY
  cat "$dir/restart.out"
  local errors_written
  errors_written=$(sed -n 's/.*errors_written=\([0-9]*\).*/\1/p' "$dir/restart.out")
  check "SIG$signal: increase(registry_rca_responses_total) equals the $REQUESTS responses written" \
    grep -q " responses=$REQUESTS " "$dir/restart.out"
  check "SIG$signal: increase(registry_rca_errors_total) equals the $errors_written errors written" \
    grep -q " errors=${errors_written:-missing}\$" "$dir/restart.out"
}

run_scenario KILL
run_scenario TERM
finish
