"""python-threads: a thread per connection in blocking style (socket and
threading from the standard library). Only one thread runs Python at a
time (the GIL); a thread blocked in recv, send or time.sleep lets it go,
so blocking waits overlap and CPU work does not. Its C++ twin is
`thread-per-connection`. sleep_us blocks the serving thread in time.sleep,
as a blocking database driver would; wait_us does too, as in the twin: a
thread has nothing else to do meanwhile."""

import socket
import threading
import time

import workload


def serve(conn, timeout):
    """Answers one connection's requests, pipelined ones in order."""
    conn.settimeout(timeout)
    pending = workload.Pending()
    try:
        while True:
            out = []
            for request in pending:
                workload.blocking_work(request)
                time.sleep(request.wait_us / 1e6)  # as the twin: a thread has nothing else to do
                out.append(workload.response(request))
                if not request.keep_alive:
                    conn.sendall(b"".join(out))
                    return
            if out:
                conn.sendall(b"".join(out))
            chunk = conn.recv(65536)
            if not chunk:
                return
            pending.feed(chunk)
    except workload.BadRequest as bad:
        conn.sendall(b"".join(out) + workload.error_response(bad.status))
        linger(conn)
    except OSError:  # reset, timed out
        pass
    finally:
        conn.close()


def linger(conn):
    """Half-closes and reads what the client still sends for a moment, so
    that unread bytes do not turn the close into a reset."""
    conn.shutdown(socket.SHUT_WR)
    conn.settimeout(0.2)
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline and conn.recv(4096):
        pass


def main():
    args = workload.arguments(__doc__.splitlines()[0])
    listener = socket.create_server((args.host, args.port), backlog=1024)
    print(f"listening on {args.host}:{args.port}", flush=True)
    timeout = args.timeout_ms / 1000 or None
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn, timeout), daemon=True).start()


if __name__ == "__main__":
    main()
