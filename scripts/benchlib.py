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

# A witness, not a row: an nginx that logs every request it answers, so that
# the load generator's count can be checked against a server's own
# (bench-loadgen). The nginx row of every comparison is cmbench's own
# (servers/models/nginx.cpp), started by `cmbench serve --model nginx` as a sweep
# starts it.
WITNESS_CONF = """\
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log {access_log};
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "Hello, World!"; }}
  }}
}}
"""


def require(*paths):
    for need in paths:
        if not need or not os.path.exists(need):
            sys.exit(f"missing {need}: run scripts/deps and scripts/build "
                     "(and apt-get install nginx-light wrk linux-perf for the nginx comparisons and bench-cost)")


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


def end(process, how, timeout):
    """Asks a server to end (`how`, a signal), and kills it after `timeout` s."""
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Server:
    """A model (nginx among them) as `cmbench serve` runs it in a sweep,
    pinned to `cpu` on 127.0.0.1, a free port. nginx gets one worker, as
    its one CPU gives it. snapshot() asks the server for its process tree's
    CPU and context switches, as a harness on another host does."""

    def __init__(self, name, cpu, workdir=None, extra=()):
        self.name = name
        threads = ["--threads", "1"] if name == "nginx" else []
        self.process = subprocess.Popen(
            ["taskset", "-c", str(cpu), str(CMBENCH), "serve", "--model", name, "--port", "0",
             "--control-stdin", *threads, *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        match = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            raise RuntimeError(f"{name} did not start: {line!r}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}/"

    def snapshot(self):
        """The server's process tree now, as `serve` reads it: {"user_s",
        "system_s", "voluntary_switches", "involuntary_switches", ...}."""
        self.process.stdin.write("snapshot\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("{") and '"event":"snapshot"' in line:
                return json.loads(line)["tree"]
        raise RuntimeError(f"{self.name} ended before its snapshot")

    def stop(self):
        end(self.process, signal.SIGTERM, 10)

    def exit_report(self):
        """A stopped server's exit report (the JSON line `serve` prints
        last: its counters and its rusage, exited threads and reaped
        children included)."""
        for line in self.process.stdout.read().splitlines():
            if line.startswith("{") and '"event":"exit"' in line:
                return json.loads(line)
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class LoggingNginx:
    """Debian's nginx logging each request to `access_log` (WITNESS_CONF)."""

    def __init__(self, cpu, workdir, access_log):
        self.port = free_port()
        conf = Path(workdir) / "nginx.conf"
        conf.write_text(WITNESS_CONF.format(dir=workdir, port=self.port, access_log=access_log))
        self.process = subprocess.Popen(
            ["taskset", "-c", str(cpu), "/usr/sbin/nginx", "-c", str(conf), "-p", str(workdir),
             "-e", str(Path(workdir) / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}/"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        end(self.process, signal.SIGQUIT, 5)


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


# What moves bytes or waits for them; the rest (futex, mmap, ...) is "other".
IO_SYSCALLS = (
    "read", "readv", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "epoll_ctl", "poll", "ppoll", "select", "pselect6", "accept",
    "accept4", "io_uring_enter", "close", "shutdown",
)


def syscall_counts(run, pids=None, command=None):
    """Counts syscalls with `perf stat` on the kernel's syscall tracepoints
    (strace would slow the traced process and change how its calls batch):
    either the processes `pids` (and what they fork meanwhile) while run()
    runs, or `command`, which it runs. Returns ({I/O syscall: calls},
    every syscall, run()'s or the command's stdout)."""
    events = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{name}" for name in IO_SYSCALLS]
    perf = ["perf", "stat", "-x", ",", "-e", ",".join(events)]
    if command is not None:
        done = subprocess.run(perf + ["--"] + command, capture_output=True, text=True, check=True)
        stderr, result = done.stderr, done.stdout
    else:
        counter = subprocess.Popen(perf + ["-p", ",".join(str(p) for p in pids)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)  # perf attaches
        try:
            result = run()
        finally:
            counter.send_signal(signal.SIGINT)
            stderr = counter.communicate(timeout=30)[1]
    counts, total = {}, 0
    for line in stderr.splitlines():
        fields = line.split(",")
        if len(fields) < 3 or not fields[0].strip().isdigit():
            continue
        if fields[2] == "raw_syscalls:sys_enter":
            total = int(fields[0])
        elif int(fields[0]) > 0:
            counts[fields[2].removeprefix("syscalls:sys_enter_")] = int(fields[0])
    return counts, total, result


def interruptions(histogram, seconds, late_us):
    """From a busy loop's histogram ({loop time in µs: loops}, as `oslat`
    writes it) over `seconds`: how many loops took longer than `late_us`
    per second, and the share of instants that fall more than `late_us`
    into such a loop (one of g µs holds g − late_us µs of them)."""
    long_loops = {us: n for us, n in histogram.items() if us > late_us}
    per_second = sum(long_loops.values()) / seconds
    late_share = sum(n * (us - late_us) for us, n in long_loops.items()) / (seconds * 1e6)
    return per_second, late_share


def settled_tree(pid):
    """`pid`'s process tree once it stops growing (a server may still be
    forking its workers)."""
    processes = process_tree(pid)
    for _ in range(20):
        time.sleep(0.1)
        settled, processes = processes, process_tree(pid)
        if sorted(settled) == sorted(processes):
            break
    return processes
