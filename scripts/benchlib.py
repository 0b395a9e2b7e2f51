"""What the benchmark scripts share: pinned servers (cmbench models and
Debian's nginx), the load generators (cmbench load, wrk), and A/B pairs.
Benchmarks, not tests: they print figures and assert nothing."""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# CMBENCH_BIN: a private copy, so that rebuilding the tree mid-run changes nothing.
CMBENCH = Path(os.environ.get("CMBENCH_BIN", ROOT / "build" / "release" / "harness" / "cmbench"))

NGINX_CONF = """\
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  {access_log};
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location / {{ return 200 "Hello, World!"; }}
  }}
}}
"""


def require(*paths):
    for need in paths:
        if not need or not os.path.exists(need):
            sys.exit(f"missing {need}: run scripts/deps and scripts/build "
                     "(and apt-get install nginx-light wrk for the nginx comparisons)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Server:
    """A server pinned to `cpu` on 127.0.0.1:port: a cmbench model, or nginx
    (one worker, no master) when name is "nginx"."""

    def __init__(self, name, cpu, workdir, access_log=None, extra=()):
        self.name = name
        if name == "nginx":
            self.port = free_port()
            conf = Path(workdir) / "nginx.conf"
            log = f"access_log {access_log}" if access_log else "access_log off"
            conf.write_text(NGINX_CONF.format(dir=workdir, port=self.port, access_log=log))
            self.process = subprocess.Popen(
                ["taskset", "-c", str(cpu), "/usr/sbin/nginx", "-c", str(conf), "-p", str(workdir),
                 "-e", str(Path(workdir) / "error.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            wait_for_port(self.port)
        else:
            self.process = subprocess.Popen(
                ["taskset", "-c", str(cpu), str(CMBENCH), "serve", "--model", name, "--port", "0",
                 *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = self.process.stdout.readline()
            match = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
            if not match:
                raise RuntimeError(f"{name} did not start: {line!r}")
            self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self):
        self.process.send_signal(signal.SIGQUIT if self.name == "nginx" else signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def cmbench_load(url, cpu, *args):
    """Runs `cmbench load --json` pinned to `cpu`; returns the parsed JSON."""
    out = subprocess.run(["taskset", "-c", str(cpu), str(CMBENCH), "load", url, "--json", *args],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def wrk_rps(url, cpu, seconds, connections, threads=1):
    out = subprocess.run(["taskset", "-c", str(cpu), "wrk", "-t", str(threads), "-c", str(connections),
                          "-d", f"{seconds}s", url], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def median_ratio(pairs):
    """pairs: [(a, b)] -> (median a, median b, median a/b)."""
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(a / b for a, b in pairs))


def alternate(pairs, first, second):
    """Runs first() and second() `pairs` times, swapping which goes first
    each time; returns [(first result, second result)]."""
    results = []
    for i in range(pairs):
        if i % 2 == 0:
            a = first()
            b = second()
        else:
            b = second()
            a = first()
        results.append((a, b))
    return results


def have(program):
    return shutil.which(program) is not None


def process_tree(pid):
    """`pid` and its live descendants."""
    tree, pending = [], [pid]
    while pending:
        p = pending.pop()
        tree.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return tree


def strace_counts(pid, run):
    """Attaches `strace -c -f` to every process and thread of `pid`'s tree,
    calls run(), detaches; returns {syscall: calls} for what they (and the
    children they fork meanwhile) made while run() ran."""
    out = Path(f"/tmp/cmbench-strace-{pid}.txt")
    processes = process_tree(pid)
    for _ in range(20):  # a server may still be forking its workers
        time.sleep(0.1)
        settled, processes = processes, process_tree(pid)
        if sorted(settled) == sorted(processes):
            break
    tracer = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", str(out)]
                              + [arg for p in processes for arg in ("-p", str(p))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    threads = [(p, int(t)) for p in processes for t in os.listdir(f"/proc/{p}/task")]
    deadline = time.time() + 5
    while time.time() < deadline:  # attached once every thread names its tracer
        if all(_tracer_of(p, tid) == tracer.pid for p, tid in threads):
            break
        time.sleep(0.02)
    try:
        run()
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=30)
    counts = parse_strace_summary(out.read_text())
    out.unlink()
    return counts


def parse_strace_summary(text):
    """`strace -c` output -> {syscall: calls}."""
    counts = {}
    for line in text.splitlines():
        fields = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            counts[fields[-1]] = int(fields[3])
    return counts


def _tracer_of(pid, tid):
    try:
        for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
