"""pytest for the HTML report: plots/report.py's page structure on the
committed fixtures, `cmbench report` end to end on the committed gallery
runs, and the page as a person sees it, rendered by headless Chromium."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plots"))
sys.path.insert(0, str(Path(__file__).parent))

import report  # noqa: E402
from chromium import Chromium  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
CMBENCH = Path(os.environ.get("CMBENCH_BIN", ROOT / "build/release/harness/cmbench"))
CHROMIUM = shutil.which("chromium")


class Page(HTMLParser):
    """What a reader of the page would count: sections, verdicts, images, links."""

    def __init__(self):
        super().__init__()
        self.sections, self.verdicts, self.svgs, self.external, self.scripts = [], [], 0, [], 0
        self._in_verdict = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "svg":
            self.svgs += 1
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if attrs.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(attrs[key])
        self._in_verdict = tag == "td" and attrs.get("class") == "verdict"

    def handle_data(self, data):
        if self._in_verdict:
            self.verdicts.append(data)
            self._in_verdict = False


def parse(path):
    page = Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
    return page


def fixture_runs(tmp_path):
    runs = []
    for name in ("why", "knee"):
        csv = tmp_path / f"{name}.csv"
        shutil.copy(FIXTURES / f"{name}.csv", csv)
        shutil.copy(FIXTURES / f"{name}.json", tmp_path / f"{name}.json")
        if (FIXTURES / name).exists():
            shutil.copytree(FIXTURES / name, tmp_path / name)
        runs.append({"csv": str(csv),
                     "verdicts": [{"claim": "rps a >= 1", "held": True, "verdict": "held",
                                   "measured": "rps a (connections=1): 5 req/s"},
                                  {"claim": "rps b >= 9", "held": False, "verdict": "did not hold",
                                   "measured": "rps b (connections=1): 5 req/s"}],
                     "summary": {"slo_p99_ms": 10, "rate_sweep": name == "knee",
                                 "models": [{"model": "epoll", "best_rps": 3000.0,
                                             "p99_at_best_us": 1500.0, "knee_rate": 3000}]}})
    return runs


def test_the_page_has_a_section_per_run_with_verdicts_and_inline_charts(tmp_path):
    out = tmp_path / "report.html"
    report.write_report(fixture_runs(tmp_path), out)
    page = parse(out)
    assert len(page.sections) == 2
    assert page.verdicts == ["held", "did not hold"] * 2
    assert page.svgs >= 2 * 3  # the story chart and others, per section
    assert page.external == [] and page.scripts == 0  # self-contained, no JavaScript
    text = out.read_text()
    assert "Not as expected on this machine: 1 of 2 claims did not hold" in text
    assert "1 of 2 claims held on this machine." in text


def test_error_rows_are_named_on_the_page_and_on_stderr(tmp_path, capsys):
    runs = fixture_runs(tmp_path)
    csv = Path(runs[0]["csv"])
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    failed = dict(zip(header, lines[1].split(",")))
    failed.update(model="gone", error="server 'gone' did not start")
    csv.write_text("\n".join(lines + [",".join(failed[c] for c in header)]) + "\n")
    out = tmp_path / "report.html"
    report.write_report(runs, out)
    text = out.read_text()
    # The fixture has a failed prefork point of its own.
    assert "2 point(s) not measured, left out of the charts and the claims" in text
    assert "server &#x27;gone&#x27; did not start" in text
    assert "left out gone " in capsys.readouterr().err


def test_claims_judged_on_a_changed_sweep_say_what_changed_it(tmp_path):
    runs = fixture_runs(tmp_path)
    manifest_path = Path(runs[1]["csv"]).with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    manifest["claims_judged_without"] = ["--models", "--rates"]
    manifest_path.write_text(json.dumps(manifest))
    out = tmp_path / "report.html"
    report.write_report(runs, out)
    text = out.read_text()
    assert text.count("Judged on a sweep that --models, --rates changed") == 1


def test_slides_are_a_finding_then_a_slide_per_claim_each_with_its_chart(tmp_path):
    runs = fixture_runs(tmp_path)
    runs[0]["verdicts"][1]["metric"] = "threads"
    out = tmp_path / "slides.html"
    report.write_report(runs, out, slides=True)
    page = parse(out)
    # No header before the first finding: each run's finding, then its claims.
    assert page.sections == ["why-multithreaded", "why-multithreaded-claim-1",
                             "why-multithreaded-claim-2", "knee", "knee-claim-1", "knee-claim-2"]
    assert page.svgs == 6  # one chart a slide
    assert page.external == [] and page.scripts == 1  # the keys' script, inside the page
    text = out.read_text()
    assert "<header>" not in text
    # A claim about threads over the resources chart, one without a metric over the story.
    slides = text.split("<section")[1:]
    assert "threads (peak)" in slides[2] and "Throughput" in slides[1]


def test_every_metric_has_a_chart_to_show_it():
    metrics = json.loads((ROOT / "plots/metrics.json").read_text())["metrics"]
    assert sorted(m["name"] for m in metrics) == sorted(report.METRIC_CHARTS)


# Two of the gallery's runs, one per kind of sweep (connections, rates):
# Claims.TheGalleryRunsHoldTheirScenariosClaims judges all of them.
GALLERY_CSVS = [str(ROOT / "results/sample" / f"{name}.csv") for name in ("why-multithreaded", "knee")]


def cmbench_report(folder, *flags):
    """`cmbench report FLAGS GALLERY_CSVS` into `folder`: the page's path."""
    if not CMBENCH.exists():
        pytest.fail(f"{CMBENCH} is not built (scripts/build)")
    out = folder / "report.html"
    result = subprocess.run([str(CMBENCH), "report", *flags, *GALLERY_CSVS, "-o", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def gallery_report(tmp_path_factory):
    return cmbench_report(tmp_path_factory.mktemp("report")), GALLERY_CSVS


def test_cmbench_report_judges_the_gallery_runs(gallery_report):
    out, csvs = gallery_report
    page = parse(out)
    assert len(page.sections) == len(csvs)
    assert page.verdicts and set(page.verdicts) == {"held"}, page.verdicts
    assert page.external == [] and page.scripts == 0


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/deps)")
def test_chromium_renders_every_section_and_verdict(gallery_report, tmp_path):
    out, csvs = gallery_report
    chrome = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(chrome + ["--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = parse_text(dom.stdout)
    for csv in csvs:
        question = json.loads(Path(csv).with_suffix(".json").read_text())["question"]
        assert question in rendered
    assert rendered.count("claims held on this machine") == len(csvs)
    png = tmp_path / "report.png"
    shot = subprocess.run(chrome + [f"--screenshot={png}", "--window-size=1280,2400", out.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    import matplotlib.image
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1200
    # Not blank: a page of text and charts has many shades, and dark ink.
    assert pixels[..., :3].std() > 0.05
    assert (pixels[..., :3].mean(axis=2) < 0.3).mean() > 0.005


def parse_text(markup):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


@pytest.fixture(scope="module")
def gallery_slides(tmp_path_factory):
    return cmbench_report(tmp_path_factory.mktemp("slides"), "--slides")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/deps)")
def test_each_slide_fits_1920x1080_shows_its_chart_and_keys_move_on(gallery_slides, tmp_path):
    """The deck as presented: a 1920x1080 screen, Page Down and the arrow keys,
    a screenshot of every slide."""
    import matplotlib.image

    with Chromium(CHROMIUM, tmp_path / "profile", 1920, 1080) as browser:
        browser.open(gallery_slides.as_uri())
        slides = browser.eval("[...document.querySelectorAll('section.slide')].map(s => "
                              "[s.id, s.dataset.fits, Number(s.dataset.chartHeight), "
                              "s.querySelector('h2').textContent])")
        assert len(slides) >= 2 * 2
        first = json.loads((ROOT / "results/sample/why-multithreaded.json").read_text())["expect"]
        assert slides[0][3] == first  # the first screen is a finding, not a header
        for i, (name, fits, chart_height, _) in enumerate(slides):
            assert wait_for(lambda: browser.eval("scrollY") == i * 1080), \
                f"slide {i} ({name}) is not on the screen: scrollY {browser.eval('scrollY')}"
            assert fits == "yes", f"{name} does not fit 1920x1080"
            assert chart_height >= 0.5 * 1080, f"{name}'s chart is {chart_height} px tall"
            png = tmp_path / f"slide-{i + 1}.png"
            browser.screenshot(png)
            pixels = matplotlib.image.imread(png)[..., :3]
            assert pixels.shape[:2] == (1080, 1920)
            # Not blank: dark type; and a chart: coloured lines or bars (the palette's).
            assert (pixels.mean(axis=2) < 0.3).mean() > 0.002, f"{png.name} ({name}) is blank"
            saturation = pixels.max(axis=2) - pixels.min(axis=2)
            assert (saturation > 0.3).mean() > 0.002, f"{png.name} ({name}) shows no chart"
            browser.press("PageDown" if i % 2 == 0 else "ArrowRight")
        browser.press("ArrowLeft")
        assert wait_for(lambda: browser.eval("scrollY") == (len(slides) - 2) * 1080)
        browser.press("Home")
        assert wait_for(lambda: browser.eval("scrollY") == 0)


def wait_for(condition, seconds=5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_search_run_states_the_rate_it_found(tmp_path):
    """cmbench replays the search from the rows and states what it found."""
    if not CMBENCH.exists():
        pytest.fail(f"{CMBENCH} is not built (scripts/build)")
    out = tmp_path / "search.html"
    csv = ROOT / "tests/plots/fixtures/search.csv"
    result = subprocess.run([str(CMBENCH), "report", str(csv), "-o", str(out)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "The highest rate with p99 under 100 ms" in text
    found = json.loads(csv.with_suffix(".json").read_text())["search"]["found"][0]
    assert f"{found['max_rate']:g} req/s (bracket {found['max_rate']:g}-{found['bracket'][1]:g}, " \
           f"{found['points']} points)" in text
