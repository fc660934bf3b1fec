#!/usr/bin/env python3
"""A webhook sink for the live alerting test: records every POST it receives.

  python3 alert_sink.py --port PORT --out FILE

Listens on 127.0.0.1:PORT. Each POST is appended to FILE as one JSON line:
  {"path": "/enriched", "received": <unix seconds>, "body": <the parsed JSON, or null>,
   "raw": <the body as text when it is not JSON>}
and answered 200. GET / answers 200 "ok" (readiness). Python 3 standard library only.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    out_path = ""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        record = {"path": self.path, "received": time.time(), "body": None}
        try:
            record["body"] = json.loads(raw)
        except ValueError:
            record["raw"] = raw.decode("utf-8", "replace")
        with LOCK, open(self.out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):  # quiet: the records are the log
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    Handler.out_path = args.out
    open(args.out, "a").close()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
