#!/usr/bin/env bash
# Exactly once, as Prometheus sees it: a writer appends N numbered lines at full speed while the
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
import os, random, signal, subprocess, sys, threading, time, urllib.request
work, binary, port, n, kills = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
random.seed(7)
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

def scraper():
    while not stop.is_set():
        value = scrape()
        if value is not None:
            samples.append(value)
        time.sleep(0.2)

def writer():
    line = '127.0.0.1 - - [29/Nov/2026:13:00:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "writer n=%d"\n'
    with open(log, "a") as f:
        for start_i in range(0, n, 2000):
            f.write("".join(line % i for i in range(start_i, min(n, start_i + 2000))))
            f.flush()
            time.sleep(0.06)  # about 6 s of writing, spread over the kills

def increase(samples):
    total, previous, previous_start = 0, 0, None
    for start, v in samples:
        reset = v < previous or (previous_start is not None and start != previous_start)
        total += v if reset else v - previous   # as increase() does across a reset
        previous, previous_start = v, start
    return total

start()
threads = [threading.Thread(target=scraper), threading.Thread(target=writer)]
for t in threads: t.start()
for _ in range(kills):
    time.sleep(random.uniform(0.3, 1.5))
    daemon.send_signal(signal.SIGKILL); daemon.wait()
    start()
threads[1].join()
deadline = time.time() + 60
while time.time() < deadline and increase(samples) < n:
    time.sleep(0.2)
time.sleep(1)  # a few more scrapes: nothing may be counted twice after catching up
stop.set(); threads[0].join()
daemon.send_signal(signal.SIGTERM); daemon.wait(timeout=10)
print(f"lines={n} kills={kills} scrapes={len(samples)} increase={increase(samples)}")
PY
cat "$WORK/restart.out"
check "increase() across $KILLS SIGKILL restarts equals the $N lines written" \
  grep -q "increase=$N\$" "$WORK/restart.out"
finish
