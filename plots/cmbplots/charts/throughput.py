"""Throughput: requests/s against connections (or idle connections)."""

import re

from ..data import RPS
from ..style import connections_axis, finish_legend, from_zero, interval_bars, line_look, line_width, mark_errors, mark_unsteady, model_colour
from ..registry import Chart, register


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


register(Chart("throughput_vs_{x}", "Throughput",
               lambda axes, w: draw_throughput(axes[0], w.part, w.style, w.x, w.ideal),
               applies=lambda w: not w.rate_sweep and not w.rate_held))
