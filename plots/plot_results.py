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
import json
import re
import textwrap
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pandas as pd  # noqa: E402

# One fixed look per model across every chart, so a model is recognisable
# from slide to slide: a colour of Okabe and Ito's palette or grey (distinct
# for colour-blind viewers) and, for a colour used again, another marker on
# its lines, a hatch on its bars and a dash on its curves. The looks are cmbench's
# (servers/registry.cpp), given by the manifest, so a new model has its own
# without an edit here; a model the manifest does not name (an external, an
# older run) gets the first look no other model of the run has.
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#e69f00", "#cc79a7", "#56b4e9", "#000000",
           "#999999", "#f0e442"]
MARKERS = {"circle": ("o", "", "-"), "square": ("s", "//", "--"), "triangle": ("^", "..", ":")}
_looks = {}

# cmbench's metrics table (harness/results/metrics.cpp), as `cmbench metrics
# --json` writes it: which column holds a figure and its unit; with the
# server's stages in order and the CSV's text columns, which the chart script
# keeps no list of its own of.
TABLE = json.loads((Path(__file__).resolve().parent / "metrics.json").read_text())
METRICS = {m["name"]: m for m in TABLE["metrics"]}
TEXT_COLUMNS = TABLE["text_columns"]


def column(metric):
    """The CSV column of one of cmbench's metrics ("p99" -> "latency_p99_us")."""
    return METRICS[metric]["columns"][0]


RPS, P50, P99 = column("rps"), column("p50"), column("p99")
REQUIRED_COLUMNS = ["model", "workload", "connections", RPS, P50, P99, "error"]
# paper: a chart for a page, a grid of them wider. talk: every chart one
# 1920x1080 slide (16 x 9 inches at 120 dpi) whose smallest type is 20 pt,
# with thicker lines and larger markers.
STYLES = {
    "paper": {"size": (7, 4.5), "font": 11, "least_type": 0, "line": 1.8, "marker": 6},
    "talk": {"size": (16, 9), "font": 20, "least_type": 20, "line": 4, "marker": 11},
}
_least_type = [0]  # the drawing figure's least type size (STYLES)
# How cmbench's `warnings` column says a point fell short of its offered
# rate (loadgen/report.cpp: warnings); the rule is the load generator's.
RATE_NOT_REACHED = "the target rate was not reached"


def type_size(size):
    """A relative type size ("small", "x-small") in points, never under the
    style's least."""
    points = matplotlib.font_manager.font_scalings[size] * plt.rcParams["font.size"]
    return max(points, _least_type[0])


def look(model):
    """(colour, marker name) of a model: its own, or its spec's model's."""
    for name in (model, model_name(model)):
        if name in _looks:
            return _looks[name]
    return PALETTE[0], "circle"


def model_colour(model):
    return look(model)[0]


def line_look(model):
    """A model's line: its colour and its marker."""
    colour, marker = look(model)
    return {"color": colour, "marker": MARKERS[marker][0]}


def curve_look(model):
    """A model's curve too dense for markers: its colour, and its marker
    told as a dash."""
    colour, marker = look(model)
    return {"color": colour, "linestyle": MARKERS[marker][2]}


def bar_look(models):
    """The bars of these models: their colours and hatches."""
    return {"color": [look(m)[0] for m in models], "hatch": [MARKERS[look(m)[1]][1] for m in models]}


def model_name(spec):
    """The model a sweep's NAME[+SETUP][:THREADS][@BUILD] runs, with its ring
    setup ("thread-pool:32" -> "thread-pool", "epoll@B" -> "epoll"), for a
    name the manifest does not list. cmbench parses a spec in
    harness/results/model_spec.cpp; the manifest names each model it ran,
    so this reading is only the fallback for one it does not."""
    return re.split("[:@]", spec)[0]


def use_looks_of(csv_path, models):
    """Takes each model's look from the manifest beside csv_path; the
    `models` it does not give one get the looks no other has, in order."""
    _looks.clear()
    for m in manifest(csv_path).get("models", []):
        if m.get("colour"):
            given = (m["colour"].lower(), m.get("marker") or "circle")
            _looks[m["name"]] = given
            _looks.setdefault(model_name(m["name"]), given)
    free = [(colour, marker) for marker in MARKERS for colour in PALETTE
            if (colour, marker) not in set(_looks.values())]
    for model in models:
        if model not in _looks and model_name(model) not in _looks and free:
            _looks[model] = free.pop(0)


def load(csv_path):
    """The measured rows of a results CSV, repetitions reduced to medians."""
    text = TEXT_COLUMNS
    frame = pd.read_csv(csv_path, keep_default_na=False,
                        dtype={c: str for c in text if c != "timestamp"})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv_path}: not a cmbench results CSV (missing {', '.join(missing)})")
    frame = frame[frame["error"] == ""].copy()
    if frame.empty:
        raise ValueError(f"{csv_path}: no measured rows (every point has an error)")
    if "rate" not in frame.columns:
        frame["rate"] = 0
    if "idle_connections" not in frame.columns:
        frame["idle_connections"] = 0
    if "artifacts" not in frame.columns:
        frame["artifacts"] = ""
    numeric = [c for c in frame.columns if c not in text]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    error_columns = [c for c in frame.columns if c.startswith("errors_")]
    frame["errors"] = frame[error_columns].sum(axis=1) if error_columns else 0
    keys = ["workload", "model", "rate", "connections", "idle_connections"]
    figures = [c for c in numeric if c not in keys and c not in ("repetition",)] + ["errors"]
    agg = {c: "median" for c in figures}
    agg["errors"] = "sum"
    agg["artifacts"] = "first"
    if "server_accepts_per_thread" in frame.columns:
        agg["server_accepts_per_thread"] = "first"  # text: the first repetition's
    if "ramp" in frame.columns:
        agg["ramp"] = "first"
    if "warnings" in frame.columns:  # every repetition's
        agg["warnings"] = lambda values: "; ".join(v for v in values if v)
    if "steady" in frame.columns:  # a point is unsteady if any repetition was
        agg["steady"] = lambda values: "no" if (values == "no").any() else "yes"
    return frame.groupby(keys, sort=False).agg(agg).reset_index()


def manifest(csv_path):
    """The manifest beside a results CSV, or {} when there is none."""
    try:
        return json.loads(Path(csv_path).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def knees(csv_path, workload):
    """(SLO in ms, {model: knee rate or None}) for one workload, as the
    manifest's summary gives them; (None, {}) without one. cmbench computes
    the knee (harness/results/summary.cpp); this script only draws it."""
    summary = manifest(csv_path).get("summary") or {}
    models = (summary.get("workloads") or {}).get(workload, {})
    return summary.get("slo_p99_ms"), {m: f.get("knee_rate") for m, f in models.items()}


def machine_label(csv_path):
    m = manifest(csv_path)
    if not m:
        return ""
    kernel = m.get("kernel", "").split()
    return (f"{m.get('cores', '?')} cores, {m.get('cpu_model', '').strip()}, "
            f"Linux {kernel[1] if len(kernel) > 1 else '?'}"
            + (", profiled with perf" if m.get("profile") else ""))


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")


class Figure:
    """One chart or a grid of them, saved as PNG and SVG."""

    def __init__(self, style, rows=1, cols=1):
        self.style = style
        look = STYLES[style]
        width, height = look["size"]
        if style == "paper":  # a grid is wider and taller; a slide is a slide
            width *= cols * (0.75 if cols > 1 else 1)
            height *= rows * (0.8 if rows > 1 else 1)
        # A title clears the half of a tick label that stands above its axes.
        self.context = plt.rc_context({"font.size": look["font"], "lines.linewidth": look["line"],
                                       "lines.markersize": look["marker"],
                                       "axes.titlepad": 0.7 * look["font"]})
        self.context.__enter__()
        self.least_type, _least_type[0] = _least_type[0], look["least_type"]
        self.fig, axes = plt.subplots(rows, cols, figsize=(width, height), dpi=120)
        self.axes = axes.flatten() if hasattr(axes, "flatten") else [axes]
        self.side_legend = None  # (handles, labels): one legend for every panel

    def save(self, stem, title):
        """Writes the figure, `title` over it (None: untitled, for a slide
        that says it)."""
        if title is not None:
            self.fig.suptitle(title, fontsize=type_size("large"))
        if self.side_legend:
            self.place_side_legend()
        else:
            self.fig.tight_layout()
        self.thin_crowded_labels()
        written = []
        for extension in ("png", "svg"):
            path = stem.with_suffix("." + extension)
            self.fig.savefig(path)
            written.append(path)
        self.discard()
        return written

    def place_side_legend(self):
        """One legend right of every panel. On paper the figure widens by it
        and the panels keep their width; a slide keeps its size."""
        legend = self.fig.legend(*self.side_legend, loc="center left", fontsize=type_size("small"))
        legend_inches = legend.get_window_extent(self.fig.canvas.get_renderer()).width / self.fig.dpi + 0.2
        width = self.fig.get_figwidth()
        if self.style == "paper":
            self.fig.set_figwidth(width + legend_inches)
            width += legend_inches
        panels = (width - legend_inches) / width
        self.fig.tight_layout(rect=(0, 0, panels, 1))
        legend.set_bbox_to_anchor((panels, 0.5))

    def thin_crowded_labels(self):
        """Blanks each x tick label that would touch the last one shown, as
        laid out (a narrow panel, large type): the axis keeps its ticks."""
        renderer = self.fig.canvas.get_renderer()
        for ax in self.fig.axes:
            ticks = ax.get_xticks()
            labels = ax.get_xticklabels()
            if not ax.axison or len(labels) < 3:
                continue
            low, high = sorted(ax.get_xlim())
            shown, last = [], None
            for tick, label in zip(ticks, labels):
                if not low <= tick <= high or not label.get_text():  # not drawn
                    shown.append(label.get_text())
                    continue
                box = label.get_window_extent(renderer)
                crowded = last is not None and box.x0 < last.x1 + 0.3 * box.height
                shown.append("" if crowded else label.get_text())
                if not crowded:
                    last = box
            if "" in shown:
                ax.set_xticks(ticks)
                ax.set_xticklabels(shown)

    def discard(self):
        plt.close(self.fig)
        _least_type[0] = self.least_type
        self.context.__exit__(None, None, None)


def line_width(style):
    return STYLES[style]["line"]


def marker_area(scale=1.0):
    """A scatter marker's area (points²) in proportion to the style's markers."""
    return scale * plt.rcParams["lines.markersize"] ** 2


def connections_axis(ax, part, x):
    """x: "connections" (log 2) or "idle_connections" (symmetric log: 0 has a place)."""
    ticks = sorted(set(int(v) for v in part[x]))
    if x == "idle_connections":
        linthresh = max(1, min([t for t in ticks if t > 0], default=1))
        ax.set_xscale("symlog", linthresh=linthresh)
        ax.set_xlim(-0.3 * linthresh, ticks[-1] * 1.3)  # room for the end markers
        active = sorted(set(int(v) for v in part["connections"]))
        ax.set_xlabel(f"idle connections (beside {', '.join(map(str, active))} active)")
    else:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent connections")
        if ticks[0] > 0:  # room for the first and last markers
            ax.set_xlim(ticks[0] / 1.25, ticks[-1] * 1.25)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:,}" for t in ticks])



def from_zero(ax, top):
    """A linear y axis from 0 to `top`, with room below 0 and above `top`
    for a marker there to be drawn whole."""
    top = top if top > 0 else 1
    ax.set_ylim(-0.05 * top, 1.08 * top)


def plain_log_y(ax):
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))

    # Within less than a decade only minor ticks fall in range: label them
    # plainly then, and leave them bare otherwise.
    def minor(value, _):
        low, high = ax.get_ylim()
        return f"{value:g}" if low > 0 and high / low < 10 else ""

    ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(minor))


def mark_errors(ax, points, x, y):
    failing = points[points["errors"] > 0]
    if not failing.empty:
        ax.scatter(failing[x], failing[y], marker="x", s=marker_area(3.3), color="black", zorder=5)
        return True
    return False


def mark_unsteady(ax, points, x, y, colour, scale=1.0):
    """Draws the points whose window was not in a steady state (cmbench's
    `steady` column) hollow: their figure is a mean over a moving rate."""
    if "steady" not in points.columns:
        return
    unsteady = points[points["steady"] == "no"]
    if not unsteady.empty:
        ax.scatter(unsteady[x], unsteady[y] * scale, s=marker_area(1.7), facecolors="white", edgecolors=colour,
                   linewidths=2, zorder=6)


def interval_bars(ax, points, x, y, lo, hi, colour, scale=1.0):
    """Error bars from a point's repetitions: the 95 % interval of the
    median (cmbench writes lo and hi when a point was measured more than once)."""
    if lo not in points.columns or hi not in points.columns:
        return
    shown = points[points[lo].notna() & points[hi].notna()]
    if shown.empty:
        return
    value = shown[y] * scale
    ax.errorbar(shown[x], value, yerr=[(value - shown[lo] * scale).clip(lower=0),
                                       (shown[hi] * scale - value).clip(lower=0)],
                fmt="none", ecolor=colour, capsize=3, linewidth=1)


def legend_outside(ax, handles=None, labels=None, **options):
    """The legend right of the axes, where it covers no data."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=type_size("small"), loc="upper left", bbox_to_anchor=(1.02, 1),
                  borderaxespad=0, **options)


def finish_legend(ax, errors_marked):
    handles, labels = ax.get_legend_handles_labels()
    if errors_marked:
        handles.append(plt.Line2D([], [], marker="x", color="black", linestyle="None"))
        labels.append("errors or timeouts")
    legend_outside(ax, handles, labels)


def cpu_bound(part, server_cpus):
    """The ideal for a workload of pure CPU (cpu_us=N alone): each of the
    server's CPUs answers 1e6 / N requests/s; None for any other workload or
    an unpinned server."""
    workload = part["workload"].iloc[0] if len(part) else ""
    match = re.fullmatch(r"cpu_us=(\d+)", workload)
    if not match or not server_cpus or int(match.group(1)) <= 0:
        return None
    return len(server_cpus) * 1e6 / int(match.group(1))


def draw_throughput(ax, part, style, x="connections", ideal=None):
    """Requests/s per model; `ideal`, when given, as a dotted line: what the
    server's CPUs would answer if a request cost only its work."""
    errors = False
    if ideal:
        ax.axhline(ideal, color="grey", linestyle=":", linewidth=line_width(style),
                   label=f"ideal: {ideal:,.0f} req/s")
    for model, points in part.groupby("model", sort=False):
        points = points.sort_values(x)
        ax.plot(points[x], points[RPS], label=model, **line_look(model))
        interval_bars(ax, points, x, RPS, "rps_lo", "rps_hi", model_colour(model))
        mark_unsteady(ax, points, x, RPS, model_colour(model))
        errors |= mark_errors(ax, points, x, RPS)
    connections_axis(ax, part, x)
    from_zero(ax, max(part[RPS].max(), ideal or 0))
    ax.set_ylabel("requests per second")
    ax.set_title("Throughput")
    ax.grid(True, which="both", alpha=0.3)
    finish_legend(ax, errors)


def draw_latency(ax, part, style, x="connections"):
    errors = False
    for model, points in part.groupby("model", sort=False):
        # A point that answered nothing has no latency to place on a log
        # axis: the throughput panel shows its 0.
        points = points[points[P99] > 0].sort_values(x)
        colour = model_colour(model)
        ax.plot(points[x], points[P99] / 1000, label=model, **line_look(model))
        ax.plot(points[x], points[P50] / 1000, linestyle="--", color=colour,
                linewidth=line_width(style) * 0.7)
        interval_bars(ax, points, x, P99, "p99_lo_us", "p99_hi_us", colour, 1 / 1000)
        mark_unsteady(ax, points, x, P99, colour, 1 / 1000)
        errors |= mark_errors(ax, points.assign(p99=points[P99] / 1000), x, "p99")
    connections_axis(ax, part, x)
    plain_log_y(ax)
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Latency: p99 solid, p50 dashed")
    ax.grid(True, which="both", alpha=0.3)
    finish_legend(ax, errors)


def busiest_points(part):
    """Per model, the point at its largest connection count (idle ones too, and rate)."""
    return (part.assign(held=part["connections"] + part["idle_connections"])
            .sort_values(["held", "rate"]).groupby("model", sort=False).tail(1))


def read_hist(csv_path, artifacts):
    """(percentile, value in ms) pairs from a point's .hist file."""
    path = Path(csv_path).parent / f"{artifacts}.hist"
    rows = []
    try:
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and not line.startswith("#") and re.match(r"^[\d.]+$", fields[0]):
                try:
                    rows.append((float(fields[1]), float(fields[0]) / 1000))
                except ValueError:
                    pass
    except OSError:
        return []
    return rows


def draw_percentiles(ax, part, csv_path, style):
    drawn = False
    for _, point in busiest_points(part).iterrows():
        rows = [(p, v) for p, v in read_hist(csv_path, point["artifacts"]) if p < 1.0]
        if not rows:
            continue
        nines = [1 / (1 - p) for p, _ in rows]
        ax.plot(nines, [v for _, v in rows], label=f"{point['model']} (c={int(point['connections'])})",
                **curve_look(point["model"]))
        drawn = True
    if not drawn:
        return False
    ax.set_xscale("log")
    ticks = [2, 10, 100, 1000, 10000, 100000]
    names = ["50%", "", "99%", "", "99.99%", ""]  # every other one: they would touch
    ax.set_xticks(ticks)
    ax.set_xticklabels(names)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlim(1, 100000)
    plain_log_y(ax)
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Latency by percentile")
    ax.grid(True, which="both", alpha=0.3)
    legend_outside(ax)
    return True


def read_timeline(csv_path, artifacts):
    """A point's .timeline.csv, or None when it is missing or empty."""
    try:
        timeline = pd.read_csv(Path(csv_path).parent / f"{artifacts}.timeline.csv")
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None
    return None if timeline.empty else timeline


def draw_timeline(ax, part, csv_path, style):
    drawn, top, seconds = False, 0, 0
    for _, point in busiest_points(part).iterrows():
        timeline = read_timeline(csv_path, point["artifacts"])
        if timeline is None or len(timeline) < 2:  # one second is a dot, not a timeline
            continue
        ax.plot(timeline["second"] + 0.5, timeline["rps"], label=point["model"],
                **line_look(point["model"]))
        top = max(top, timeline["rps"].max())
        seconds = max(seconds, len(timeline))
        drawn = True
    if not drawn:
        return False
    ax.set_xlim(0, seconds)  # each second's dot at its middle, inside
    from_zero(ax, top)
    ax.set_xlabel("second of the measured window")
    ax.set_ylabel("requests per second")
    ax.set_title("Per-second timeline (largest connection count)")
    ax.grid(True, alpha=0.3)
    legend_outside(ax)
    return True


def draw_ramp(ax, part, csv_path, style):
    """(run --ramp) p99 against the rate offered, second by second through
    each model's ramp at its largest connection count, from the point's
    timeline: where latency breaks as the rate climbs."""
    if "ramp" not in part.columns:
        return False
    drawn = False
    for _, point in busiest_points(part[part["ramp"] != ""]).iterrows():
        timeline = read_timeline(csv_path, point["artifacts"])
        if timeline is None or "offered_rps" not in timeline.columns:
            continue
        ax.plot(timeline["offered_rps"], timeline["p99_us"] / 1000, label=point["model"],
                **line_look(point["model"]))
        drawn = True
    if not drawn:
        return False
    slo_ms, _ = knees(csv_path, part["workload"].iloc[0])
    rate_axes(ax, slo_ms, f"p99 through the ramp ({part[part['ramp'] != '']['ramp'].iloc[0]}), "
                          "second by second")
    legend_outside(ax)
    return True


def bar_panel(ax, busiest, values, title, names=True):
    """One horizontal bar per model (at its busiest point), in the model's
    colour, named on the left (`names`) so that no label needs turning."""
    models = list(busiest["model"])
    ax.barh(range(len(models)), values, edgecolor="white", **bar_look(models))
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels(models if names else [""] * len(models), fontsize=type_size("small"))
    ax.invert_yaxis()
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)


def draw_resources(axes, part):
    busiest = busiest_points(part)
    cpu, rss, threads = column("cpu"), column("rss"), column("threads")
    if rss not in busiest.columns:
        return False
    panels = [(cpu, f"CPU per request ({METRICS['cpu']['display_unit'].split('/')[0]})", 1),
              (rss, "peak RSS (MiB)", 1 / 1024),
              (threads, "threads (peak)", 1)]
    for i, (ax, (name, label, scale)) in enumerate(zip(axes, panels)):
        values = busiest[name] * scale if name in busiest.columns else [0] * len(busiest)
        bar_panel(ax, busiest, values, label, names=i == 0)
    return True


def draw_memory_and_threads(ax, part):
    """Peak RSS per model with its thread count written above the bar."""
    busiest = busiest_points(part)
    rss, threads = column("rss"), column("threads")
    if rss not in busiest.columns or threads not in busiest.columns:
        return False
    heights = list(busiest[rss] / 1024)
    bar_panel(ax, busiest, heights, "Peak RSS (MiB) and threads")
    for i, count in enumerate(busiest[threads]):
        ax.annotate(f"{int(count)} threads", (heights[i], i), textcoords="offset points",
                    xytext=(3, 0), va="center", fontsize=type_size("x-small"))
    ax.set_xlim(right=max(heights) * 1.6 if heights else 1)  # room for the counts
    return True


STAGES = TABLE["stages"] + ["unaccounted"]
# From Okabe and Ito's palette too, light enough for black type inside.
STAGE_COLOURS = {"inbound": "#56b4e9", "queued": "#e69f00", "service": "#009e73",
                 "outbound": "#cc79a7", "unaccounted": "#d9d9d9", "never answered": "#d55e00"}
NEVER = "never answered"
# The stages a request can wait in for a worker, which the server counts as
# the window closes (the CSV's STAGE_waiting columns), drawn in the stage's
# colour, hatched.
WAITING_STAGES = ["inbound", "queued"]


def counts_unanswered(part):
    """Whether the CSV counts the requests never answered (runs from before
    it did have no such columns)."""
    return column("unanswered") in part.columns and column("unanswered_wait") in part.columns


def staged_points(part):
    """Per model with stages (not nginx or an external), its busiest point;
    and a point that answered nothing at all, whose bar is all never answered."""
    columns = [column(stage) for stage in STAGES]
    if any(c not in part.columns for c in columns):
        return part.iloc[0:0]
    busiest = busiest_points(part)
    staged = busiest[columns[:4]].notna().all(axis=1)
    if counts_unanswered(part):
        staged |= (busiest["requests"] == 0) & (busiest[column("unanswered")] > 0)
    return busiest[staged]


def stage_segments(busiest):
    """Each bar's segments in ms, in order, from the client's mean over every
    request sent: a stage's mean over the answered, scaled by the share
    answered; then the never answered's age over every request sent
    (unanswered_wait_us), split where the server knew what waited for a
    worker as the window closed (STAGE_waiting: that wait is its stage's,
    "STAGE, never answered") from the rest, which it did not know of
    ("never answered": the kernel's backlog or unread bytes). Their sum is
    that mean."""
    answered = busiest["requests"].astype(float)
    unanswered = busiest[column("unanswered")].astype(float) if counts_unanswered(busiest) else 0
    sent = answered + unanswered
    share = (answered / sent).fillna(0)
    segments = {stage: (busiest[column(stage)].fillna(0).clip(lower=0) * share / 1000).tolist()
                for stage in STAGES}
    if not counts_unanswered(busiest):
        return segments
    never = busiest[column("unanswered_wait")].astype(float) / 1000
    known = {stage: (busiest[f"{stage}_waiting"].fillna(0) *
                     busiest[f"{stage}_waiting_age_mean_us"].fillna(0) / sent / 1000).fillna(0)
             for stage in WAITING_STAGES if f"{stage}_waiting" in busiest.columns}
    # The server's count of a wait (since accept) may run ahead of the
    # client's (since send): never more than the client's never answered.
    total = sum(known.values()) if known else 0 * never
    scale = (never / total).where(total > never, 1).fillna(1)
    for stage, wait in known.items():
        if (wait > 0).any():
            segments[f"{stage}, {NEVER}"] = (wait * scale).tolist()
    segments[NEVER] = (never - total * scale).clip(lower=0).tolist()
    return segments


def starved_label(point):
    """"\n63 never answered" under a model's name when connections got no
    response all window long (starved clients), else ""."""
    starved = point.get("connections_unanswered", 0)
    return f"\n{int(starved)} never answered" if starved and starved > 0 else ""


def ms(value):
    """A time in ms for a label: three figures, whole above a second."""
    return f"{value:.3g}" if value < 1000 else f"{value:.0f}"


def axis_inches(ax):
    """How wide `ax` will be, before anything is drawn: the axis may yet
    narrow by nearly half when laid out (labels and a legend beside it)."""
    return 0.55 * ax.get_position().width * ax.figure.get_figwidth()


def text_inches(text, size):
    """About how wide `text` is in `size` type: a character is about 0.6 of
    the type's size wide."""
    longest = max(len(line) for line in text.split("\n"))
    return 0.62 * type_size(size) / 72 * longest + 0.2


def text_fits(ax, width, span, text):
    """Whether `text` in x-small type fits in `width` of an x axis `span` long."""
    return width / span * axis_inches(ax) >= text_inches(text, "x-small")


def segment_labels(ax, segments, totals, span):
    """({(stage, bar): label} drawn inside their segments, [label beside each
    bar]): a segment is named inside when the words fit there; the one that
    holds most of a bar is named beside its total, under it, when they do
    not."""
    inside, beside = {}, [f"{ms(total)} ms" for total in totals]
    for stage, widths in segments.items():
        for i, width in enumerate(widths):
            label = f"{stage} {ms(width)} ms"
            if text_fits(ax, width, span, label):
                inside[(stage, i)] = label
            elif width > 0.5 * totals[i]:
                beside[i] += f"\n{stage} {ms(width)}"
    return inside, beside


def draw_stages(ax, part):
    """Where the time goes: per model, at its largest connection count, one
    horizontal bar of the client's mean over every request sent (the
    answered at their latency, the never answered at their age), stacked
    from the four stages and the unaccounted rest, each as its share of that
    mean, and the requests never answered as a segment of its own, labelled
    with how many. A segment is named inside when the words fit there; the
    one that holds most of a bar is named beside its total when they do not.
    Models without stages (nginx, externals) are left out; a negative rest
    (the stages' means above the client's) draws as 0."""
    busiest = staged_points(part)
    if busiest.empty:
        return False
    models = list(busiest["model"])
    segments = stage_segments(busiest)
    totals = [sum(values) for values in zip(*segments.values())]
    # The axis runs far enough that each bar's label beside it fits too.
    span = max(totals) * 1.3 or 1
    for _ in range(2):
        inside, beside = segment_labels(ax, segments, totals, span)
        span = max(span, *[total / max(0.3, 1 - text_inches(text, "x-small") / axis_inches(ax))
                          for total, text in zip(totals, beside)])
    ax.set_xlim(0, span)
    left = [0.0] * len(models)
    for stage, widths in segments.items():
        base = stage.split(",")[0]  # "inbound, never answered": inbound's colour, hatched
        waited = base != stage
        ax.barh(range(len(models)), widths, left=left, label=stage,
                color=STAGE_COLOURS[base], hatch="//" if waited else None,
                edgecolor=STAGE_COLOURS[NEVER] if waited else "white", linewidth=0.5)
        for i, width in enumerate(widths):
            if (stage, i) in inside:
                ax.text(left[i] + width / 2, i, inside[(stage, i)], ha="center", va="center",
                        fontsize=type_size("x-small"))
        left = [a + b for a, b in zip(left, widths)]
    for i, total in enumerate(totals):
        ax.text(total + 0.01 * span, i, beside[i], va="center", fontsize=type_size("x-small"))
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels([f"{m} (c={int(c)})" + starved_label(point)
                        for m, c, (_, point) in zip(models, busiest["connections"],
                                                    busiest.iterrows())], fontsize=type_size("small"))
    ax.invert_yaxis()
    ax.set_xlabel("mean time per request sent (ms)")
    ax.set_title("Where the time goes, inside the server" + (
        "" if counts_unanswered(busiest)
        else "\n(an older run: requests never answered not counted)"))
    ax.grid(True, axis="x", alpha=0.3)
    legend_outside(ax)
    return True


# Where the CPU goes (run --profile): the kinds as cmbench's metrics table
# names them (cpu_KIND), in its order, each a colour of the palette.
CPU_KINDS = [name[len("cpu_"):] for name in METRICS if name.startswith("cpu_")]
INTERPRETER_FRAMES = "interpreter's, so the server's own code shows as other"
CPU_KIND_COLOURS = ["#e69f00", "#009e73", "#cc79a7", "#d55e00", "#f0e442", "#56b4e9",
                    "#0072b2", "#d9d9d9"]


def profiled_points(part):
    """Whether some point of `part` was profiled (run --profile)."""
    columns = [column(f"cpu_{kind}") for kind in CPU_KINDS]
    return all(c in part.columns for c in columns) and bool(part[columns].notna().all(axis=1).any())


def draw_cpu_kinds(ax, part):
    """Where the CPU goes: per profiled model, at its busiest point, one
    horizontal bar of its CPU per request stacked by kind (perf's samples'
    shares, harness/results/cpu_kinds.hpp). Unprofiled models are left out."""
    columns = [column(f"cpu_{kind}") for kind in CPU_KINDS]
    if any(c not in part.columns for c in columns):
        return False
    busiest = busiest_points(part)
    busiest = busiest[busiest[columns].notna().all(axis=1)]
    if busiest.empty:
        return False
    models = list(busiest["model"])
    left = [0.0] * len(models)
    for kind, name, colour in zip(CPU_KINDS, columns, CPU_KIND_COLOURS):
        widths = busiest[name].tolist()
        ax.barh(range(len(models)), widths, left=left, label=kind, color=colour,
                edgecolor="white", linewidth=0.5)
        left = [a + b for a, b in zip(left, widths)]
    for i, total in enumerate(left):
        ax.text(total, i, f" {total:.1f}", va="center", fontsize=type_size("x-small"))
    ax.set_xlim(0, max(left) * 1.15 or 1)
    ax.set_yticks(range(len(models)))
    # cmbench's warning for a profile whose frames are an interpreter's.
    interpreted = (busiest["warnings"].str.contains(INTERPRETER_FRAMES, regex=False)
                   if "warnings" in busiest else [False] * len(models))
    ax.set_yticklabels([f"{m} (c={int(c)})" + ("\ninterpreter's frames: its code is other"
                                                if frames else "")
                        for m, c, frames in zip(models, busiest["connections"], interpreted)],
                       fontsize=type_size("small"))
    ax.invert_yaxis()
    ax.set_xlabel("CPU per request (µs), by where perf found it")
    ax.set_title("CPU per request, by kind (perf's samples)")
    ax.grid(True, axis="x", alpha=0.3)
    legend_outside(ax)
    return True


def accept_counts(field):
    """"2987|8|6|0" -> [2987, 8, 6, 0]; [] when empty."""
    if not isinstance(field, str):
        return []
    return [int(float(c)) for c in str(field).split("|") if c != ""]


def draw_accepts(ax, part):
    """Each model's connections per accepting thread, busiest first (top
    down), as a share of its total, at its lowest rate and connection count
    (where an uneven spread shows most); dashed: an even share."""
    if "server_accepts_per_thread" not in part.columns:
        return False
    shown = []
    for model, points in part.groupby("model", sort=False):
        points = points.sort_values(["rate", "connections"])
        for _, point in points.iterrows():
            counts = sorted(accept_counts(point["server_accepts_per_thread"]), reverse=True)
            if len(counts) >= 2 and sum(counts) > 0:
                shown.append((model, point, counts))
                break
    if not shown:
        return False
    height = 0.8 / max(len(counts) for _, _, counts in shown)
    for i, (model, point, counts) in enumerate(shown):
        total = sum(counts)
        for j, count in enumerate(counts):
            ax.barh(i - 0.4 + height * (j + 0.5), 100 * count / total, height * 0.9,
                    edgecolor="black", linewidth=0.3, **bar_look([model]))
        even = 100 / len(counts)
        ax.plot([even, even], [i - 0.42, i + 0.42], "k--", linewidth=1)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([f"{model}\n{point['rate']:g}/s" if point["rate"] > 0 else
                        f"{model}\nc={int(point['connections'])}"
                        for model, point, _ in shown], fontsize=type_size("small"))
    ax.invert_yaxis()
    ax.set_xlabel("% of its connections")
    ax.set_xlim(0, 105)
    ax.set_title("Connections per accepting thread")
    ax.grid(True, axis="x", alpha=0.3)
    return True


def rate_axes(ax, slo_ms, title):
    """The axes of p99 against offered rate, with the SLO's dotted line."""
    if slo_ms is not None:
        ax.axhline(slo_ms, color="grey", linestyle=":", label=f"SLO {slo_ms:g} ms")
    plain_log_y(ax)
    ax.set_xlabel("offered rate (requests/s, open loop)")
    ax.set_ylabel("p99 latency (ms, log scale, corrected)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)


def draw_rate(ax, part, slo_ms, knee_rates, style):
    """p99 against offered rate; the SLO line and each model's knee circled,
    both from the manifest (knee_rates: {model: rate or None})."""
    errors = False
    for model, points in part.groupby("model", sort=False):
        points = points.sort_values("rate")
        p99 = points[P99] / 1000
        ax.plot(points["rate"], p99, label=model, **line_look(model))
        interval_bars(ax, points, "rate", P99, "p99_lo_us", "p99_hi_us", model_colour(model), 1 / 1000)
        mark_unsteady(ax, points, "rate", P99, model_colour(model), 1 / 1000)
        errors |= mark_errors(ax, points.assign(p99=p99), "rate", "p99")
        knee = points[points["rate"] == knee_rates.get(model)]
        if not knee.empty:
            ax.scatter(knee["rate"], knee[P99] / 1000, s=marker_area(7), facecolors="none",
                       edgecolors=model_colour(model), linewidths=2.5, zorder=6)
    rate_axes(ax, slo_ms, "p99 against load (○: knee)")
    finish_legend(ax, errors)


def searches(csv_path, workload):
    """(SLO in ms, [the manifest's found rates for one workload])."""
    search = manifest(csv_path).get("search") or {}
    return search.get("slo_p99_ms"), [f for f in search.get("found", [])
                                      if f.get("workload") == workload]


def draw_search(ax, csv_path, workload, style):
    """Each search's path: p99 against the rate of each step it measured,
    in order (steps numbered), the SLO line and the rate it found marked
    (a dashed line). cmbench searches (harness/results/search.cpp); this only
    draws the rows and the manifest."""
    slo_ms, found = searches(csv_path, workload)
    if not found:
        return False
    rows = pd.read_csv(csv_path, keep_default_na=False, dtype={"workload": str, "model": str,
                                                                  "error": str})
    if "search_step" not in rows.columns:
        return False
    rows = rows[(rows["workload"] == workload) & (rows["search_step"] != "") & (rows["error"] == "")]
    rows = rows.assign(search_step=pd.to_numeric(rows["search_step"]))
    for f in found:
        path = rows[(rows["model"] == f["model"]) & (rows["connections"] == f["connections"]) &
                    (rows["idle_connections"] == f["idle_connections"]) & (rows["rate"] > 0)]
        path = path.sort_values("search_step")
        if path.empty:
            continue
        colour = model_colour(f["model"])
        label = f["model"] + (f" c={f['connections']}" if len(found) > 1 else "")
        p99 = path[P99] / 1000
        ax.plot(path["rate"], p99, linewidth=line_width(style) / 2, alpha=0.8, label=label,
                **line_look(f["model"]))
        for rate, y, step in zip(path["rate"], p99, path["search_step"]):
            ax.annotate(f"{step:g}", (rate, y), textcoords="offset points", xytext=(4, 4),
                        fontsize=type_size("x-small"), color=colour)
        if f.get("max_rate"):
            ax.axvline(f["max_rate"], color=colour, linestyle="--", linewidth=1.5,
                       label=f"{label}: {f['max_rate']:g} req/s")
    rate_axes(ax, slo_ms, "The search for the highest rate under the SLO (numbers: steps)")
    legend_outside(ax)
    return True


def share_one_legend(figure, staged):
    """The story's models named once, right of every panel, rather than in a
    legend per panel that would narrow each; the stages and the CPU's kinds
    (the panels below the grid) keep theirs."""
    handles, labels = figure.axes[0].get_legend_handles_labels()
    below = figure.fig.axes[4:] if staged else []
    for ax in figure.fig.axes:
        legend = ax.get_legend()
        if legend is not None and ax not in below:
            if not handles:
                handles, labels = legend.legendHandles, [t.get_text() for t in legend.texts]
            legend.remove()
    if handles:
        figure.side_legend = (handles, labels)


def draw_story(style, panels, part, stem, title):
    """The scenario's story on one figure, its panels (draws of one axes
    each, most telling first) with one legend of the models beside them. On
    paper: the first four in a grid, and below it where the time goes when
    the models have stages and where the CPU goes when they were profiled. On a slide: the first two that have
    something to draw, side by side (where the time goes is a slide of its
    own)."""
    staged = style == "paper" and not staged_points(part).empty
    profiled = style == "paper" and profiled_points(part)
    if style == "paper":
        rows = 2 + staged + profiled
        story = Figure(style, rows, 2)
        for ax in story.axes[4:]:
            ax.remove()
        below = [draw_stages] * staged + [draw_cpu_kinds] * profiled
        for row, draw in enumerate(below, start=3):
            draw(story.fig.add_subplot(rows, 1, row), part)
        for ax, draw in zip(story.axes[:4], panels):
            if draw(ax) is False:
                ax.axis("off")
        for ax in story.axes[len(panels):4]:  # fewer panels (a rate every point held)
            ax.axis("off")
    else:
        story = Figure(style, 1, 2)
        drawn = 0
        for draw in panels:
            if drawn < 2 and draw(story.axes[drawn]) is not False:
                drawn += 1
        for ax in story.axes[drawn:]:
            ax.axis("off")
    share_one_legend(story, staged or profiled)
    return story.save(stem, title)


def finding_of(csv_path):
    """The story chart's title: the scenario's expected shape when every claim
    cmbench judged held, else how many did not, else its question."""
    m = manifest(csv_path)
    verdicts = m.get("expectations") or []
    failed = [v for v in verdicts if v.get("held") is False]
    if failed:
        return f"Not as expected on this machine: {len(failed)} of {len(verdicts)} claims did not hold"
    if verdicts and any(v.get("held") for v in verdicts):
        return m.get("expect") or None
    return m.get("question") or None


def plot(csv_path, out_dir, style="paper", finding=None, titled=True):
    """Draws every chart for a results CSV; returns the written paths. The
    story chart is titled with `finding` (default: finding_of), the workload
    and machine in a subtitle; with `titled` False no chart has a title over
    it (a slide's own title says what it shows)."""
    finding = finding or finding_of(csv_path)
    frame = load(csv_path)
    use_looks_of(csv_path, list(frame["model"].unique()))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_label(csv_path)
    workloads = list(frame["workload"].unique())
    written = []
    for workload in workloads:
        part = frame[frame["workload"] == workload]
        label = workload or "hello"
        title_tail = f" — {label}" + (f"\n{machine}" if machine else "")
        suffix = "" if len(workloads) == 1 else "-" + slug(label)

        def stem(name):
            return out_dir / f"{name}{suffix}"

        def chart(name, title, draw, rows=1, cols=1):
            """Draws one figure; a draw that returns False (no data) saves nothing."""
            fig = Figure(style, rows, cols)
            if draw(fig.axes) is False:
                fig.discard()
                return []
            return fig.save(stem(name), title + title_tail if titled else None)

        rate_sweep = part["rate"].nunique() > 1
        # One offered rate that every point held (none warned that it fell
        # short): the throughput is that rate, and its chart says nothing.
        rate_held = (not rate_sweep and bool((part["rate"] > 0).all()) and "warnings" in part
                     and not part["warnings"].str.contains(RATE_NOT_REACHED).any())
        x = "idle_connections" if part["idle_connections"].nunique() > 1 else "connections"
        ideal = cpu_bound(part, manifest(csv_path).get("server_cpus"))
        slo_ms, knee_rates = knees(csv_path, workload)
        if rate_sweep:
            written += chart("p99_vs_rate", "Knee",
                             lambda axes: draw_rate(axes[0], part, slo_ms, knee_rates, style))
        else:
            if not rate_held:
                written += chart(f"throughput_vs_{x}", "Throughput",
                                 lambda axes: draw_throughput(axes[0], part, style, x, ideal))
            written += chart(f"latency_vs_{x}", "Latency", lambda axes: draw_latency(axes[0], part, style, x))
        written += chart("p99_vs_offered_rate", "Ramp",
                         lambda axes: draw_ramp(axes[0], part, csv_path, style))
        written += chart("search", "Search",
                         lambda axes: draw_search(axes[0], csv_path, workload, style))
        written += chart("latency_percentiles", "Latency by percentile",
                         lambda axes: draw_percentiles(axes[0], part, csv_path, style))
        written += chart("timeline", "Timeline", lambda axes: draw_timeline(axes[0], part, csv_path, style))
        written += chart("resources", "Server resources at the largest connection count",
                         lambda axes: draw_resources(axes, part), 1, 3)
        written += chart("accepts_per_thread", "Accept balance",
                         lambda axes: draw_accepts(axes[0], part))
        written += chart("where_the_time_goes", "Where the time goes",
                         lambda axes: draw_stages(axes[0], part))
        written += chart("where_the_cpu_goes", "Where the CPU goes",
                         lambda axes: draw_cpu_kinds(axes[0], part))

        if rate_sweep:
            panels = [lambda ax: draw_rate(ax, part, slo_ms, knee_rates, style),
                      lambda ax: draw_accepts(ax, part)]
        elif rate_held:  # nothing to say of throughput: latency first
            panels = [lambda ax: draw_latency(ax, part, style, x)]
        else:
            panels = [lambda ax: draw_throughput(ax, part, style, x, ideal),
                      lambda ax: draw_latency(ax, part, style, x)]
        panels += [lambda ax: draw_percentiles(ax, part, csv_path, style),
                   lambda ax: draw_memory_and_threads(ax, part)]
        subtitle = label + (f" — {machine}" if machine else "")
        headline = "\n".join(textwrap.wrap(finding, 90 if style == "paper" else 70)) if finding else ""
        written += draw_story(style, panels, part, stem("story"),
                              None if not titled else f"{headline}\n{subtitle}" if finding else subtitle)
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
