"""Every child process starts through the one spawn function
(net::spawn_process, or harness::run_command and spawn over it): no
popen or system, which go through a shell, leave the child's output and
lifetime to chance, and escape no arguments (HACKING.md, "A child
process")."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL_CALL = re.compile(r"(?<![\w.])(?:::|std::)?(popen|system)\s*\(")


def test_no_child_starts_through_a_shell():
    found = []
    for folder in ("harness", "loadgen", "servers", "net"):
        for path in sorted((ROOT / folder).rglob("*.[ch]pp")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("//")[0]
                if SHELL_CALL.search(code):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "start children with run_command or net::spawn_process:\n" + "\n".join(found)


def test_the_pattern_sees_what_it_refuses():
    assert SHELL_CALL.search('FILE* pipe = ::popen(command.c_str(), "r");')
    assert SHELL_CALL.search('std::system("python3 -c x")')
    assert not SHELL_CALL.search("throw std::system_error(errno, category, what);")
    assert not SHELL_CALL.search("chart_python_ready()")
