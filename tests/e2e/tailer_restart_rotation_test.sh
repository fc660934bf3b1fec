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

cat > "$WORK/config.yaml" <<YAML
sources:
  - name: registry
    type: registry
    paths: ["$WORK/registry.log"]
start_at: beginning
positions_file: $WORK/positions.json
poll_interval: 50ms
YAML
: > "$WORK/registry.log"
port=$(free_port)

python3 - "$WORK" "$RRCA_BIN" "$port" "$N" "$KILLS" "$SEED" <<'PY' > "$WORK/restart.out" 2> "$WORK/restart.log.err"
import json, os, random, shutil, signal, subprocess, sys, threading, time, urllib.request
work, binary, port, n, kills, seed = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
random.seed(seed)
log = os.path.join(work, "registry.log")
stop = threading.Event()
samples = []          # every successful scrape's value, in order
daemon = None

def start():
    global daemon
    daemon = subprocess.Popen([binary, "serve", f"--config.file={work}/config.yaml",
                               f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=open(f"{work}/daemon.log.err", "a"))

def scrape():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            body = r.read().decode()
    except Exception:
        return None
    value, started = 0, None
    for line in body.splitlines():
        if line.startswith('registry_rca_lines_read_total{source="registry"}'):
            value = int(float(line.split()[-1]))
        elif line.startswith('process_start_time_seconds '):
            started = line.split()[-1]
    return (started, value)

# Kills wait for the scrape in flight. The daemon saves positions before it sends the scrape's
# answer (so that a crash re-reads what Prometheus did not get), but a kill in the short time
# between that save and the answer reaching the scraper loses that scrape's lines: the daemon's
# window, not the tailer's, and what this test must not trip over at random.
in_flight = threading.Lock()

def scraper():
    while not stop.is_set():
        with in_flight:
            value = scrape()
            if value is not None:
                samples.append(value)
        time.sleep(0.2)

rotations = 0
def writer():
    line = '127.0.0.1 - - [29/Nov/2026:13:00:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "writer n=%d"\n'
    for start_i in range(0, n, 2000):
        with open(log, "a") as f:   # reopened per batch: follows a rename rotation
            f.write("".join(line % i for i in range(start_i, min(n, start_i + 2000))))
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

def increase(samples):
    total, previous, previous_start = 0, 0, None
    for start, v in samples:
        if v is None: continue  # a kill, noted for the post-mortem
        reset = v < previous or (previous_start is not None and start != previous_start)
        total += v if reset else v - previous   # as increase() does across a reset
        previous, previous_start = v, start
    return total

start()
threads = [threading.Thread(target=scraper), threading.Thread(target=writer), threading.Thread(target=rotator)]
for t in threads: t.start()
for _ in range(kills):
    time.sleep(random.uniform(0.3, 1.5))
    with in_flight:
        daemon.send_signal(signal.SIGKILL); daemon.wait()
    samples.append(("killed", None))
    if os.path.exists(f"{work}/positions.json"):  # for the post-mortem of a failed run
        shutil.copy(f"{work}/positions.json", f"{work}/positions.{len(samples)}.json")
    time.sleep(random.uniform(0, 0.8))  # down for a while: rotations happen meanwhile
    start()
threads[1].join(); done.set(); threads[2].join()
deadline = time.time() + 60
while time.time() < deadline and increase(samples) < n:
    time.sleep(0.2)
time.sleep(1)  # a few more scrapes: nothing may be counted twice after catching up
stop.set(); threads[0].join()
daemon.send_signal(signal.SIGTERM); daemon.wait(timeout=10)
json.dump(samples, open(f"{work}/samples.json", "w"))  # kept with the logs when it fails
print(f"seed={seed} rotations={rotations} lines={n} kills={kills} scrapes={sum(v is not None for _, v in samples)} increase={increase(samples)}")
PY
cat "$WORK/restart.out"
check "increase() across $KILLS SIGKILL restarts and rename rotations equals the $N lines written" \
  grep -q "increase=$N\$" "$WORK/restart.out"
finish
