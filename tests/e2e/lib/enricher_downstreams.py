#!/usr/bin/env python3
"""Downstream webhooks for tests/e2e/enricher_https_test.sh, each on 127.0.0.1:PORT.

  enricher_downstreams.py sink     --port P --out FILE [--cert C --key K]
  enricher_downstreams.py silent   --port P
  enricher_downstreams.py endless  --port P --out FILE

sink:    an HTTP/1.1 server (keep-alive; https when --cert/--key are given) that appends one
         JSON line per POST to FILE: path, the client's port (one connection: one port),
         Authorization and User-Agent headers, and the body parsed as JSON. Answers 200.
silent:  reads what arrives and never answers.
endless: answers "200" announcing a 1 GiB body and streams it until the client hangs up,
         then appends {"sent": <bytes it got out>} to FILE.
Each writes "ready" to stdout once it listens. Python 3 standard library only.
"""
import argparse
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def append(path, record):
    with LOCK, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
    out_path = ""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        append(self.out_path, {
            "path": self.path, "client_port": self.client_address[1],
            "authorization": self.headers.get("Authorization"),
            "user_agent": self.headers.get("User-Agent"), "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):  # quiet: the records are the log
        pass


def sink(args):
    SinkHandler.out_path = args.out
    server = ThreadingHTTPServer(("127.0.0.1", args.port), SinkHandler)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    print("ready", flush=True)
    return s


def drain(client):
    while client.recv(65536):
        pass


def silent(args):
    s = listener(args.port)
    held = []
    while True:
        client, _ = s.accept()
        held.append(client)  # never answered, never closed
        threading.Thread(target=drain, args=(client,), daemon=True).start()


def endless(args):
    s = listener(args.port)
    chunk = b"x" * 65536
    while True:
        client, _ = s.accept()
        client.recv(65536)
        sent = 0
        try:
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
            deadline = time.time() + 60
            while time.time() < deadline:
                sent += client.send(chunk)
        except OSError:
            pass
        client.close()
        append(args.out, {"sent": sent})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["sink", "silent", "endless"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--cert", default="")
    ap.add_argument("--key", default="")
    args = ap.parse_args()
    {"sink": sink, "silent": silent, "endless": endless}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
