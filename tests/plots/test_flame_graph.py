"""`run --profile`'s flame graph page as a person sees it: perf's flamegraph
report filled into d3-flame-graph's self-contained template, opened in
headless Chromium with no network. It draws the stacks, and asks for
nothing from anywhere; the HTML report links it."""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium import Chromium  # noqa: E402

CMBENCH = Path(os.environ.get("CMBENCH_BIN", ROOT / "build/release/harness/cmbench"))
CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/deps)")
def test_the_flame_graph_draws_its_stacks_offline(tmp_path):
    if not CMBENCH.exists():
        pytest.fail(f"{CMBENCH} is not built (scripts/build)")
    csv = tmp_path / "profiled.csv"
    run = subprocess.run([str(CMBENCH), "run", "--models", "epoll", "--connections", "4",
                          "--workload", "", "-d", "500ms", "--warmup", "100ms", "--profile",
                          "--no-plots", "--out", str(csv)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    if "warning: --profile:" in run.stderr:
        pytest.skip(run.stderr.strip())
    pages = list(tmp_path.glob("profiled/*.flame.html"))
    assert len(pages) == 1, run.stderr
    with Chromium(CHROMIUM, tmp_path / "browser", 1280, 800) as browser:
        browser.open(pages[0].as_uri())
        for _ in range(100):  # d3 draws after the page loads
            if (browser.eval("document.querySelectorAll('svg rect').length") or 0) > 20:
                break
            time.sleep(0.05)
        assert browser.eval("document.querySelectorAll('svg rect').length") > 20
        time.sleep(1.5)  # the frames grow into place (d3's transition)
        labels = browser.eval("Array.from(document.querySelectorAll('svg')).map(s => "
                              "s.textContent).join(' ')")
        assert "epoll_wait" in labels or "tcp_sendmsg" in labels, labels[:500]
        fetched = browser.eval("performance.getEntriesByType('resource').map(e => e.name)")
        assert [url for url in fetched if not url.startswith("file:")] == []
        shot = tmp_path / "flame.png"
        browser.screenshot(shot)
    import matplotlib.image
    pixels = matplotlib.image.imread(shot)
    # Not blank: pale frames (blue for the kernel's, green for the program's)
    # cover much of the page, and some are strongly coloured.
    assert (pixels[..., :3].mean(axis=2) < 0.95).mean() > 0.15
    assert (pixels[..., :3].std(axis=2) > 0.1).mean() > 0.01

    # The HTML report links each point's flame graph, relative to the page.
    page = tmp_path / "report" / "index.html"
    page.parent.mkdir()
    report = subprocess.run([str(CMBENCH), "report", str(csv), "-o", str(page)],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    links = re.findall(r"href='([^']+\.flame\.html)'", page.read_text())
    assert len(links) == 1 and (page.parent / links[0]).resolve() == pages[0].resolve()
