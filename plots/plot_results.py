#!/usr/bin/python3
"""Draw cmbench results: throughput and p99 latency against connections.

Reads a results CSV written by `cmbench run` and writes, per workload,
`throughput_vs_connections[-WORKLOAD].{png,svg}` and
`p99_vs_connections[-WORKLOAD].{png,svg}` into --out-dir, printing each path
on its own line. Rows with an error are left out; repetitions are reduced to
their median.
"""

import argparse
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pandas as pd  # noqa: E402

# One fixed colour per model across every chart, so a model is recognisable
# from slide to slide. Unknown models take the remaining colours in order.
MODEL_COLOURS = {
    "iterative": "#7f7f7f",
    "thread-per-connection": "#d62728",
    "thread-pool": "#ff7f0e",
    "prefork": "#8c564b",
    "fork-per-connection": "#e377c2",
    "select": "#bcbd22",
    "poll": "#17becf",
    "epoll": "#1f77b4",
    "epoll-workers": "#2ca02c",
    "reuseport": "#9467bd",
    "io-uring": "#000000",
    "asio": "#aec7e8",
}
SPARE_COLOURS = ["#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d"]

REQUIRED_COLUMNS = ["model", "workload", "connections", "rps", "latency_p99_us", "error"]


def model_colour(model, _spare={}):
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    if model not in _spare:
        _spare[model] = SPARE_COLOURS[len(_spare) % len(SPARE_COLOURS)]
    return _spare[model]


def load(csv_path):
    """The measured rows of a results CSV, repetitions reduced to medians."""
    frame = pd.read_csv(csv_path, keep_default_na=False, dtype={"workload": str, "error": str})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv_path}: not a cmbench results CSV (missing {', '.join(missing)})")
    frame = frame[frame["error"] == ""]
    if frame.empty:
        raise ValueError(f"{csv_path}: no measured rows (every point has an error)")
    for column in ["connections", "rps", "latency_p99_us"]:
        frame[column] = pd.to_numeric(frame[column])
    error_columns = [c for c in frame.columns if c.startswith("errors_")]
    frame["errors"] = frame[error_columns].apply(pd.to_numeric).sum(axis=1) if error_columns else 0
    return (
        frame.groupby(["workload", "model", "connections"], sort=False)
        .agg(rps=("rps", "median"), latency_p99_us=("latency_p99_us", "median"),
             errors=("errors", "sum"))
        .reset_index()
    )


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")


def draw(frame, column, ylabel, title, path_stem, style, log_y=False):
    sizes = {"paper": (7, 4.5), "talk": (12, 7)}[style]
    with plt.rc_context({"font.size": 11 if style == "paper" else 20}):
        fig, ax = plt.subplots(figsize=sizes, dpi=120)
        errors_marked = False
        for model, points in frame.groupby("model", sort=False):
            points = points.sort_values("connections")
            ax.plot(points["connections"], points[column], marker="o", label=model,
                    color=model_colour(model), linewidth=2.5 if style == "talk" else 1.8)
            failing = points[points["errors"] > 0]
            if not failing.empty:
                errors_marked = True
                ax.scatter(failing["connections"], failing[column], marker="x", s=120,
                           color="black", zorder=5)
        ax.set_xscale("log", base=2)
        ticks = sorted(frame["connections"].unique())
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(int(t)) for t in ticks])
        if log_y:
            # Latencies span orders of magnitude; a linear axis would also
            # blow sub-millisecond noise up to fill the chart.
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if errors_marked:
            handles.append(plt.Line2D([], [], marker="x", color="black", linestyle="None"))
            labels.append("errors or timeouts")
        ax.legend(handles, labels)
        fig.tight_layout()
        written = []
        for extension in ("png", "svg"):
            path = path_stem.with_suffix("." + extension)
            fig.savefig(path)
            written.append(path)
        plt.close(fig)
    return written


def plot(csv_path, out_dir, style="paper"):
    """Draws every chart for a results CSV; returns the written paths."""
    frame = load(csv_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    workloads = list(frame["workload"].unique())
    written = []
    for workload in workloads:
        part = frame[frame["workload"] == workload]
        label = workload or "hello"
        suffix = "" if len(workloads) == 1 else "-" + slug(label)
        written += draw(part, "rps", "requests per second", f"Throughput — {label}",
                        out_dir / f"throughput_vs_connections{suffix}", style)
        part = part.assign(latency_p99_ms=part["latency_p99_us"] / 1000.0)
        written += draw(part, "latency_p99_ms", "p99 latency (ms, log scale)",
                        f"p99 latency — {label}", out_dir / f"p99_vs_connections{suffix}", style,
                        log_y=True)
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
