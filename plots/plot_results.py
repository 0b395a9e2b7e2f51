#!/usr/bin/python3
"""Draw cmbench results as charts, PNG and SVG, one fixed colour per model.

Reads a results CSV written by `cmbench run` (and, when present, the
manifest beside it and each point's .hist and .timeline.csv files) and
writes, per workload:
  throughput_vs_connections   requests/s against concurrent connections
  latency_vs_connections      p50 (dashed) and p99 (solid), log scale
                              (..._vs_idle_connections when the sweep varies those)
  latency_percentiles         latency against percentile on a "nines" axis
  timeline                    requests/s per second of each model's busiest point
  resources                   CPU per request, peak RSS and threads per model
  p99_vs_rate                 (rate sweeps) p99 against offered rate, knee marked
  p99_vs_offered_rate         (run --ramp) p99 against the rate offered, second by
                              second through each model's ramp
  search                      (run --search rate) each search's path: the rates it
                              measured in order, the SLO and the rate it found
  where_the_time_goes         inside each own model: inbound, queued, service, outbound
  where_the_cpu_goes          (run --profile) CPU per request by kind, per model
  story                       the four that tell the scenario's story, on one figure
Prints each written path on its own line. Rows with an error are left out;
repetitions are reduced to their median.
"""

import argparse
import sys
from pathlib import Path

import cmbplots.charts  # noqa: F401  every chart module registers itself
from cmbplots.charts.throughput import cpu_bound
from cmbplots.data import (RATE_NOT_REACHED, finding_of, knees, machine_label, manifest,
                           medians, read_rows, slug)
from cmbplots.registry import CHARTS, Workload
from cmbplots.style import Figure, use_looks_of


def workload_of(csv_path, rows, frame, workload, style, subtitle, finding, titled):
    """A workload's rows and what the run says of them, for the charts."""
    part = frame[frame["workload"] == workload]
    rate_sweep = part["rate"].nunique() > 1
    # One offered rate that every point held (none warned that it fell
    # short): the throughput is that rate, and its chart says nothing.
    rate_held = (not rate_sweep and bool((part["rate"] > 0).all()) and "warnings" in part
                 and not part["warnings"].str.contains(RATE_NOT_REACHED).any())
    slo_ms, knee_rates = knees(csv_path, workload)
    return Workload(csv_path=csv_path, style=style, workload=workload, part=part,
                    rows=rows[rows["workload"] == workload],
                    x="idle_connections" if part["idle_connections"].nunique() > 1 else "connections",
                    ideal=cpu_bound(part, manifest(csv_path).get("server_cpus")),
                    slo_ms=slo_ms, knee_rates=knee_rates, rate_sweep=rate_sweep,
                    rate_held=rate_held, subtitle=subtitle, finding=finding, titled=titled)


def draw(chart, w, stem, title):
    """One registered chart; a draw that returns False (no data) saves nothing."""
    if chart.render:
        return chart.render(w, stem)
    fig = Figure(w.style, *chart.shape)
    if chart.draw(fig.axes, w) is False:
        fig.discard()
        return []
    return fig.save(stem, title)


def plot(csv_path, out_dir, style="paper", finding=None, titled=True):
    """Draws every chart for a results CSV; returns the written paths. The
    story chart is titled with `finding` (default: finding_of), the workload
    and machine in a subtitle; with `titled` False no chart has a title over
    it (a slide's own title says what it shows)."""
    finding = finding or finding_of(csv_path)
    rows = read_rows(csv_path)
    frame = medians(rows)
    use_looks_of(csv_path, list(frame["model"].unique()))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_label(csv_path)
    workloads = list(frame["workload"].unique())
    written = []
    for workload in workloads:
        label = workload or "hello"
        w = workload_of(csv_path, rows, frame, workload, style,
                        label + (f" — {machine}" if machine else ""), finding, titled)
        title_tail = f" — {label}" + (f"\n{machine}" if machine else "")
        suffix = "" if len(workloads) == 1 else "-" + slug(label)
        for chart in CHARTS:
            if chart.applies(w):
                stem = out_dir / f"{chart.name.format(x=w.x)}{suffix}"
                written += draw(chart, w, stem, chart.title + title_tail if titled else None)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="a results CSV from `cmbench run`")
    parser.add_argument("--out-dir", default="plots/out", help="where charts go (default plots/out)")
    parser.add_argument("--style", choices=["paper", "talk"], default="paper",
                        help="talk: large type for slides")
    args = parser.parse_args(argv)
    try:
        paths = plot(args.csv, args.out_dir, args.style)
    except (OSError, ValueError) as error:
        print(f"plot_results: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
