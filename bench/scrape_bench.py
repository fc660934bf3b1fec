#!/usr/bin/env python3
"""Scrape latency of `registry-rca serve` with 1,000 repositories x all causes, while a writer
keeps the daemon ingesting at full speed (< 50 ms).

    bench/scrape_bench.py [--repos 1000] [--scrapes 100] [--gap 0.1]

1. Fill: one `match` example of every rule of rules/default_rules.yaml (48 rules, 30 causes),
   repeated for `--repos` repositories: the example's repository name is replaced by
   `scrape/rNNNN` and its request ids by fresh ones, so each copy is a new error response of
   that cause for that repository.  Written to fill.log; the daemon reads it from the start
   and the script waits until every line is counted and the error series stop changing.
2. Idle: `--scrapes` scrapes of /metrics with nothing being written (the baseline).
3. Loaded: a writer appends a gen_logs.py corpus (50 MB, seed 1, cycled) to a second file as
   fast as the daemon reads it (at most --backlog-mb ahead of what it has read), and the same
   number of scrapes is timed, --gap seconds apart.
Prints p50/p99/max per phase, the body size and series counts, the daemon's CPU and the load
average.  max_repositories is set to repos + 100 so the fill is not folded; the corpus'
repositories beyond the cap fold into __other__ (as they would in production at the cap).
"""

import argparse
import json
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
import uuid

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_BIN = os.environ.get("RRCA_BIN", "/work/main/build/exporter/registry-rca")

ID_RES = [re.compile(p) for p in (r'http\.request\.id=([0-9a-fA-F-]{8,})',
                                  r'"http\.request\.id":"([0-9a-fA-F-]{8,})"',
                                  r'correlation_id=([0-9A-Za-z-]{8,})',
                                  r'"correlation_id":"([0-9A-Za-z-]{8,})"')]
NAME_RES = [re.compile(p) for p in (r'vars\.name="?([a-z0-9][a-z0-9._/-]*[a-z0-9])"?',
                                    r'"vars\.name":"([^"]+)"',
                                    r'vars_name=([a-z0-9][a-z0-9._/-]*[a-z0-9])',
                                    r'"(?:GET|HEAD|PUT|PATCH|POST|DELETE) /v2/([a-z0-9._/-]+?)/'
                                    r'(?:blobs|manifests|tags)/',
                                    r'http\.request\.uri="?/v2/([a-z0-9._/-]+?)/'
                                    r'(?:blobs|manifests|tags)/')]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def examples():
    """One match example per rule: (rule, cause, text, repository or None)."""
    with open(os.path.join(ROOT, "rules", "default_rules.yaml")) as f:
        doc = yaml.safe_load(f)
    out = []
    for rule in doc["rules"]:
        matches = (rule.get("examples") or {}).get("match") or []
        if not matches:
            continue
        text = matches[0]
        repo = None
        for r in NAME_RES:
            m = r.search(text)
            if m:
                repo = m.group(1)
                break
        out.append((rule["name"], rule["cause"], text if text.endswith("\n") else text + "\n",
                    repo))
    return out


def fill_text(repos):
    chunks = []
    exs = examples()
    for i in range(repos):
        name = "scrape/r%04d" % i
        for _, _, text, repo in exs:
            t = text
            ids = set()
            for r in ID_RES:
                ids.update(r.findall(t))
            for old in ids:
                t = t.replace(old, str(uuid.uuid4()))
            if repo:
                t = t.replace(repo, name)
            chunks.append(t)
    return "".join(chunks), exs


def scrape(url, timeout=30):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return body, time.monotonic() - t0


def series_stats(body):
    errors = re.findall(rb'^registry_rca_errors_total\{([^}]*)\}', body, re.M)
    repos = set()
    causes = set()
    for labels in errors:
        m = re.search(rb'repository="(scrape/r\d+)"', labels)
        if m:
            repos.add(m.group(1))
            c = re.search(rb'cause="([^"]*)"', labels)
            causes.add(c.group(1))
    total = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
    return {"series": total, "error_series": len(errors), "fill_repos_with_errors": len(repos),
            "fill_causes": len(causes)}


def lines_read(body, source):
    m = re.search(rb'^registry_rca_lines_read_total\{source="%s"\} ([0-9.e+]+)' % source.encode(),
                  body, re.M)
    return int(float(m.group(1))) if m else 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))]


def read_bytes(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


class Writer(threading.Thread):
    """Appends the corpus as fast as the daemon reads it: at most `backlog` bytes ahead of what
    the daemon has read(2) (/proc/<pid>/io rchar, checked before every 1 MB write), so the
    daemon always has input and its processing thread runs flat out."""

    def __init__(self, path, data, backlog, pid):
        super().__init__(daemon=True)
        self.path, self.data, self.backlog, self.pid = path, data, backlog, pid
        self.view = memoryview(data)
        self.written = 0
        self.stop = threading.Event()

    def run(self):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        step = 1 << 20
        pos = 0
        read0 = read_bytes(self.pid)
        while not self.stop.is_set():
            if self.written - (read_bytes(self.pid) - read0) > self.backlog:
                time.sleep(0.002)
                continue
            end = self.data.find(b"\n", min(pos + step, len(self.data) - 1)) + 1
            if end <= 0:
                end = len(self.data)
            chunk = self.view[pos:end]
            os.write(fd, chunk)
            self.written += len(chunk)
            pos = end if end < len(self.data) else 0
        os.close(fd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=100)
    ap.add_argument("--gap", type=float, default=0.1, help="seconds between scrapes")
    ap.add_argument("--backlog-mb", type=float, default=64,
                    help="how far the writer may be ahead of what the daemon read")
    ap.add_argument("--corpus", default="/tmp/rrca-bench/serve-corpus-50M.log")
    ap.add_argument("--bin", default=DEFAULT_BIN)
    ap.add_argument("--json")
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where the tailed files go (default /dev/shm: several GB are written, "
                         "and on a disk the kernel's dirty-page throttling, not the daemon, "
                         "would set the pace)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    if not os.path.exists(args.corpus):
        os.makedirs(os.path.dirname(args.corpus), exist_ok=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_logs.py"), "--quiet", "--seed",
                        "1", "--size", "50M", "--out", args.corpus], check=True)
    with open(args.corpus, "rb") as f:
        corpus = f.read()
    tmp = tempfile.mkdtemp(prefix="rrca-scrape-", dir=args.dir)
    fill_path = os.path.join(tmp, "fill.log")
    load_path = os.path.join(tmp, "load.log")
    text, exs = fill_text(args.repos)
    with open(fill_path, "w") as f:
        f.write(text)
    fill_lines = text.count("\n")
    open(load_path, "wb").close()
    port = free_port()
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        f.write("sources:\n  - name: fill\n    type: registry\n    paths: [%s]\n"
                "  - name: load\n    type: registry\n    paths: [%s]\n"
                "start_at: beginning\npositions_file: %s\nmax_repositories: %d\n"
                % (json.dumps(fill_path), json.dumps(load_path),
                   json.dumps(os.path.join(tmp, "positions.json")), args.repos + 100))
    daemon = subprocess.Popen([args.bin, "serve", "--config.file=" + config,
                               "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                              stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(tmp, "daemon.err"), "w"))
    url = "http://127.0.0.1:%d/metrics" % port
    result = {"repos": args.repos, "rules_with_examples": len(exs),
              "causes_in_examples": len({c for _, c, _, _ in exs}),
              "fill_lines": fill_lines, "fill_bytes": len(text.encode())}
    try:
        for _ in range(400):
            try:
                scrape(url)
                break
            except OSError:
                if daemon.poll() is not None:
                    sys.exit("daemon exited: " + open(os.path.join(tmp, "daemon.err")).read())
                time.sleep(0.05)
        # 1. wait for the fill to be counted (lone error lines wait for the join window).
        t0 = time.monotonic()
        last, stable_since = None, time.monotonic()
        body = b""
        while time.monotonic() - t0 < 300:
            try:
                body, _ = scrape(url)
            except OSError as e:  # a scrape that timed out is a finding, not a crash
                result["fill_scrape_errors"] = result.get("fill_scrape_errors", 0) + 1
                print("  scrape during the fill failed after %.1f s: %s"
                      % (time.monotonic() - t0, e), file=sys.stderr)
                continue
            st = series_stats(body)
            if lines_read(body, "fill") >= fill_lines and st == last:
                if time.monotonic() - stable_since > 3:
                    break
            else:
                stable_since = time.monotonic()
            last = st
            time.sleep(0.5)
        result["fill_s"] = round(time.monotonic() - t0, 1)
        result.update(series_stats(body))
        result["body_bytes"] = len(body)

        def run_phase(name, writer=None):
            times = []
            failures = 0
            cpu0, w0 = cpu_ticks(daemon.pid), time.monotonic()
            for _ in range(args.scrapes):
                t_scrape = time.monotonic()
                try:
                    body, took = scrape(url)
                except OSError:
                    failures += 1
                    took = time.monotonic() - t_scrape  # counted at the timeout
                times.append(took)
                time.sleep(args.gap)
            cpu = (cpu_ticks(daemon.pid) - cpu0) / os.sysconf("SC_CLK_TCK")
            wall = time.monotonic() - w0
            result[name] = {"p50_ms": round(1000 * pct(times, 50), 1),
                            "p99_ms": round(1000 * pct(times, 99), 1),
                            "max_ms": round(1000 * max(times), 1),
                            "failed_scrapes": failures,
                            "daemon_cpu_percent": round(100 * cpu / wall, 1),
                            "loadavg": loadavg(), "body_bytes": len(body)}
            return body

        run_phase("idle")
        writer = Writer(load_path, corpus, args.backlog_mb * 1e6, daemon.pid)
        writer.start()
        time.sleep(2)
        w0, b0 = time.monotonic(), writer.written
        body = run_phase("loaded", writer)
        writer.stop.set()
        writer.join()
        result["loaded"]["ingest_mb_per_s_written"] = round(
            (writer.written - b0) / (time.monotonic() - w0) / 1e6, 1)
        result["loaded"]["lines_counted"] = lines_read(body, "load")
        result["loaded"]["series"] = series_stats(body)["series"]
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        if not args.keep:
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)
    print("scrape bench: %d repositories x %d rules (%d causes): %d series (%d error series, "
          "%d fill repositories with errors, %d causes), body %.1f MB"
          % (args.repos, result["rules_with_examples"], result["causes_in_examples"],
             result["series"], result["error_series"], result["fill_repos_with_errors"],
             result["fill_causes"], result["body_bytes"] / 1e6))
    for phase in ("idle", "loaded"):
        r = result[phase]
        print("  %-6s p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  daemon CPU %5.1f %%  load %s%s"
              % (phase, r["p50_ms"], r["p99_ms"], r["max_ms"], r["daemon_cpu_percent"],
                 r["loadavg"], "  FAILED SCRAPES: %d" % r["failed_scrapes"]
                 if r["failed_scrapes"] else ""))
    print("  loaded: writer appended %.1f MB/s (as fast as the daemon read, at most %.0f MB ahead)"
          % (result["loaded"]["ingest_mb_per_s_written"], args.backlog_mb))
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
