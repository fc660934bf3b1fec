#!/usr/bin/env bash
# Exactly once across SIGKILL restarts while the log is rotated by rename: like restart_test.sh
# (a writer appends N numbered lines, the daemon is killed at random moments and restarted after
# a random pause, a scraper reads /metrics every 200 ms, increase() over the scrapes must be N),
# and a rotator renames the files as logrotate does (registry.log.k -> registry.log.k+1, then
# registry.log -> registry.log.1 and a new registry.log) every 0.1-0.5 s. The writer reopens
# the file for every batch, as a logger does after logrotate's postrotate HUP. So files are
# renamed while the daemon is down, some are born and renamed away while it is down, and names
# shift while it looks for them. Nothing may be lost or counted twice.
# The first daemon is killed before Prometheus ever scraped it (a restart within the first
# scrape interval): the scraper starts after that kill. The writer starts once the first daemon
# is ready, i.e. follows the file: what was rotated away before any run followed it is before
# our time, not a loss.
# RRCA_SEED replays a run's random choices (each run prints its seed). A failed run keeps, with
# the logs, every scrape (samples.json) and the positions file as it was at each kill.
# RRCA_RESTART_THROTTLE=RUN_MS:STOP_MS slows the daemon as a CPU-limited container is slowed:
# it runs RUN_MS, then is stopped (SIGSTOP) for STOP_MS, and so on (see
# tailer_restart_rotation_slow_test.sh). RRCA_RESTART_BATCH: lines per write (default 2000).
source "$(dirname "$0")/lib/common.sh"
N=${RRCA_RESTART_LINES:-200000}
KILLS=${RRCA_RESTART_KILLS:-8}
SEED=${RRCA_SEED:-$RANDOM}
export RRCA_RESTART_BATCH=${RRCA_RESTART_BATCH:-2000} RRCA_RESTART_THROTTLE=${RRCA_RESTART_THROTTLE:-}

registry_config "$WORK/config.yaml" "poll_interval: 50ms"
: > "$WORK/registry.log"
port=$(free_port)

python3 - "$WORK" "$RRCA_BIN" "$port" "$N" "$KILLS" "$SEED" <<'PY' > "$WORK/restart.out" 2> "$WORK/restart.log.err"
import json, os, random, shutil, signal, sys, threading, time, urllib.request
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

batch = int(os.environ["RRCA_RESTART_BATCH"])

rotations = 0
def writer():
    for start_i in range(0, n, batch):
        with open(log, "a") as f:   # reopened per batch: follows a rename rotation
            f.write("".join(ACCESS_LINE % i for i in range(start_i, min(n, start_i + batch))))
            f.flush()
        time.sleep(6 / (n // batch or 1))  # about 6 s of writing, spread over the kills

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

def throttle(run_ms, stop_ms):  # like CFS bandwidth control: run, then wait out the period
    while not harness.stop.is_set():
        pid = harness.daemon.pid
        try:
            time.sleep(run_ms / 1000)
            os.kill(pid, signal.SIGSTOP)
            time.sleep(stop_ms / 1000)
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass  # killed meanwhile; the next one is throttled from its start
    try:
        os.kill(harness.daemon.pid, signal.SIGCONT)  # finish() stops it: let it exit
    except ProcessLookupError:
        pass

def ready():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as r:
            return r.status == 200
    except Exception:
        return False

harness.start()
if os.environ["RRCA_RESTART_THROTTLE"]:
    run_ms, stop_ms = map(int, os.environ["RRCA_RESTART_THROTTLE"].split(":"))
    threading.Thread(target=throttle, args=(run_ms, stop_ms), daemon=True).start()
deadline = time.time() + 60
while not ready():
    assert time.time() < deadline, "the first daemon did not become ready within 60 s"
    time.sleep(0.05)
threads = [threading.Thread(target=writer), threading.Thread(target=rotator)]
for t in threads: t.start()
for k in range(kills):
    time.sleep(random.uniform(0.3, 1.5))
    harness.kill()
    harness.samples.append(("killed", None))
    if k == 0:
        harness.thread.start()  # the first daemon was never scraped
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
