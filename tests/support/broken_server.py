#!/usr/bin/python3
"""A server of cmbench's workload that is wrong in one way, for `cmbench
verify`'s tests: it answers bytes=N, cpu_us, sleep_us and wait_us as the
models do, with keep-alive, pipelining, Connection: close and the models'
statuses for bad input (400, 431, 413, 501), and breaks as MODE says:

  ignores-sleep   answers sleep_us, cpu_us and wait_us at once
  reorders        answers the requests that arrived together last first
  bad-length      says one byte less in Content-Length than it sends
  not-found       answers every well-formed request 404 Not Found
  nagle           writes each answer's head and body apart, with Nagle's algorithm on
  lax             answers bad input as if it were good (no 400, 431, 413, 501)
  hello-only      answers hello whatever the query, as a static server does

Usage: broken_server.py PORT MODE"""
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

PORT, MODE = int(sys.argv[1]), sys.argv[2]
MODES = ("ignores-sleep", "reorders", "bad-length", "not-found", "nagle", "lax", "hello-only")
assert MODE in MODES, MODE


def respond(target, close):
    if MODE == "not-found":
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    query = parse_qs(urlsplit(target).query) if MODE != "hello-only" else {}
    value = lambda key: int(query.get(key, ["0"])[0])
    if MODE != "ignores-sleep":
        time.sleep((value("sleep_us") + value("wait_us")) / 1e6)
        end = time.thread_time() + value("cpu_us") / 1e6
        while time.thread_time() < end:
            pass
    body = b"x" * value("bytes") if "bytes" in query else b"Hello, World!"
    length = len(body) - 1 if MODE == "bad-length" and body else len(body)
    return (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" %
            (length, b"Connection: close\r\n" if close else b"")) + body


def refusal(head):
    """The status bad input gets, as the models give it; None for none."""
    if MODE == "lax":
        return None
    if len(head) > 8192:
        return 431
    lines = head.lower().split(b"\r\n")[1:]
    if any(b" :" in line or b":" not in line for line in lines):
        return 400
    if any(line.startswith(b"transfer-encoding:") for line in lines):
        return 501
    for line in lines:
        if line.startswith(b"content-length:") and int(line.split(b":")[1]) > 1024 * 1024:
            return 413
    return None


def body_length(head):
    for line in head.lower().split(b"\r\n")[1:]:
        if line.startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def serve(connection):
    buffered = b""
    with connection:
        while True:
            data = connection.recv(65536)
            if not data:
                return
            buffered += data
            requests = []
            while b"\r\n\r\n" in buffered:
                head, rest = buffered.split(b"\r\n\r\n", 1)
                status = refusal(head)
                if status:
                    connection.sendall(b"HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n"
                                       b"Connection: close\r\n\r\n" % status)
                    return
                if len(rest) < body_length(head):
                    break
                buffered = rest[body_length(head):]
                requests.append(head)
            if MODE == "reorders":
                requests.reverse()
            for head in requests:
                target = head.split(b"\r\n")[0].split(b" ")[1].decode()
                close = b"connection: close" in head.lower()
                answer = respond(target, close)
                if MODE == "nagle":  # the body waits for the ACK of the head
                    head, body = answer.split(b"\r\n\r\n", 1)
                    connection.sendall(head + b"\r\n\r\n")
                    connection.sendall(body)
                else:
                    connection.sendall(answer)
                if close:
                    return


def serve_quietly(connection):
    try:
        serve(connection)
    except OSError:  # the client went away: its business
        pass


listener = socket.create_server(("127.0.0.1", PORT))
while True:
    connection, _ = listener.accept()
    if MODE != "nagle":
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=serve_quietly, args=(connection,), daemon=True).start()
