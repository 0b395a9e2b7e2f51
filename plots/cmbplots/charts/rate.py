"""The knee: p99 against the offered rate, each model's knee marked (rate sweeps)."""

from ..data import P99
from ..style import finish_legend, interval_bars, line_look, mark_errors, mark_unsteady, marker_area, model_colour, plain_log_y
from ..registry import Chart, register


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


register(Chart("p99_vs_rate", "Knee",
               lambda axes, w: draw_rate(axes[0], w.part, w.slo_ms, w.knee_rates, w.style),
               applies=lambda w: w.rate_sweep))
