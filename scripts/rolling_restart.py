#!/usr/bin/env python3
"""Rolling restarts of `http_server --reuse-port` under load, counting failed requests.

    python3 scripts/rolling_restart.py [--binary target/release/examples/http_server]
                                       [--restarts 3] [--clients 16] [--port 18777]

Starts one `http_server --reuse-port`, then `--clients` threads that each send
GET requests (a new connection per request, `Connection: close`) until the end.
Meanwhile, `--restarts` times: start a new process on the same port, wait until
it prints that it listens, send SIGTERM to the old one, wait for it to exit.
Prints the requests that succeeded and failed, and exits 1 if any failed.

Linux resets the connections still queued on a listening socket that closes,
even when another socket shares the port, unless `net.ipv4.tcp_migrate_req`
is 1 (kernel 5.14+): then they move to a socket still listening. The script
sets it when it can (root) and says so otherwise. Every loop is bounded.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SYSCTL = "/proc/sys/net/ipv4/tcp_migrate_req"


def ensure_migration():
    try:
        with open(SYSCTL) as f:
            if f.read().strip() == "1":
                return "already 1"
        with open(SYSCTL, "w") as f:
            f.write("1")
        return "set to 1"
    except OSError as e:
        return f"not set ({e}): queued connections of a closing listener may be reset"


def start(binary, port, directory):
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--reuse-port", "--directory", directory, str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "Serving HTTP" not in line:
        proc.kill()
        sys.exit(f"http_server did not start: {line!r}")
    return proc


def client(port, stop, counts, errors, lock):
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            ok = data.startswith(b"HTTP/1.0 200 OK\r\n") and data.endswith(b"hello\n")
        except OSError as e:
            ok = False
            with lock:
                errors.append(repr(e))
        with lock:
            counts[0 if ok else 1] += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/examples/http_server")
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--port", type=int, default=18777)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of load between restarts")
    args = parser.parse_args()
    print(f"net.ipv4.tcp_migrate_req: {ensure_migration()}")
    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "hello.txt"), "w") as f:
            f.write("hello\n")
        old = start(args.binary, args.port, directory)
        stop, lock = threading.Event(), threading.Lock()
        counts, errors = [0, 0], []
        threads = [threading.Thread(target=client, args=(args.port, stop, counts, errors, lock))
                   for _ in range(args.clients)]
        for t in threads:
            t.start()
        try:
            for i in range(args.restarts):
                time.sleep(args.settle)
                new = start(args.binary, args.port, directory)
                old.send_signal(signal.SIGTERM)
                code = old.wait(timeout=30)
                print(f"restart {i + 1}: the new process listens, the old one exited with {code}")
                old = new
            time.sleep(args.settle)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
            old.send_signal(signal.SIGTERM)
            old.wait(timeout=30)
    print(f"requests: {counts[0]} succeeded, {counts[1]} failed")
    for e in sorted(set(errors))[:5]:
        print(f"  e.g. {e}")
    sys.exit(1 if counts[1] or counts[0] == 0 else 0)


if __name__ == "__main__":
    main()
