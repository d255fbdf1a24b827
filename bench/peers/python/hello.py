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

Written for CPython 3.11 (bench/lib/build.sh picks `python3.11` when there is
one); it uses only the standard library.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"Hello, world!"


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
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
