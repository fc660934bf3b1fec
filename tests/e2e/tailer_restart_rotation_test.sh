#!/usr/bin/env bash
# Exactly once across SIGKILL restarts while the log is rotated by rename: like restart_test.sh
# (a writer appends N numbered lines, the daemon is killed at random moments and restarted after
# a random pause, a scraper reads /metrics every 200 ms, increase() over the scrapes must be N),
# and a rotator renames the files as logrotate does (registry.log.k -> registry.log.k+1, then
# registry.log -> registry.log.1 and a new registry.log) every 0.1-0.5 s. The writer reopens
# the file for every batch, as a logger does after logrotate's postrotate HUP. So files are
# renamed while the daemon is down, some are born and renamed away while it is down, and names
# shift while it looks for them. Nothing may be lost or counted twice.
# RRCA_SEED replays a run's random choices (each run prints its seed). A failed run keeps, with
# the logs, every scrape (samples.json) and the positions file as it was at each kill.
source "$(dirname "$0")/lib/common.sh"
N=${RRCA_RESTART_LINES:-200000}
KILLS=${RRCA_RESTART_KILLS:-8}
SEED=${RRCA_SEED:-$RANDOM}

registry_config "$WORK/config.yaml" "poll_interval: 50ms"
: > "$WORK/registry.log"
port=$(free_port)

python3 - "$WORK" "$RRCA_BIN" "$port" "$N" "$KILLS" "$SEED" <<'PY' > "$WORK/restart.out" 2> "$WORK/restart.log.err"
import json, os, random, shutil, sys, threading, time
sys.path.insert(0, os.environ["RRCA_SOURCE_DIR"] + "/tests/e2e/lib")
from restart_harness import ACCESS_LINE, Harness
work, binary, port, n, kills, seed = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
random.seed(seed)
log = os.path.join(work, "registry.log")
# Kills wait for the scrape in flight. The daemon saves positions before it sends the scrape's
# answer (so that a crash re-reads what Prometheus did not get), but a kill in the short time
# between that save and the answer reaching the scraper loses that scrape's lines: the daemon's
# window, not the tailer's, and what this test must not trip over at random.
harness = Harness(work, binary, port, kills_wait_for_scrapes=True)

rotations = 0
def writer():
    for start_i in range(0, n, 2000):
        with open(log, "a") as f:   # reopened per batch: follows a rename rotation
            f.write("".join(ACCESS_LINE % i for i in range(start_i, min(n, start_i + 2000))))
            f.flush()
        time.sleep(0.06)  # about 6 s of writing, spread over the kills

def rotator():  # logrotate's numbering: .1 is the newest rotated file
    global rotations
    while not done.is_set():
        time.sleep(random.uniform(0.1, 0.5))
        for k in range(rotations, 0, -1):
            os.rename(f"{log}.{k}", f"{log}.{k + 1}")
        os.rename(log, f"{log}.1")
        open(log, "a").close()
        rotations += 1
done = threading.Event()

harness.start()
harness.thread.start()
threads = [threading.Thread(target=writer), threading.Thread(target=rotator)]
for t in threads: t.start()
for _ in range(kills):
    time.sleep(random.uniform(0.3, 1.5))
    harness.kill()
    harness.samples.append(("killed", None))
    if os.path.exists(f"{work}/positions.json"):  # for the post-mortem of a failed run
        shutil.copy(f"{work}/positions.json", f"{work}/positions.{len(harness.samples)}.json")
    time.sleep(random.uniform(0, 0.8))  # down for a while: rotations happen meanwhile
    harness.start()
threads[0].join(); done.set(); threads[1].join()
harness.finish(n)
json.dump(harness.samples, open(f"{work}/samples.json", "w"))  # kept with the logs when it fails
print(f"seed={seed} rotations={rotations} lines={n} kills={kills} scrapes={harness.scrapes()} increase={harness.increase()}")
PY
cat "$WORK/restart.out"
check "increase() across $KILLS SIGKILL restarts and rename rotations equals the $N lines written" \
  grep -q "increase=$N\$" "$WORK/restart.out"
finish
