#!/usr/bin/env python3
"""Small HTTP probes of a server on 127.0.0.1:PORT.

    probe.py ready PORT [SECONDS]   exit 0 once `GET /` answers 200 with the
                                    13-byte body (polls every 0.05 s, gives
                                    up after SECONDS, default 15)
    probe.py close PORT             how the server treats `Connection: close`;
                                    prints one word:
        closes+header   it closes the connection and says `Connection: close`
        closes          it closes the connection without saying so (wrk then
                        writes the next request into the closing socket and
                        counts a read error before reconnecting)
        keeps-open      it ignores the header: a `Connection: close` run is then
                        really a keep-alive run
        error           no usable answer
"""

import socket
import sys
import time

BODY = b"Hello, world!"


def exchange(port, request, timeout, wait_close):
    """Sends a request; returns (bytes received, whether the server closed).
    With wait_close, waits up to 0.5 s after a complete answer for the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data, closed = b"", False
        deadline = time.monotonic() + timeout
        while len(data) < 65536 and time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep and len(body) >= len(BODY):
                if not wait_close:
                    break
                s.settimeout(0.5)  # the answer is complete: does the server close now?
        return data, closed


def ready(port, seconds):
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.05) + 1):
        try:
            data, _ = exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 1.0, False)
            if data.startswith(b"HTTP/1.1 200") and data.endswith(BODY):
                return 0
        except OSError:
            pass
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return 1


def close_behaviour(port):
    try:
        data, closed = exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 2.0, True)
    except OSError:
        return "error"
    head = data.partition(b"\r\n\r\n")[0].lower()
    if not head.startswith(b"http/1.1 200"):
        return "error"
    if not closed:
        return "keeps-open"
    return "closes+header" if b"\r\nconnection: close" in head else "closes"


def main(argv):
    if len(argv) >= 3 and argv[1] == "ready":
        return ready(int(argv[2]), float(argv[3]) if len(argv) > 3 else 15.0)
    if len(argv) == 3 and argv[1] == "close":
        print(close_behaviour(int(argv[2])))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
