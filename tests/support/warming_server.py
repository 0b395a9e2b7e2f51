#!/usr/bin/python3
"""An external HTTP/1.1 server that warms up, as a JIT or a cache does: for
its first WARM seconds each response waits, the wait shrinking from 50 ms
to 5 ms; then every response waits 5 ms. A sweep that measures it too soon
sees its rate climb through the window: not a steady state. Warm, its rate
is set by those 5 ms, not by the CPU Python gets (about 0.3 ms a
response): steady even on a noisy machine. With a 1 ms wait a neighbour
that took Python's CPU for the window's first second once made it 20 %
slower than the rest: "not steady", rightly, but not what a test of the
warm-up should hang on.
Usage: warming_server.py PORT [WARM_SECONDS]"""
import http.server
import socketserver
import sys
import time

START = time.monotonic()
WARM = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go in two writes

    def do_GET(self):
        warmed = min(1.0, (time.monotonic() - START) / WARM)
        time.sleep(0.005 + 0.045 * (1 - warmed))
        body = b"Hello, World!"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
