"""pytest for scripts/skips: GoogleTest's skip messages, from a ctest log,
grouped by reason."""

import importlib.machinery
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
loader = importlib.machinery.SourceFileLoader("skips", str(ROOT / "scripts/skips"))
spec = importlib.util.spec_from_loader("skips", loader)
skips = importlib.util.module_from_spec(spec)
loader.exec_module(skips)

LOG = """\
1/3 Testing: Nginx.ServesHello
[ RUN      ] Nginx.ServesHello
/src/tests/servers/nginx_test.cpp:20: Skipped
nginx is not installed (Debian: apt-get install nginx-light)
[  SKIPPED ] Nginx.ServesHello (0 ms)
[ RUN      ] Run.NginxIsARow
/src/tests/harness/run_test.cpp:214: Skipped
nginx is not installed (Debian: apt-get install nginx-light)
[  SKIPPED ] Run.NginxIsARow (1 ms)
[ RUN      ] Hosts.Namespaces
/src/tests/harness/hosts_test.cpp:206: Skipped
network namespaces
need root
[  SKIPPED ] Hosts.Namespaces (0 ms)
[ RUN      ] Cli.Passes
[       OK ] Cli.Passes (3 ms)
"""


def test_skips_are_grouped_by_reason_with_every_name():
    found = skips.skips(LOG)
    assert found == {
        "nginx is not installed (Debian: apt-get install nginx-light)":
            ["Nginx.ServesHello", "Run.NginxIsARow"],
        "network namespaces need root": ["Hosts.Namespaces"],
    }


def test_the_report_names_the_count_and_each_reason(tmp_path, capsys):
    log = tmp_path / "LastTest.log"
    log.write_text(LOG)
    assert skips.main(["skips", str(log)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 C++ tests were skipped, by reason:")
    assert "network namespaces need root" in out and "Run.NginxIsARow" in out
    log.write_text("[ RUN      ] A.B\n[       OK ] A.B (1 ms)\n")
    assert skips.main(["skips", str(log)]) == 0
    assert capsys.readouterr().out == "No C++ test was skipped.\n"
    assert skips.main(["skips", str(tmp_path / "missing.log")]) == 1
