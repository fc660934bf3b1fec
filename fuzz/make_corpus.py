#!/usr/bin/env python3
"""Builds the libFuzzer seed corpora fuzz/corpus/<target>/ from tests/testdata.

Deterministic: the same testdata gives the same seeds. Seeds are small real lines (or short runs
of consecutive lines for the stream targets), preferring the interesting ones (errors, warnings,
summaries, access lines, uploads) so the fuzzer starts from the paths that matter. Files are
named by content hash, as libFuzzer names its own. Run it after adding testdata:

    python3 fuzz/make_corpus.py            # rewrites fuzz/corpus/
"""
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "tests", "testdata")
OUT = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 4096          # bytes of one line seed
MAX_RUN = 12000          # bytes of one multi-line seed
PER_FILE = 4             # line seeds taken from one file


def read_lines(path):
    with open(path, "rb") as f:
        return [line.rstrip(b"\r\n") for line in f.read().split(b"\n") if line.strip()]


def score(line):
    """Higher first: the lines whose parse paths matter most."""
    s = 0
    for word, weight in ((b"level=error", 5), (b'"level":"error"', 5), (b"ERRO[", 5),
                         (b"response completed", 4), (b"_state=", 4), (b"level=warn", 3),
                         (b"err.detail", 3), (b"\\\"", 2), (b" 50", 2), (b"_uploads", 1),
                         (b"HTTP/1.1\"", 1)):
        if word in line:
            s += weight
    return s


def pick(lines, n=PER_FILE, limit=MAX_SEED):
    """The n best-scoring distinct lines (ties: earliest), plus the first line."""
    fits = [l for l in lines if len(l) <= limit]
    if not fits:
        return [lines[0][:limit]] if lines else []
    ranked = sorted(range(len(fits)), key=lambda i: (-score(fits[i]), i))
    chosen = [fits[0]]
    for i in ranked:
        if len(chosen) >= n:
            break
        if fits[i] not in chosen:
            chosen.append(fits[i])
    return chosen


def runs(lines, count=3, limit=MAX_RUN):
    """Up to `count` runs of consecutive lines around the most interesting ones."""
    out = []
    ranked = sorted(range(len(lines)), key=lambda i: (-score(lines[i]), i))
    for i in ranked[:count]:
        start, end = max(0, i - 6), min(len(lines), i + 3)
        block = b"\n".join(lines[start:end]) + b"\n"
        while len(block) > limit and end - start > 1:
            start += 1
            block = b"\n".join(lines[start:end]) + b"\n"
        if len(block) <= limit and block not in out:
            out.append(block)
    return out


def unwrap_payload(line):
    """Enough envelope removal for seeds (the fuzzers test the real one)."""
    m = re.match(rb"^(<\d+>)?[A-Z][a-z]{2} +\d+ [\d:]{8} (\S+ )?\S+: (.*)$", line)
    if m:
        return m.group(3)
    m = re.match(rb"^<\d+>1 \S+ \S+ \S+ \S+ \S+ - (.*)$", line)
    if m:
        return m.group(1)
    m = re.match(rb"^\d{4}-\d\d-\d\dT\S+ (stdout|stderr) [PF] (.*)$", line)
    if m:
        return m.group(2)
    m = re.match(rb"^\d{4}-\d\d-\d\d_\S+ (.*)$", line)
    if m:
        return m.group(1)
    m = re.match(rb"^[\w.-]+ +\| (.*)$", line)
    if m:
        return m.group(1)
    if line.startswith(b'{"log":'):
        try:
            return json.loads(line)["log"].rstrip("\n").encode()
        except ValueError:
            return line
    return line


class Corpus:
    def __init__(self, name):
        self.name = name
        self.seeds = []

    def add(self, data):
        if isinstance(data, str):
            data = data.encode()
        if data and data not in self.seeds:
            self.seeds.append(data)

    def write(self):
        path = os.path.join(OUT, self.name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        for seed in self.seeds:
            with open(os.path.join(path, hashlib.sha1(seed).hexdigest()), "wb") as f:
                f.write(seed)
        return len(self.seeds), sum(len(s) for s in self.seeds)


def main():
    registry_inputs = sorted(glob.glob(os.path.join(TESTDATA, "registry", "*", "*.log")))
    registry_inputs += [os.path.join(TESTDATA, "corpus", "seed", "registry.log")]
    lab = sorted(glob.glob(os.path.join(TESTDATA, "corpus", "lab", "*")))
    real_errors = [json.loads(l)["line"].encode()
                   for l in open(os.path.join(TESTDATA, "corpus", "real-error-lines.jsonl"))
                   if l.strip()]
    s3_inputs = sorted(glob.glob(os.path.join(TESTDATA, "s3", "*", "input.log")))
    s3_inputs += sorted(glob.glob(os.path.join(TESTDATA, "corpus", "lab", "*", "s3-access.log")))
    s3_inputs += [os.path.join(TESTDATA, "corpus", "lab", "radosgw.log")]
    rules_text = open(os.path.join(ROOT, "rules", "default_rules.yaml")).read()
    rules = yaml.safe_load(rules_text)

    corpora = {name: Corpus(name) for name in (
        "envelope", "registry_parse", "registry_reader", "registry_uri", "s3_parse",
        "json_scan", "config", "rule_set", "example_check", "alert_payload", "web_config",
        "positions", "carry_over", "web_auth", "repository_table")}

    # Raw physical lines (envelopes) and their payloads.
    for path in registry_inputs:
        lines = [l for l in read_lines(path) if not l.startswith(b"#")]
        for line in pick(lines, 3):
            corpora["envelope"].add(line)
            corpora["registry_parse"].add(unwrap_payload(line))
        for block in runs(lines, 2):
            corpora["registry_reader"].add(block)
            corpora["example_check"].add(block)
    for line in real_errors[:: max(1, len(real_errors) // 12)]:
        corpora["envelope"].add(line[:MAX_SEED])
        corpora["registry_parse"].add(unwrap_payload(line)[:MAX_SEED])
    for scenario in lab:
        for log in ("registry.log", "registry-access.log"):
            path = os.path.join(scenario, log)
            if not os.path.isfile(path):
                continue
            lines = read_lines(path)
            for line in pick(lines, 2):
                corpora["registry_parse"].add(line)
            # The application log and the access log interleaved, as the joiner sees them.
            for block in runs(lines, 1):
                corpora["example_check"].add(block)
    # The partial forms: a CRI P fragment and a json-file piece without its newline.
    corpora["registry_reader"].add(
        b'2026-11-29T12:42:30.234755211Z stderr P time="2026-11-29T12:42:30Z" level=error '
        b'msg="resp\n2026-11-29T12:42:30.234755211Z stderr F onse completed with error" '
        b"http.response.status=500\n")
    corpora["registry_reader"].add(
        b'{"log":"time=\\"2026-11-29T12:50:40Z\\" level=error msg=\\"a","stream":"stderr",'
        b'"time":"2026-11-29T12:50:40.1Z"}\n{"log":"b\\" err.code=unknown\\n","stream":"stderr",'
        b'"time":"2026-11-29T12:50:40.2Z"}\n')

    # URIs: request lines of the access logs, and every http.request.uri with a _state.
    uri_re = re.compile(rb'http\.request\.method=(\w+) .*?http\.request\.uri="?([^" ]+)')
    access_re = re.compile(rb'"(\w+) (/v2/[^ "]*) HTTP/1\.[01]"')
    for path in registry_inputs + [os.path.join(s, "registry-access.log") for s in lab]:
        if not os.path.isfile(path):
            continue
        found = []
        for line in read_lines(path):
            for m in list(uri_re.finditer(line)) + list(access_re.finditer(line)):
                found.append(m.group(1) + b" " + m.group(2))
        with_state = [f for f in found if b"_state=" in f]
        for seed in sorted(set(with_state))[:3] + sorted(set(found))[:3]:
            corpora["registry_uri"].add(seed)
            if b"_state=" in seed:
                # The signed JSON inside the token, for the JSON scanner.
                token = seed.split(b"_state=", 1)[1].split(b"&", 1)[0].replace(b"%3D", b"=")
                try:
                    raw = base64.urlsafe_b64decode(token + b"=" * (-len(token) % 4))
                    if len(raw) > 32:
                        corpora["json_scan"].add(raw[32:])
                        corpora["registry_uri"].add(raw[32:])  # the target encodes it
                except ValueError:
                    pass
    for seed in (b"GET /v2/", b"GET /v2/_catalog", b"GET /v2/a/b/tags/list",
                 b"DELETE /v2/a/manifests/sha256:00", b"HEAD /v2/a/blobs/sha256:00"):
        corpora["registry_uri"].add(seed)
        corpora["repository_table"].add(seed)

    # Repository names as request lines give them, a few per seed (one table per input), and
    # names outside Docker Distribution's grammar.
    uri_seeds = sorted(corpora["registry_uri"].seeds)
    for i in range(0, min(len(uri_seeds), 24), 4):
        corpora["repository_table"].add(b"\n".join(s for s in uri_seeds[i:i + 4] if b"{" not in s))
    corpora["repository_table"].add(b"GET /v2/ci/1234/manifests/latest\nGET /v2/ci/5678/manifests/"
                                    b"latest\nGET /v2/team/app/blobs/sha256:00\nlibrary/nginx\n"
                                    b"GET /v2/Upper/Case/manifests/x\nGET /v2/a//b/tags/list\n"
                                    b"GET /v2/a__b/c--d/e.f/manifests/v1\n" + b"a" * 256)

    # S3 lines of every format, and their JSON.
    for path in s3_inputs:
        lines = [l for l in read_lines(path) if not l.startswith(b"#")]
        if path.endswith("radosgw.log"):
            lines = [l for l in lines if b"beast:" in l] + lines[:2]
        for line in pick(lines, 4):
            corpora["s3_parse"].add(line)
            if line.lstrip(b"[, ").startswith(b"{"):
                corpora["json_scan"].add(line.lstrip(b"[, "))
    for seed in (b"1.927999973s", b"2500000ns", b"2.5ms", b"12\xc2\xb5s",
                 b"docker/registry/v2/repositories/a/b/_uploads/0b1c/data",
                 b"PUT /bucket/docker/registry/v2/repositories/a/_uploads/u/data?partNumber=1&"
                 b"uploadId=2 HTTP/1.1"):
        corpora["s3_parse"].add(seed)

    # JSON: logrus JSON records and json-file envelopes.
    for path in registry_inputs:
        for line in pick([l for l in read_lines(path) if l.startswith(b"{")], 3):
            corpora["json_scan"].add(line)
    for seed in (b'{"a":"\\ud83d\\ude00 \\u00e9 \\ud800","b":[1,{"c":"]"}],"d":null}',
                 b'{"k":"\\"\\\\\\/\\b\\f\\n\\r\\t"}', b'{}', b'{"x":{"y":{"z":[[[]]]}}}'):
        corpora["json_scan"].add(seed)

    # Configs: the example, the shipped default, and one per key with edge values.
    for path in [os.path.join(ROOT, "examples", "registry-rca.yaml"),
                 os.path.join(ROOT, "deploy", "config", "registry-rca.yaml")]:
        if os.path.isfile(path):
            corpora["config"].add(open(path, "rb").read())
    for path in sorted(glob.glob(os.path.join(TESTDATA, "**", "*.y*ml"), recursive=True)):
        if "config" in os.path.basename(path) and "registry-rca" in open(path).read(200):
            corpora["config"].add(open(path, "rb").read())
    base = 'sources:\n  - name: registry\n    type: registry\n    paths: ["/var/log/r.log"]\n'
    for extra in ("start_at: beginning\n", "poll_interval: 250ms\n", "poll_interval: 0.5\n",
                  "max_line_bytes: 1048576\n", "max_repositories: 10\n",
                  "join_window: 1m\naccess_window: 5s\n",
                  "repository_rewrites:\n  - match: '^ci/[0-9]+$'\n    replace: 'ci/*'\n",
                  "rule_params:\n  young_upload_window_seconds: 60\n",
                  "rules_files: []\n", "web:\n  listen_address: ':9479'\n  telemetry_path: /m\n",
                  "    envelope: cri\n"):
        corpora["config"].add(base + extra)
    corpora["config"].add(base.replace("registry\n    paths", "s3\n    paths"))

    # Rules: each default rule alone (with the params it may use), and a disabled one.
    params = yaml.safe_dump({"params": rules.get("params", {})}, sort_keys=False)
    for rule in rules["rules"]:
        text = params + yaml.safe_dump({"rules": [rule]}, sort_keys=False, width=200)
        if len(text) <= MAX_RUN:
            corpora["rule_set"].add(text)
        for kind in ("match", "no_match"):
            for example in rule.get("examples", {}).get(kind, [])[:1]:
                corpora["example_check"].add(example)
    corpora["rule_set"].add("rules:\n  - name: x\n    disabled: true\n")

    # Alertmanager webhook payloads (version 4): firing and resolved, with and without the parts
    # the enricher reads (labels, annotations, startsAt, fingerprint, commonAnnotations).
    alert = {"status": "firing", "labels": {"alertname": "RegistryRCAUploadsNotYetVisible",
                                            "cause": "upload_not_yet_visible", "severity": "critical"},
             "annotations": {"summary": "uploads not yet visible"},
             "startsAt": "2026-11-29T12:30:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://prometheus:9090/graph", "fingerprint": "1a2b3c4d5e6f7a8b"}
    payload = {"version": "4", "groupKey": "{}:{alertname=\"RegistryRCAUploadsNotYetVisible\"}",
               "truncatedAlerts": 0, "status": "firing", "receiver": "registry-rca",
               "groupLabels": {"alertname": "RegistryRCAUploadsNotYetVisible"},
               "commonLabels": alert["labels"], "commonAnnotations": alert["annotations"],
               "externalURL": "http://alertmanager:9093", "alerts": [alert]}
    corpora["alert_payload"].add(json.dumps(payload))
    other = dict(alert, labels={"alertname": "RegistryRCAStorageThrottled"}, fingerprint="",
                 status="resolved", endsAt="2026-11-29T12:40:00Z",
                 annotations={"rca_cause": "storage_throttled"})
    corpora["alert_payload"].add(json.dumps(dict(payload, status="resolved", alerts=[alert, other])))
    corpora["alert_payload"].add(json.dumps({"alerts": [{}], "status": "firing"}))
    corpora["alert_payload"].add(b'{"alerts":[],"x":[1.5e3,-0,true,null,"\\u00e9\\ud800"]}')

    # Web configs: every fixture of the web config tests, good and bad.
    for path in sorted(glob.glob(os.path.join(TESTDATA, "web", "*.yml"))):
        corpora["web_config"].add(open(path, "rb").read())

    # Positions files as PositionsToJson writes them: empty, followed and closed files, with a
    # pipeline state, and the version-0 form without one.
    entry = ('{"source": "registry", "path": "/var/log/harbor/registry.log", "dev": 65024, '
             '"inode": 10977725, "offset": 3252, "fingerprint": "08fa2601f064b5ba", '
             '"fingerprint_len": 1024, "closed_at_unix_ns": %d}')
    head = '{"version": 1, "saved_at_unix_ns": 1796616069103901226, "files": [\n'
    corpora["positions"].add(head + "],\n\"pipeline_state\": null}\n")
    corpora["positions"].add(head + "  " + entry % 0 + ",\n  " +
                             (entry % 1796616000000000000).replace("10977725", "10977726") +
                             '\n],\n"pipeline_state": {"held":[],"pipeline":{"joiner":{"access":'
                             '[],"now":1796612400000000000,"pending":[]},"latest_time":1},'
                             '"version":1}}\n')
    corpora["positions"].add('{"version": 1, "files": [' + entry % 0 + "]}")

    # Carried pipeline states (the positions file's "pipeline_state") as EncodeCarryOver writes
    # them: an error request waiting for its summary, an access line waiting for its summary, a
    # summary already counted, a reported error, and a logrus record held for its continuation.
    t = 1796612400000000000
    pending = ('{"id":"4220c7a0-4178-4bac-8ab4-3193d5f04818","source":"registry","first":%d,'
               '"last":%d,"queued_wall":%d,"level":5,"error_lines":true,"writer_ns":0,'
               '"method":"PATCH","uri":"/v2/lab/app/blobs/uploads/016bcc87-4f28-4dc3-bd89-'
               '85262ae7e25a","repository":"lab/app","upload":"016bcc87-4f28-4dc3-bd89-85262ae7e25a",'
               '"last_msg":"error resolving upload","messages":"error resolving upload",'
               '"detail":"s3aws: Path not found: /docker/registry/v2/repositories/lab/app/_uploads/'
               '016bcc87-4f28-4dc3-bd89-85262ae7e25a/data","err_code":"","err_message":""}'
               % (t, t + 10**8, t + 5 * 10**8))
    access = '[%d,%d,"registry","PATCH","/v2/lab/app/blobs/uploads/2",202]' % (t, t + 10**9)
    held = ('{"source":"registry","dev":65024,"inode":10977725,"record":"time=\\"2023-11-14T22:'
            '13:20Z\\" level=error msg=\\"response completed with error\\" err.code=unknown '
            'err.detail=\\"s3aws: AccessDenied: Access Denied","record_time":0,"fragments":"",'
            '"fragments_time":0,"last_time":1700000000000000000,"error_fragment":"",'
            '"error_fragment_is_golog":false}')

    def state(pending_list, access_list, summaries, reported, held_list):
        return ('{"version":1,"pipeline":{"latest_time":%d,"joiner":{"now":%d,"pending":[%s],'
                '"access":[%s],"recent_summaries":[%s],"reported_errors":[%s]}},"held":[%s]}'
                % (t, t, ",".join(pending_list), ",".join(access_list), ",".join(summaries),
                   ",".join(reported), ",".join(held_list)))
    corpora["carry_over"].add(state([], [], [], [], []))
    corpora["carry_over"].add(state([pending], [access], ["[1234567890123456789,%d,%d]" % (t, t)],
                                    ['[%d,"a1cadf86-de3f-442b-8a02-d0196abe468b",%d]' % (t, t)],
                                    [held]))
    corpora["carry_over"].add(state([], [access] * 3, [], [], [held.replace("registry", "harbor")]))
    corpora["carry_over"].add(state([pending.replace('"level":5', '"level":4')], [], [], [], []))

    # Authorization headers: the target's users (alice:s3cret, bob:pa:ss word), a wrong password,
    # an unknown user, other schemes and malformed base64; bare credentials (the target encodes
    # them).
    def basic(credentials):
        return b"Basic " + base64.b64encode(credentials)
    for seed in (basic(b"alice:s3cret"), basic(b"bob:pa:ss word"), basic(b"alice:wrong"),
                 basic(b"mallory:s3cret"), basic(b"carol:$2y$04$not-a-bcrypt-hash"),
                 b"basic   " + base64.b64encode(b"alice:s3cret") + b"  ", b"Bearer abc.def.ghi",
                 b"Basic", b"Basic =", b"Basic YWxpY2U", b"alice:s3cret", b"bob:pa:ss word",
                 b"prometheus:"):
        corpora["web_auth"].add(seed)

    total_files = total_bytes = 0
    for corpus in corpora.values():
        files, size = corpus.write()
        total_files += files
        total_bytes += size
        print(f"{corpus.name:16} {files:4} seeds {size:8} bytes")
    print(f"{'total':16} {total_files:4} seeds {total_bytes:8} bytes")
    if total_bytes > 2_000_000:
        sys.exit("corpora exceed 2 MB")


if __name__ == "__main__":
    main()
