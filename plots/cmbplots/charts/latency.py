"""Latency: p50 (dashed) and p99 (solid) against connections, log scale."""

from ..data import P50, P99
from ..style import connections_axis, finish_legend, interval_bars, line_look, line_width, mark_errors, mark_unsteady, model_colour, plain_log_y
from ..registry import Chart, register


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


register(Chart("latency_vs_{x}", "Latency",
               lambda axes, w: draw_latency(axes[0], w.part, w.style, w.x),
               applies=lambda w: not w.rate_sweep))
