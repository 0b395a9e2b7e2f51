"""Latency against percentile on a "nines" axis, each model's busiest point."""

import matplotlib
import matplotlib.ticker

from ..data import busiest_points, read_hist
from ..style import curve_look, legend_outside, plain_log_y
from ..registry import Chart, register


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


register(Chart("latency_percentiles", "Latency by percentile",
               lambda axes, w: draw_percentiles(axes[0], w.part, w.csv_path, w.style)))
