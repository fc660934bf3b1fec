#!/usr/bin/env python3
"""A small fake of the registry's upload API for the prober's tests: POST .../blobs/uploads/
answers 202 with a Location, GET (the upload's status) 204, DELETE 204. Each request is logged
to LOG as one line: METHOD PATH repo=REPOSITORY auth=yes|no ua=USER_AGENT.

  fake_registry.py PORT LOG [--basic USER:PASS] [--tls CERT KEY]

--basic: requests without exactly those credentials get 401 with a Basic challenge.
--tls: serves https with that certificate and key.
"""

import argparse
import base64
import http.server
import ssl
import threading

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("log")
parser.add_argument("--basic")
parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
args = parser.parse_args()
want = "Basic " + base64.b64encode(args.basic.encode()).decode() if args.basic else None
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, location=None):
        auth = self.headers.get("Authorization", "")
        repo = self.path.split("/blobs/")[0][len("/v2/"):]
        with lock, open(args.log, "a") as f:
            f.write(f"{self.command} {self.path} repo={repo} auth={'yes' if auth else 'no'} "
                    f"ua={self.headers.get('User-Agent', '')}\n")
        if want is not None and auth != want:
            code, location = 401, None
        self.send_response(code)
        if code == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="fake registry"')
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        self.answer(202, self.path + "u-1")

    def do_GET(self):
        self.answer(204)

    def do_DELETE(self):
        self.answer(204)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
if args.tls:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*args.tls)
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
