"""Write one self-contained HTML report of cmbench runs (`cmbench report`).

cmbench judges each run's claims and hands this script a JSON list of runs:
{csv, verdicts: [{claim, held, verdict, measured}], searches: [{model,
workload, connections, max_rate, found}], search_slo_p99_ms, summary:
{slo_p99_ms, rate_sweep, models: [{model, best_rps, p99_at_best_us,
knee_rate}]}}. Per run the page shows the question, the finding as a
headline, the verdicts with their figures, the story chart and the others
(inline SVG from plot_results), the summary table, the rates its searches
found, and the machine, command and build from
the manifest. No network, no JavaScript.

--slides: a deck instead, every slide one 16:9 screen with its chart drawn
as a slide (plot_results' talk style): per run, its finding over its story
chart with how many claims held, then one slide per claim, the claim over
the chart of its metric with its verdict and figures in large type. Keys
move between slides (a script inside the page; nothing from outside it).
"""

import argparse
import html
import json
import os
import re
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matplotlib  # noqa: E402
import pandas as pd  # noqa: E402

import plot_results  # noqa: E402
from cmbplots import data  # noqa: E402
from cmbplots.charts import cpu_kinds  # noqa: E402

STYLE = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1em 2em; color: #1d1d1f; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.35em; margin-bottom: 0.2em; }
.headline { font-size: 1.15em; font-weight: bold; margin: 0.3em 0 0.8em; }
.headline.failed { color: #a3141b; }
section.scenario { border-top: 2px solid #ccc; margin-top: 2em; padding-top: 0.5em; }
table { border-collapse: collapse; margin: 0.6em 0; }
td, th { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-weight: bold; white-space: nowrap; }
tr.held .verdict { color: #1a7f37; } tr.did-not-hold .verdict { color: #a3141b; }
tr.not-measured .verdict { color: #8a6d00; }
.measured { color: #555; font-size: 0.9em; }
table.failed caption { text-align: left; font-weight: bold; color: #a3141b; }
figure { margin: 1em 0; } figure svg { width: 100%; height: auto; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
dl.machine { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; font-size: 0.9em; }
dl.machine dt { font-weight: bold; } code { font-size: 0.95em; }
"""

# A deck: every slide one screen (16:9 at 1920x1080), type sized by the
# screen's height, Page Down snapping from slide to slide.
SLIDES = """
html { scroll-snap-type: y mandatory; }
body.slides { margin: 0; padding: 0; max-width: none; }
section.slide { height: 100vh; width: 100vw; box-sizing: border-box; padding: 2.5vh 3vw;
                display: flex; flex-direction: column; overflow: hidden; scroll-snap-align: start;
                break-after: page; page-break-after: always; }
section.slide h2 { font-size: 4.4vh; line-height: 1.2; margin: 0 0 1vh; }
section.slide h2.failed { color: #a3141b; }
section.slide figure { flex: 1 1 auto; min-height: 0; margin: 0; }
section.slide figure svg { width: 100%; height: 100%; }
section.slide .verdict-line { font-size: 3.6vh; font-weight: bold; margin: 1vh 0 0; }
section.slide .verdict-line.held { color: #1a7f37; } section.slide .verdict-line.did-not-hold { color: #a3141b; }
section.slide .verdict-line.not-measured { color: #8a6d00; }
section.slide .measured, section.slide .about { font-size: 2.8vh; color: #333; margin: 0.5vh 0 0; }
"""

# Arrow keys, Page Up/Down, space, Home and End move between slides; each
# slide records whether it fits the window and how tall its chart is drawn
# (data-fits, data-chart-height), so that a presenter's browser, or a test,
# can tell.
SLIDES_SCRIPT = """
const slides = [...document.querySelectorAll("section.slide")];
const steps = {ArrowRight: 1, ArrowDown: 1, PageDown: 1, " ": 1, ArrowLeft: -1, ArrowUp: -1,
               PageUp: -1, Home: -Infinity, End: Infinity};
function current() {
  let shown = 0;
  slides.forEach((slide, i) => { if (slide.getBoundingClientRect().top <= 1) shown = i; });
  return shown;
}
document.addEventListener("keydown", (event) => {
  const step = steps[event.key];
  if (step === undefined || event.altKey || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  const next = Math.max(0, Math.min(slides.length - 1, current() + step));
  slides[next].scrollIntoView();
});
function measure() {
  for (const slide of slides) {
    const fits = slide.scrollHeight <= slide.clientHeight + 1 && slide.scrollWidth <= slide.clientWidth + 1;
    slide.dataset.fits = fits ? "yes" : "no";
    const chart = slide.querySelector("figure svg");
    slide.dataset.chartHeight = chart ? Math.round(chart.getBoundingClientRect().height) : 0;
  }
}
addEventListener("load", measure);
addEventListener("resize", measure);
"""

# Which chart shows a claim's figure, by the metric it is about (cmbench's
# metrics table, plots/metrics.json): the first of these the run drew, else
# its story.
METRIC_CHARTS = {
    "rps": ["throughput_vs", "p99_vs_rate"], "duration": ["throughput_vs"],
    "p50": ["latency_vs", "p99_vs_rate"], "p90": ["latency_vs", "p99_vs_rate"],
    "p99": ["latency_vs", "p99_vs_rate"], "p999": ["latency_percentiles", "latency_vs"],
    "errors": ["latency_vs", "p99_vs_rate"], "knee": ["p99_vs_rate"],
    "cpu": ["resources"], "rss": ["resources"], "threads": ["resources"], "syscalls": ["resources"],
    "inbound": ["where_the_time_goes"], "queued": ["where_the_time_goes"],
    "service": ["where_the_time_goes"], "outbound": ["where_the_time_goes"],
    "unaccounted": ["where_the_time_goes"], "unanswered": ["where_the_time_goes"],
    "unanswered_wait": ["where_the_time_goes"], "imbalance": ["accepts_per_thread"],
    **{f"cpu_{kind}": ["where_the_cpu_goes"] for kind in cpu_kinds.CPU_KINDS},
}


def svg_text(path):
    """An SVG file's <svg> element, ready to inline."""
    text = Path(path).read_text(encoding="utf-8")
    return text[text.index("<svg"):]


def headline(manifest, verdicts):
    """The finding: the expected shape when every claim held, else what did not."""
    failed = [v for v in verdicts if v["held"] is False]
    measured = [v for v in verdicts if v["held"] is not None]
    if verdicts and not failed and measured:
        return manifest.get("expect") or "Every claim held", False
    if failed:
        return (f"Not as expected on this machine: {len(failed)} of {len(verdicts)} "
                "claims did not hold"), True
    return manifest.get("question") or "", False


def verdict_rows(verdicts):
    rows = []
    for v in verdicts:
        css = v["verdict"].replace(" ", "-")
        rows.append(f'<tr class="{css}"><td class="verdict">{html.escape(v["verdict"])}</td>'
                    f'<td><code>{html.escape(v["claim"])}</code>'
                    f'<div class="measured">{html.escape(v["measured"])}</div></td></tr>')
    return "".join(rows)


def summary_table(summary):
    rows = []
    for m in summary.get("models", []):
        knee = m.get("knee_rate")
        knee_text = "-" if not summary.get("rate_sweep") else (f"{knee:g} req/s" if knee else "none")
        rows.append(f"<tr><td>{html.escape(m['model'])}</td><td class='number'>{m['best_rps']:.1f}</td>"
                    f"<td class='number'>{m['p99_at_best_us'] / 1000:.2f} ms</td>"
                    f"<td class='number'>{knee_text}</td></tr>")
    if not rows:
        return ""
    return ("<table class='summary'><tr><th>model</th><th>best req/s</th><th>p99 there</th>"
            f"<th>knee (p99 ≤ {summary.get('slo_p99_ms', 10):g} ms)</th></tr>" + "".join(rows) + "</table>")


def search_table(run):
    """The rates `run --search rate` found, as cmbench states them."""
    rows = [f"<tr><td>{html.escape(s['model'])}</td><td>{html.escape(s['workload'] or 'hello')}</td>"
            f"<td class='number'>{s['connections']}</td><td>{html.escape(s['found'])}</td></tr>"
            for s in run.get("searches", [])]
    if not rows:
        return ""
    return ("<table class='summary'><caption>The highest rate with p99 under "
            f"{run.get('search_slo_p99_ms', 10):g} ms</caption><tr><th>model</th><th>workload</th>"
            "<th>connections</th><th>found</th></tr>" + "".join(rows) + "</table>")


def failed_points(csv):
    """The CSV's error rows, as (point, reason): points the charts leave out."""
    frame = pd.read_csv(csv, keep_default_na=False, dtype=str)
    if "error" not in frame.columns:
        return []
    return [(f"{row['model']} {row['workload'] or 'hello'} c={row['connections']}"
             + (f" R={row['rate']}" if row.get("rate", "0") not in ("", "0") else "")
             + f" rep {row.get('repetition', '1')}", row["error"])
            for _, row in frame[frame["error"] != ""].iterrows()]


def failed_table(failed):
    if not failed:
        return ""
    rows = "".join(f"<tr><td>{html.escape(point)}</td><td>{html.escape(reason)}</td></tr>"
                   for point, reason in failed)
    return (f"<table class='failed'><caption>{len(failed)} point(s) not measured, left out of the "
            "charts and the claims</caption><tr><th>point</th><th>why</th></tr>" + rows + "</table>")


def flame_graph_links(csv, page_dir):
    """A link to each profiled point's flame graph (run --profile), relative
    to the page; nothing for a run without them."""
    frame = pd.read_csv(csv, keep_default_na=False, dtype=str)
    rows = []
    for _, row in frame.iterrows():
        page = Path(csv).parent / f"{row.get('artifacts', '')}.flame.html"
        if not row.get("artifacts") or row.get("error") or not page.exists():
            continue
        point = (f"{row['model']} {row['workload'] or 'hello'} c={row['connections']}"
                 + (f" R={row['rate']}" if row.get("rate", "0") not in ("", "0") else "")
                 + f" rep {row.get('repetition', '1')}")
        link = os.path.relpath(page, page_dir)
        rows.append(f"<tr><td><a href='{html.escape(link)}'>{html.escape(point)}</a></td></tr>")
    if not rows:
        return ""
    return ("<table class='summary'><caption>Where the CPU goes, point by point: each one's "
            "flame graph (perf)</caption>" + "".join(rows) + "</table>")


def machine_list(manifest, csv):
    kernel = manifest.get("kernel", "")
    build = manifest.get("cmbench_version")
    build = f"cmbench {build} (commit {manifest.get('git_commit', '?')})" if build else \
        f"commit {manifest.get('git_commit', '?')}"
    items = [("machine", f"{manifest.get('cores', '?')} cores, {manifest.get('cpu_model', '?')}, {kernel}"),
             ("CPUs", f"server {manifest.get('server_cpus', [])}, load {manifest.get('load_cpus', [])}"),
             ("command", manifest.get("command", "")), ("build", build),
             ("run", f"{manifest.get('started', '?')} to {manifest.get('finished', '?')}"),
             ("results", os.path.relpath(csv))]
    return "<dl class='machine'>" + "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in items) + "</dl>"


def run_facts(run):
    """(csv, manifest, name, verdicts, finding, whether it failed) of a run."""
    csv = Path(run["csv"])
    manifest = data.manifest(csv)
    name = manifest.get("scenario") or csv.stem
    title, failed = headline(manifest, run["verdicts"])
    return csv, manifest, name, run["verdicts"], title, failed


def draw_charts(csv, name, title, charts_dir, style):
    """The run's charts as SVG files, {stem: path}: for the page, titled; as
    slides (style talk), untitled, the slide's title saying what each shows."""
    matplotlib.rcParams["svg.hashsalt"] = name  # element ids unique per section
    paths = plot_results.plot(csv, charts_dir / data.slug(name), style, finding=title,
                              titled=style != "talk")
    return {p.stem: p for p in paths if p.suffix == ".svg"}


def error_rows(csv, name):
    """The run's error rows, each said on stderr too."""
    failed_rows = failed_points(csv)
    for point, reason in failed_rows:
        print(f"report: {name}: left out {point} (an error row: {reason})", file=sys.stderr)
    return failed_rows


def section(run, charts_dir, page_dir):
    csv, manifest, name, verdicts, title, failed = run_facts(run)
    svgs = draw_charts(csv, name, title, charts_dir, "paper")
    story = [p for stem, p in svgs.items() if stem.startswith("story")]
    others = [p for stem, p in svgs.items() if not stem.startswith("story")]
    held = sum(1 for v in verdicts if v["held"] is True)
    parts = [f'<section class="scenario" id="{html.escape(data.slug(name))}">',
             f'<h2 class="question">{html.escape(manifest.get("question") or name)}</h2>',
             f'<p class="headline{" failed" if failed else ""}">{html.escape(title)}</p>']
    if verdicts:
        parts.append(f'<p class="count">{held} of {len(verdicts)} claims held on this machine.</p>')
        if manifest.get("claims_judged_without"):
            flags = ", ".join(manifest["claims_judged_without"])
            parts.append(f'<p class="count">Judged on a sweep that {html.escape(flags)} changed: '
                         "the claims were written for the scenario's own.</p>")
        parts.append(f'<table class="verdicts">{verdict_rows(verdicts)}</table>')
    parts.append(failed_table(error_rows(csv, name)))
    for path in story:
        parts.append(f'<figure class="story">{svg_text(path)}</figure>')
    parts.append('<div class="charts">' + "".join(
        f'<figure class="chart">{svg_text(p)}</figure>' for p in others) + "</div>")
    parts.append(summary_table(run.get("summary", {})))
    parts.append(search_table(run))
    parts.append(flame_graph_links(csv, page_dir))
    parts.append(machine_list(manifest, csv))
    parts.append("</section>")
    return "\n".join(parts)


def slide(slide_id, title, chart, lines, failed=False):
    """One slide: its title, a chart filling what is left, and lines of
    (css class, text) under it."""
    return "\n".join(
        [f'<section class="slide" id="{html.escape(slide_id)}">',
         f'<h2{" class=failed" if failed else ""}>{html.escape(title)}</h2>',
         f'<figure>{svg_text(chart)}</figure>' if chart else ""]
        + [f'<p class="{css}">{html.escape(text)}</p>' for css, text in lines if text]
        + ["</section>"])


def chart_for(metric, svgs):
    """The chart that shows a claim's metric, else the story."""
    for prefix in METRIC_CHARTS.get(metric, []):
        for stem, path in svgs.items():
            if stem.startswith(prefix):
                return path
    return next((p for stem, p in svgs.items() if stem.startswith("story")), None)


def slides_of(run, charts_dir):
    """A run as slides: its finding over its story chart, with how many
    claims held and where it was measured; then one slide per claim, the
    claim over the chart of its metric, its verdict and figures below."""
    csv, manifest, name, verdicts, title, failed = run_facts(run)
    svgs = draw_charts(csv, name, title, charts_dir, "talk")
    slug = data.slug(name)
    held = sum(1 for v in verdicts if v["held"] is True)
    count = f"{held} of {len(verdicts)} claims held on this machine" if verdicts else ""
    missing = len(error_rows(csv, name))
    about = (f"{manifest.get('question') or name} — {data.machine_label(csv) or 'machine unknown'}"
             + (f"; {missing} point(s) not measured" if missing else ""))
    deck = [slide(slug, title, chart_for("", svgs),
                  [("verdict-line " + ("did-not-hold" if failed else "held"), count), ("about", about)],
                  failed)]
    for i, v in enumerate(verdicts, 1):
        deck.append(slide(f"{slug}-claim-{i}", v["claim"], chart_for(v.get("metric", ""), svgs),
                          [("verdict-line " + v["verdict"].replace(" ", "-"), v["verdict"]),
                           ("measured", v["measured"])]))
    return deck


def write_report(runs, out, slides=False):
    """The page of `runs`, or (slides) their deck, to `out`."""
    with tempfile.TemporaryDirectory() as charts:
        if slides:
            body = "\n".join(part for run in runs for part in slides_of(run, Path(charts)))
        else:
            body = page_body(runs, [section(run, Path(charts), Path(out).resolve().parent)
                                    for run in runs])
    style = STYLE + (SLIDES if slides else "")
    script = f"<script>{SLIDES_SCRIPT}</script>" if slides else ""
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>cmbench report</title><style>{style}</style></head>"
            f"<body{' class=slides' if slides else ''}>\n{body}\n{script}</body></html>\n")
    Path(out).write_text(page, encoding="utf-8")


def page_body(runs, sections):
    """The page's header, with a link to each run's section, then the sections."""
    names = [data.manifest(Path(r["csv"])).get("scenario") or Path(r["csv"]).stem for r in runs]
    nav = " · ".join(f'<a href="#{html.escape(data.slug(n))}">{html.escape(n)}</a>' for n in names)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<header><h1>cmbench: how a TCP server's concurrency model decides its throughput, "
            f"latency and resource use</h1><p>{len(runs)} scenario(s), written {when}. {nav}</p></header>\n"
            + "\n".join(sections))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="the runs and verdicts, from cmbench report")
    parser.add_argument("-o", "--out", default="report.html")
    parser.add_argument("--slides", action="store_true")
    args = parser.parse_args(argv)
    try:
        runs = json.loads(Path(args.input).read_text())
        write_report(runs, args.out, args.slides)
    except (OSError, ValueError, KeyError) as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
