#!/usr/bin/env python3
"""Replays the incident as live logs, for the live alerting test (tests/e2e/alerts_live_test.sh).

  python3 incident_feed.py --lab DIR --out-dir DIR [--unclassified-flag FILE]

Takes the lab scenario in DIR (tests/testdata/corpus/lab/s3-async-create: a real registry 2.8 on a
real Ceph RGW whose multipart uploads were hidden from listings for 2.2 s, pushed to with skopeo
and curl; registry.log, registry-access.log, s3-access.log) and appends it to the same three file
names in --out-dir again and again, in real time, as the registry and the store would write it:

  - every time moves by a whole number of seconds so the scenario happens now (second-resolution
    access-log times keep their relation to the registry's nanosecond times);
  - every UUID (uploads, requests, traces) is replaced by a fresh one per round, and the signed
    _state token is re-encoded with the new UUID and StartedAt (the HMAC is not checked by
    registry-rca), so each round is new uploads that the correlator joins with the store's lines;
  - registry.log lines are written at their time; access-log lines one second after theirs (a
    response is logged when it completes).

Each round has 5 upload_not_yet_visible 500s among about 25 responses, in about 10 s; rounds
start one after the other, or every --round-every seconds (overlapping, like concurrent pushes:
3 gives about 1.7 such 500s a second, enough for the alert's 0.05/s over 5 minutes within
10 s). While the
file --unclassified-flag exists, two 500s a second that no rule explains (err.detail="weird: new
failure") are appended to registry.log as well. Each round also writes one line to s3-access.log
that is no access record (skipped and counted), and --copytruncate-after rotates
registry-access.log once the way logrotate's copytruncate does. Runs until killed. Python 3 standard library.
"""
import argparse
import base64
import calendar
import heapq
import json
import os
import re
import shutil
import time
import urllib.parse
import uuid

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RFC3339_RE = re.compile(r'time="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z"')
CLF_RE = re.compile(r"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d) \+0000\]")
STATE_RE = re.compile(r"_state=([A-Za-z0-9_\-]+(?:%3D|=)*)")
FILES = ["registry.log", "registry-access.log", "s3-access.log"]


def parse_rfc3339(date: str, frac: str | None) -> int:
    seconds = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 10**9 + int(((frac or "") + "000000000")[:9])


def format_rfc3339(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


def parse_clf(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%d/%b/%Y:%H:%M:%S")) * 10**9


def format_clf(ns: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(ns // 10**9))


def line_time(name: str, line: str) -> int | None:
    if name == "registry.log":
        m = RFC3339_RE.search(line)
        return parse_rfc3339(m.group(1), m.group(2)) if m else None
    m = CLF_RE.search(line)
    return parse_clf(m.group(1)) if m else None


class Round:
    """One replay of the scenario, `shift_ns` later, with fresh UUIDs."""

    def __init__(self, shift_ns: int):
        self.shift = shift_ns
        self.uuids: dict[str, str] = {}

    def new_uuid(self, m) -> str:
        return self.uuids.setdefault(m.group(0), str(uuid.uuid4()))

    def state(self, m) -> str:
        token = urllib.parse.unquote(m.group(1))
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        signed = json.loads(raw[32:])
        signed["UUID"] = self.uuids.setdefault(signed["UUID"], str(uuid.uuid4()))
        started = re.match(r"(.{19})(?:\.(\d+))?Z$", signed["StartedAt"])
        signed["StartedAt"] = format_rfc3339(parse_rfc3339(started.group(1), started.group(2)) +
                                             self.shift)
        encoded = base64.urlsafe_b64encode(raw[:32] + json.dumps(signed, separators=(",", ":"))
                                           .encode()).decode()
        return "_state=" + encoded.replace("=", "%3D")

    def rewrite(self, name: str, line: str) -> str:
        line = STATE_RE.sub(self.state, line)
        line = UUID_RE.sub(self.new_uuid, line)
        if name == "registry.log":
            return RFC3339_RE.sub(lambda m: 'time="%s"' % format_rfc3339(
                parse_rfc3339(m.group(1), m.group(2)) + self.shift), line)
        return CLF_RE.sub(lambda m: "[%s +0000]" % format_clf(parse_clf(m.group(1)) + self.shift),
                          line)


def unclassified_line(now_ns: int) -> str:
    return (f'time="{format_rfc3339(now_ns)}" level=error msg="response completed with error" '
            f'err.code=unknown err.detail="weird: new failure" err.message="unknown error" '
            f'go.version=go1.19.8 http.request.host="127.0.0.1:5000" '
            f'http.request.id={uuid.uuid4()} http.request.method=GET '
            f'http.request.remoteaddr="127.0.0.1:41000" '
            f'http.request.uri="/v2/lab/weird/manifests/latest" http.request.useragent=skopeo/1.9.3 '
            f'http.response.contenttype="application/json; charset=utf-8" '
            f'http.response.duration=12.5ms http.response.status=500 http.response.written=100 '
            f'vars.name=lab/weird vars.reference=latest\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lab", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--unclassified-flag", default="")
    ap.add_argument("--copytruncate-after", type=float, default=0,
                    help="seconds after which registry-access.log is rotated once (copytruncate)")
    ap.add_argument("--round-every", type=float, default=0,
                    help="seconds between round starts (default: one round after the other)")
    args = ap.parse_args()

    events = []  # (original time ns, write delay ns, file, line)
    for name in FILES:
        last = None
        with open(os.path.join(args.lab, name), encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                t = line_time(name, line)
                last = t if t is not None else last  # continuation lines follow their record
                if last is None:
                    continue
                delay = 0 if name == "registry.log" else 10**9
                events.append((last, delay, name, line if line.endswith("\n") else line + "\n"))
    events.sort(key=lambda e: e[0] + e[1])
    first = min(e[0] for e in events) // 10**9 * 10**9
    span = max(e[0] for e in events) - first
    fds = {name: os.open(os.path.join(args.out_dir, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                         0o644) for name in FILES}

    def write(name: str, text: str):
        data = text.encode("utf-8", "surrogateescape")
        while data:
            data = data[os.write(fds[name], data):]

    def copytruncate(name: str):  # what logrotate's copytruncate does (Harbor's own config)
        path = os.path.join(args.out_dir, name)
        shutil.copyfile(path, path + ".1")
        os.truncate(path, 0)

    rotate_at = time.time_ns() + int(args.copytruncate_after * 1e9) if args.copytruncate_after else 0
    # Rounds start every --round-every seconds (the scenario's length by default); when they
    # overlap, their lines interleave in time order like concurrent pushes.
    every = int(args.round_every * 10**9) if args.round_every > 0 else (span // 10**9 + 2) * 10**9
    every = (every + 10**9 - 1) // 10**9 * 10**9  # whole seconds keep access-log times exact
    start = (time.time_ns() // 10**9 + 1) * 10**9
    pending = []  # (due, sequence, round, index of its next event)
    sequence = 0
    next_round = start
    next_unclassified = 0
    while True:
        if rotate_at and time.time_ns() >= rotate_at:
            copytruncate("registry-access.log")
            rotate_at = 0
        while next_round <= time.time_ns() + 2 * 10**9:
            write("s3-access.log", "radosgw: a line that is no access record\n")  # skipped
            one = Round(next_round - first)
            heapq.heappush(pending, (events[0][0] + events[0][1] + one.shift, sequence, one, 0))
            sequence += 1
            next_round += every
        due, _, one, index = pending[0]
        now = time.time_ns()
        if args.unclassified_flag and now >= next_unclassified and \
                os.path.exists(args.unclassified_flag):
            write("registry.log", unclassified_line(now))
            next_unclassified = now + 5 * 10**8
        if now < due:
            time.sleep(min(0.05, (due - now) / 1e9))
            continue
        heapq.heappop(pending)
        _, _, name, line = events[index]
        write(name, one.rewrite(name, line))
        if index + 1 < len(events):
            original, delay = events[index + 1][0], events[index + 1][1]
            heapq.heappush(pending, (original + delay + one.shift, sequence, one, index + 1))
            sequence += 1


if __name__ == "__main__":
    main()
