"""The runtimes' servers (servers/runtimes/) as their languages' own tools
read them: Go formatted and vetted offline, Node and Python parsed. Each
server file opens by naming its C++ twin (docs/runtimes.md)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

RUNTIMES = Path(__file__).resolve().parents[2] / "servers" / "runtimes"
SERVERS = ["go/go-seed/main.go", "go/go-seed-goroutines/main.go", "go/go-net/main.go",
           "node/server.js", "python/python_threads.py", "python/python_asyncio.py"]


def go_env(tmp_path):
    return dict(os.environ, GOPROXY="off", GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
                GOCACHE=str(tmp_path / "cache"), GOPATH=str(tmp_path / "path"), GOENV="off")


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go (scripts/deps installs golang-go)")
def test_go_is_formatted_and_vetted_offline(tmp_path):
    unformatted = subprocess.run(["gofmt", "-l", "."], cwd=RUNTIMES / "go", capture_output=True,
                                 text=True, check=True).stdout
    assert unformatted == "", f"gofmt would change: {unformatted}"
    vet = subprocess.run(["go", "vet", "./..."], cwd=RUNTIMES / "go", env=go_env(tmp_path),
                         capture_output=True, text=True)
    assert vet.returncode == 0, vet.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js (scripts/deps installs it)")
def test_node_server_parses():
    subprocess.run(["node", "--check", str(RUNTIMES / "node/server.js")], check=True)


def test_python_servers_compile():
    for path in (RUNTIMES / "python").glob("*.py"):
        compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize("server", SERVERS)
def test_each_server_names_its_twin(server):
    opening = (RUNTIMES / server).read_text()[:1200]
    assert "twin" in opening, f"{server} does not open with its C++ twin"
