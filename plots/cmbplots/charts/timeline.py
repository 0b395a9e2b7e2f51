"""Requests/s per second of each model's busiest point."""

from ..data import busiest_points, read_timeline
from ..style import from_zero, legend_outside, line_look
from ..registry import Chart, register


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


register(Chart("timeline", "Timeline",
               lambda axes, w: draw_timeline(axes[0], w.part, w.csv_path, w.style)))
