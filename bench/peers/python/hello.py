#!/usr/bin/env python3
"""`hello.py PORT`: CPython's own http.server as a benchmark peer.

The stock pieces, as a Python user would write them: `ThreadingHTTPServer`
(a thread per connection, daemon threads) and a `BaseHTTPRequestHandler`
subclass that answers every GET with 200 and the 13-byte body
`Hello, world!`, with `Content-Length`, speaking HTTP/1.1 so connections are
kept alive. The access log is silenced by overriding `log_message`. Nothing
else is tuned: the listen backlog stays at `request_queue_size = 5` and
Nagle's algorithm stays on (`disable_nagle_algorithm = False`), which is what
makes it slow on keep-alive connections (the head and the body go out in two
writes, and the second waits for the client's delayed ACK).

Routes of the blocking-handlers section (`bench/run.sh --blocking`):
`/sleep/N` blocks the handler's thread N milliseconds (`time.sleep`), and
`/spin/N` burns N microseconds of its CPU time (a loop until
`time.thread_time()` has advanced by N µs), each then answering as `/`
does; `/sleep/` or `/spin/` with a bad N gets a 404 (`send_error`). Any other
path gets the hello answer, as before.

Written for CPython 3.11 (bench/lib/build.sh picks `python3.11` when there is
one); it uses only the standard library.
"""

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"Hello, world!"
MAX_SLEEP_MS = 10_000
MAX_SPIN_US = 10_000_000
SPIN_WALL_LIMIT_S = 30.0  # a spin gives up after this much wall-clock time


def number(rest, limit):
    """N of /PREFIX/N if it is 1-8 ASCII digits and at most limit, else None."""
    if not (0 < len(rest) <= 8 and rest.isascii() and rest.isdigit()):
        return None
    n = int(rest)
    return n if n <= limit else None


def spin(us):
    """Burns us microseconds of this thread's CPU time."""
    start, wall = time.thread_time(), time.monotonic()
    goal = us / 1e6
    while time.thread_time() - start < goal and time.monotonic() - wall < SPIN_WALL_LIMIT_S:
        pass


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path != "/":
            if self.path.startswith("/sleep/"):
                ms = number(self.path[len("/sleep/") :], MAX_SLEEP_MS)
                if ms is None:
                    self.send_error(404)
                    return
                time.sleep(ms / 1000)
            elif self.path.startswith("/spin/"):
                us = number(self.path[len("/spin/") :], MAX_SPIN_US)
                if us is None:
                    self.send_error(404)
                    return
                spin(us)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format, *args):
        pass


def main(argv):
    if len(argv) != 2 or not argv[1].isdigit():
        sys.stderr.write("usage: hello.py PORT\n")
        return 2
    with ThreadingHTTPServer(("127.0.0.1", int(argv[1])), Hello) as httpd:
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
