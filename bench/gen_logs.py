#!/usr/bin/env python3
"""Deterministic generator of realistic Docker Distribution / Harbor registry logs.

Writes one registry log the way Harbor's log container stores it: the registry's
application log (logrus, debug level: `authorizing request`, `authorized request`,
handler messages, `s3aws.*` storage-driver traces, error lines, `response completed`
summaries) and its access log (combined format) interleaved in one file.  Optionally
also the S3 server-access log (AWS format) and the Ceph RGW `beast:` log of the same
storage calls, and always `<out>.expected.json`: the exact ground truth of what was
generated (responses by repository/method/status, error responses by cause, the
PathNotFound 500s, line mix), so tests and the benchmark can check counts.

Shape of the traffic: many repositories with Zipf popularity; concurrent clients whose
records interleave line by line in time order; pull flows (manifest HEAD/GET, blob GET
307) and push flows (HEAD blob 404, POST 202, PATCH 202, PUT 201, manifest PUT 201)
with real `_state` tokens (URL-safe base64 of a 32-byte MAC + JSON Name/UUID/Offset/
StartedAt, `=` escaped as %3D); ~1.5 % failed requests of several causes, written with
the registry 2.8 messages (see ../shared/notes/registry-internals.md §3).

Python 3 standard library only.  Same arguments + same --seed => byte-identical output.

Examples:
  bench/gen_logs.py --size 50M --out /tmp/rrca-bench/registry.log
  bench/gen_logs.py --size 1G --envelope syslog --s3-log /tmp/s3.log --out /tmp/r.log
  bench/gen_logs.py --size 10M --format json --envelope cri --out /tmp/r.log
"""

import argparse
import base64
import bisect
import calendar
import heapq
import json
import math
import os
import random
import re
import sys
import time

GO_VERSION = 'go1.20.8'
REG_HOST = 'harbor.prod.eu-west-1.example.internal'
PEER_HOST = '172.18.0.8'            # Harbor core: the access log's peer host
AUTH_USER = 'harbor_registry_user'  # Harbor's registry user
BUCKET = 'harbor-registry'
ROOT = '/docker/registry/v2'
SDK_UA = 'aws-sdk-go/1.44.133 (go1.20.8; linux; amd64)'
S3_OWNER = '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be'
S3_REQUESTER = 'arn:aws:iam::123456789012:user/harbor-registry'
REGISTRY_IP = '10.20.0.15'          # registry pod as seen by the object store
TRACE_FUNC = 'github.com/docker/distribution/registry/storage/driver/base.(*Base).'
TRACE_LINE = {'GetContent': 95, 'PutContent': 110, 'Reader': 125, 'Writer': 142,
              'Stat': 155, 'List': 170, 'Move': 185, 'Delete': 202, 'URLFor': 217}
LEVELS = {'debug': 0, 'info': 1, 'warning': 2, 'error': 3}
MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')
SEC = 1_000_000_000
MS = 1_000_000
US = 1_000

# (user agent, weight, pushes?)  The docker UA really contains `\(linux\)`.
CLIENTS = [
    ('docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/5.15.0-91-generic os/linux '
     'arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))', 28, True),
    ('docker/20.10.24 go/go1.19.7 git-commit/5d6db84 kernel/4.18.0-477.27.1.el8_8.x86_64 '
     'os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.24 \\(linux\\))', 14, True),
    ('docker/26.1.4 go/go1.21.11 git-commit/de5c9cf kernel/5.14.0-427.22.1.el9_4.x86_64 os/linux '
     'arch/amd64 UpstreamClient(Docker-Client/26.1.4 \\(linux\\))', 20, True),
    ('containerd/v1.7.11', 8, False),
    ('containerd/v1.6.28', 4, False),
    ('cri-o/1.28.1 go/go1.20.10 os/linux arch/amd64', 3, False),
    ('buildkit/v0.12', 8, True),
    ('go-containerregistry/v0.19.0', 4, True),
    ('skopeo/1.13.3', 4, True),
    ('harbor-registry-client', 3, False),
]

# Error causes (cause ids of registry-rca's catalogue), the status they give.
CAUSES = {
    'blob_unknown': 404, 'manifest_unknown': 404, 'unauthorized': 401,
    'upload_not_yet_visible': 500, 'upload_listing_missing': 500,
    'storage_throttled': 500, 'client_disconnected': 499, 'upload_offset_mismatch': 404,
}

# Per-request failure probabilities (calibrated for ~1.5 % failed requests overall).
P = {
    'base_401': 0.02,           # GET /v2/ without a token (the client then logs in)
    'token_expired': 0.0015,    # any repository request answered 401
    'manifest_unknown': 0.025,  # pull of a tag that does not exist
    'head_new': 0.04,           # push: the client checks a new layer with HEAD first ...
    'layer_exists': 0.15,       # ... and finds it already in the registry
    'blob_cache_miss': 0.9,     # blob GET/HEAD: link + stat read from storage
    'pnf_young': 0.03,          # PATCH/PUT resume: Path not found, upload seconds old
    'stall': 0.004,             # client stalls minutes between POST and PATCH ...
    'pnf_old': 0.6,             # ... and then the stale listing misses the upload
    'disconnect': 0.007,        # client disconnected during PATCH (499)
    'slowdown': 0.013,          # PUT: CompleteMultipartUpload answered 503 SlowDown
    'wrong_offset': 0.007,      # PUT: upload resumed at wrong offest (404)
}


# ----------------------------------------------------------------------------- formats

class TimeFmt:
    """Formats nanosecond timestamps; caches the per-second part."""

    def __init__(self, tz_offset_s):
        self._tz = tz_offset_s
        self._cache = {}

    def _sec(self, s):
        e = self._cache.get(s)
        if e is None:
            if len(self._cache) > 8192:
                self._cache.clear()
            u = time.gmtime(s)
            loc = time.gmtime(s + self._tz)
            e = ('%04d-%02d-%02dT%02d:%02d:%02d' % u[:6],
                 '%02d/%s/%04d:%02d:%02d:%02d' % (u[2], MONTHS[u[1] - 1], u[0], u[3], u[4], u[5]),
                 '%s %2d %02d:%02d:%02d' % (MONTHS[loc[1] - 1], loc[2], loc[3], loc[4], loc[5]))
            self._cache[s] = e
        return e

    def rfc3339nano(self, ns):
        s, f = divmod(ns, SEC)
        iso = self._sec(s)[0]
        if f:
            return iso + '.' + ('%09d' % f).rstrip('0') + 'Z'
        return iso + 'Z'

    def rfc3339(self, ns):
        return self._sec(ns // SEC)[0] + 'Z'

    def clf(self, ns):
        """[02/Jan/2006:15:04:05 +0000] as the access log and S3 write it."""
        return '[' + self._sec(ns // SEC)[1] + ' +0000]'

    def clf_ms(self, ns):
        s, f = divmod(ns, SEC)
        return '[%s.%03d +0000]' % (self._sec(s)[1], f // MS)

    def rgw(self, ns):
        s, f = divmod(ns, SEC)
        return '%s.%03d+0000' % (self._sec(s)[0], f // MS)

    def syslog(self, ns):
        return self._sec(ns // SEC)[2]


def godur(ns):
    """Go's time.Duration.String() for positive durations."""
    if ns >= SEC:
        s, f = divmod(ns, SEC)
        return ('%d.%09d' % (s, f)).rstrip('0').rstrip('.') + 's'
    if ns >= MS:
        s, f = divmod(ns, MS)
        return ('%d.%06d' % (s, f)).rstrip('0').rstrip('.') + 'ms'
    if ns >= US:
        s, f = divmod(ns, US)
        return ('%d.%03d' % (s, f)).rstrip('0').rstrip('.') + '\u00b5s'
    return '%dns' % ns


_RAW_PLAIN = re.compile(r'[A-Za-z0-9.\-]*\Z').match      # logrus @3d4380f (registry 2.7/2.8)
_ESC_PLAIN = re.compile(r'[A-Za-z0-9.\-_/@^+]*\Z').match  # logrus >= 1.0.4 (Debian 2.8, v3)


def go_quote(v):
    return '"' + v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\t', '\\t') + '"'


def json_str(v):
    """Go encoding/json string (HTML-escaped, as registry 2.8 and docker json-file write)."""
    return '"' + (v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
                  .replace('\t', '\\t').replace('&', '\\u0026').replace('<', '\\u003c')
                  .replace('>', '\\u003e')) + '"'


class TextStyle:
    """logrus TextFormatter.  Fragments start with their separator (' k=v')."""

    def __init__(self, quoting):
        if quoting == 'raw':
            # Registry 2.7/2.8 as Harbor ships it: quotes added, nothing escaped.
            self.q = lambda v: v if _RAW_PLAIN(v) else '"' + v + '"'
        else:
            self.q = lambda v: v if _ESC_PLAIN(v) else go_quote(v)

    def kv(self, k, v):
        return ' ' + k + '=' + self.q(v)

    def kvn(self, k, n):
        return ' ' + k + '=' + str(n)

    def kvdur(self, k, ns):
        return ' ' + k + '=' + self.q(godur(ns))

    kvtrace = kvdur

    def msg(self, m):
        return self.q(m)

    @staticmethod
    def rec(ts, level, msg_q, pre, post):
        return 'time="' + ts + '" level=' + level + ' msg=' + msg_q + pre + post

    def generic(self, ts, level, msg, fields):
        return 'time="' + ts + '" level=' + level + ' msg=' + self.q(msg) + ''.join(
            ' ' + k + '=' + (self.q(v) if isinstance(v, str) else str(v))
            for k, v in sorted(fields))


class JsonStyle:
    """logrus JSONFormatter: every key sorted, level/msg/time among them."""
    q = staticmethod(json_str)

    @staticmethod
    def kv(k, v):
        return ',"' + k + '":' + json_str(v)

    @staticmethod
    def kvn(k, n):
        return ',"' + k + '":' + str(n)

    @staticmethod
    def kvdur(k, ns):                 # http.response.duration is Duration.String()
        return ',"' + k + '":"' + godur(ns) + '"'

    @staticmethod
    def kvtrace(k, ns):               # trace.duration is a time.Duration: a number
        return ',"' + k + '":' + str(ns)

    msg = staticmethod(json_str)

    @staticmethod
    def rec(ts, level, msg_q, pre, post):
        # pre holds every key < "level" (auth, err, go.version, http.*), post the rest.
        return ('{' + pre[1:] + ',"level":"' + level + '","msg":' + msg_q +
                ',"time":"' + ts + '"' + post + '}')

    def generic(self, ts, level, msg, fields):
        d = dict(fields)
        d.update(level=level, msg=msg, time=ts)
        return '{' + ','.join(json_str(k) + ':' + (json_str(v) if isinstance(v, str) else str(v))
                              for k, v in sorted(d.items())) + '}'


# ----------------------------------------------------------------------------- world

class Repo:
    __slots__ = ('name', 'tags', 'layers', 'manifests')

    def __init__(self, name):
        self.name = name
        self.tags = []        # existing tags
        self.layers = []      # blob digests of the current image
        self.manifests = {}   # tag -> manifest digest


def make_repo_names(rng, n):
    projects = ['library', 'platform', 'payments', 'data', 'ml', 'infra', 'web', 'mobile',
                'search', 'ads', 'security', 'devops', 'qa', 'analytics', 'billing',
                'identity', 'ci', 'edge', 'iot', 'observability', 'sre', 'mirror',
                'dockerhub-proxy', 'partner', 'research', 'gaming', 'media', 'core']
    projects += ['team-%02d' % i for i in range(1, 61)]
    first = ['order', 'user', 'cart', 'search', 'pay', 'ledger', 'catalog', 'inventory',
             'shipping', 'review', 'media', 'chat', 'feed', 'geo', 'price', 'risk', 'fraud',
             'kyc', 'mail', 'sms', 'auth', 'session', 'profile', 'report', 'invoice',
             'tax', 'promo', 'loyalty', 'asset', 'video', 'image', 'notify', 'metrics']
    second = ['api', 'web', 'worker', 'gateway', 'db-migrate', 'cache', 'frontend', 'backend',
              'scheduler', 'ingest', 'export', 'proxy', 'agent', 'operator', 'controller',
              'exporter', 'sidecar', 'cron', 'consumer', 'service']
    base = ['nginx', 'redis', 'postgres', 'python', 'golang', 'node', 'alpine', 'ubuntu',
            'debian', 'busybox', 'openjdk', 'eclipse-temurin', 'mysql', 'mongo', 'rabbitmq',
            'traefik', 'envoy', 'memcached', 'haproxy', 'httpd', 'php', 'ruby', 'rust',
            'maven', 'gradle', 'kafka', 'zookeeper', 'elasticsearch', 'grafana', 'prometheus']
    names, seen = [], set()
    for b in base:
        for p in ('library', 'dockerhub-proxy/library'):
            names.append(p + '/' + b)
    while len(names) < n:
        k = rng.random()
        if k < 0.12:
            name = 'gitlab-ci/%d' % rng.randrange(100000000, 110000000)
        elif k < 0.45:
            name = '%s/%s/%s-%s' % (rng.choice(projects), rng.choice(first), rng.choice(first),
                                    rng.choice(second))
        else:
            name = '%s/%s-%s' % (rng.choice(projects), rng.choice(first), rng.choice(second))
        if name not in seen:
            names.append(name)
        seen.add(name)
    names = names[:n]
    rng.shuffle(names)    # popularity rank independent of the name pattern
    return names


# ----------------------------------------------------------------------------- requests

class Req:
    """One HTTP request being rendered: its fragments, time cursor and records."""
    __slots__ = ('rid', 't0', 't', 'method', 'uri', 'repo', 'op', 'pre', 'post', 'authed',
                 'client', 'recs')


class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        r = self.rng
        self.rand = r.random
        self.bits = r.getrandbits
        # Storage-log-only randomness has its own generator: the registry log is the same
        # with or without --s3-log/--rgw-log.
        self.sbits = random.Random(a.seed * 7919 + 17).getrandbits
        self.style = JsonStyle() if a.format == 'json' else TextStyle(a.quoting)
        self.tf = TimeFmt(int(a.tz_offset * 3600))
        self.min_level = LEVELS[a.level]
        self.s3 = bool(a.s3_log)
        self.rgw = bool(a.rgw_log)
        self.storage_log = self.s3 or self.rgw
        self.trace_file = ('github.com/docker/distribution/registry/storage/driver/base/base.go'
                           if a.quoting == 'escaped' and a.format == 'text' else
                           '/go/src/github.com/docker/distribution/registry/storage/driver/base/base.go')
        st = self.style
        self.auth_frag = st.kv('auth.user.name', AUTH_USER)
        self.trace_const = {op: (st.kv('trace.file', self.trace_file) +
                                 st.kv('trace.func', TRACE_FUNC + op), st.kvn('trace.line', line))
                            for op, line in TRACE_LINE.items()}
        self.lvl = {k: (v >= self.min_level) for k, v in LEVELS.items()}
        names = make_repo_names(r, a.repos)
        self.repos = [Repo(n) for n in names]
        w, cum = 0.0, []
        for i in range(len(names)):
            w += 1.0 / (i + 1) ** a.zipf
            cum.append(w)
        self.repo_cum, self.repo_total = cum, w
        self.client_cum, acc = [], 0
        for c in CLIENTS:
            acc += c[1]
            self.client_cum.append(acc)
        self.seq = 0
        # ground truth
        self.responses = {}     # (repo, method, operation, status) -> n
        self.errors = {}        # (repo, method, operation, status, cause) -> n
        self.kinds = {}         # physical lines by kind
        self.pnf_uploads = []   # PathNotFound 500s: upload details for correlation tests
        self.s3_ops = {}        # (operation, status) -> n
        self.requests = 0

    # -- random helpers
    def uuid(self):
        h = '%032x' % self.bits(128)
        return '%s-%s-4%s-%s%s-%s' % (h[:8], h[8:12], h[13:16], '89ab'[int(h[16], 16) & 3],
                                      h[17:20], h[20:])

    def digest(self):
        return 'sha256:%064x' % self.bits(256)

    def lognorm_ns(self, median_ns, sigma=0.8):
        return int(median_ns * math.exp(sigma * self.rng.gauss(0.0, 1.0))) + 1

    def pick_repo(self):
        return self.repos[bisect.bisect_right(self.repo_cum, self.rand() * self.repo_total)]

    def pick_client(self, pushing):
        while True:
            c = CLIENTS[bisect.bisect_right(self.client_cum, self.rand() * self.client_cum[-1])]
            if c[2] or not pushing:
                return c[0]

    def s3_request_id(self, bits=None):
        return '%016X' % (bits or self.bits)(64)

    def host_id(self, bits=None):
        return base64.b64encode((bits or self.bits)(456).to_bytes(57, 'big')).decode()

    def state_token(self, repo, uuid, offset, started_ns, precise):
        started = self.tf.rfc3339nano(started_ns) if precise else self.tf.rfc3339(started_ns)
        js = '{"Name":"%s","UUID":"%s","Offset":%d,"StartedAt":"%s"}' % (repo, uuid, offset, started)
        raw = self.bits(256).to_bytes(32, 'big') + js.encode()
        return base64.urlsafe_b64encode(raw).decode().replace('=', '%3D')

    # -- request rendering
    def begin(self, t, method, uri, repo, op, client, vars_, ctype=None):
        st = self.style
        q = Req()
        q.rid = self.uuid()
        q.t0 = q.t = t
        q.method, q.uri, q.repo, q.op, q.client = method, uri, repo, op, client
        q.authed = False
        pre = st.kv('go.version', GO_VERSION)
        if ctype:
            pre += st.kv('http.request.contenttype', ctype)
        q.pre = (pre + st.kv('http.request.host', REG_HOST) + st.kv('http.request.id', q.rid) +
                 st.kv('http.request.method', method) +
                 st.kv('http.request.remoteaddr', client[1]) + st.kv('http.request.uri', uri) +
                 st.kv('http.request.useragent', client[0]))
        q.post = ''.join(st.kv(k, v) for k, v in vars_)
        q.recs = []
        self.requests += 1
        return q

    def _add(self, q, level, kind, text, stream=0):
        if not self.lvl[level]:
            return
        self.seq += 1
        q.recs.append((q.t, self.seq, text, stream))
        k = self.kinds
        k[kind] = k.get(kind, 0) + 1
        if '\n' in text:
            k['continuation'] = k.get('continuation', 0) + text.count('\n')

    def line(self, q, level, msg, kind='other', extra_pre='', gap_us=60):
        q.t += self.lognorm_ns(gap_us * US, 0.5)
        st = self.style
        pre = (self.auth_frag if q.authed else '') + extra_pre + q.pre
        self._add(q, level, kind, st.rec(self.tf.rfc3339nano(q.t), level, st.msg(msg), pre, q.post))

    def authorize(self, q, ok=True, reason='authorization token required'):
        self.line(q, 'debug', 'authorizing request', 'authorizing', gap_us=40)
        if ok:
            self.line(q, 'info', 'authorized request', 'authorized', gap_us=300)
            q.authed = True
        else:
            self.line(q, 'warning', 'error authorizing context: ' + reason, 'error', gap_us=300)

    def trace(self, q, op, args, dur_ns, storage=None):
        """A storage-driver call: logged when it returns, with its duration."""
        t_start = q.t + 20 * US
        q.t = t_start + dur_ns
        st = self.style
        msg = 's3aws.' + op + '(' + args + (')' if op != 'Move' else '')  # Move lacks ')' (2.8 bug)
        fileline = self.trace_const[op]
        post = (st.kvtrace('trace.duration', dur_ns) + fileline[0] + st.kv('trace.id', self.uuid()) +
                fileline[1] + q.post)
        pre = (self.auth_frag if q.authed else '') + q.pre
        self._add(q, 'debug', 'trace', st.rec(self.tf.rfc3339nano(q.t), 'debug', st.msg(msg), pre, post))
        if storage and self.storage_log:
            self.storage(q, t_start, dur_ns, storage)

    def summary(self, q, status, written, ctype=None, err=None):
        """`response completed` (200-399) or `response completed with error`, then the access
        log line.  err = (code, message, detail|None, cause)."""
        st = self.style
        q.t += self.lognorm_ns(150 * US, 0.5)
        resp = st.kv('http.response.contenttype', ctype) if ctype else ''
        resp += (st.kvdur('http.response.duration', q.t - q.t0) + st.kvn('http.response.status', status) +
                 st.kvn('http.response.written', written))
        auth = self.auth_frag if q.authed else ''
        ts = self.tf.rfc3339nano(q.t)
        if err is None:
            if 200 <= status <= 399:   # success summary: no route vars (logged from r.Context())
                self._add(q, 'info', 'summary', st.rec(ts, 'info', st.msg('response completed'),
                                                        auth + q.pre + resp, ''))
        else:
            code, message, detail, cause = err
            e = st.kv('err.code', code)
            if detail is not None:
                e += st.kv('err.detail', detail)
            e += st.kv('err.message', message)
            self._add(q, 'error', 'summary_error',
                      st.rec(ts, 'error', st.msg('response completed with error'),
                             auth + e + q.pre + resp, q.post))
        self.access(q, status, written)
        key = (q.repo, q.method, q.op, status)
        self.responses[key] = self.responses.get(key, 0) + 1
        if err is not None or status >= 400:
            cause = err[3] if err else 'unauthorized'
            key = key + (cause,)
            self.errors[key] = self.errors.get(key, 0) + 1

    def access(self, q, status, written):
        q.t += 20 * US
        ua = q.client[0].replace('\\', '\\\\').replace('"', '\\"')
        text = '%s - - %s "%s %s HTTP/1.1" %d %d "" "%s"' % (
            PEER_HOST, self.tf.clf(q.t0), q.method, q.uri, status, written, ua)
        self.seq += 1
        q.recs.append((q.t, self.seq, text, 1))
        self.kinds['access'] = self.kinds.get('access', 0) + 1

    def unauthorized(self, q, reason='invalid token'):
        self.authorize(q, ok=False, reason=reason)
        q.t += self.lognorm_ns(200 * US, 0.4)
        self.access(q, 401, 145)
        key = (q.repo, q.method, q.op, 401)
        self.responses[key] = self.responses.get(key, 0) + 1
        key += ('unauthorized',)
        self.errors[key] = self.errors.get(key, 0) + 1

    # -- storage-side logs (S3 access log, RGW beast) for one driver call
    def storage(self, q, t, dur, calls, extra=None):
        """The object-store requests of one driver call, spread over its duration.
        calls: (http_method, key|None, query, aws_operation, status, error_code, bytes_sent,
        object_size); extra: {'rid': request id of the last call, 'ip', 'ua'} or None."""
        n = len(calls)
        for i, (meth, key, query, oper, status, ecode, sent, size) in enumerate(calls):
            ts = t + dur * i // n
            d = max(dur // n, 200 * US)
            self.seq += 1
            ex = extra if i == n - 1 else (dict(extra, rid=None) if extra else None)
            q.recs.append((ts, self.seq, (meth, key, query, oper, status, ecode, sent, size, d, ex), 2))
            k = (oper, status)
            self.s3_ops[k] = self.s3_ops.get(k, 0) + 1

    def s3_line(self, ts, c):
        meth, key, query, oper, status, ecode, sent, size, d, ex = c
        path = '/' + BUCKET + ('/' + key if key else '') + query
        ms = max(d // MS, 1)
        ip, ua, auth = REGISTRY_IP, SDK_UA, 'AuthHeader'
        rid = None
        if ex:
            rid = ex.get('rid')
            if 'ip' in ex:             # presigned URL followed by the client
                ip, ua, auth = ex['ip'], ex['ua'].replace('"', '\\"'), 'QueryString'
        return ('%s %s %s %s %s %s %s %s "%s %s HTTP/1.1" %d %s %s %s %d %s "-" "%s" - %s SigV4 '
                'ECDHE-RSA-AES128-GCM-SHA256 %s %s.s3.eu-west-1.amazonaws.com TLSv1.2 - -' % (
                    S3_OWNER, BUCKET, self.tf.clf(ts), ip, S3_REQUESTER,
                    rid or self.s3_request_id(self.sbits), oper, key or '-', meth, path, status,
                    ecode or '-', sent if sent else '-', size if size else '-', ms,
                    str(max(ms - 1, 1)) if status < 300 else '-', ua, self.host_id(self.sbits),
                    auth, BUCKET))

    def rgw_lines(self, ts, c):
        meth, key, query, oper, status, ecode, sent, size, d, ex = c
        path = '/' + BUCKET + ('/' + key if key else '') + query
        ip, ua, user = REGISTRY_IP, SDK_UA, 'registry'
        if ex and 'ip' in ex:
            ip, ua = ex['ip'], ex['ua'].replace('"', '\\"')
        bits = self.sbits
        req = '0x7f%010x' % bits(40)
        tid1, tid2 = '7f%010x' % bits(40), '7f%010x' % bits(40)
        end = ts + d
        lat = '%.9f' % (d / SEC)
        ops = 0 if status < 400 else (-2 if status == 404 else -2218)
        rng = 'bytes=0-' if oper == 'REST.GET.OBJECT' else '-'
        return (
            '%s %s  1 ====== starting new request req=%s =====\n' % (self.tf.rgw(ts), tid1, req) +
            '%s %s  1 ====== req done req=%s op status=%d http_status=%d latency=%ss ======\n' % (
                self.tf.rgw(end), tid2, req, ops, status, lat) +
            '%s %s  1 beast: %s: %s - %s %s "%s %s HTTP/1.1" %d %d - "%s" %s latency=%ss\n' % (
                self.tf.rgw(end), tid2, req, ip, user, self.tf.clf_ms(ts), meth, path, status,
                sent or 0, ua, rng, lat))


# ----------------------------------------------------------------------------- flows

def key_of(path):
    return path[1:]


def enc_prefix(path):
    return path[1:].replace('/', '%2F')


class Flows(Gen):
    """Client sessions.  Each session is a generator yielding (records, next_start_ns)."""

    def think(self, t, median_ms=15):
        return t + self.lognorm_ns(median_ms * MS, 1.0)

    def new_session(self, t):
        x = self.rand()
        repo = self.pick_repo()
        if x < self.a.push_share:
            return self.push_session(t, repo)
        if x < self.a.push_share + 0.04:
            return self.tags_session(t, repo)
        return self.pull_session(t, repo)

    def client(self, pushing):
        return (self.pick_client(pushing),
                '10.%d.%d.%d' % (self.bits(8), self.bits(8), 1 + self.bits(7)))

    # -- single requests
    def req_base(self, t, cl):
        q = self.begin(t, 'GET', '/v2/', '', 'base', cl, ())
        if self.rand() < P['base_401']:
            self.unauthorized(q, 'authorization token required')
            return q, False
        self.authorize(q)
        self.summary(q, 200, 2, 'application/json; charset=utf-8')
        return q, True

    def req_blob(self, t, cl, repo, digest, method, exists=True):
        uri = '/v2/%s/blobs/%s' % (repo.name, digest)
        op = 'blob_head' if method == 'HEAD' else 'blob_get'
        q = self.begin(t, method, uri, repo.name, op, cl, (('vars.digest', digest), ('vars.name', repo.name)))
        if self.rand() < P['token_expired']:
            self.unauthorized(q)
            return q, None
        self.authorize(q)
        self.line(q, 'debug', 'GetBlob')
        link = '%s/repositories/%s/_layers/sha256/%s/link' % (ROOT, repo.name, digest[7:])
        data = '%s/blobs/sha256/%s/%s/data' % (ROOT, digest[7:9], digest[7:])
        if not exists:
            self.trace(q, 'GetContent', '"%s"' % link, self.lognorm_ns(6 * MS),
                       [('GET', key_of(link), '', 'REST.GET.OBJECT', 404, 'NoSuchKey', 243, 0)])
            self.summary(q, 404, 157, 'application/json; charset=utf-8',
                         ('blob unknown', 'blob unknown to registry', digest, 'blob_unknown'))
            return q, False
        if self.rand() < P['blob_cache_miss']:
            self.trace(q, 'GetContent', '"%s"' % link, self.lognorm_ns(5 * MS),
                       [('GET', key_of(link), '', 'REST.GET.OBJECT', 206, None, 71, 71)])
            self.trace(q, 'Stat', '"%s"' % data, self.lognorm_ns(8 * MS),
                       [('GET', None, '?list-type=2&max-keys=1&prefix=' + enc_prefix(data),
                         'REST.GET.BUCKET', 200, None, 612, 0)])
        if method == 'GET':
            self.trace(q, 'URLFor', '"%s"' % data, self.lognorm_ns(150 * US, 0.4))
            self.summary(q, 307, 0, 'application/octet-stream')
        else:
            self.summary(q, 200, 0, 'application/octet-stream')
        return q, True

    def req_manifest_get(self, t, cl, repo, ref, method='GET', exists=True):
        uri = '/v2/%s/manifests/%s' % (repo.name, ref)
        op = 'manifest_head' if method == 'HEAD' else 'manifest_get'
        q = self.begin(t, method, uri, repo.name, op, cl, (('vars.name', repo.name), ('vars.reference', ref)))
        if self.rand() < P['token_expired']:
            self.unauthorized(q)
            return q, None
        self.authorize(q)
        self.line(q, 'debug', 'GetImageManifest')
        by_tag = not ref.startswith('sha256:')
        if by_tag:
            link = '%s/repositories/%s/_manifests/tags/%s/current/link' % (ROOT, repo.name, ref)
            if not exists:
                self.trace(q, 'GetContent', '"%s"' % link, self.lognorm_ns(5 * MS),
                           [('GET', key_of(link), '', 'REST.GET.OBJECT', 404, 'NoSuchKey', 243, 0)])
                self.summary(q, 404, 96, 'application/json; charset=utf-8',
                             ('manifest unknown', 'manifest unknown', 'unknown tag=' + ref, 'manifest_unknown'))
                return q, False
            self.trace(q, 'GetContent', '"%s"' % link, self.lognorm_ns(5 * MS),
                       [('GET', key_of(link), '', 'REST.GET.OBJECT', 206, None, 71, 71)])
            mdig = repo.manifests.get(ref) or self.digest()
        else:
            mdig = ref
        self.line(q, 'debug', '(*manifestStore).Get')
        rev = '%s/repositories/%s/_manifests/revisions/sha256/%s/link' % (ROOT, repo.name, mdig[7:])
        data = '%s/blobs/sha256/%s/%s/data' % (ROOT, mdig[7:9], mdig[7:])
        self.trace(q, 'GetContent', '"%s"' % rev, self.lognorm_ns(5 * MS),
                   [('GET', key_of(rev), '', 'REST.GET.OBJECT', 206, None, 71, 71)])
        self.trace(q, 'Stat', '"%s"' % data, self.lognorm_ns(8 * MS),
                   [('GET', None, '?list-type=2&max-keys=1&prefix=' + enc_prefix(data),
                     'REST.GET.BUCKET', 200, None, 612, 0)])
        size = 400 + self.bits(11)
        self.trace(q, 'Reader', '"%s", 0' % data, self.lognorm_ns(6 * MS),
                   [('GET', key_of(data), '', 'REST.GET.OBJECT', 206, None, size, size)])
        self.line(q, 'debug', '(*schema2ManifestHandler).Unmarshal' if self.rand() < 0.6
                  else '(*ocischemaManifestHandler).Unmarshal')
        self.summary(q, 200, 0 if method == 'HEAD' else size,
                     'application/vnd.docker.distribution.manifest.v2+json')
        return q, True

    def req_tags(self, t, cl, repo):
        q = self.begin(t, 'GET', '/v2/%s/tags/list' % repo.name, repo.name, 'tags_list', cl,
                       (('vars.name', repo.name),))
        self.authorize(q)
        d = '%s/repositories/%s/_manifests/tags' % (ROOT, repo.name)
        self.trace(q, 'List', '"%s"' % d, self.lognorm_ns(12 * MS),
                   [('GET', None, '?delimiter=%2F&list-type=2&max-keys=1000&prefix=' + enc_prefix(d) + '%2F',
                     'REST.GET.BUCKET', 200, None, 1400, 0)])
        self.summary(q, 200, 60 + 12 * len(repo.tags), 'application/json; charset=utf-8')
        return q

    # -- upload requests
    def req_post(self, t, cl, repo, up):
        uri = '/v2/%s/blobs/uploads/' % repo.name
        q = self.begin(t, 'POST', uri, repo.name, 'blob_upload_start', cl, (('vars.name', repo.name),))
        self.authorize(q)
        self.line(q, 'debug', '(*linkedBlobStore).Writer')
        up['uuid'] = self.uuid()
        up['started'] = q.t + 30 * US
        up['upload_id'] = base64.urlsafe_b64encode(self.bits(480).to_bytes(60, 'big')).decode()
        base = '%s/repositories/%s/_uploads/%s' % (ROOT, repo.name, up['uuid'])
        up['base'] = base
        self.trace(q, 'PutContent', '"%s/startedat"' % base, self.lognorm_ns(7 * MS),
                   [('PUT', key_of(base) + '/startedat', '', 'REST.PUT.OBJECT', 200, None, 0, 20)])
        self.trace(q, 'Writer', '"%s/data", false' % base, self.lognorm_ns(20 * MS),
                   [('POST', key_of(base) + '/data', '?uploads', 'REST.POST.UPLOADS', 200, None, 357, 0)])
        self.trace(q, 'PutContent', '"%s/hashstates/sha256/0"' % base, self.lognorm_ns(7 * MS),
                   [('PUT', key_of(base) + '/hashstates/sha256/0', '', 'REST.PUT.OBJECT', 200, None, 0, 108)])
        self.summary(q, 202, 0)
        up['token'] = self.state_token(repo.name, up['uuid'], 0, up['started'], True)
        up['offset'] = 0
        return q

    def _resume(self, q, repo, up, fail):
        """Resume of an upload (PATCH/PUT): startedat, then Writer(append=true) that lists the
        multipart uploads.  fail=True: the listing misses the upload (Path not found)."""
        self.line(q, 'debug', '(*linkedBlobStore).Resume')
        base = up['base']
        self.trace(q, 'GetContent', '"%s/startedat"' % base, self.lognorm_ns(4 * MS),
                   [('GET', key_of(base) + '/startedat', '', 'REST.GET.OBJECT', 206, None, 20, 20)])
        lst = ('GET', None, '?prefix=' + enc_prefix(base + '/data') + '&uploads', 'REST.GET.UPLOADS',
               200, None, 364 if fail else 987, 0)
        if fail:
            self.trace(q, 'Writer', '"%s/data", true' % base, self.lognorm_ns(900 * MS, 0.9), [lst])
            return False
        self.trace(q, 'Writer', '"%s/data", true' % base, self.lognorm_ns(45 * MS),
                   [lst, ('GET', key_of(base) + '/data', '?uploadId=' + up['upload_id'],
                          'REST.GET.UPLOAD', 200, None, 558, 0)])
        return True

    def _pnf(self, q, repo, up):
        """Path not found on resume; the cause follows the upload's age when the request
        arrived (registry-rca's default window: 60 s)."""
        path = up['base'] + '/data'
        age = (q.t0 - up['started']) / SEC
        cause = 'upload_listing_missing' if age > 60 else 'upload_not_yet_visible'
        self.line(q, 'error', 'error resolving upload: s3aws: Path not found: ' + path, 'error')
        self.summary(q, 500, 203, 'application/json; charset=utf-8',
                     ('unknown', 'unknown error', 's3aws: Path not found: ' + path, cause))
        self.pnf_uploads.append({'repository': repo.name, 'method': q.method, 'uuid': up['uuid'],
                                 'request_id': q.rid, 'upload_age_seconds': round(age, 3),
                                 'cause': cause})

    def req_patch(self, t, cl, repo, up, size, stale):
        uri = '/v2/%s/blobs/uploads/%s?_state=%s' % (repo.name, up['uuid'], up['token'])
        q = self.begin(t, 'PATCH', uri, repo.name, 'blob_upload_chunk', cl,
                       (('vars.name', repo.name), ('vars.uuid', up['uuid'])), 'application/octet-stream')
        self.authorize(q)
        if not self._resume(q, repo, up, self.rand() < P['pnf_old' if stale else 'pnf_young']):
            self._pnf(q, repo, up)
            return q, 'retry'
        base = up['base']
        if self.rand() < P['disconnect']:
            q.t += self.lognorm_ns(3 * SEC, 1.0)
            copied = self.rng.randrange(1, size) if size > 1 else 0
            extra = (self.style.kvn('contentLength', -1) + self.style.kvn('copied', copied) +
                     self.style.kv('error', 'unexpected EOF' if self.rand() < 0.7 else 'context canceled'))
            self.line(q, 'error', 'client disconnected during blob PATCH', 'error', extra_pre=extra)
            self.summary(q, 499, 0, 'application/json; charset=utf-8',
                         ('unknown', 'unknown error', 'client disconnected', 'client_disconnected'))
            return q, 'gone'
        q.t += max(size // 200, 1000) * US      # body copy at ~200 MB/s
        new = up['offset'] + size
        self.trace(q, 'PutContent', '"%s/hashstates/sha256/%d"' % (base, new), self.lognorm_ns(7 * MS),
                   [('PUT', key_of(base) + '/data', '?partNumber=1&uploadId=' + up['upload_id'],
                     'REST.PUT.PART', 200, None, 0, size),
                    ('PUT', key_of(base) + '/hashstates/sha256/%d' % new, '', 'REST.PUT.OBJECT',
                     200, None, 0, 108)])
        self.summary(q, 202, 0)
        up['offset'] = new
        up['token'] = self.state_token(repo.name, up['uuid'], new, up['started'], False)
        return q, 'ok'

    def req_put(self, t, cl, repo, up, digest, stale=False):
        uri = '/v2/%s/blobs/uploads/%s?_state=%s&digest=%s' % (
            repo.name, up['uuid'], up['token'], digest.replace(':', '%3A'))
        q = self.begin(t, 'PUT', uri, repo.name, 'blob_upload_complete', cl,
                       (('vars.name', repo.name), ('vars.uuid', up['uuid'])), 'application/octet-stream')
        self.authorize(q)
        monolithic = up['offset'] == 0     # no PATCH before: the first resume of the upload
        if not self._resume(q, repo, up, monolithic and self.rand() < P['pnf_old' if stale else 'pnf_young']):
            self._pnf(q, repo, up)
            return q, 'retry'
        base = up['base']
        x = self.rand()
        if x < P['wrong_offset']:
            self.line(q, 'error', 'upload resumed at wrong offest: 0 != %d' % up['offset'], 'error')
            self.summary(q, 404, 120, 'application/json; charset=utf-8',
                         ('blob upload invalid', 'blob upload invalid', None, 'upload_offset_mismatch'))
            return q, 'retry'
        self.line(q, 'debug', '(*blobWriter).Commit')
        if x < P['wrong_offset'] + P['slowdown']:
            rid = self.s3_request_id()
            hid = self.host_id()
            q.t += self.lognorm_ns(2 * SEC, 0.5)    # SDK retries (4 attempts) before giving up
            if self.storage_log:      # four attempts; the last one's id is in the error
                calls = [('POST', key_of(base) + '/data', '?uploadId=' + up['upload_id'],
                          'REST.POST.UPLOAD', 503, 'SlowDown', 302, 0)] * 4
                self.storage(q, q.t - 2 * SEC, 2 * SEC, calls, {'rid': rid})
            detail = ('s3aws: SlowDown: Please reduce your request rate.\n\tstatus code: 503, '
                      'request id: %s, host id: %s' % (rid, hid))
            self.line(q, 'error', 'unknown error completing upload: ' + detail, 'error')
            self.line(q, 'debug', '(*blobWriter).Cancel')
            self.line(q, 'error', 'error canceling upload after error: already closed', 'error')
            self.summary(q, 500, 203, 'application/json; charset=utf-8',
                         ('unknown', 'unknown error', detail, 'storage_throttled'))
            return q, 'retry'
        size = up['offset']
        hs = '%s/hashstates/sha256' % base
        blob = '%s/blobs/sha256/%s/%s/data' % (ROOT, digest[7:9], digest[7:])
        lst = lambda p: ('GET', None, '?list-type=2&max-keys=1&prefix=' + enc_prefix(p),
                         'REST.GET.BUCKET', 200, None, 612, 0)
        self.trace(q, 'Stat', '"%s/data"' % base, self.lognorm_ns(8 * MS),
                   [('POST', key_of(base) + '/data', '?uploadId=' + up['upload_id'],
                     'REST.POST.UPLOAD', 200, None, 450, 0), lst(base + '/data')])
        self.trace(q, 'List', '"%s"' % hs, self.lognorm_ns(8 * MS), [lst(hs)])
        self.trace(q, 'GetContent', '"%s/%d"' % (hs, size), self.lognorm_ns(5 * MS),
                   [('GET', key_of(hs) + '/%d' % size, '', 'REST.GET.OBJECT', 206, None, 108, 108)])
        self.trace(q, 'Stat', '"%s"' % blob, self.lognorm_ns(8 * MS), [lst(blob)])
        self.trace(q, 'Stat', '"%s/data"' % base, self.lognorm_ns(8 * MS), [lst(base + '/data')])
        self.trace(q, 'Move', '"%s/data", "%s"' % (base, blob), self.lognorm_ns(150 * MS, 1.0),
                   [('PUT', key_of(blob), '', 'REST.COPY.OBJECT', 200, None, 234, size),
                    ('POST', None, '?delete', 'REST.POST.MULTI_OBJECT_DELETE', 200, None, 190, 0)])
        link = '%s/repositories/%s/_layers/sha256/%s/link' % (ROOT, repo.name, digest[7:])
        self.trace(q, 'PutContent', '"%s"' % link, self.lognorm_ns(6 * MS),
                   [('PUT', key_of(link), '', 'REST.PUT.OBJECT', 200, None, 0, 71)])
        self.trace(q, 'Delete', '"%s"' % base, self.lognorm_ns(15 * MS),
                   [lst(base), ('POST', None, '?delete', 'REST.POST.MULTI_OBJECT_DELETE', 200, None, 420, 0)])
        self.summary(q, 201, 0)
        return q, 'ok'

    def req_manifest_put(self, t, cl, repo, tag, layers):
        uri = '/v2/%s/manifests/%s' % (repo.name, tag)
        q = self.begin(t, 'PUT', uri, repo.name, 'manifest_put', cl,
                       (('vars.name', repo.name), ('vars.reference', tag)),
                       'application/vnd.docker.distribution.manifest.v2+json')
        self.authorize(q)
        self.line(q, 'debug', 'PutImageManifest')
        self.line(q, 'debug', 'Putting a Docker Manifest!' if self.rand() < 0.6 else 'Putting an OCI Manifest!')
        self.line(q, 'debug', '(*manifestStore).Put')
        self.line(q, 'debug', '(*schema2ManifestHandler).Put')
        lst = lambda p: ('GET', None, '?list-type=2&max-keys=1&prefix=' + enc_prefix(p),
                         'REST.GET.BUCKET', 200, None, 612, 0)
        for d in layers[:2]:     # the rest are answered by the descriptor cache
            data = '%s/blobs/sha256/%s/%s/data' % (ROOT, d[7:9], d[7:])
            self.trace(q, 'Stat', '"%s"' % data, self.lognorm_ns(8 * MS), [lst(data)])
        mdig = self.digest()
        r = '%s/repositories/%s/_manifests' % (ROOT, repo.name)
        data = '%s/blobs/sha256/%s/%s/data' % (ROOT, mdig[7:9], mdig[7:])
        for p in (data, '%s/revisions/sha256/%s/link' % (r, mdig[7:]),
                  '%s/tags/%s/index/sha256/%s/link' % (r, tag, mdig[7:]),
                  '%s/tags/%s/current/link' % (r, tag)):
            self.trace(q, 'PutContent', '"%s"' % p, self.lognorm_ns(6 * MS),
                       [('PUT', key_of(p), '', 'REST.PUT.OBJECT', 200, None, 0, 71)])
        self.line(q, 'debug', 'Succeeded in putting manifest!')
        self.summary(q, 201, 0)
        repo.manifests[tag] = mdig
        if tag not in repo.tags:
            repo.tags.append(tag)
        repo.layers = list(layers)
        return q

    # -- sessions
    def ensure_image(self, repo):
        if not repo.tags:
            repo.tags = ['latest'] + ['v1.%d.%d' % (self.bits(4), self.bits(4)) for _ in range(self.bits(2))]
            for tg in repo.tags:
                repo.manifests[tg] = self.digest()
            repo.layers = [self.digest() for _ in range(2 + self.bits(3))]

    def pull_session(self, t, repo):
        cl = self.client(False)
        self.ensure_image(repo)
        if self.rand() < 0.5:
            q, ok = self.req_base(t, cl)
            t = yield q.recs, self.think(q.t, 3)
            if not ok:
                q, ok = self.req_base(t, cl)
                t = yield q.recs, self.think(q.t, 3)
        exists = self.rand() >= P['manifest_unknown']
        tag = self.rng.choice(repo.tags) if exists else 'v%d.%d.%d-rc%d' % (
            self.bits(3), self.bits(5), self.bits(5), self.bits(3))
        if self.rand() < 0.6:
            q, ok = self.req_manifest_get(t, cl, repo, tag, 'HEAD', exists)
            t = yield q.recs, self.think(q.t, 3)
            if ok is None:     # expired token: log in again, retry
                q, ok = self.req_manifest_get(t, cl, repo, tag, 'HEAD', exists)
                t = yield q.recs, self.think(q.t, 3)
            if not ok:
                return
        q, ok = self.req_manifest_get(t, cl, repo, tag, 'GET', exists)
        t = yield q.recs, self.think(q.t, 3)
        if not ok:
            return
        for d in [self.digest()] + repo.layers:
            if self.rand() < 0.2:
                continue        # layer already present on the node
            q, ok = self.req_blob(t, cl, repo, d, 'GET')
            if ok and self.storage_log:   # the client follows the 307 to the object store
                size = 1000 + self.sbits(24)
                data = 'docker/registry/v2/blobs/sha256/%s/%s/data' % (d[7:9], d[7:])
                self.storage(q, q.t + 2 * MS, (50 + self.sbits(9)) * MS,
                             [('GET', data, '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=1200',
                               'REST.GET.OBJECT', 200, None, size, size)],
                             {'rid': None, 'ip': cl[1], 'ua': cl[0]})
            t = yield q.recs, self.think(q.t, 2)

    def tags_session(self, t, repo):
        cl = self.client(False)
        self.ensure_image(repo)
        q = self.req_tags(t, cl, repo)
        yield q.recs, self.think(q.t)

    def push_session(self, t, repo):
        cl = self.client(True)
        if self.rand() < 0.7:
            q, ok = self.req_base(t, cl)
            t = yield q.recs, self.think(q.t, 3)
            if not ok:
                q, ok = self.req_base(t, cl)
                t = yield q.recs, self.think(q.t, 3)
        self.ensure_image(repo)
        n = 1 + self.bits(1)
        base_layers = repo.layers[:max(1, len(repo.layers) - n)]   # image size stays stable
        layers = base_layers + [self.digest() for _ in range(n)]
        for i, d in enumerate(layers + [self.digest()]):      # layers, then the config blob
            if i < len(base_layers):
                ex = True               # the client knows this layer: existence check
            elif self.rand() < P['head_new']:
                ex = self.rand() < P['layer_exists']
            else:
                ex = None               # no metadata for it: straight to the upload
            if ex is not None:
                q, ok = self.req_blob(t, cl, repo, d, 'HEAD', ex)
                t = yield q.recs, self.think(q.t, 2)
                if ok is None:          # expired token: log in again, retry
                    q, ok = self.req_blob(t, cl, repo, d, 'HEAD', ex)
                    t = yield q.recs, self.think(q.t, 2)
                if ok:
                    continue
            size = int(math.exp(self.rng.gauss(15.0, 1.6))) + 1000
            for _attempt in range(3):
                up = {}
                q = self.req_post(t, cl, repo, up)
                t = yield q.recs, self.think(q.t, 60)
                stale = self.rand() < P['stall']
                if stale:        # the client stalls for minutes before sending the data
                    t += self.rng.randrange(90, 900) * SEC
                result = 'ok'
                if self.rand() < 0.9:     # chunked: PATCH then PUT; else monolithic PUT
                    q, result = self.req_patch(t, cl, repo, up, size, stale)
                    t = yield q.recs, self.think(q.t, 4)
                    if result == 'gone':
                        return
                if result == 'ok':
                    q, result = self.req_put(t, cl, repo, up, d, stale)
                    t = yield q.recs, self.think(q.t, 4)
                if result == 'ok':
                    break
            else:
                return            # gave up after three attempts
        tag = 'v%d.%d.%d' % (self.bits(3), self.bits(5), self.bits(6)) if self.rand() < 0.7 else 'latest'
        q = self.req_manifest_put(t, cl, repo, tag, layers)
        yield q.recs, self.think(q.t)

    def health_session(self, t):
        """The storage driver health check every 10 s, and the startup lines."""
        st = self.style
        fields = [('go.version', GO_VERSION), ('instance.id', self.uuid()), ('service', 'registry'),
                  ('version', 'v2.8.3+unknown')]
        for m in ('debug server listening :5001', 'configuring endpoint harbor (http://core:8080/service/notifications), timeout=3s, headers=map[]',
                  'using redis blob descriptor cache', 'Starting upload purge in 23m0s',
                  'listening on [::]:5000'):
            self.seq += 1
            t += 300 * US
            text = st.generic(self.tf.rfc3339nano(t), 'info', m, fields)
            self.kinds['other'] = self.kinds.get('other', 0) + 1
            yield [(t, self.seq, text, 0)], t + 1
        while True:
            d = self.lognorm_ns(5 * MS)
            t += 10 * SEC + d
            recs = []
            if self.lvl['debug']:
                text = st.generic(self.tf.rfc3339nano(t), 'debug', 's3aws.Stat("/")', fields + [
                    ('trace.duration', godur(d) if isinstance(st, TextStyle) else d),
                    ('trace.file', self.trace_file), ('trace.func', TRACE_FUNC + 'Stat'),
                    ('trace.id', self.uuid()), ('trace.line', 155)])
                self.seq += 1
                recs.append((t, self.seq, text, 0))
                self.kinds['trace'] = self.kinds.get('trace', 0) + 1
            yield recs, t


# ----------------------------------------------------------------------------- output

class Writer:
    """Applies the envelope and writes in large blocks."""

    def __init__(self, gen, a):
        self.g = gen
        self.env = a.envelope
        self.f = open(a.out, 'wb')
        self.s3f = open(a.s3_log, 'wb') if a.s3_log else None
        self.rgwf = open(a.rgw_log, 'wb') if a.rgw_log else None
        self.buf, self.s3buf, self.rgwbuf = [], [], []
        self.nbytes = 0          # approximate (characters) for the size target
        self.pending = 0
        self.lines = 0
        tf = gen.tf
        if self.env == 'syslog':
            self.wrap = lambda t, s, text: tf.syslog(t) + ' 172.25.0.1 registry[3915]: ' + text
        elif self.env == 'cri':
            self.wrap = lambda t, s, text: (tf.rfc3339nano(t + 7 * US) + (' stderr F ' if s == 0 else ' stdout F ')
                                            + text)
        elif self.env == 'docker':
            self.wrap = lambda t, s, text: ('{"log":' + json_str(text + '\n') + ',"stream":"' +
                                            ('stderr' if s == 0 else 'stdout') + '","time":"' +
                                            tf.rfc3339nano(t + 7 * US) + '"}')
        else:
            self.wrap = None

    def emit(self, t, text, stream):
        if stream <= 1:
            if self.wrap is not None:
                if '\n' in text:     # every physical line gets its own envelope
                    parts = text.split('\n')
                    if self.env == 'syslog':  # rsyslog escapes control characters (#011 = tab)
                        parts = [parts[0]] + [p.replace('\t', '#011') for p in parts[1:]]
                    text = '\n'.join(self.wrap(t, stream, p) for p in parts)
                else:
                    text = self.wrap(t, stream, text)
            self.buf.append(text)
            n = len(text) + 1
            self.nbytes += n
            self.pending += n
            if self.pending > 4 << 20:
                self.flush()
        else:
            if self.s3f:
                self.s3buf.append(self.g.s3_line(t, text))
            if self.rgwf:
                self.rgwbuf.append(self.g.rgw_lines(t, text))
            if len(self.s3buf) + len(self.rgwbuf) > 20000:
                self.flush()

    def flush(self):
        if self.buf:
            self.buf.append('')
            self.f.write('\n'.join(self.buf).encode())
            self.buf = []
            self.pending = 0
        if self.s3buf:
            self.s3buf.append('')
            self.s3f.write('\n'.join(self.s3buf).encode())
            self.s3buf = []
        if self.rgwbuf:
            self.rgwf.write(''.join(self.rgwbuf).encode())
            self.rgwbuf = []

    def close(self):
        self.flush()
        sizes = {'out': self.f.tell()}
        self.f.close()
        for k, f in (('s3', self.s3f), ('rgw', self.rgwf)):
            if f:
                sizes[k] = f.tell()
                f.close()
        return sizes


def run(a):
    """Discrete-event loop: sessions render whole requests into time-stamped records; a
    record is written once no session can still produce an earlier one."""
    g = Flows(a)
    w = Writer(g, a)
    t0 = calendar.timegm(time.strptime(a.start, '%Y-%m-%dT%H:%M:%S')) * SEC
    sessions = []          # heap of (next_t, id, generator)
    out = []               # heap of (t, seq, text, stream)
    push, pop = heapq.heappush, heapq.heappop
    ids = [0]

    def schedule(gen, first):
        try:
            recs, nt = next(gen) if first is None else gen.send(first)
        except StopIteration:
            return False
        for r in recs:
            push(out, r)
        ids[0] += 1
        push(sessions, (nt, ids[0], gen))
        return True

    schedule(g.health_session(t0), None)
    for _ in range(a.concurrency):
        t = t0 + g.lognorm_ns(200 * MS, 1.0)
        schedule(g.new_session(t), None)
    target = a.size
    while w.nbytes < target:
        t, _, gen = pop(sessions)
        while out and out[0][0] <= t:
            r = pop(out)
            w.emit(r[0], r[2], r[3])
        if not schedule(gen, t):          # session over: a new client arrives
            t += g.lognorm_ns(30 * MS, 1.0)
            while not schedule(g.new_session(t), None):
                pass
    while out:
        r = pop(out)
        w.emit(r[0], r[2], r[3])
    return g, w.close()


def parse_size(s):
    m = re.fullmatch(r'(\d+(?:\.\d+)?)([KMGT]?)(i?B?)?', s.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError('bad size %r (e.g. 1G, 50M, 100000)' % s)
    mult = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def expected_doc(g, a, sizes, elapsed):
    total_lines = sum(g.kinds.values())
    err_total = sum(g.errors.values())
    resp_total = sum(g.responses.values())
    by_cause = {c: 0 for c in CAUSES}
    for k, n in g.errors.items():
        by_cause[k[4]] += n
    by_status = {}
    for k, n in g.responses.items():
        by_status[str(k[3])] = by_status.get(str(k[3]), 0) + n
    pnf = sum(n for k, n in g.errors.items() if k[4] in ('upload_not_yet_visible', 'upload_listing_missing'))
    return {
        'generator': {'seed': a.seed, 'size_target': a.size, 'format': a.format, 'quoting': a.quoting,
                      'envelope': a.envelope, 'level': a.level, 'repositories': a.repos,
                      'zipf': a.zipf, 'concurrency': a.concurrency, 'start': a.start,
                      'tz_offset_hours': a.tz_offset, 'version': 1},
        'notes': ('responses: every response exactly once (repository "" = not a repository '
                  'route, e.g. GET /v2/).  401s have no summary line (registry 2.x logs only '
                  '"error authorizing context" + the access log); every other response has a '
                  '"response completed" (200-399) or "response completed with error" summary.  '
                  'Success summaries carry no vars.name: the repository is in http.request.uri.'),
        'total_bytes': sizes['out'],
        'total_lines': total_lines,
        'avg_line_bytes': round(sizes['out'] / max(total_lines, 1), 1),
        'lines_by_kind': dict(sorted(g.kinds.items())),
        'line_mix_percent': {k: round(100.0 * v / max(total_lines, 1), 2) for k, v in sorted(g.kinds.items())},
        'requests': g.requests,
        'responses_total': resp_total,
        'responses_by_status': dict(sorted(by_status.items())),
        'error_responses_total': err_total,
        'error_percent': round(100.0 * err_total / max(resp_total, 1), 3),
        'errors_by_cause': by_cause,
        'path_not_found_500': pnf,
        'responses': [{'repository': k[0], 'method': k[1], 'operation': k[2], 'status': k[3], 'count': n}
                      for k, n in sorted(g.responses.items())],
        'errors': [{'repository': k[0], 'method': k[1], 'operation': k[2], 'status': k[3],
                    'cause': k[4], 'count': n} for k, n in sorted(g.errors.items())],
        'path_not_found_uploads': g.pnf_uploads,
        's3': ({'files': {k: v for k, v in sizes.items() if k != 'out'},
                'operations': [{'operation': k[0], 'status': k[1], 'count': n}
                               for k, n in sorted(g.s3_ops.items())]}
               if g.storage_log else None),
        'generation_seconds': round(elapsed, 2),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    ap.add_argument('--out', required=True, help='registry log to write')
    ap.add_argument('--size', type=parse_size, default=parse_size('50M'), help='approximate size: 1G, 50M, ... (default 50M)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--format', choices=('text', 'json'), default='text', help='logrus formatter (default text)')
    ap.add_argument('--quoting', choices=('raw', 'escaped'), default='raw',
                    help='text quoting: raw = registry 2.7/2.8 as in Harbor (inner quotes and newlines '
                         'not escaped, multi-line records); escaped = logrus >= 1.0.4 (Debian 2.8, v3)')
    ap.add_argument('--envelope', choices=('none', 'syslog', 'cri', 'docker'), default='none')
    ap.add_argument('--level', choices=tuple(LEVELS), default='debug', help='registry log level (default debug)')
    ap.add_argument('--repos', type=int, default=5000, help='number of repositories (default 5000)')
    ap.add_argument('--zipf', type=float, default=1.07, help='Zipf exponent of repository popularity')
    ap.add_argument('--concurrency', type=int, default=24, help='concurrent client sessions')
    ap.add_argument('--push-share', type=float, default=0.42, help='share of sessions that push')
    ap.add_argument('--start', default='2026-03-02T08:00:00', help='UTC start time')
    ap.add_argument('--tz-offset', type=float, default=8.0, help='syslog envelope local time offset, hours')
    ap.add_argument('--s3-log', help='also write the AWS-format S3 server access log here')
    ap.add_argument('--rgw-log', help='also write Ceph RGW beast lines here')
    ap.add_argument('--expected', help='ground-truth JSON (default <out>.expected.json)')
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args(argv)
    for p in (a.out, a.s3_log, a.rgw_log):
        if p and os.path.dirname(os.path.abspath(p)):
            os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
    t = time.monotonic()
    g, sizes = run(a)
    elapsed = time.monotonic() - t
    doc = expected_doc(g, a, sizes, elapsed)
    with open(a.expected or a.out + '.expected.json', 'w') as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write('\n')
    if not a.quiet:
        mb = sizes['out'] / 1e6
        print('wrote %s: %.1f MB, %d lines (%.0f B/line), %d responses, %.2f %% errors, %d PathNotFound 500s '
              'in %.1f s (%.1f MB/s)' % (a.out, mb, doc['total_lines'], doc['avg_line_bytes'],
                                          doc['responses_total'], doc['error_percent'],
                                          doc['path_not_found_500'], elapsed, mb / max(elapsed, 1e-9)),
              file=sys.stderr)
        print('line mix %%: %s' % ', '.join('%s %.1f' % kv for kv in doc['line_mix_percent'].items()),
              file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
