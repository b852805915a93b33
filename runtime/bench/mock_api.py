#!/usr/bin/env python3
"""A minimal loopback license API for the runtime benchmark: validate accepts, heartbeat and end succeed.

Usage: mock_api.py PORT_FILE [PORT]  (binds 127.0.0.1 on a free port, or 0.0.0.0:PORT for the dev stack,
and writes the port to PORT_FILE). MOCK_BEAT_LOG=FILE logs each heartbeat's arrival time.
"""
import http.server
import json
import os
import sys
import time

# When set, each heartbeat's arrival (monotonic seconds) is appended to this file, for the jitter benchmark.
BEAT_LOG = os.environ.get("MOCK_BEAT_LOG")

ACCEPTED = {"valid": True, "session_id": "ses_bench", "expires_at": "2027-06-30T00:00:00Z", "customer": "Bench"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        arrived = time.monotonic()
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if BEAT_LOG and self.path.endswith("/heartbeat"):
            with open(BEAT_LOG, "a") as log:
                log.write(f"{arrived:.6f}\n")
        if self.path.endswith("/end"):
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = json.dumps(ACCEPTED if self.path.endswith("/validate") else {"ok": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


host, port = ("0.0.0.0", int(sys.argv[2])) if len(sys.argv) > 2 else ("127.0.0.1", 0)
server = http.server.ThreadingHTTPServer((host, port), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
