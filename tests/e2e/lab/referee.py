#!/usr/bin/env python3
"""The lab's referee: what the registry's own log says happened, compared with what registry-rca
reports on /metrics.

The registry writes its access log (combined format, stdout) and its application log (logrus text
or JSON, stderr) into one file, as Harbor's log container does. The access lines are the truth for
"which responses were sent"; the registry's `response completed with error` records say, in the
registry's own words, why a 5xx happened.

  referee.py summary LOG...                     JSON summary of the logs (for humans and shell)
  referee.py check --metrics URL [--s3-log F] [--events F] [--delay S] [--bucket B] LOG...
      prints one line per assertion: "ok<TAB>what" or "FAIL<TAB>what". Evidence that is not
      there (a metric family with no samples, an endpoint that does not answer) is a FAIL: a
      release that stopped producing it must not pass.

LOG... are the registry log files of one registry process, oldest first (rotated copy, then the
live file).
"""
import argparse
import collections
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

ACCESS_RE = re.compile(
    r'^(\S+) - (\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"\s*$')
REPO_RE = re.compile(r"^/v2/(.+?)/(blobs|manifests|tags)(/|$)")
UUID_RE = re.compile(r"/blobs/uploads/([0-9a-f-]{36})")
TEXT_START_RE = re.compile(r'^time="')
FIELD_RE = re.compile(r'([A-Za-z0-9_.]+)=("(?:[^"\\]|\\.)*"|\S*)')

# The referee's own reading of the registry's error details (independent of registry-rca's rules).
CAUSE_PATTERNS = [
    ("upload_not_yet_visible", re.compile(r"Path not found: \S*/_uploads/[0-9a-f-]+/data")),
    ("storage_throttled", re.compile(r"SlowDown|Please reduce your request rate")),
    ("storage_internal_error",
     re.compile(r"ServiceUnavailable|InternalError|status code: 50[0-9]")),
    ("storage_unreachable",
     re.compile(r"connection reset|connection refused|EOF|send request failed|i/o timeout")),
    ("upload_offset_mismatch", re.compile(r"resumed at wrong offe?st")),
]


def repo_of(uri):
    path = uri.split("?", 1)[0]
    m = REPO_RE.match(path)
    return m.group(1) if m else ""


def read_records(paths):
    """Yields ('access', dict) and ('app', dict) records from the combined log files."""
    for path in paths:
        try:
            f = open(path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        with f:
            pending = None
            for raw in f:
                line = raw.rstrip("\n")
                m = ACCESS_RE.match(line)
                if m:
                    yield "access", {"method": m.group(4), "uri": m.group(5),
                                     "status": int(m.group(7)), "ua": m.group(10)}
                    continue
                if line.startswith("{"):
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        rec = None
                    if isinstance(rec, dict):
                        if pending:
                            yield "app", pending
                            pending = None
                        yield "app", rec
                        continue
                if TEXT_START_RE.match(line):
                    if pending:
                        yield "app", pending
                    pending = {"_raw": line}
                elif pending is not None:
                    pending["_raw"] += "\n" + line  # a raw newline inside one record (2.8)
            if pending:
                yield "app", pending


def text_fields(raw):
    out = {}
    for m in FIELD_RE.finditer(raw):
        v = m.group(2)
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1]
        out.setdefault(m.group(1), v)
    # err.detail of 2.8 is not escaped: take everything between err.detail=" and " err.message=
    d = re.search(r'err\.detail="(.*?)" (?:err\.message|go\.version|http\.)', raw, re.S)
    if d:
        out["err.detail"] = d.group(1)
    return out


def summarize(paths):
    responses = collections.Counter()   # (repo, code) -> n
    by_op = collections.Counter()       # (repo, method, code) -> n
    patch500 = collections.Counter()    # repo -> n
    patch500_uuids = []
    fivexx = 0
    errors = []
    for kind, rec in read_records(paths):
        if kind == "access":
            repo = repo_of(rec["uri"])
            responses[(repo, rec["status"])] += 1
            by_op[(repo, rec["method"], rec["status"])] += 1
            if rec["status"] >= 500:
                fivexx += 1
            if rec["method"] == "PATCH" and rec["status"] == 500:
                patch500[repo] += 1
                m = UUID_RE.search(rec["uri"])
                if m:
                    patch500_uuids.append(m.group(1))
            continue
        f = rec if "_raw" not in rec else text_fields(rec["_raw"])
        if f.get("msg") != "response completed with error":
            continue
        try:
            status = int(f.get("http.response.status", 0))
        except ValueError:
            status = 0
        detail = str(f.get("err.detail", ""))
        cause = "other"
        for name, rx in CAUSE_PATTERNS:
            if rx.search(detail):
                cause = name
                break
        errors.append({"repo": f.get("vars.name", ""), "method": f.get("http.request.method"),
                       "status": status, "cause": cause, "detail": detail[:160],
                       "uuid": f.get("vars.uuid", ""), "id": f.get("http.request.id", "")})
    return {
        "responses": {"%s|%d" % k: v for k, v in sorted(responses.items())},
        "by_method": {"%s|%s|%d" % k: v for k, v in sorted(by_op.items())},
        "total": sum(responses.values()),
        "5xx": fivexx,
        "patch500": dict(patch500),
        "patch500_uuids": patch500_uuids,
        "errors": errors,
    }


def parse_metrics(text):
    """{family: [(labels dict, value)]} from a Prometheus text exposition."""
    out = collections.defaultdict(list)
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            continue
        labels = dict(label_re.findall(m.group(3) or ""))
        try:
            out[m.group(1)].append((labels, float(m.group(4))))
        except ValueError:
            pass
    return out


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


class Checker:
    def __init__(self):
        self.failed = 0

    def ok(self, cond, what, detail=""):
        print("%s\t%s%s" % ("ok" if cond else "FAIL", what,
                            "" if cond or not detail else " -- " + detail))
        if not cond:
            self.failed += 1


def check(args):
    s = summarize(args.logs)
    c = Checker()
    m = parse_metrics(fetch(args.metrics))
    resp = collections.Counter()
    for labels, v in m.get("registry_rca_responses_total", []):
        if v:
            resp[(labels.get("repository", ""), int(labels.get("code") or 0))] += int(v)
    want = collections.Counter({(k.split("|")[0], int(k.split("|")[1])): v
                                for k, v in s["responses"].items()})
    diffs = ["%s %d: access log %d, registry-rca %d" % (r, code, want[(r, code)], resp[(r, code)])
             for (r, code) in sorted(set(want) | set(resp)) if want[(r, code)] != resp[(r, code)]]
    c.ok(not diffs, "per (repository, code) responses equal the access log's (%d responses, %d "
         "pairs)" % (s["total"], len(want)), "; ".join(diffs[:8]))

    errs = collections.Counter()
    errs5 = collections.Counter()
    for labels, v in m.get("registry_rca_errors_total", []):
        if v:
            key = (labels.get("cause", ""), labels.get("repository", ""))
            errs[key] += int(v)
            if (labels.get("code") or "").startswith("5"):
                errs5[key] += int(v)
    unclassified = sum(v for (cause, _), v in errs.items() if cause == "unclassified")
    c.ok(unclassified == 0, "no unclassified errors", "%d unclassified" % unclassified)
    rca5 = sum(v for (r, code), v in resp.items() if code >= 500)
    c.ok(rca5 == s["5xx"], "registry-rca 5xx responses (%d) equal the access log's (%d)"
         % (rca5, s["5xx"]))
    c.ok(sum(errs5.values()) == s["5xx"], "every 5xx has a cause (%d caused of %d)"
         % (sum(errs5.values()), s["5xx"]))

    # Causes, as the registry's own error records say, per (cause, repository): every 5xx, and
    # the client errors whose detail names a cause the referee knows.
    expect = collections.Counter((e["cause"], e["repo"]) for e in s["errors"]
                                 if e["status"] >= 500 or e["cause"] != "other")
    known = {name for name, _ in CAUSE_PATTERNS}
    for (cause, repo), n in sorted(expect.items()):
        if cause == "other":
            # The referee cannot name these; registry-rca must still give each a cause of its own
            # (not one the referee knows, which would contradict the referee's reading).
            got = sum(v for (ca, r), v in errs5.items()
                      if r == repo and ca not in known and ca != "unclassified")
            example = next(e["detail"] for e in s["errors"]
                           if e["cause"] == "other" and e["repo"] == repo)
            c.ok(got == n, "5xx of repository=%s whose details the referee cannot name (%d) have a "
                 "cause outside the referee's list in registry-rca" % (repo or '""', n),
                 "registry-rca says %d; e.g. %r" % (got, example))
            continue
        c.ok(errs[(cause, repo)] == n, "%s{repository=%s} = %d, as the registry log shows"
             % (cause, repo or '""', n), "registry-rca says %d" % errs[(cause, repo)])
    if args.no_5xx:
        c.ok(s["5xx"] == 0 and rca5 == 0, "no 5xx in the access log nor in registry-rca (%d, %d)"
             % (s["5xx"], rca5))
    for cause, n in args.expect_cause or []:
        total = sum(v for (ca, _), v in errs.items() if ca == cause)
        c.ok(total >= int(n), "at least %s %s reported (%d)" % (n, cause, total))
    # The incident's own assertion: upload_not_yet_visible per repository == 500 PATCH lines.
    if args.patch_referee:
        for repo, n in sorted(s["patch500"].items()):
            got = sum(v for (labels, v) in
                      [(l, v) for l, v in m.get("registry_rca_errors_total", [])]
                      if labels.get("cause") == "upload_not_yet_visible"
                      and labels.get("repository") == repo)
            c.ok(int(got) == n, "upload_not_yet_visible{repository=%s} (%d) equals the 500 PATCH "
                 "lines of the access log (%d)" % (repo, got, n))
        c.ok(sum(s["patch500"].values()) > 0, "the incident was reproduced (%d PATCH 500s)"
             % sum(s["patch500"].values()))
    if args.store_checks:
        store_checks(args, s, m, c)
    if args.store_log:
        store_log_checks(args, s, m, c)
    return c.failed


def s3_lines(path, bucket):
    """AWS access log lines of one bucket: dicts with op, key, status, total_ms."""
    with open(path, errors="replace") as f:
        return s3_lines_from(f, bucket)


def s3_lines_from(lines, bucket):
    rx = re.compile(r'^(\S+) (\S+) \[([^\]]+)\] (\S+) (\S+) (\S+) (\S+) (\S+) "([^"]*)" (\S+) '
                    r'(\S+) (\S+) (\S+) (\S+) (\S+)')
    out = []
    for line in lines:
        mm = rx.match(line)
        if mm and (bucket is None or mm.group(2) == bucket):
            out.append({"op": mm.group(7), "key": urllib.parse.unquote(mm.group(8)),
                        "status": mm.group(10), "err": mm.group(11), "total_ms": mm.group(14)})
    return out


def store_checks(args, s, m, c):
    """What the store side shows, and what registry-rca says about it from the store's log: a
    metric family with no samples or an explain API that does not answer fails."""
    delay = args.delay
    c.ok(bool(args.s3_log and args.events), "[lab] the proxy's S3 access log and events log are "
         "given to the store checks")
    if args.s3_log and args.events:
        creates = {l["key"]: l for l in s3_lines(args.s3_log, args.bucket)
                   if l["op"] == "REST.POST.UPLOADS"}
        with open(args.events, errors="replace") as f:
            events = f.read()
        missing = []
        for uuid in s["patch500_uuids"]:
            key = [k for k in creates if "/_uploads/%s/data" % uuid in k]
            hid = re.search(r"hid upload from ListMultipartUploads .*_uploads/%s/data" % uuid,
                            events)
            if not key or not hid:
                missing.append(uuid)
        c.ok(not missing, "[lab] every failed PATCH (%d) has, store side, a create in the S3 "
             "access log and a listing that did not show it" % len(s["patch500_uuids"]),
             "not confirmed: %s" % missing[:5])
        if delay:
            totals = [int(l["total_ms"]) for l in creates.values()
                      if l["total_ms"].isdigit() and l["status"] == "200"]
            bad = [t for t in totals if abs(t / 1000.0 - delay) > 0.1 * delay]
            c.ok(totals and not bad, "[lab] the S3 access log's creates took %.1f s (+-10%%): %d "
                 "of %d" % (delay, len(totals) - len(bad), len(totals)))

    fam = "registry_rca_upload_create_to_visible_seconds"
    if fam not in m:
        c.ok(False, "create-to-visible latency within 10% of the injected delay",
             "metric family %s has no samples in the exposition" % fam)
    elif delay:
        for repo in sorted(s["patch500"]):
            vals = [v for l, v in m[fam] if l.get("repository") == repo]
            c.ok(bool(vals) and abs(vals[0] - delay) <= 0.1 * delay,
                 "%s{repository=%s} within 10%% of %.2f s" % (fam, repo, delay),
                 "got %s" % vals)
    fam = "registry_rca_uploads_total"
    if fam not in m:
        c.ok(False, "every failed PATCH confirmed from the store side (outcome raced_failed)",
             "metric family %s has no samples in the exposition" % fam)
    else:
        for repo, n in sorted(s["patch500"].items()):
            got = sum(v for l, v in m[fam]
                      if l.get("repository") == repo and l.get("outcome") == "raced_failed")
            c.ok(int(got) == n, "%s{repository=%s,outcome=raced_failed} = %d (500 PATCH lines)"
                 % (fam, repo, n), "got %d" % got)
    # The explain API for each failed upload.
    base = args.metrics.rsplit("/metrics", 1)[0]
    uuids = s["patch500_uuids"]
    c.ok(bool(uuids), "[lab] the access log has failed PATCHes to ask the explain API about")
    # Every answer must be a 200 with JSON: a 404 (no such endpoint, or an unknown upload) or
    # no answer at all is missing evidence, a failure.
    bad = []
    for uuid in uuids:
        url = "%s/api/v1/uploads/%s" % (base, uuid)
        try:
            doc = json.loads(fetch(url))
        except urllib.error.HTTPError as e:
            bad.append("%s: %d %r" % (uuid, e.code, e.read().decode(errors="replace")[:60]))
            continue
        except (OSError, ValueError) as e:
            bad.append("%s: %s" % (uuid, e))
            continue
        text = json.dumps(doc)
        if "upload_not_yet_visible" not in text or "store" not in text:
            bad.append(uuid)
    if uuids:
        c.ok(not bad, "explain API: every failed upload (%d) has verdict upload_not_yet_visible"
             " with store evidence" % len(uuids), "not: %s" % bad[:3])


BEAST_RE = re.compile(r' beast: \S+ \S+ - \S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) .*'
                      r'latency=([0-9.]+)s')


def store_log_lines(path, bucket):
    """(op-ish, key, status, seconds) of one bucket from a radosgw log or an AWS access log."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = BEAST_RE.search(line)
            if m:
                parts = m.group(2).split("?", 1)
                seg = parts[0].lstrip("/").split("/", 1)
                if seg[0] != bucket:
                    continue
                query = parts[1] if len(parts) > 1 else ""
                is_create = m.group(1) == "POST" and re.match(r"uploads(=|&|$)", query) and \
                    len(seg) > 1
                out.append(("create" if is_create else "other", seg[1] if len(seg) > 1 else "",
                            m.group(3), float(m.group(4))))
                continue
            if " beast: " in line:
                continue
            for l in s3_lines_from([line], bucket):
                out.append(("create" if l["op"] == "REST.POST.UPLOADS" else "other", l["key"],
                            l["status"], int(l["total_ms"]) / 1000.0 if l["total_ms"].isdigit()
                            else 0.0))
    return out


def store_log_checks(args, s, m, c):
    lines = store_log_lines(args.store_log, args.bucket)
    c.ok(bool(lines), "[lab] the store log has lines of bucket %s" % args.bucket)
    fam = "registry_rca_s3_requests_total"
    if fam not in m:
        c.ok(False, "store requests counted per bucket", "metric family %s has no samples" % fam)
    else:
        got = sum(v for l, v in m[fam] if l.get("bucket") == args.bucket)
        c.ok(int(got) == len(lines), "%s{bucket=%s} (%d) equals the store log's lines (%d)"
             % (fam, args.bucket, got, len(lines)))
    fam = "registry_rca_upload_create_to_visible_seconds"
    creates = collections.defaultdict(list)
    for op, key, status, secs in lines:
        mm = re.search(r"docker/registry/v2/repositories/(.+)/_uploads/", key)
        if op == "create" and status == "200" and mm:
            creates[mm.group(1)].append(secs)
    c.ok(bool(creates), "[lab] the store log has successful creates of bucket %s" % args.bucket)
    if fam not in m:
        c.ok(False, "create-to-visible per repository as the store log shows",
             "metric family %s has no samples in the exposition" % fam)
        return
    for repo, secs in sorted(creates.items()):
        vals = [v for l, v in m[fam] if l.get("repository") == repo]
        lo, hi = min(secs) * 0.9 - 0.005, max(secs) * 1.1 + 0.005
        c.ok(bool(vals) and lo <= vals[0] <= hi, "%s{repository=%s} within what the store logged "
             "for its creates (%.3f..%.3f s, +-10%%)" % (fam, repo, min(secs), max(secs)),
             "got %s" % vals)


def brief(args):
    s = summarize(args.logs)
    m = parse_metrics(fetch(args.metrics))
    causes = collections.Counter()
    for labels, v in m.get("registry_rca_errors_total", []):
        if v:
            causes[labels.get("cause")] += int(v)
    print("responses=%d 5xx=%d patch500=%d causes={%s}" % (
        s["total"], s["5xx"], sum(s["patch500"].values()),
        ", ".join("%s: %d" % kv for kv in sorted(causes.items()))))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("summary")
    p.add_argument("logs", nargs="+")
    p = sub.add_parser("check")
    p.add_argument("--metrics", required=True)
    p.add_argument("--patch-referee", action="store_true",
                   help="assert upload_not_yet_visible per repository == 500 PATCH lines")
    p.add_argument("--store-checks", action="store_true")
    p.add_argument("--store-log", help="the store log registry-rca reads (radosgw or AWS format)")
    p.add_argument("--no-5xx", action="store_true")
    p.add_argument("--s3-log")
    p.add_argument("--events")
    p.add_argument("--bucket")
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--expect-cause", nargs=2, action="append", metavar=("CAUSE", "MIN"))
    p.add_argument("logs", nargs="+")
    p = sub.add_parser("brief")
    p.add_argument("--metrics", required=True)
    p.add_argument("logs", nargs="+")
    a = ap.parse_args()
    if a.cmd == "brief":
        brief(a)
        return 0
    if a.cmd == "summary":
        print(json.dumps(summarize(a.logs), indent=1))
        return 0
    check(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
