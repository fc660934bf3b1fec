#!/usr/bin/env python3
"""Builds the *constructed* registry fixtures from the real corpus (deterministic).

Run: python3 tests/testdata/registry/make_constructed.py   (rewrites <case>/input.log and
<case>/twin.log of the constructed cases; the real-excerpt cases are plain copies, see NOTES.md).

Every constructed line is derived from a real line of ../corpus (lab/ logs of registry 2.8.2 and
real-error-lines.jsonl); what changes is only the shape the bytes would have under another
formatter or transport, following the formatter/transport source:
  * logrus JSONFormatter: keys sorted, int fields as numbers, Go's HTML escaping of < > &;
  * registry 2.7/2.8 vendored logrus: quoted values not escaped (raw quotes, raw newlines/tabs);
  * logrus TTY (colored) short form: LEVL[secs] %-44s then " key=value" per field;
  * envelopes: CRI, Docker json-file (16 KiB split), RFC 5424, svlogd, compose, rsyslog (#011).
`twin.log` holds the same records without envelope (or in the text formatter, for logrus-json):
the golden test asserts both give exactly the same events.
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus")


def lab(scenario, first, last, name="registry.log"):
    with open(os.path.join(CORPUS, "lab", scenario, name), encoding="utf-8") as f:
        lines = f.read().split("\n")
    return lines[first - 1:last]


def real(index):
    with open(os.path.join(CORPUS, "real-error-lines.jsonl"), encoding="utf-8") as f:
        return json.loads(f.read().split("\n")[index])["line"]


# --- logrus text (escaped, %q) -> ordered fields -------------------------------------------
TOKEN = re.compile(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)')


def go_unquote(body):
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] in simple:
            out.append(simple[body[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def go_quote(value):
    """%q for the characters these fixtures contain."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace(
        "\n", "\\n").replace("\t", "\\t") + '"'


def parse_text(line):
    """[(key, value, was_quoted)] of an escaped logrus text line."""
    fields = []
    for m in TOKEN.finditer(line):
        raw = m.group(2)
        if raw.startswith('"'):
            fields.append((m.group(1), go_unquote(raw[1:-1]), True))
        else:
            fields.append((m.group(1), raw, False))
    return fields


def to_json(line):
    """The same record as logrus' JSONFormatter writes it (encoding/json, HTML-escaped)."""
    data = {}
    for key, value, _ in parse_text(line):
        if key in ("http.response.status", "http.response.written", "trace.line"):
            data[key] = int(value)
        else:
            data[key] = value
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_unescaped(line):
    """The same record as registry 2.7/2.8 writes it: quoted values with no escaping at all."""
    parts = []
    for key, value, quoted in parse_text(line):
        parts.append(f'{key}="{value}"' if quoted else f"{key}={value}")
    return " ".join(parts)


def rfc3339_nano(text, add_ns=0):
    """'2026-11-29T12:50:40.1539238Z' + add_ns, as Go's RFC3339Nano (trailing zeros trimmed)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:)(\d\d)(?:\.(\d+))?Z$", text)
    frac = (m.group(3) or "").ljust(9, "0")
    total = int(m.group(2)) * 10**9 + int(frac) + add_ns
    sec, ns = divmod(total, 10**9)
    assert sec < 60
    digits = f"{ns:09d}".rstrip("0")
    return f"{m.group(1)}{sec:02d}" + (f".{digits}" if digits else "") + "Z"


def record_time(line):
    m = re.match(r'time="([^"]+)"', line)
    return m.group(1)


def clf_to_rfc3339(line):
    m = re.search(r"\[(\d\d)/(\w\w\w)/(\d{4}):(\d\d:\d\d:\d\d) \+0000\]", line)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    month = months.index(m.group(2)) + 1
    return f"{m.group(3)}-{month:02d}-{m.group(1)}T{m.group(4)}Z"


def write(case, input_lines, twin_lines=None):
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    with open(os.path.join(HERE, case, "input.log"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(input_lines) + "\n")
    if twin_lines is not None:
        with open(os.path.join(HERE, case, "twin.log"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(twin_lines) + "\n")


ASYNC = lab("s3-async-create", 1, 60)
DOWN = lab("s3-backend-down", 40, 56)
ACCESS = lab("s3-async-create", 1, 12, "registry-access.log")


def logrus_json():
    source = ASYNC + DOWN
    write("logrus-json", [to_json(line) for line in source], source)


def cri():
    # Application log on stderr, access log on stdout, each stamped a little after the record.
    lines, twin = [], []
    records = [(line, "stderr", rfc3339_nano(record_time(line), 31_000)) for line in ASYNC[:40]]
    records += [(line, "stdout", clf_to_rfc3339(line)) for line in ACCESS[:6]]
    records += [(line, "stderr", rfc3339_nano(record_time(line), 31_000)) for line in DOWN]
    records.sort(key=lambda r: r[2])
    for n, (line, stream, stamp) in enumerate(records):
        twin.append(line)
        if n % 6 == 3:
            # containerd splits a long line into P pieces; cut inside the time, inside an escaped
            # quote (between the backslash and the quote) when there is one, and late in the line.
            cuts = [7, line.find('\\"') + 1 if '\\"' in line else len(line) // 2, len(line) - 3]
            cuts = sorted(set(c for c in cuts if 0 < c < len(line)))
            pieces = [line[a:b] for a, b in zip([0] + cuts, cuts + [len(line)])]
            for i, piece in enumerate(pieces):
                tag = "F" if i == len(pieces) - 1 else "P"
                lines.append(f"{stamp} {stream} {tag} {piece}")
        else:
            lines.append(f"{stamp} {stream} F {line}")
    write("cri", lines, twin)


def docker_escape(text):
    body = json.dumps(text, ensure_ascii=False)
    return body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def docker_json():
    lines, twin = [], []
    for line in ASYNC[:30]:
        stamp = rfc3339_nano(record_time(line), 52_000)
        lines.append(f'{{"log":{docker_escape(line + chr(10))},"stream":"stderr","time":"{stamp}"}}')
        twin.append(line)
    for line in ACCESS[:4]:
        stamp = clf_to_rfc3339(line)
        lines.append(f'{{"log":{docker_escape(line + chr(10))},"stream":"stdout","time":"{stamp}"}}')
        twin.append(line)
    # One record longer than Docker's 16 KiB line buffer: the real SerializationError of
    # harbor#15869 (real-error-lines #11, truncated there) completed with an HTML body the way
    # aws-sdk-go reports it; the daemon writes it as 16 KiB pieces without "\n", then the rest.
    base = lab("s3-backend-down", 56, 56)[0]
    fields = parse_text(base)
    body = "<html><head><title>MinIO Console</title></head><body>" + (
        '<div class="x">MinIO Console &amp; object browser</div>' * 700) + "</body></html>"
    detail = ("s3aws: SerializationError: failed to decode REST XML\n\tstatus code: 200, "
              "request id: , host id: \ncaused by: XML syntax error on line 1: invalid "
              "character entity &amp (no semicolon)\n" + body)
    parts = []
    for key, value, quoted in fields:
        if key == "err.detail":
            value = detail
        parts.append(f"{key}={go_quote(value)}" if quoted else f"{key}={value}")
    long_line = " ".join(parts)
    assert len(long_line.encode()) > 2 * 16384
    stamp = rfc3339_nano(record_time(long_line), 52_000)
    raw = (long_line + "\n").encode()
    for offset in range(0, len(raw), 16384):
        piece = raw[offset:offset + 16384].decode()
        lines.append(f'{{"log":{docker_escape(piece)},"stream":"stderr","time":"{stamp}"}}')
    twin.append(long_line)
    for line in DOWN[2:8]:
        stamp = rfc3339_nano(record_time(line), 52_000)
        lines.append(f'{{"log":{docker_escape(line + chr(10))},"stream":"stderr","time":"{stamp}"}}')
        twin.append(line)
    write("docker-json", lines, twin)


def rfc5424():
    lines, twin = [], []
    for n, line in enumerate(ASYNC[7:37]):
        stamp = rfc3339_nano(record_time(line), 0)
        stamp = re.sub(r"\.(\d{6})\d*Z", r".\1Z", stamp)  # rsyslog: microseconds
        sd = "-"
        prefix = ""
        if n % 5 == 1:
            sd = '[meta sequenceId="%d" note="a \\] b"]' % n
        if n % 7 == 2:
            prefix = "\ufeff"  # BOM before an UTF-8 MSG
        lines.append(f"<14>1 {stamp} registry-host registry 3915 - {sd} {prefix}{line}")
        twin.append(line)
    write("rfc5424", lines, twin)


def svlogd_stamp(rfc3339):
    m = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z", rfc3339)
    return f"{m.group(1)}_{m.group(2)}.{(m.group(3) or '').ljust(5, '0')[:5]}"


def svlogd():
    lines, twin = [], []
    for line in ASYNC[20:45]:
        lines.append(f"{svlogd_stamp(record_time(line))} {line}")
        twin.append(line)
    for index in (25, 36):  # real GitLab omnibus lines, svlogd prefix as captured
        lines.append(real(index))
        twin.append(real(index).split(" ", 1)[1])
    write("svlogd", lines, twin)


def compose():
    lines, twin = [], []
    for n, line in enumerate(lab("s3-backend-down", 1, 30)):
        name = "registry_1  | " if n % 2 == 0 else "registry-1  | "  # compose v1 / v2 names
        lines.append(name + line)
        twin.append(line)
    for line in lab("s3-backend-down", 1, 8, "registry-access.log"):
        lines.append("registry_1  | " + line)
        twin.append(line)
    # Raw-newline records (2.7/2.8 form): every physical line gets its own prefix.
    for line in lab("s3-backend-down", 42, 47):
        for physical in to_unescaped(line).split("\n"):
            lines.append("registry_1  | " + physical)
            twin.append(physical)
    lines.append(real(9))  # real: registry 2.5.1 in docker-compose (distribution#2023)
    twin.append(real(9).split(" | ", 1)[1])
    write("compose", lines, twin)


def harbor_raw_newline():
    """Registry 2.7/2.8 (Harbor) records with raw newlines, three ways they reach a file."""
    lines = []
    # 1. docker logs / json-file payload form: bare physical lines (harbor#14106 shape).
    for line in lab("s3-backend-down", 41, 52):
        lines.extend(to_unescaped(line).split("\n"))
    # 2. Harbor's registry.log: rsyslog writes every physical line with its own header and
    #    escapes the tab as #011 (harbor#16404 shows "registry[20352]: #011/go/src/...").
    for line in lab("s3-backend-down", 53, 56):
        for physical in to_unescaped(line).split("\n"):
            lines.append("Nov 29 12:42:51 172.18.0.1 registry[3915]: " +
                         physical.replace("\t", "#011"))
    # 3. The real continuation line of harbor#14106 (real-error-lines #13) after a first line of
    #    the same request rebuilt from the fields that line shows (marked in NOTES.md).
    lines.append('time="2021-01-27T15:03:12.899337418Z" level=error msg="response completed with '
                 'error" auth.user.name="harbor_registry_user" err.code=unknown '
                 'err.detail="s3aws: RequestError: send request failed')
    lines.append(real(13).rstrip(" "))
    # 4. A record whose quote never closes before the next record starts (log cut mid-record).
    lines.append(real(11))
    lines.append(lab("s3-backend-down", 47, 47)[0])
    write("harbor-raw-newline", lines)


def tty_line(line, start_seconds):
    fields = parse_text(line)
    level = {"debug": "DEBU", "info": "INFO", "warning": "WARN", "error": "ERRO"}[
        dict((k, v) for k, v, _ in fields)["level"]]
    msg = dict((k, v) for k, v, _ in fields)["msg"]
    hh, mm, ss = record_time(line)[11:19].split(":")
    secs = int(hh) * 3600 + int(mm) * 60 + int(ss) - start_seconds
    out = f"{level}[{secs:04d}] {msg:<44} "
    for key, value, quoted in fields:
        if key in ("time", "level", "msg"):
            continue
        shown = '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace(
            "\t", "\\t") + '"' if quoted else value
        out += f" {key}={shown}"
    return out


def tty():
    start = 12 * 3600 + 50 * 60 + 40
    lines = [real(34)]  # real: distribution#1285
    for line in ASYNC[1:20]:
        lines.append(tty_line(line, start))
    # The same form with logrus' colour codes, as a TTY-attached container's log file has it.
    for line in ASYNC[28:32]:
        plain = tty_line(line, start)
        level, rest = plain[:4], plain[4:]
        color = {"INFO": 36, "ERRO": 31, "WARN": 33, "DEBU": 37}[level]
        rest = re.sub(r" ([A-Za-z0-9_.]+)=", lambda m: f" \x1b[{color}m{m.group(1)}\x1b[0m=", rest)
        lines.append(f"\x1b[{color}m{level}\x1b[0m{rest}")
    # In a CRI envelope: the record has no absolute time, the envelope's is used.
    for line in ASYNC[32:36]:
        lines.append(f"{rfc3339_nano(record_time(line), 7_000)} stderr F {tty_line(line, start)}")
    write("tty", lines)


def gitlab():
    lines = [real(36), real(37)]
    # GitLab container registry (LabKit) access log for the request of real line 36, text and
    # JSON formatter; snake_case keys as LabKit writes them (constructed from #36's ids).
    lines.append('time="2022-09-28T09:40:30.056Z" level=info msg=access correlation_id='
                 '01GE1QG6Q2BRR23PVNN35KW9R4 duration_ms=71 host=registry.example.com '
                 'method=DELETE proto=HTTP/1.1 referrer= remote_addr=10.0.0.7:41234 '
                 'remote_ip=10.0.0.7 status=500 system=http ttfb_ms=70 '
                 'uri=/v2/mareshq/internal-static-sites/signpost.mareshq.com/manifests/'
                 'sha256:43d2ea4124cd8d34903c5cef22b6f00b1e39cc1b4e3308c7fe20e43c88cd4796 '
                 'user_agent=GitLab/15.4.0 written_bytes=253')
    access = {
        "content_type": "application/json", "correlation_id": "01GE1QG6Q2BRR23PVNN35KW9R5",
        "duration_ms": 12, "host": "registry.example.com", "level": "info", "method": "GET",
        "msg": "access", "proto": "HTTP/1.1", "referrer": "", "remote_addr": "10.0.0.7:41236",
        "remote_ip": "10.0.0.7", "status": 404, "system": "http",
        "time": "2022-09-28T09:40:31.102Z", "ttfb_ms": 11,
        "uri": "/v2/mareshq/internal-static-sites/signpost.mareshq.com/manifests/main-7cde7fa8",
        "user_agent": "docker/20.10.17 go/go1.17.11", "written_bytes": 201}
    lines.append(json.dumps(access, sort_keys=True, separators=(",", ":")))
    error = {"code": "MANIFEST_UNKNOWN", "correlation_id": "01GE1QG6Q2BRR23PVNN35KW9R5",
             "detail": "unknown tag=main-7cde7fa8", "error": "manifest unknown: manifest unknown",
             "go_version": "go1.17.13", "level": "error", "msg": "manifest unknown",
             "root_repo": "mareshq", "time": "2022-09-28T09:40:31.101Z",
             "vars_name": "mareshq/internal-static-sites/signpost.mareshq.com",
             "vars_reference": "main-7cde7fa8", "version": "v3.57.0-gitlab"}
    lines.insert(3, json.dumps(error, sort_keys=True, separators=(",", ":")))
    # An info line that is not an access line (not interesting: counted, not emitted).
    lines.append('time="2022-09-28T09:40:32.000Z" level=info msg="router info" '
                 'correlation_id=01GE1QG6Q2BRR23PVNN35KW9R6 duration_ms=3 method=GET '
                 'path=/v2/ root_repo= router=gorilla/mux status=200')
    write("gitlab", lines)


def v3_escaped():
    """Escaping registries (v2.0-2.6 %q, v3 strconv.Quote): one physical line per record."""
    lines = [
        real(8),   # v2.0.1: \" inside msg (trace line, info: counted, not emitted)
        real(9).split(" | ", 1)[1],  # v2.5.1: \n\t inside msg
        real(14),  # v2.x on OpenShift: -04:00 zone, upper-case err.code
        real(15),  # Harbor 2024 (go1.21.4): error=, \( \) in the user agent
        real(16),
        real(18),  # truncated by the reporter after a bare key: still a record
        real(19),  # v3 (go1.25.1), truncated mid-key
        real(21),
        real(22),  # quoted "891.682µs" duration
        # distribution#4649 (v3): the issue shows the line JSON-escaped; this is the line itself.
        real(17).replace('\\"', '"').replace("\\\\", "\\"),
    ]
    # Constructed in v3's escaping from real details: the swift detail of real line 27 with its
    # inner quotes escaped, a detail ending in an escaped quote, and one with escaped backslashes.
    lines.append('time="2025-06-10T10:01:02.000000001Z" level=error msg="response completed with '
                 'error" err.code=unknown err.detail="swift: Put \\"http://corp.com/swift/v1/harbor/'
                 'files/docker/registry/v2/repositories/p/r/_uploads/75315e5a-afef-4002-491f-'
                 'ee9f7f94f299/startedat\\": net/http: HTTP/1.x transport connection broken: http: '
                 'ContentLength=20 with Body length 0" err.message="unknown error" '
                 'http.request.id=0f1e2d3c-0000-4000-8000-000000000001 http.request.method=POST '
                 'http.request.uri="/v2/p/r/blobs/uploads/" http.response.duration=98.515653ms '
                 'http.response.status=500 vars.name="p/r"')
    lines.append('time="2025-06-10T10:01:03.5+02:00" level=warning msg="error authorizing context: '
                 'token says \\"denied\\"" http.request.id=0f1e2d3c-0000-4000-8000-000000000002 '
                 'http.request.method=GET http.request.uri="/v2/p/r/manifests/latest" vars.name="p/r"'
                 ' vars.reference=latest')
    lines.append('time="2025-06-10T10:01:04Z" level=error msg="response completed with error" '
                 'err.code=unknown err.detail="filesystem: open D:\\\\registry\\\\data\\\\: access '
                 'is denied\\tretry\\\\" err.message="unknown error" http.request.id='
                 '0f1e2d3c-0000-4000-8000-000000000003 http.request.method=PUT http.request.uri='
                 '"/v2/p/r/blobs/uploads/u?_state=x&digest=sha256%3Aab" http.response.duration='
                 '"12µs" http.response.status=500 vars.name="p/r" vars.uuid=u')
    write("registry-v3-escaped", lines)


def mixed():
    """One Harbor-style stream: app log, access log, JSON, TTY, Go std log, stack trace lines."""
    seed = open(os.path.join(CORPUS, "seed", "registry.log"), encoding="utf-8").read().split("\n")
    ua = ("docker/17.09.0-ce go/go1.8.3 git-commit/afdb6d4 kernel/4.19.118-1.el7.centos.x86_64 "
          "os/linux arch/amd64 UpstreamClient(Docker-Client/17.09.0-ce \\\\(linux\\\\))")
    patch_uri = re.search(r'http\.request\.uri="([^"]+)"', seed[6]).group(1)
    lines = [
        # Constructed access lines in Harbor's registry.log (stdout and stderr share the file).
        f'Apr  6 11:46:36 172.25.0.1 registry[3915]: 172.18.0.8 - - [06/Apr/2022:03:46:36 +0000] '
        f'"POST /v2/gitlab-ci/100017681/blobs/uploads/ HTTP/1.1" 202 0 "" "{ua}"',
    ] + seed[:7] + [
        f'Apr  6 11:46:40 172.25.0.1 registry[3915]: 172.18.0.8 - - [06/Apr/2022:03:46:38 +0000] '
        f'"PATCH {patch_uri} HTTP/1.1" 500 203 "" "{ua}"',
        "<30>" + seed[6],  # the same summary with a BSD-syslog <PRI>: a duplicate on purpose
        "",
        real(35),  # real logrus JSON (distribution#928), info: counted only
        f"2015-08-26T21:18:09.827314429Z stderr F {real(35)}",  # and in CRI
        real(37),  # real GitLab JSON error
        real(34),  # real TTY
        lab("s3-async-create", 30, 31)[0],
        lab("s3-async-create", 31, 31)[0],
        # harbor-helm#2251 (real): a client disconnect, then Go's std logger in the same stream.
        'time="2025-09-24T01:37:56.425322895Z" level=error msg="client disconnected during blob '
        'PUT" auth.user.name="harbor_registry_user" contentLength=12295141193 copied=7391265728 '
        'error="unexpected EOF" go.version=go1.21.4 http.request.host="127.0.0.1:8080" '
        'http.request.id=20e586c8-dc98-4baf-bcb8-fd95c2d9c3be http.request.method=PUT '
        'http.request.remoteaddr=127.0.0.1 http.request.uri="/v2/dockerhub-proxy/rocm/vllm-dev/'
        'blobs/uploads/003fed24-344a-498b-b4f9-d47f4be7778c?_state=YVe2Nf5KlhOJhIffU6Duo8RXcMaV_'
        'YSCu2Z_Vx2J1rR7Ik5hbWUiOiJkb2NrZXJodWItcHJveHkvcm9jbS92bGxtLWRldiIsIlVVSUQiOiIwMDNmZWQyN'
        'C0zNDRhLTQ5OGItYjRmOS1kNDdmNGJlNzc3OGMiLCJPZmZzZXQiOjAsIlN0YXJ0ZWRBdCI6IjIwMjUtMDktMjRUM'
        'DE6MDc6NTcuNDkzNjQ5NjIzWiJ9&digest=sha256%3A0866d50e3e347f94d36821114e677e47e8ee74a9fed06f'
        'b7e3527dd071db245e" http.request.useragent=harbor-registry-client vars.name="dockerhub-'
        'proxy/rocm/vllm-dev" vars.uuid=003fed24-344a-498b-b4f9-d47f4be7778c',
        "2025/09/24 01:37:57 http: superfluous response.WriteHeader call from github.com/docker/"
        "distribution/vendor/github.com/gorilla/handlers.(*responseLogger).WriteHeader "
        "(handlers.go:125)",
        # harbor#16404 (real): a panic's stack trace in Harbor's registry.log, tab as #011.
        "Feb 23 14:11:00 172.18.0.1 registry[20352]: github.com/docker/distribution/vendor/github"
        ".com/spf13/cobra.(*Command).Execute(0x108f340, 0xc4201e5f40, 0xc4200001a0)",
        "Feb 23 14:11:00 172.18.0.1 registry[20352]: #011/go/src/github.com/docker/distribution/"
        "vendor/github.com/spf13/cobra/command.go:560 +0x3c3",
        "Feb 23 14:11:00 172.18.0.1 registry[20352]: main.main()",
        'Feb 23 14:11:01 172.18.0.1 registry[20352]: time="2022-02-23T06:11:01.29826979Z" '
        'level=info msg="debug server listening localhost:5001"',
        # Harbor core's own format (notes §3.5) in a registry source: not a registry record.
        '2022-08-19T17:04:09Z [INFO] [/server/middleware/security/robot.go:71][requestID="a1"]: '
        "robot account",
    ]
    write("mixed", lines)


def main():
    logrus_json()
    cri()
    docker_json()
    rfc5424()
    svlogd()
    compose()
    harbor_raw_newline()
    tty()
    gitlab()
    v3_escaped()
    mixed()


if __name__ == "__main__":
    main()
