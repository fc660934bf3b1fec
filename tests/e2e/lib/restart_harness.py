"""What the restart tests share: a registry-rca serve that is killed (SIGKILL, or SIGTERM for a
clean stop) and restarted, a scraper that records counters like Prometheus, and increase() over
the scrapes as Prometheus computes it across counter resets. The counters recorded are the sums
over all series of registry_rca_lines_read_total, registry_rca_responses_total and
registry_rca_errors_total: what a user's dashboards show."""
import signal
import subprocess
import threading
import time
import urllib.request

ACCESS_LINE = '127.0.0.1 - - [29/Nov/2026:13:00:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "writer n=%d"\n'


class Harness:
    COUNTERS = ("registry_rca_lines_read_total", "registry_rca_responses_total",
                "registry_rca_errors_total")

    def __init__(self, work, binary, port, kills_wait_for_scrapes=False, stop_signal=signal.SIGKILL):
        self.work, self.binary, self.port = work, binary, port
        self.stop_signal = stop_signal
        # (process start time, {counter: value}) per successful scrape; (x, None): a kill
        self.samples = []
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
                self._stop_daemon()
        else:
            self._stop_daemon()

    def _stop_daemon(self):
        self.daemon.send_signal(self.stop_signal)
        self.daemon.wait(timeout=30)

    def scrape(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                body = r.read().decode()
        except Exception:
            return None
        values, started = {name: 0 for name in self.COUNTERS}, None
        for line in body.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in values:
                values[name] += int(float(line.split()[-1]))
            elif name == "process_start_time_seconds":
                started = line.split()[-1]
        if started is None:
            return None  # not a whole scrape: a missing value is no sample, never a zero
        return (started, values)

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

    def increase(self, counter="registry_rca_lines_read_total"):
        total, previous, previous_start = 0, 0, None
        for start, values in list(self.samples):
            if values is None:
                continue  # a kill, noted for the post-mortem
            v = values[counter]
            reset = v < previous or (previous_start is not None and start != previous_start)
            total += v if reset else v - previous  # as increase() does across a reset
            previous, previous_start = v, start
        return total

    def finish(self, n, counter="registry_rca_lines_read_total", settle=1.0):
        """Waits until the counter's increase reaches n (90 s at most), scrapes on for `settle`
        seconds (nothing may be counted twice after catching up), stops the scraper and the
        daemon."""
        deadline = time.time() + 90
        while time.time() < deadline and self.increase(counter) < n:
            time.sleep(0.2)
        time.sleep(settle)
        self.stop.set(); self.thread.join()
        self.daemon.terminate(); self.daemon.wait(timeout=10)

    def scrapes(self):
        return sum(v is not None for _, v in self.samples)
