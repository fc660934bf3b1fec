"""What the SIGKILL restart tests share: a registry-rca serve that is killed and restarted, a
scraper that records registry_rca_lines_read_total like Prometheus, and increase() over the
scrapes as Prometheus computes it across counter resets."""
import subprocess
import threading
import time
import urllib.request

ACCESS_LINE = '127.0.0.1 - - [29/Nov/2026:13:00:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "writer n=%d"\n'


class Harness:
    def __init__(self, work, binary, port, kills_wait_for_scrapes=False):
        self.work, self.binary, self.port = work, binary, port
        self.samples = []  # (process start time, value) per successful scrape; (x, None): a kill
        self.daemon = None
        self.stop = threading.Event()
        # With it, a kill never lands while a scrape is in flight (see tailer_restart_rotation).
        self.in_flight = threading.Lock() if kills_wait_for_scrapes else None
        self.thread = threading.Thread(target=self._scraper)

    def start(self):
        self.daemon = subprocess.Popen(
            [self.binary, "serve", f"--config.file={self.work}/config.yaml",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=open(f"{self.work}/daemon.log.err", "a"))

    def kill(self):
        if self.in_flight:
            with self.in_flight:
                self.daemon.kill(); self.daemon.wait()
        else:
            self.daemon.kill(); self.daemon.wait()

    def scrape(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
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

    def _scraper(self):
        while not self.stop.is_set():
            if self.in_flight:
                with self.in_flight:
                    self._record()
            else:
                self._record()
            time.sleep(0.2)

    def _record(self):
        value = self.scrape()
        if value is not None:
            self.samples.append(value)

    def increase(self):
        total, previous, previous_start = 0, 0, None
        for start, v in list(self.samples):
            if v is None:
                continue  # a kill, noted for the post-mortem
            reset = v < previous or (previous_start is not None and start != previous_start)
            total += v if reset else v - previous  # as increase() does across a reset
            previous, previous_start = v, start
        return total

    def finish(self, n):
        """Waits until all n lines are counted (60 s at most), scrapes on for a second (nothing
        may be counted twice after catching up), stops the scraper and the daemon."""
        deadline = time.time() + 60
        while time.time() < deadline and self.increase() < n:
            time.sleep(0.2)
        time.sleep(1)
        self.stop.set(); self.thread.join()
        self.daemon.terminate(); self.daemon.wait(timeout=10)

    def scrapes(self):
        return sum(v is not None for _, v in self.samples)
