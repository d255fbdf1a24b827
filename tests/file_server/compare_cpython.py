#!/usr/bin/env python3
"""Compares the file server with CPython's, request by request.

Builds a tree in a temporary directory (files of many types, names with
spaces, non-ASCII and `&<>"'`, index files, a folder without one, nested
folders, an empty file, symlinks inside and outside the tree), starts
`python3 -m http.server` and `examples/http_server` on it, sends both the
same raw requests over sockets, and compares status lines, headers (names,
values, order) and bodies, with `Date` and `Server` values normalised (file
times are fixed, so `Last-Modified` is compared as it is).

Every difference is printed. Those the README lists ("Differences from
CPython", the file server) are recognised and counted by name; anything
else is "UNEXPECTED" and makes the exit status 1.

    cargo build --example http_server
    python3 tests/file_server/compare_cpython.py            # from the repository root
    python3 tests/file_server/compare_cpython.py --verbose  # also the matching requests
    python3 tests/file_server/compare_cpython.py --raw      # no difference recognised

By default CPython runs without `/etc/mime.types` (`mimetypes.knownfiles`
emptied), as the project's table is CPython's built-in one; `--mime-types`
lets it read the machine's files. Needs Python 3.11 to compare with 3.11.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT
MTIME_HTTP = "Tue, 14 Nov 2023 22:13:20 GMT"
ODD_NAME = "sp ace \u00e9\u00e8 &<>\"'.txt"


def build_tree(root):
    """The served tree, plus `outside.txt` beside it (reached by a symlink)."""
    os.makedirs(root)
    files = {
        "hello.html": b"<p>hello</p>\n",
        "notes.txt": b"plain text\n",
        "UPPER.TXT": b"upper\n",
        "app.js": b"console.log(1);\n",
        "module.mjs": b"export {};\n",
        "data.json": b'{"a": 1}\n',
        "style.css": b"p{}\n",
        "pixel.png": bytes.fromhex("89504e470d0a1a0a0000000d49484452"),
        "photo.JPG": b"\xff\xd8\xff",
        "image.svg": b"<svg/>\n",
        "archive.tar.gz": b"\x1f\x8b\x08\x00",
        "single.gz": b"\x1f\x8b\x08\x00",
        "comp.bz2": b"BZh",
        "comp.xz": b"\xfd7zXZ",
        "old.Z": b"\x1f\x9d",
        "doc.pdf": b"%PDF-1.4\n",
        "page.xml": b"<a/>\n",
        "readme.md": b"# hi\n",
        "font.woff2": b"wOF2",
        "font.woff": b"wOFF",
        "pic.webp": b"RIFF",
        "README.txt": b"upper readme\n",
        "Readme.txt": b"mixed readme\n",
        "mod.wasm": b"\x00asm",
        "script.py": b"print(1)\n",
        "Makefile": b"all:\n",
        "file.unknownext": b"?\n",
        "empty.txt": b"",
        "data.bin": bytes(i % 251 for i in range(1000)),
        ODD_NAME: b"odd name\n",
        "q?#%.txt": b"delimiters\n",
        "a\\b.txt": b"backslash\n",
        "C:x.txt": b"drive-like\n",
        "site/index.html": b"<p>site home</p>\n",
        "site/other.txt": b"other\n",
        "old/index.htm": b"<p>old home</p>\n",
        "plain/a.txt": b"a\n",
        "plain/B.txt": b"B\n",
        "plain/nested/deeper/leaf.txt": b"leaf\n",
        "sub dir/inside.txt": b"inside\n",
        "fake/index.html/x.txt": b"x\n",
    }
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
    os.makedirs(os.path.join(root, "emptydir"))
    # A name that is not UTF-8 (Linux file names are bytes).
    with open(os.path.join(os.fsencode(root), b"caf\xe9.txt"), "wb") as f:
        f.write(b"latin-1 name\n")
    outside = os.path.join(os.path.dirname(root), "outside.txt")
    with open(outside, "wb") as f:
        f.write(b"OUTSIDE THE ROOT\n")
    os.symlink("notes.txt", os.path.join(root, "link.txt"))
    os.symlink("plain", os.path.join(root, "link-dir"))
    os.symlink(outside, os.path.join(root, "out-link.txt"))
    os.symlink(os.path.dirname(root), os.path.join(root, "out-dir"))
    os.symlink("missing-target", os.path.join(root, "broken-link"))
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (MTIME, MTIME), follow_symlinks=False)
    os.utime(outside, (MTIME, MTIME))


def requests():
    """(label, raw request bytes). HTTP/1.0 unless the label says otherwise."""
    out = []

    def get(target, *headers, method="GET", version="HTTP/1.0"):
        head = f"{method} {target} {version}\r\n"
        if version == "HTTP/1.1":
            head += "Host: 127.0.0.1\r\nConnection: close\r\n"
        head += "".join(f"{h}\r\n" for h in headers) + "\r\n"
        label = f"{method} {target} {version}" + "".join(f" [{h}]" for h in headers)
        out.append((label, head.encode("latin-1")))

    files = ["/hello.html", "/notes.txt", "/UPPER.TXT", "/app.js", "/module.mjs", "/data.json", "/style.css",
             "/pixel.png", "/photo.JPG", "/image.svg", "/archive.tar.gz", "/single.gz", "/comp.bz2", "/comp.xz",
             "/old.Z", "/doc.pdf", "/page.xml", "/readme.md", "/font.woff2", "/font.woff", "/pic.webp", "/README.txt", "/mod.wasm", "/script.py",
             "/Makefile", "/file.unknownext", "/empty.txt", "/data.bin", "/link.txt", "/link-dir/a.txt",
             "/plain/nested/deeper/leaf.txt", "/sub%20dir/inside.txt", "/site/other.txt"]
    for f in files:
        get(f)
        get(f, method="HEAD")
    # Names that need encoding.
    get("/sp%20ace%20%C3%A9%C3%A8%20%26%3C%3E%22%27.txt")
    get("/sp ace %C3%A9%C3%A8 &<>\"'.txt")  # raw spaces split the request line
    get("/q%3F%23%25.txt")
    get("/caf%E9.txt")
    get("/caf%ED%B3%A9.txt")  # CPython's own link to the non-UTF-8 name
    get("/caf\u00e9.txt")  # a raw Latin-1 byte in the target
    get("/sp%20ace%20\u00c3\u00a9\u00c3\u00a8%20%26%3C%3E%22%27.txt")  # raw UTF-8 bytes
    get("/a%5Cb.txt")
    get("/a\\b.txt")
    get("/C:x.txt")
    get("/C%3Ax.txt")
    # Folders.
    for d in ["/", "/plain/", "/plain/nested/", "/site/", "/old/", "/emptydir/", "/fake/", "/sub%20dir/",
              "/link-dir/", "//", "/plain//nested/", "/./plain/", "/plain/./", "/plain/nested/..",
              "/plain/nested/../"]:
        get(d)
        get(d, method="HEAD")
    for d in ["/plain", "/site", "/plain/nested", "/sub%20dir", "/emptydir", "/link-dir", "/plain?x=1",
              "/plain?x=1&y=%20#frag", "/plain#frag", "/plain?", "/plain#", "/plain?#", "/plain?x#",
              "/plain#a?b", "//plain", "///plain", "/plain?a?b#c#d", "/plain/nested/deeper", "/%70lain"]:
        get(d)
    get("/plain", method="HEAD")
    # Listing titles: query, fragment, escaping, encoded names.
    for d in ["/plain/?x=1", "/plain/#f", "/sub%20dir/?x=1#f", "/sub dir/?x=1#f", "/plain/?q=<b>&r='\"'",
              "/plain/?%41%20", "/%70lain/", "/plain%2F", "/plain/%2e/", "/plain/nested/%2e%2e/",
              "/%E9/", "/\u00e9/"]:
        get(d)
    # Errors and traversal.
    for t in ["/missing.txt", "/missing/", "/notes.txt/", "/notes.txt/x", "/../outside.txt", "/../../etc/passwd",
              "/%2e%2e/outside.txt", "/..%2foutside.txt", "/plain/..%2f..%2foutside.txt", "/out-link.txt",
              "/out-dir/outside.txt", "/out-dir/", "/out-dir", "/broken-link", "/notes.txt%00", "/%00",
              "/..\\outside.txt", "/plain%2Fa.txt", "/plain%2fa.txt", "/notes.txt?x=1", "/notes.txt#f",
              "/notes.txt%3Fx", "/NOTES.TXT", "*", "http://127.0.0.1/notes.txt", "http://other/plain",
              "notes.txt", "/%", "/%zz", "/emptydir/index.html"]:
        get(t)
    # Conditional requests.
    for ims in [MTIME_HTTP, "Tue, 14 Nov 2023 22:13:19 GMT", "Tue, 14 Nov 2023 22:13:21 GMT",
                "Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 2099 00:00:00 GMT", "not a date", "",
                "Tuesday, 14-Nov-23 22:13:20 GMT", "Tue Nov 14 22:13:20 2023", "Tue, 14 Nov 2023 22:13:20 +0000",
                "Tue, 14 Nov 2023 22:13:20 -0000", "Tue, 14 Nov 2023 22:13:20 UTC",
                "Tue, 14 Nov 2023 23:13:20 +0100", "14 Nov 2023 22:13:20 GMT", "Tue, 14 Nov 2023 22:13:20",
                "Tue, 14 Nov 23 22:13:20 GMT", "Tue, 14 Nov 2023 22:13 GMT"]:
        get("/notes.txt", f"If-Modified-Since: {ims}")
    get("/notes.txt", f"If-Modified-Since: {MTIME_HTTP}", method="HEAD")
    get("/notes.txt", f"If-Modified-Since: {MTIME_HTTP}", version="HTTP/1.1")
    get("/notes.txt", f"If-Modified-Since: {MTIME_HTTP}", "If-None-Match: \"x\"")
    get("/notes.txt", f"If-Modified-Since: {MTIME_HTTP}", "If-None-Match: *")
    get("/notes.txt", "If-None-Match: *")
    get("/notes.txt", "If-None-Match: \"x\"")
    get("/notes.txt", f"If-Modified-Since: {MTIME_HTTP}", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT")
    get("/notes.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", f"If-Modified-Since: {MTIME_HTTP}")
    get("/site/", f"If-Modified-Since: {MTIME_HTTP}")
    get("/plain/", f"If-Modified-Since: {MTIME_HTTP}")
    # Ranges.
    for r in ["bytes=0-99", "bytes=-10", "bytes=990-", "bytes=1000-", "bytes=0-1,5-6", "bytes=9-1", "items=0-1"]:
        get("/data.bin", f"Range: {r}")
    get("/data.bin", "Range: bytes=0-9", method="HEAD")
    get("/data.bin", "Range: bytes=0-9", f"If-Range: {MTIME_HTTP}")
    get("/empty.txt", "Range: bytes=0-")
    get("/plain/", "Range: bytes=0-9")
    # Methods and versions.
    for m in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"]:
        get("/notes.txt", "Content-Length: 0", method=m)
    get("/notes.txt", version="HTTP/1.1")
    get("/plain/", version="HTTP/1.1")
    get("/plain", version="HTTP/1.1")
    get("/missing", version="HTTP/1.1")
    out.append(("GET /notes.txt HTTP/0.9", b"GET /notes.txt\r\n"))
    out.append(("two requests, HTTP/1.1 keep-alive",
                b"GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, name):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{name} did not listen on {port}")


def exchange(port, raw):
    """Sends `raw`, reads until the server closes (or 3 s of silence)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(raw)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            chunks.append(b"<<timeout or reset>>")
        return b"".join(chunks)


def normalise(response):
    """Splits into (status line, [(name, value)], body) per response;
    Date and Server values replaced."""
    if not response:
        return [("", [], b"")]  # closed without a response
    out = []
    rest = response
    while rest:
        head, sep, body = rest.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"HTTP/"):
            out.append(("", [], rest))
            break
        lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            value = value.strip()
            if name.lower() == "date":
                value = "<date>"
            elif name.lower() == "server":
                value = "<server>"
            headers.append((name, value))
        length = next((int(v) for n, v in headers if n.lower() == "content-length"), None)
        if length is None or len(body) <= length:
            out.append((lines[0], headers, body))
            break
        out.append((lines[0], headers, body[:length]))
        rest = body[length:]
    return out


def title_of(body):
    m = re.search(rb"<title>(.*?)</title>", body, re.S)
    return m and m.group(1)


def code(response):
    parts = response[0].split()
    return parts[1] if len(parts) > 1 else ""


def target_of(label):
    return label.split(" ")[1]


def with_body(response, body):
    """`response` with another body and the Content-Length to match."""
    length = str(len(body))
    return (response[0], [(n, length if n == "Content-Length" else v) for n, v in response[1]], body)


def without(response, *names):
    headers = [(n, v) for n, v in response[1] if n not in names]
    return None if headers == response[1] else (response[0], headers, response[2])


# The differences the README lists. Each rule takes (label, CPython's
# response, ours) and returns ours rewritten as CPython would answer, or
# None when it does not apply; `explain` applies them until nothing differs.

def etag(label, cp, ours):
    """Ours adds ETag to file responses (200, 206, 304)."""
    return without(ours, "ETag")


def accept_ranges(label, cp, ours):
    """Ours adds Accept-Ranges: bytes to file responses."""
    return without(ours, "Accept-Ranges")


def range_requests(label, cp, ours):
    """Ours answers one Range of a GET with 206 (or 416); CPython ignores Range."""
    return cp if "[Range:" in label and code(ours) in ("206", "416") and code(cp) == "200" else None


def if_none_match(label, cp, ours):
    """If-None-Match matching the ETag (or *) is 304; CPython ignores the field."""
    return cp if "If-None-Match" in label and code(ours) == "304" and code(cp) == "200" else None


def last_modified_on_304(label, cp, ours):
    """Ours' 304 carries Last-Modified (and the ETag); CPython's neither."""
    return without(ours, "Last-Modified") if code(ours) == "304" else None


def listing_title(label, cp, ours):
    """CPython's listing title shows the target's query and fragment."""
    mine, theirs = title_of(ours[2]), title_of(cp[2])
    if not re.search(r"[?#]", target_of(label)) or None in (mine, theirs) or mine == theirs:
        return None
    return with_body(ours, ours[2].replace(mine, theirs))


def listing_quotes(label, cp, ours):
    """Ours escapes " and ' in listed names too (CPython: html.escape(quote=False))."""
    if not re.search(rb"&quot;|&#x27;", ours[2]) or title_of(ours[2]) is None:
        return None
    return with_body(ours, ours[2].replace(b"&quot;", b'"').replace(b"&#x27;", b"'"))


def byte_paths(label, cp, ours):
    """Paths are bytes: %E9 and raw non-ASCII bytes name the file with exactly
    those bytes; the listing links a non-UTF-8 name by its bytes (%E9) and
    shows U+FFFD. CPython decodes %XX as UTF-8 (else U+FFFD), reads raw bytes
    as Latin-1 and re-encodes them in UTF-8, links a non-UTF-8 name through
    its surrogate escape (%ED%B3%A9) and writes the raw byte into the page."""
    if b"caf%E9.txt" in ours[2]:
        return with_body(ours, ours[2].replace(b"caf%E9.txt", b"caf%ED%B3%A9.txt")
                         .replace("caf\ufffd.txt".encode(), b"caf\xe9.txt"))
    target = target_of(label)
    if re.search(r"%E9|%ED%B3%A9|[^\x00-\x7f]", target, re.I):
        return cp
    return None


def containment(label, cp, ours):
    """Ours refuses (404) what leaves the root through a symlink, and names
    holding a backslash or a drive (C:); CPython serves or lists them."""
    if not re.search(r"out-|\\|%5C|C:|C%3A", target_of(label), re.I) or code(ours) != "404" or code(cp) == "404":
        return None
    return cp


def nul_byte(label, cp, ours):
    """%00 in the path: ours 404; CPython's open() raises ValueError and the
    connection closes without a response."""
    return cp if "%00" in target_of(label) and cp[0] == "" and code(ours) == "404" else None


# Extensions whose type differs on purpose (basehttp/src/simple/mime.rs):
# CPython 3.11's built-in table has .js/.mjs as application/javascript and
# lacks the web formats.
MODERN_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".md": "text/markdown",
                ".woff2": "font/woff2", ".woff": "font/woff", ".webp": "image/webp", ".ttf": "font/ttf",
                ".otf": "font/otf"}


def content_types(label, cp, ours):
    """.js/.mjs are text/javascript (RFC 9239) and .md, .woff, .woff2,
    .ttf, .otf, .webp have their types; CPython 3.11 without
    /etc/mime.types: application/javascript and application/octet-stream."""
    ext = os.path.splitext(target_of(label).split("?")[0])[1].lower()
    mine = dict(ours[1]).get("Content-type")
    if ext not in MODERN_TYPES or MODERN_TYPES[ext] != mine:
        return None
    theirs = dict(cp[1]).get("Content-type")
    return (ours[0], [(n, theirs if n == "Content-type" else v) for n, v in ours[1]], ours[2])


def absolute_form(label, cp, ours):
    """An absolute-form target (GET http://host/x) serves /x (RFC 9112
    §3.2.2); CPython looks for a folder named `http:`."""
    return cp if target_of(label).lower().startswith("http://") and code(cp) == "404" else None


def strict_if_modified_since(label, cp, ours):
    """If-Modified-Since is read only as one HTTP-date (RFC 9110 §13.1.3);
    CPython also reads other RFC 5322 forms (zones +0000/UTC, no weekday,
    no zone, two-digit years) and the first of several fields."""
    ims = re.findall(r"\[If-Modified-Since: ([^\]]*)\]", label)
    http_date = r"(\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT|\w+, \d\d-\w{3}-\d\d \d\d:\d\d:\d\d GMT|\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})"
    if not ims or (len(ims) == 1 and re.fullmatch(http_date, ims[0])):
        return None
    return cp if code(cp) == "304" and code(ours) == "200" else None


KNOWN = [etag, accept_ranges, range_requests, if_none_match, last_modified_on_304, listing_title, listing_quotes,
         byte_paths, containment, nul_byte, content_types, absolute_form, strict_if_modified_since]


def explain(label, cp, ours):
    """The rules that make ours equal to CPython's, or None when a
    difference remains."""
    used = []
    while cp != ours:
        for rule in KNOWN:
            if rule.__name__ in used:
                continue
            rewritten = rule(label, cp, ours)
            if rewritten is not None:
                used.append(rule.__name__)
                ours = rewritten
                break
        else:
            return None
    return used


def show(parts):
    lines = []
    for status, headers, body in parts:
        lines.append(f"    {status}")
        lines.extend(f"    {n}: {v}" for n, v in headers)
        lines.append(f"    body ({len(body)} bytes): {body[:300]!r}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", default="target/debug/examples/http_server", help="the example's binary")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--mime-types", action="store_true", help="let CPython read /etc/mime.types")
    ap.add_argument("--protocol", default="HTTP/1.0")
    ap.add_argument("--raw", action="store_true", help="recognise no difference")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    base = tempfile.mkdtemp(prefix="compare-cpython-")
    root = os.path.join(base, "root")
    build_tree(root)
    py_port, our_port = free_port(), free_port()
    prelude = "" if args.mime_types else "import mimetypes; mimetypes.knownfiles.clear(); "
    py_cmd = [args.python, "-c", prelude + "import runpy; runpy.run_module('http.server', run_name='__main__')",
              "--bind", "127.0.0.1", "--directory", root, "--protocol", args.protocol, str(py_port)]
    our_cmd = [args.ours, "--bind", "127.0.0.1", "--directory", root, "--protocol", args.protocol, str(our_port)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cmd in (py_cmd, our_cmd)]
    unexpected = 0
    counts = {}
    try:
        wait_ready(py_port, procs[0], "python")
        wait_ready(our_port, procs[1], "ours")
        reqs = requests()
        for label, raw in reqs:
            cp_all = normalise(exchange(py_port, raw))
            our_all = normalise(exchange(our_port, raw))
            if label.startswith("HEAD ") and len(cp_all) == len(our_all) == 1:
                # No body: compare the head with the body GET would have
                # (which explains a listing's Content-Length).
                if cp_all[0][2] or our_all[0][2]:
                    print(f"UNEXPECTED {label}: a body after HEAD")
                    unexpected += 1
                get_raw = b"GET " + raw[len(b"HEAD "):]
                cp_get, our_get = normalise(exchange(py_port, get_raw)), normalise(exchange(our_port, get_raw))
                if cp_get[0][0] == cp_all[0][0] and our_get[0][0] == our_all[0][0]:
                    cp_all = [(cp_all[0][0], cp_all[0][1], cp_get[0][2])]
                    our_all = [(our_all[0][0], our_all[0][1], our_get[0][2])]
            if len(cp_all) != len(our_all):
                used = None
            else:
                used = []
                for cp, ours in zip(cp_all, our_all):
                    u = [] if cp == ours else (None if args.raw else explain(label, cp, ours))
                    if u is None:
                        used = None
                        break
                    used += u
            if used == []:
                if args.verbose:
                    print(f"same       {label}")
                continue
            if used is None:
                unexpected += 1
                print(f"UNEXPECTED {label}")
            else:
                for u in used:
                    counts[u] = counts.get(u, 0) + 1
                print(f"known      {label}: {', '.join(used)}")
                if not args.verbose:
                    continue
            print("  CPython:\n" + show(cp_all) + "\n  ours:\n" + show(our_all))
        print(f"\n{len(reqs)} requests; recognised differences: {counts or 'none'}; unexpected: {unexpected}")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(base)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
