#!/usr/bin/env bash
# Exactly once, as Prometheus sees it: a writer appends N numbered access-log lines at full speed while the
# daemon is killed with SIGKILL at random moments and restarted, and a scraper reads /metrics
# every 200 ms. Summing the counter's increases across resets the way increase() does must give
# exactly N: lines counted after the last scrape before a kill are read again, earlier ones not.
# A reset is a drop of the value or a new process_start_time_seconds (a restarted daemon that
# catches up on a backlog can pass its old value before its first scrape; the start time is how
# a reader tells, e.g. `resets()` alone would miss it).
source "$(dirname "$0")/lib/common.sh"
N=${RRCA_RESTART_LINES:-200000}
KILLS=${RRCA_RESTART_KILLS:-8}

registry_config "$WORK/config.yaml" "poll_interval: 50ms"
: > "$WORK/registry.log"
port=$(free_port)

python3 - "$WORK" "$RRCA_BIN" "$port" "$N" "$KILLS" <<'PY' > "$WORK/restart.out" 2> "$WORK/restart.log.err"
import os, random, sys, threading, time
sys.path.insert(0, os.environ["RRCA_SOURCE_DIR"] + "/tests/e2e/lib")
from restart_harness import ACCESS_LINE, Harness
work, binary, port, n, kills = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
random.seed(7)
log = os.path.join(work, "registry.log")
# Kills wait for a scrape in flight: a kill between the daemon saving the scrape's positions and
# the answer reaching the scraper loses that scrape's lines (the one window of the positions
# file, in the README), which this test must not trip over at random.
harness = Harness(work, binary, port, kills_wait_for_scrapes=True)

def writer():
    with open(log, "a") as f:
        for start_i in range(0, n, 2000):
            f.write("".join(ACCESS_LINE % i for i in range(start_i, min(n, start_i + 2000))))
            f.flush()
            time.sleep(0.06)  # about 6 s of writing, spread over the kills

harness.start()
harness.thread.start()
writing = threading.Thread(target=writer); writing.start()
for _ in range(kills):
    time.sleep(random.uniform(0.3, 1.5))
    harness.kill()
    harness.start()
writing.join()
# Access-only lines wait access_window (5 s) before they are counted: settle past it, so that a
# late double count would show.
harness.finish(n, "registry_rca_responses_total", settle=6.0)
print(f"lines={n} kills={kills} scrapes={harness.scrapes()} increase={harness.increase()} "
      f"responses={harness.increase('registry_rca_responses_total')}")
PY
cat "$WORK/restart.out"
check "increase() across $KILLS SIGKILL restarts equals the $N lines written" \
  grep -q "increase=$N " "$WORK/restart.out"
check "increase(registry_rca_responses_total) equals the $N responses written" \
  grep -q "responses=$N\$" "$WORK/restart.out"
finish
