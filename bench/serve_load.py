#!/usr/bin/env python3
"""Load test of `registry-rca serve`: a writer appends realistic registry lines to a file at a
fixed rate while the daemon tails it; measures write-to-count latency, CPU and lag.

    bench/serve_load.py --rate 20000 --duration 30
    bench/serve_load.py --rate 200000 --duration 20
    bench/serve_load.py --rate 20000 --duration 30 --poll 15   # Prometheus-like scraping only

What it does:
  * lines come from a corpus that bench/gen_logs.py writes (default: 50 MB, seed 1, text, raw
    quoting, debug level, cached in /tmp/rrca-bench/serve-corpus-50M.log); the writer cycles
    through it, cutting only before a line that starts a record;
  * the writer is its own process (forked, so the poller's parsing never holds it back) and
    the tailed file is in /dev/shm (--dir; on a disk, dirty-page throttling sets the pace at
    these rates); every tick (10 ms) it appends the lines due with one os.write, then one
    stamped line: a unique `response completed` summary (status 200) for the repository
    `lat/<seq>`, and records when its write returned.  A summary is counted as soon as it is
    read; `--stamp access` stamps an access-log line without a summary instead (a 401, a
    success at level warn), which is counted once 64 more lines of the file are read or 0.3 s
    have passed (the summary would have come first in the same file);
  * a poller GETs /metrics every --poll seconds (default 0.05) and, for every new
    `registry_rca_responses_total{...repository="lat/<seq>"...}`, takes latency = time the
    response arrived - write time (an upper bound, resolution one poll);
  * CPU: utime+stime of the daemon from /proc/<pid>/stat between --warmup seconds and the
    writer's stop, per thread too;
  * lag, two ways (no lag metric is exported): lines written minus
    registry_rca_lines_read_total{source="registry"} at every scrape, and bytes written minus
    the daemon's rchar (/proc/<pid>/io) every 50 ms; "bounded" = the read lag of the last third
    of the run stays within the middle third's maximum plus one second of input, and the
    daemon has read everything within 2 s of the stop.

The daemon listens on 127.0.0.1 only.  Prints a table and one JSON line (--json FILE too).
`RRCA_BIN` (default /work/main/build/exporter/registry-rca) is the binary.
Note: polling every 50 ms is itself load (each scrape collects, serializes and saves the
positions file); run with --poll 15 for the ingest-only CPU figure (latency is then not
measured).  --nice -5 lowers the niceness of the writer and poller (not the daemon) on a
shared machine.
"""

import argparse
import bisect
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.environ.get("RRCA_BIN", "/work/main/build/exporter/registry-rca")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_corpus(path, size):
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, "gen_logs.py"), "--quiet", "--seed", "1",
                    "--size", size, "--out", path], check=True)


class Corpus:
    """The corpus as one bytes object with line offsets, for slicing whole lines cheaply."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        if not self.data.endswith(b"\n"):
            self.data += b"\n"
        offsets = [0]
        find = self.data.find
        pos = 0
        while True:
            nl = find(b"\n", pos)
            if nl < 0:
                break
            pos = nl + 1
            offsets.append(pos)
        self.offsets = offsets
        self.lines = len(offsets) - 1
        self.view = memoryview(self.data)
        # A record continues over physical lines (raw quoting): cut batches only before a line
        # that starts a record, so a stamped line never lands inside someone's quoted value.
        self.starts = [i for i in range(self.lines)
                       if self._starts_record(self.data[offsets[i]:offsets[i] + 8])]
        # The summary template: a real 200 summary of the corpus.
        m = re.search(rb'^time="[^"]*" level=info msg="response completed" [^\n]*'
                      rb'http\.response\.status=200[^\n]*$', self.data, re.M)
        self.template = m.group(0).decode() if m else None

    @staticmethod
    def _starts_record(head):
        return head.startswith(b"time=") or head[:1].isdigit() or head.startswith(b"{")

    def next_start(self, index):
        """The first record start at or after line `index` (wrapping)."""
        k = bisect.bisect_left(self.starts, index)
        return self.starts[k] if k < len(self.starts) else self.lines


class Stamper:
    """Builds the stamped line from the template once split, so a stamp costs a few string
    joins (the writer must keep 200,000 lines/s on a loaded machine)."""

    def __init__(self, template, stamp):
        self.stamp = stamp
        line = template
        line = re.sub(r'^time="[^"]*"', 'time="\x00TIME\x00"', line)
        line = re.sub(r'http\.request\.id=[0-9a-f-]+', "http.request.id=\x00ID\x00", line)
        line = re.sub(r'http\.request\.uri="[^"]*"', 'http.request.uri="/v2/\x00REPO\x00/manifests/latest"',
                      line)
        line = re.sub(r'http\.request\.method=[A-Z]+', "http.request.method=GET", line)
        line = re.sub(r' vars\.name="?[^" ]*"?', "", line)
        self.parts = re.split("\x00(TIME|ID|REPO)\x00", line + "\n")

    def line(self, seq, now):
        repo = "lat/%d" % seq
        if self.stamp == "access":
            return ('10.0.0.1 - - [%s +0000] "GET /v2/%s/manifests/latest HTTP/1.1" 200 1234 "" '
                    '"serve_load"\n' % (time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(now)), repo)
                    ).encode()
        values = {"TIME": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) +
                          ".%09dZ" % int((now % 1) * 1e9),
                  "ID": "5e7a0000-0000-4000-8000-%012d" % seq, "REPO": repo}
        return "".join(values.get(p, p) if i % 2 else p
                       for i, p in enumerate(self.parts)).encode()


class Writer:
    """The writer runs in its own process (fork), so the poller's parsing of large /metrics
    bodies never holds it back (one interpreter lock); counters and stamp times are shared."""

    MAX_STAMPS = 1 << 20

    def __init__(self, path, corpus, rate, duration, stamp, tick=0.01):
        self.path, self.corpus, self.rate, self.duration = path, corpus, rate, duration
        self.stamper, self.tick = Stamper(corpus.template, stamp), tick
        self._lines = multiprocessing.Value("q", 0, lock=False)
        self._bytes = multiprocessing.Value("q", 0, lock=False)
        self._stamps = multiprocessing.Value("q", 0, lock=False)
        self._behind = multiprocessing.Value("d", 0.0, lock=False)
        self._started = multiprocessing.Value("d", 0.0, lock=False)
        self._stamp_times = multiprocessing.Array("d", self.MAX_STAMPS, lock=False)
        self.done = multiprocessing.Event()
        self.process = multiprocessing.get_context("fork").Process(target=self.run, daemon=True)

    def start(self):
        self.process.start()

    def join(self):
        self.process.join()

    lines_written = property(lambda self: self._lines.value)
    bytes_written = property(lambda self: self._bytes.value)
    stamps_written = property(lambda self: self._stamps.value)
    behind = property(lambda self: self._behind.value)
    started_at = property(lambda self: self._started.value or None)

    def stamp_time(self, seq):
        """When stamp `seq` was written (monotonic; CLOCK_MONOTONIC is system-wide)."""
        return self._stamp_times[seq] if seq < self._stamps.value else None

    def run(self):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        c = self.corpus
        pos = 0
        seq = 0
        lines = 0
        start = time.monotonic()
        self._started.value = start
        due = 0.0
        try:
            while True:
                now = time.monotonic()
                elapsed = now - start
                if elapsed >= self.duration:
                    break
                n = int(self.rate * elapsed) - lines
                if n > 0 and seq < self.MAX_STAMPS:
                    end_line = c.next_start(min(pos + n, c.lines))
                    if end_line <= pos:
                        end_line = c.lines
                    chunk = c.view[c.offsets[pos]:c.offsets[end_line]]
                    line = self.stamper.line(seq, time.time())
                    # Counted before the write, so lag (written - read) is never negative; it
                    # is over by at most the chunk being written.
                    lines += end_line - pos + 1
                    self._lines.value = lines
                    os.write(fd, chunk)
                    os.write(fd, line)
                    self._bytes.value += len(chunk) + len(line)  # after: the read lag is exact
                    self._stamp_times[seq] = time.monotonic()
                    seq += 1
                    self._stamps.value = seq
                    pos = end_line if end_line < c.lines else 0
                due += self.tick
                sleep = start + due - time.monotonic()
                if sleep > 0:
                    time.sleep(sleep)
                else:
                    self._behind.value = max(self._behind.value, -sleep)
                    due = time.monotonic() - start
        finally:
            os.close(fd)
            self.done.set()


def scrape(url, timeout=10):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return body, time.monotonic() - t0


def lat_seqs(body):
    """The <seq> of every repository="lat/<seq>" in the body (only the stamped summaries
    create them, in registry_rca_responses_total); a find loop, cheaper than a regex."""
    out = []
    needle = b'repository="lat/'
    pos = body.find(needle)
    while pos >= 0:
        start = pos + len(needle)
        end = body.find(b'"', start)
        out.append(int(body[start:end]))
        pos = body.find(needle, end)
    return out


LINES_RE = re.compile(rb'^registry_rca_lines_read_total\{source="registry"\} ([0-9.e+]+)', re.M)


def lines_read(body):
    m = LINES_RE.search(body)
    return int(float(m.group(1))) if m else 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def thread_ticks(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                raw = f.read()
            comm = raw[raw.index("(") + 1:raw.rindex(")")]
            fields = raw.rsplit(")", 1)[1].split()
            out[int(tid)] = (comm, int(fields[11]) + int(fields[12]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return out


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def read_bytes(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """CPU at warmup and at the writer's stop (fixed times, whatever the poll interval), and
    the read lag every 50 ms: bytes written minus bytes the daemon has read(2) since the
    start (/proc/<pid>/io rchar; the config, positions and HTTP reads are noise)."""

    def __init__(self, pid, writer, warmup, duration):
        super().__init__(daemon=True)
        self.pid, self.writer, self.warmup, self.duration = pid, writer, warmup, duration
        self.first = self.last = None
        self.read0 = read_bytes(pid)  # before the writer starts: the file is still empty
        self.read_lag = []  # (t since start, bytes)

    def run(self):
        w = self.writer
        t0 = w.started_at
        r0 = self.read0
        stop_at = None
        while True:
            now = time.monotonic()
            t = now - t0
            if self.first is None and t >= self.warmup:
                self.first = (cpu_ticks(self.pid), now, thread_ticks(self.pid))
            self.read_lag.append((t, w.bytes_written - (read_bytes(self.pid) - r0)))
            if w.done.is_set() and self.last is None:
                self.last = (cpu_ticks(self.pid), now, thread_ticks(self.pid))
                stop_at = now
            if stop_at is not None and (now - stop_at > 5 or self.read_lag[-1][1] <= 0):
                break
            time.sleep(0.05)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=20000, help="lines per second (default 20000)")
    ap.add_argument("--duration", type=float, default=30, help="seconds of writing (default 30)")
    ap.add_argument("--warmup", type=float, default=3, help="seconds before CPU is measured")
    ap.add_argument("--poll", type=float, default=0.05, help="/metrics poll interval, s")
    ap.add_argument("--poll-interval", default="250ms", help="the daemon's poll_interval")
    ap.add_argument("--stamp", choices=["summary", "access"], default="summary")
    ap.add_argument("--access-window", help="the daemon's access_window (default: its own, 5s)")
    ap.add_argument("--corpus", default="/tmp/rrca-bench/serve-corpus-50M.log")
    ap.add_argument("--corpus-size", default="50M")
    ap.add_argument("--bin", default=DEFAULT_BIN)
    ap.add_argument("--drain-timeout", type=float, default=60)
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where the tailed files go (default /dev/shm: several GB are written, "
                         "and on a disk the kernel's dirty-page throttling, not the daemon, "
                         "would set the pace)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (log, config)")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness increment for this script and its writer, not the daemon "
                         "(e.g. -5 on a shared machine, so neighbours' builds do not starve the "
                         "writer; negative needs root)")
    args = ap.parse_args()

    ensure_corpus(args.corpus, args.corpus_size)
    corpus = Corpus(args.corpus)
    if corpus.template is None:
        sys.exit("no 200 summary line in the corpus")
    tmp = tempfile.mkdtemp(prefix="rrca-serve-load-", dir=args.dir)
    log = os.path.join(tmp, "registry.log")
    open(log, "wb").close()
    port = free_port()
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        f.write("sources:\n  - name: registry\n    type: registry\n    paths: [%s]\n"
                "start_at: beginning\npositions_file: %s\npoll_interval: %s\n"
                "max_repositories: 1000000\n"
                % (json.dumps(log), json.dumps(os.path.join(tmp, "positions.json")),
                   args.poll_interval))
        if args.access_window:
            f.write("access_window: %s\n" % args.access_window)
    load_start = loadavg()
    daemon = subprocess.Popen([args.bin, "serve", "--config.file=" + config,
                               "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "daemon.err"), "w"))
    url = "http://127.0.0.1:%d/metrics" % port
    if args.nice:
        os.nice(args.nice)  # after the daemon started: the writer and poller only
    try:
        for _ in range(200):
            try:
                scrape(url)
                break
            except OSError:
                if daemon.poll() is not None:
                    sys.exit("daemon exited: " + open(os.path.join(tmp, "daemon.err")).read())
                time.sleep(0.05)
        writer = Writer(log, corpus, args.rate, args.duration, args.stamp)
        latencies = {}
        lag_samples = []  # (t since start, lag lines)
        scrape_times = []
        sampler = Sampler(daemon.pid, writer, args.warmup, args.duration)
        writer.start()
        while writer.started_at is None:
            time.sleep(0.001)
        t_start = writer.started_at
        sampler.start()
        next_poll = time.monotonic()
        writer_stopped_at = None
        drained_at = None
        while True:
            now = time.monotonic()
            body, took = scrape(url)
            got = time.monotonic()
            scrape_times.append(took)
            for seq in lat_seqs(body):
                if seq not in latencies:
                    written_at = writer.stamp_time(seq)
                    if written_at is not None:
                        latencies[seq] = got - written_at
            written = writer.lines_written
            lag = written - lines_read(body)
            lag_samples.append((got - t_start, lag, written))
            if writer.done.is_set():
                if writer_stopped_at is None:
                    writer_stopped_at = got
                if lag <= 0 and len(latencies) >= writer.stamps_written:
                    drained_at = got
                    break
                if got - writer_stopped_at > args.drain_timeout:
                    break
            next_poll += args.poll
            sleep = next_poll - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
            else:
                next_poll = time.monotonic()
        sampler.join()
        hwm = status_kib(daemon.pid, "VmHWM")
        rss = status_kib(daemon.pid, "VmRSS")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
    load_end = loadavg()

    cpu0, wall0, threads0 = sampler.first
    cpu1, wall1, threads1 = sampler.last
    cpu_s = (cpu1 - cpu0) / CLK_TCK
    wall_s = wall1 - wall0
    per_thread = []
    for tid, (comm, ticks) in threads1.items():
        before = threads0.get(tid, (comm, 0))[1]
        if ticks - before > 0:
            per_thread.append(("%s/%d" % (comm, tid), 100.0 * (ticks - before) / CLK_TCK / wall_s))
    per_thread.sort(key=lambda x: -x[1])
    lat = list(latencies.values())
    missing = writer.stamps_written - len(latencies)
    # Bounded lag: during the last third of the writing the lag did not grow past what it was
    # in the middle third (plus one second of input), and the backlog drained after the stop.
    writing = [(t, l) for t, l, _ in lag_samples if t <= args.duration]
    # Bounded lag, from the read lag sampled every 50 ms (bytes written - bytes the daemon
    # read, /proc/<pid>/io rchar; no scrape needed): over the last third of the writing it did
    # not grow past the middle third's maximum plus one second of input, and the daemon had
    # read everything within 2 s of the writer's stop.
    read_lag = sampler.read_lag
    third = args.duration / 3
    mid = [l for t, l in read_lag if third <= t < 2 * third]
    last = [l for t, l in read_lag if 2 * third <= t <= args.duration]
    second_of_input = writer.bytes_written / args.duration
    caught_up = [t for t, l in read_lag if t > args.duration and l <= 0]
    bounded = bool(mid and last and max(last) <= max(mid) + second_of_input and caught_up
                   and caught_up[0] - args.duration < 2)
    result = {
        "rate_lines_per_s": args.rate,
        "achieved_lines_per_s": round(writer.lines_written / args.duration),
        "duration_s": args.duration,
        "bytes_written": writer.bytes_written,
        "mb_per_s": round(writer.bytes_written / args.duration / 1e6, 1),
        "writer_worst_lateness_s": round(writer.behind, 3),
        "writer_kept_rate": writer.lines_written >= 0.95 * args.rate * args.duration,
        "nice": args.nice,
        "stamp": args.stamp,
        "poll_s": args.poll,
        "daemon_poll_interval": args.poll_interval,
        "access_window": args.access_window,
        "latency_samples": len(lat),
        "latency_missing": missing,
        "latency_p50_s": round(percentile(lat, 50), 3),
        "latency_p99_s": round(percentile(lat, 99), 3),
        "latency_max_s": round(max(lat), 3) if lat else None,
        "cpu_percent_of_one_core": round(100.0 * cpu_s / wall_s, 1),
        "cpu_window_s": round(wall_s, 1),
        "threads": [(name, round(p, 1)) for name, p in per_thread[:6]],
        "read_lag_max_bytes": max((l for _, l in read_lag), default=0),
        "read_lag_p99_bytes": percentile([l for t, l in read_lag if t <= args.duration], 99),
        "read_caught_up_after_stop_s": round(caught_up[0] - args.duration, 2) if caught_up else None,
        "lag_max_lines": max((l for _, l in writing), default=0),
        "lag_end_of_writing_lines": writing[-1][1] if writing else None,
        "drain_s": round(drained_at - writer_stopped_at, 2) if drained_at else None,
        "lag_bounded": bounded,
        "scrape_p50_ms": round(1000 * percentile(scrape_times, 50), 1),
        "scrape_p99_ms": round(1000 * percentile(scrape_times, 99), 1),
        "scrapes": len(scrape_times),
        "daemon_vmhwm_mib": round(hwm / 1024, 1),
        "daemon_vmrss_mib": round(rss / 1024, 1),
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "tmp": tmp if args.keep else None,
    }
    print("serve load: %d lines/s target, %d achieved (%.1f MB/s), %.0f s, stamp=%s, poll %.3f s"
          % (args.rate, result["achieved_lines_per_s"], result["mb_per_s"], args.duration,
             args.stamp, args.poll))
    if not result["writer_kept_rate"]:
        print("  WARNING: the writer could not keep the rate (CPU-starved?); worst tick %.3f s late"
              % writer.behind)
    print("  write->count latency: p50 %.3f s  p99 %.3f s  max %s s  (%d samples, %d missing)"
          % (result["latency_p50_s"], result["latency_p99_s"], result["latency_max_s"],
             len(lat), missing))
    print("  daemon CPU: %.1f %% of one core over %.1f s; threads: %s"
          % (result["cpu_percent_of_one_core"], wall_s,
             ", ".join("%s %.1f%%" % t for t in result["threads"])))
    print("  lag (counted, per scrape): max %d lines, %s at end of writing; counted everything"
          " %s s after the writer stopped" % (result["lag_max_lines"],
                                               result["lag_end_of_writing_lines"],
                                               result["drain_s"]))
    print("  lag (read, every 50 ms): max %.1f MB, p99 %.1f MB; caught up %s s after the stop;"
          " bounded: %s" % (result["read_lag_max_bytes"] / 1e6, result["read_lag_p99_bytes"] / 1e6,
                            result["read_caught_up_after_stop_s"], "yes" if bounded else "NO"))
    print("  scrape while loaded: p50 %.1f ms p99 %.1f ms (%d); daemon VmHWM %.1f MiB"
          % (result["scrape_p50_ms"], result["scrape_p99_ms"], len(scrape_times),
             result["daemon_vmhwm_mib"]))
    print("  load average: start %s, end %s" % (load_start, load_end))
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if not args.keep:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
