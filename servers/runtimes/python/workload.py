"""cmbench's HTTP/1.1 request and workload for the Python servers, over
bytes: the parser's rules and limits and the query keys are those of the
C++ models (net/http_request.cpp, servers/handler), so each server only
decides how it reads, writes and waits (docs/server-contract.md).
Standard library only."""

import argparse
import re
import time
from dataclasses import dataclass

MAX_HEADER_BYTES = 8 * 1024  # request line and headers; over it: 431
MAX_BODY_BYTES = 1024 * 1024  # over it: 413
LIMITS = {"cpu_us": 60_000_000, "sleep_us": 60_000_000, "wait_us": 60_000_000,
          "bytes": 64 * 1024 * 1024}
METHODS = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH"}
REASONS = {200: "OK", 400: "Bad Request", 413: "Content Too Large",
           431: "Request Header Fields Too Large", 501: "Not Implemented",
           505: "HTTP Version Not Supported"}
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
TARGET = re.compile(rb"[\x21-\x7e]+\Z")
FIELD_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*\Z")
HELLO = b"Hello, World!"


class BadRequest(Exception):
    """The connection is answered with this status and closed."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


@dataclass
class Request:
    cpu_us: int = 0
    sleep_us: int = 0
    wait_us: int = 0
    body_bytes: int = -1  # -1: the hello body
    keep_alive: bool = True
    head: bool = False
    minor: int = 1  # HTTP/1.<minor>


def parse(buf):
    """The request at the front of buf and the bytes it took; (None, 0)
    when more must be read first. Raises BadRequest."""
    start = 0
    while buf.startswith(b"\r\n", start):
        start += 2  # empty lines before the request line are ignored
    end = buf.find(b"\r\n\r\n", start)
    head = buf[start:] if end < 0 else buf[start:end + 4]
    if re.search(rb"(?<!\r)\n", head):
        raise BadRequest(400)  # a bare LF: HTTP/0.9 and hand-typed requests
    if end < 0:
        if len(buf) > MAX_HEADER_BYTES:
            raise BadRequest(431)
        return None, 0
    if end + 4 > MAX_HEADER_BYTES:
        raise BadRequest(431)
    lines = buf[start:end].split(b"\r\n")
    request = Request()
    parse_request_line(lines[0], request)
    length = parse_headers(lines[1:], request)
    if len(buf) - (end + 4) < length:
        return None, 0
    return request, end + 4 + length


class Pending:
    """A connection's bytes not yet answered: iterating takes the complete
    requests, in order (raising BadRequest at a bad one); feed adds what
    arrives."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data

    def __iter__(self):
        while True:
            request, used = parse(self.buf)
            if request is None:
                return
            self.buf = self.buf[used:]
            yield request


def parse_request_line(line, request):
    parts = line.split(b" ")
    if len(parts) != 3 or not TOKEN.match(parts[0]) or not TARGET.match(parts[1]):
        raise BadRequest(400)
    method, target, version = parts
    if not re.match(rb"HTTP/[0-9]\.[0-9]\Z", version):
        raise BadRequest(400)
    if version[5:6] != b"1":
        raise BadRequest(505)
    if method not in METHODS:
        raise BadRequest(501)
    if not (target.startswith(b"/") or target == b"*" or target.startswith(b"http://")):
        raise BadRequest(400)
    request.minor = version[7] - ord("0")
    request.head = method == b"HEAD"
    if b"?" in target:
        parse_work(target.split(b"?", 1)[1].decode("ascii"), request)


def parse_headers(lines, request):
    """The body's length; keep-alive and Host, refused as the models refuse."""
    length, saw_length, saw_host, saw_transfer = 0, False, False, False
    close = keep_alive = False
    for line in lines:
        name, colon, value = line.partition(b":")
        value = value.strip(b" \t")
        # A name must be a token: whitespace before the colon is a smuggling shape.
        if not colon or not TOKEN.match(name) or not FIELD_VALUE.match(value):
            raise BadRequest(400)
        name = name.lower()
        if name == b"content-length":
            if saw_length or not value.isdigit():
                raise BadRequest(400)
            saw_length, length = True, int(value)
            if length > MAX_BODY_BYTES:
                raise BadRequest(413)
        elif name == b"transfer-encoding":
            saw_transfer = True
        elif name == b"connection":
            options = {o.strip(b" \t").lower() for o in value.split(b",")}
            close = close or b"close" in options
            keep_alive = keep_alive or b"keep-alive" in options
        elif name == b"host":
            if saw_host:
                raise BadRequest(400)
            saw_host = True
    if saw_transfer:  # chunked bodies are not served; with a length, smuggling
        raise BadRequest(400 if saw_length else 501)
    if request.minor >= 1 and not saw_host:
        raise BadRequest(400)
    request.keep_alive = not close and (request.minor >= 1 or keep_alive)
    return length


def parse_work(query, request):
    """Unknown keys are ignored; a value that is not a whole number within
    its key's limit is a 400."""
    for field in query.split("&"):
        key, _, value = field.partition("=")
        if key not in LIMITS:
            continue
        if not (value.isascii() and value.isdigit()) or int(value) > LIMITS[key]:
            raise BadRequest(400)
        setattr(request, "body_bytes" if key == "bytes" else key, int(value))


def head(status, length, minor, keep_alive):
    lines = [f"HTTP/1.{minor} {status} {REASONS[status]}", "Server: cmbench-python",
             "Content-Type: text/plain", f"Content-Length: {length}"]
    if not keep_alive:
        lines.append("Connection: close")
    elif minor == 0:
        lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def response(request):
    """The answer to request, head and body in one bytes object (one write)."""
    body = HELLO if request.body_bytes < 0 else b"x" * request.body_bytes
    framing = head(200, len(body), request.minor, request.keep_alive)
    return framing if request.head else framing + body


def error_response(status):
    reason = (REASONS[status] + "\n").encode("ascii")
    return head(status, len(reason), 1, False) + reason


def burn_cpu(micros):
    """Spends micros of this thread's own CPU time (time.thread_time)."""
    deadline = time.thread_time() + micros / 1e6
    x = 0x9E3779B9
    while time.thread_time() < deadline:
        for _ in range(64):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def blocking_work(request):
    """What blocks the serving thread: CPU, then sleep_us in time.sleep, as
    a blocking database driver would."""
    if request.cpu_us:
        burn_cpu(request.cpu_us)
    if request.sleep_us:
        time.sleep(request.sleep_us / 1e6)


def arguments(description):
    """--host, --port and --timeout-ms (how long a connection may stay
    silent before it is closed; 0: forever)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--timeout-ms", type=int, default=0)
    return parser.parse_args()
