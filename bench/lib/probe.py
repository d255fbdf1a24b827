#!/usr/bin/env python3
"""Small HTTP probes of a server on 127.0.0.1:PORT.

    probe.py ready PORT [SECONDS] [--tls]
                                    exit 0 once `GET /` answers 200 with the
                                    13-byte body (polls every 0.05 s, gives
                                    up after SECONDS, default 15)
    probe.py close PORT [--tls]     how the server treats `Connection: close`;
                                    prints one word:
        closes+header   it closes the connection and says `Connection: close`
        closes          it closes the connection without saying so (wrk then
                        writes the next request into the closing socket and
                        counts a read error before reconnecting)
        keeps-open      it ignores the header: a `Connection: close` run is then
                        really a keep-alive run
        error           no usable answer
    probe.py tls PORT [--tag KEY=VALUE]...
                                    what OpenSSL's client defaults (wrk's
                                    library) negotiate with the server:
                                    `openssl s_client -brief` with wrk's SNI
                                    (the host of its URL, localhost); prints
                                    one JSON object (scenario "tls"): protocol,
                                    cipher, key exchange, signature, and the
                                    raw lines

With --tls the probes speak HTTPS (no certificate check), for the TLS section
(bench/run.sh --tls).
"""

import json
import socket
import ssl
import subprocess
import sys
import time

TLS = None  # an ssl.SSLContext when --tls is given


def connect(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if TLS is None:
        return s
    try:
        return TLS.wrap_socket(s, server_hostname="127.0.0.1")
    except (OSError, ssl.SSLError):
        s.close()
        raise

BODY = b"Hello, world!"


def exchange(port, request, timeout, wait_close):
    """Sends a request; returns (bytes received, whether the server closed).
    With wait_close, waits up to 0.5 s after a complete answer for the close."""
    with connect(port, timeout) as s:
        s.sendall(request)
        data, closed = b"", False
        deadline = time.monotonic() + timeout
        while len(data) < 65536 and time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
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


def tls_info(port, tags):
    """`openssl s_client -brief` against the server; one JSON object."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-brief"]
    row = {"scenario": "tls"}
    try:
        out = subprocess.run(cmd, input=b"", capture_output=True, timeout=10)
        text = (out.stdout + out.stderr).decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError) as e:
        text = f"openssl s_client failed: {e}"
    fields = {
        "Protocol version": "protocol",
        "Ciphersuite": "cipher",
        "Server Temp Key": "key_exchange",
        "Peer Temp Key": "key_exchange",
        "Signature type": "signature",
        "Hash used": "hash",
    }
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in fields:
            row[fields[key.strip()]] = value.strip()
    row["s_client"] = " | ".join(ln.strip() for ln in text.splitlines() if ln.strip())[:400]
    row.update(tag.split("=", 1) for tag in tags)
    return row


def main(argv):
    global TLS
    argv = list(argv)
    if "--tls" in argv:
        argv.remove("--tls")
        TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        TLS.check_hostname = False
        TLS.verify_mode = ssl.CERT_NONE
    if len(argv) >= 3 and argv[1] == "tls":
        tags = [argv[i + 1] for i in range(3, len(argv) - 1) if argv[i] == "--tag"]
        print(json.dumps(tls_info(int(argv[2]), tags), sort_keys=True))
        return 0
    if len(argv) >= 3 and argv[1] == "ready":
        return ready(int(argv[2]), float(argv[3]) if len(argv) > 3 else 15.0)
    if len(argv) == 3 and argv[1] == "close":
        print(close_behaviour(int(argv[2])))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
