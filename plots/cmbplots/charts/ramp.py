"""(run --ramp) p99 against the rate offered, second by second."""

from .rate import rate_axes
from ..data import busiest_points, knees, read_timeline
from ..style import legend_outside, line_look
from ..registry import Chart, register


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


register(Chart("p99_vs_offered_rate", "Ramp",
               lambda axes, w: draw_ramp(axes[0], w.part, w.csv_path, w.style)))
