"""Write one self-contained HTML report of cmbench runs (`cmbench report`).

cmbench judges each run's claims and hands this script a JSON list of runs:
{csv, verdicts: [{claim, held, verdict, measured}], searches: [{model,
workload, connections, max_rate, found}], search_slo_p99_ms, summary:
{slo_p99_ms, rate_sweep, models: [{model, best_rps, p99_at_best_us,
knee_rate}]}}. Per run the page shows the question, the finding as a
headline, the verdicts with their figures, the story chart and the others
(inline SVG from plot_results), the summary table, the rates its searches
found, and the machine, command and build from
the manifest. No network, no JavaScript. --slides: one scenario per screen
in large type, the story chart only.
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

matplotlib.use("Agg")

import plot_results  # noqa: E402

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

SLIDES = """
body { max-width: none; padding: 0 3vw; font-size: 22px; }
section.scenario { min-height: 100vh; box-sizing: border-box; border: none; break-after: page;
                   page-break-after: always; padding-top: 3vh; }
h2 { font-size: 1.3em; } .headline { font-size: 1.9em; }
figure.story svg { max-height: 62vh; }
"""


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
    frame = plot_results.pd.read_csv(csv, keep_default_na=False, dtype=str)
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


def section(run, charts_dir, slides):
    csv = Path(run["csv"])
    manifest = plot_results.manifest(csv)
    name = manifest.get("scenario") or csv.stem
    verdicts = run["verdicts"]
    title, failed = headline(manifest, verdicts)
    out = charts_dir / plot_results.slug(name)
    matplotlib.rcParams["svg.hashsalt"] = name  # element ids unique per section
    paths = plot_results.plot(csv, out, "talk" if slides else "paper", finding=title)
    svgs = [p for p in paths if p.suffix == ".svg"]
    story = [p for p in svgs if p.stem.startswith("story")]
    others = [p for p in svgs if not p.stem.startswith("story")]
    held = sum(1 for v in verdicts if v["held"] is True)
    failed_rows = failed_points(csv)
    for point, reason in failed_rows:
        print(f"report: {name}: left out {point} (an error row: {reason})", file=sys.stderr)
    parts = [f'<section class="scenario" id="{html.escape(plot_results.slug(name))}">',
             f'<h2 class="question">{html.escape(manifest.get("question") or name)}</h2>',
             f'<p class="headline{" failed" if failed else ""}">{html.escape(title)}</p>']
    if verdicts:
        parts.append(f'<p class="count">{held} of {len(verdicts)} claims held on this machine.</p>')
        if manifest.get("claims_judged_without"):
            flags = ", ".join(manifest["claims_judged_without"])
            parts.append(f'<p class="count">Judged on a sweep that {html.escape(flags)} changed: '
                         "the claims were written for the scenario's own.</p>")
        parts.append(f'<table class="verdicts">{verdict_rows(verdicts)}</table>')
    parts.append(failed_table(failed_rows))
    for path in story:
        parts.append(f'<figure class="story">{svg_text(path)}</figure>')
    if not slides:
        parts.append('<div class="charts">' + "".join(
            f'<figure class="chart">{svg_text(p)}</figure>' for p in others) + "</div>")
        parts.append(summary_table(run.get("summary", {})))
        parts.append(search_table(run))
        parts.append(machine_list(manifest, csv))
    parts.append("</section>")
    return "\n".join(parts)


def write_report(runs, out, slides=False):
    with tempfile.TemporaryDirectory() as charts:
        sections = [section(run, Path(charts), slides) for run in runs]
    names = [plot_results.manifest(Path(r["csv"])).get("scenario") or Path(r["csv"]).stem for r in runs]
    nav = " · ".join(f'<a href="#{html.escape(plot_results.slug(n))}">{html.escape(n)}</a>' for n in names)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>cmbench report</title><style>{STYLE}{SLIDES if slides else ''}</style></head><body>"
            f"<header><h1>cmbench: how a TCP server's concurrency model decides its throughput, "
            f"latency and resource use</h1><p>{len(runs)} scenario(s), written {when}. {nav}</p></header>\n"
            + "\n".join(sections) + "\n</body></html>\n")
    Path(out).write_text(page, encoding="utf-8")


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
