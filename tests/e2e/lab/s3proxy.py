#!/usr/bin/env python3
"""Test-only fault-injecting S3 proxy for the registry-rca lab (loopback only, stdlib only).

Sits between docker-registry's s3 driver and radosgw. Every request is forwarded byte for byte
(request line, headers in their order and spelling, body), so SigV4 signatures stay valid and the
Host header stays what the client signed. For every request it writes one line of the AWS S3
server access log format and, for every injected fault, a line to an event log.

Faults:
  --hide-new-uploads SECONDS  after a successful CreateMultipartUpload, strip that upload from
                              ListMultipartUploads answers until SECONDS after the create arrived
                              (an asynchronous create, as the incident's store did); the create's
                              access-log line is written when the upload becomes visible and its
                              total time is that delay (the incident's store logged 2.2 s).
  --slowdown-prob P           answer 503 SlowDown to that share of the requests in --slowdown-ops.
  --slowdown-first N          answer 503 SlowDown to the first N requests in --slowdown-ops
                              (also OP:N, repeatable).
  --slowdown-ops OP,OP        REST.* operations the two above apply to (default: all).
  --latency OP:MS             add MS milliseconds before forwarding OP (repeatable).
  --upstream-down MODE        start with the store "down": 503 (answer 503 ServiceUnavailable),
                              reset (close the connection without an answer), or "" (up).
  --control FILE              JSON re-read whenever it changes; any of the keys down,
                              hide_new_uploads, slowdown_prob, slowdown_ops, slowdown_first, latency
                              override the flags at run time (a changed slowdown_first restarts its
                              count). SIGUSR1 toggles down between "" and 503.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OWNER = hashlib.sha256(b"lab-bucket-owner").hexdigest()
UPLOAD_RE = re.compile(rb"<Upload>.*?</Upload>", re.S)
UPLOAD_ID_RE = re.compile(rb"<UploadId>(.*?)</UploadId>", re.S)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
              "trailer", "upgrade", "content-length"}


def now_ms():
    return time.time() * 1000.0


def ts_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def rid():
    return "%016X" % random.getrandbits(64)


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.down = args.upstream_down or ""
        self.hide = args.hide_new_uploads
        self.slow_prob = args.slowdown_prob
        self.slow_ops = set(filter(None, (args.slowdown_ops or "").split(",")))
        self.slow_first = self.parse_first(args.slowdown_first)
        self.latency = self.parse_latency(args.latency)
        self.slow_seen = {}
        self.hidden = {}  # upload id -> (key, visible_at)
        self.rng = random.Random(args.seed)
        self.control_mtime = None
        access = open(args.access_log, "a", buffering=1) if args.access_log else None
        events = open(args.events_log, "a", buffering=1) if args.events_log else None
        self.access, self.events = access, events

    @staticmethod
    def parse_first(items):
        out = {}
        for item in items or []:
            item = str(item)
            if ":" in item:
                op, n = item.rsplit(":", 1)
                out[op] = int(n)
            else:
                out["*"] = int(item)
        return out

    @staticmethod
    def parse_latency(items):
        out = {}
        for item in items or []:
            op, ms = str(item).rsplit(":", 1)
            out[op] = float(ms)
        return out

    def event(self, text):
        if self.events:
            with self.lock:
                self.events.write("%s %s\n" % (ts_iso(), text))

    def reload_control(self):
        path = self.args.control
        if not path:
            return
        try:
            mtime = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self.control_mtime:
            return
        try:
            with open(path) as f:
                text = f.read()
            conf = json.loads(text) if text.strip() else {}
        except (OSError, ValueError) as e:
            self.event("control file unreadable: %s" % e)
            return
        with self.lock:
            self.control_mtime = mtime
            if "down" in conf:
                self.down = conf["down"] or ""
            if "hide_new_uploads" in conf:
                self.hide = float(conf["hide_new_uploads"] or 0)
            if "slowdown_prob" in conf:
                self.slow_prob = float(conf["slowdown_prob"] or 0)
            if "slowdown_ops" in conf:
                ops = conf["slowdown_ops"]
                self.slow_ops = set(ops.split(",") if isinstance(ops, str) else ops or [])
                self.slow_ops.discard("")
            if "slowdown_first" in conf:
                v = conf["slowdown_first"]
                self.slow_first = self.parse_first(v if isinstance(v, list) else [v] if v else [])
                self.slow_seen = {}
            if "latency" in conf:
                v = conf["latency"]
                self.latency = self.parse_latency(v if isinstance(v, list) else [v] if v else [])
        self.event("control: %s" % json.dumps(conf, sort_keys=True))

    def want_slowdown(self, op):
        with self.lock:
            if self.slow_ops and op not in self.slow_ops:
                return False
            for k in (op, "*"):
                if k in self.slow_first:
                    seen = self.slow_seen.get(k, 0)
                    if seen < self.slow_first[k]:
                        self.slow_seen[k] = seen + 1
                        return True
            return self.slow_prob > 0 and self.rng.random() < self.slow_prob

    def log_access(self, line):
        if self.access:
            with self.lock:
                self.access.write(line + "\n")


def operation(method, path, query):
    parts = path.lstrip("/").split("/", 1)
    bucket = urllib.parse.unquote(parts[0]) if parts[0] else ""
    key = urllib.parse.unquote(parts[1]) if len(parts) > 1 and parts[1] else ""
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    if not bucket:
        return "REST.%s.SERVICE" % method, "-", "-"
    if not key:
        if "uploads" in q:
            return "REST.%s.UPLOADS" % method, bucket, "-"
        if "delete" in q and method == "POST":
            return "REST.POST.MULTI_OBJECT_DELETE", bucket, "-"
        if "location" in q:
            return "REST.GET.LOCATION", bucket, "-"
        return "REST.%s.BUCKET" % method, bucket, "-"
    if "uploads" in q:
        return "REST.%s.UPLOADS" % method, bucket, key
    if "uploadId" in q:
        if method == "PUT":
            return "REST.PUT.PART", bucket, key
        return "REST.%s.UPLOAD" % method, bucket, key
    return "REST.%s.OBJECT" % method, bucket, key


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab-s3proxy"

    def log_message(self, fmt, *args):  # no stderr chatter per request
        pass

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            raw = bytearray()
            while True:
                line = self.rfile.readline()
                raw += line
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers up to the empty line
                        t = self.rfile.readline()
                        raw += t
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(raw), None
                raw += self.rfile.read(size + 2)
        n = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(n) if n else b""), n

    def do_GET(self):
        self.handle_any()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def handle_any(self):
        st = self.server.state
        st.reload_control()
        t0 = now_ms()
        t0_wall = time.time()
        method = self.command
        split = urllib.parse.urlsplit(self.path)
        op, bucket, key = operation(method, split.path, split.query)
        body, body_len = self.read_body()
        req_size = body_len if body_len is not None else len(body)

        with st.lock:
            down = st.down
            delay = st.latency.get(op, 0.0)
        if delay:
            time.sleep(delay / 1000.0)
            st.reload_control()
            with st.lock:
                down = st.down  # the store may have gone down while this request waited
        if down == "reset":
            st.event("upstream down (reset): closed connection op=%s key=%s" % (op, key))
            self.reset_connection()
            self.access(t0_wall, t0, op, bucket, key, 0, "-", 0, req_size, "-")
            return
        if down:
            self.synth_error(503, "ServiceUnavailable", "Service is unable to handle request.",
                             t0_wall, t0, op, bucket, key, req_size, "upstream down")
            return
        if st.want_slowdown(op):
            self.synth_error(503, "SlowDown", "Please reduce your request rate.",
                             t0_wall, t0, op, bucket, key, req_size, "slowdown")
            return

        try:
            status, reason, headers, rbody = self.forward(method, body)
        except (ConnectionError, socket.timeout, OSError, http.client.HTTPException) as e:
            self.synth_error(503, "ServiceUnavailable", "Service is unable to handle request.",
                             t0_wall, t0, op, bucket, key, req_size, "upstream error %r" % e)
            return
        upstream_ms = now_ms() - t0
        hdr = {k.lower(): v for k, v in headers}
        request_id = hdr.get("x-amz-request-id") or rid()

        hide_until = None
        if op == "REST.POST.UPLOADS" and status == 200 and st.hide > 0:
            m = UPLOAD_ID_RE.search(rbody)
            if m:
                upload_id = m.group(1).decode()
                hide_until = t0_wall + st.hide  # visible HIDE seconds after the create arrived
                with st.lock:
                    st.hidden[upload_id] = (key, hide_until)
                st.event("hide new upload for %gs rid=%s key=%s uploadId=%s"
                         % (st.hide, request_id, key, upload_id))
        elif op == "REST.GET.UPLOADS" and status == 200:
            rbody = self.strip_hidden(rbody, request_id)

        self.send_response_only(status, reason)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        # A HEAD answer keeps the object's length; everything else the (maybe edited) body's.
        length = hdr.get("content-length", "0") if method == "HEAD" else str(len(rbody))
        self.send_header("Content-Length", length)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(rbody)
        self.wfile.flush()
        turn = now_ms() - t0
        err = "-"
        if status >= 300:
            m = re.search(rb"<Code>(.*?)</Code>", rbody)
            err = m.group(1).decode() if m else "-"
        sent = len(rbody) if method != "HEAD" else 0
        obj = req_size if method == "PUT" else (int(hdr.get("content-length", 0) or 0)
                                                 if method in ("GET", "HEAD") and key != "-" else 0)
        st.event("proxied rid=%s op=%s status=%d ms=%.0f" % (request_id, op, status, upstream_ms))
        if hide_until is not None:
            # The store "finishes" the create when the upload becomes listable: log it then, with
            # the delay in its total time (the incident's store logged 2.2 s).
            total = max(upstream_ms, (hide_until - t0_wall) * 1000.0)

            def late():
                self.access(t0_wall, t0, op, bucket, key, status, err, sent, obj, request_id,
                            total=total, turn=total)
            threading.Timer(max(0.0, hide_until - time.time()), late).start()
        else:
            self.access(t0_wall, t0, op, bucket, key, status, err, sent, obj, request_id,
                        total=turn, turn=upstream_ms)

    def forward(self, method, body):
        up = self.server.upstream
        s = socket.create_connection(up, timeout=self.server.state.args.upstream_timeout)
        try:
            lines = [self.requestline.encode("latin-1") + b"\r\n"]
            for k, v in self.headers.items():  # order and spelling kept
                lines.append(("%s: %s\r\n" % (k, v)).encode("latin-1"))
            lines.append(b"\r\n")
            s.sendall(b"".join(lines) + body)
            resp = http.client.HTTPResponse(s, method=method)
            resp.begin()
            rbody = resp.read() if method != "HEAD" else b""
            return resp.status, resp.reason, resp.getheaders(), rbody
        finally:
            s.close()

    def strip_hidden(self, rbody, request_id):
        st = self.server.state
        now = time.time()
        with st.lock:
            hidden = {u: v for u, v in st.hidden.items() if v[1] > now}
            st.hidden = hidden
        if not hidden:
            return rbody

        def repl(m):
            um = UPLOAD_ID_RE.search(m.group(0))
            uid = um.group(1).decode() if um else ""
            if uid in hidden:
                key, until = hidden[uid]
                st.event("hid upload from ListMultipartUploads rid=%s uploadId=%s key=%s "
                         "visible_in=%.3fs" % (request_id, uid, key, until - now))
                return b""
            return m.group(0)

        return UPLOAD_RE.sub(repl, rbody)

    def reset_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def synth_error(self, status, code, message, t0_wall, t0, op, bucket, key, req_size, why):
        request_id = rid()
        host_id = hashlib.sha256(request_id.encode()).hexdigest()[:56]
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s'
                '</Message><RequestId>%s</RequestId><HostId>%s</HostId></Error>'
                % (code, message, request_id, host_id)).encode()
        self.send_response_only(status, "Service Unavailable" if status == 503 else "Error")
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", request_id)
        self.send_header("x-amz-id-2", host_id)
        if code == "SlowDown":
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self.server.state.event("%s: answered %d %s rid=%s op=%s key=%s"
                                % (why, status, code, request_id, op, key))
        self.access(t0_wall, t0, op, bucket, key, status, code, len(body), 0, request_id)

    def access(self, t0_wall, t0, op, bucket, key, status, err, sent, obj, request_id,
               total=None, turn=None):
        total = now_ms() - t0 if total is None else total
        turn = total if turn is None else turn
        st = self.server.state
        auth = self.headers.get("Authorization") or ""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        presigned = "X-Amz-Credential" in query
        cred = auth if auth else (query.get("X-Amz-Credential") or [""])[0]
        m = re.search(r"(?:Credential=)?([^/=,\s]+)/\d{8}/", cred)
        requester = hashlib.sha256(m.group(1).encode()).hexdigest() if m else "-"
        when = time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(t0_wall))
        host = self.headers.get("Host") or "-"
        ua = self.headers.get("User-Agent") or "-"
        host_id = hashlib.sha256(str(request_id).encode()).hexdigest()[:76]
        sig = "SigV4" if auth.startswith("AWS4-") or presigned else ("SigV2" if auth else "-")
        auth_type = "AuthHeader" if auth else ("QueryString" if presigned else "-")
        line = ('%s %s %s %s %s %s %s %s "%s %s %s" %s %s %s %s %d %d "-" "%s" - %s %s - %s %s '
                '- - -' % (
                    OWNER, bucket or "-", when, self.client_address[0], requester, request_id, op,
                    urllib.parse.quote(key, safe="/") if key and key != "-" else "-",
                    self.command, self.path, self.request_version,
                    status if status else "-", err or "-", sent if sent else "-",
                    obj if obj else "-", int(round(total)), int(round(turn)), ua, host_id, sig,
                    auth_type, host))
        st.log_access(line)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1:9000")
    ap.add_argument("--upstream", required=True, help="host:port of the real store (radosgw)")
    ap.add_argument("--upstream-timeout", type=float, default=60)
    ap.add_argument("--access-log", help="AWS-format S3 server access log to append to")
    ap.add_argument("--events-log", help="what the proxy injected, one line per event")
    ap.add_argument("--hide-new-uploads", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--slowdown-prob", type=float, default=0.0)
    ap.add_argument("--slowdown-ops", default="")
    ap.add_argument("--slowdown-first", action="append", default=[], metavar="[OP:]N")
    ap.add_argument("--latency", action="append", default=[], metavar="OP:MS")
    ap.add_argument("--upstream-down", default="", choices=["", "503", "reset"])
    ap.add_argument("--control", help="JSON control file, re-read when it changes")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    host, port = args.listen.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("s3proxy: loopback only")
    uhost, uport = args.upstream.rsplit(":", 1)
    server = Server((host, int(port)), Handler)
    server.upstream = (uhost, int(uport))
    server.state = State(args)
    random.seed(args.seed)

    def toggle(signum, frame):
        with server.state.lock:
            server.state.down = "" if server.state.down else "503"
        server.state.event("SIGUSR1: down=%r" % server.state.down)

    signal.signal(signal.SIGUSR1, toggle)
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    server.state.event("s3proxy listening on %s -> %s args=%s"
                       % (args.listen, args.upstream, json.dumps(vars(args), sort_keys=True)))
    print("s3proxy listening on %s:%d" % server.server_address, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
