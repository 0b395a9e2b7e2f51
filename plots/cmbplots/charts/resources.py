"""CPU per request, peak RSS and threads per model at its busiest point."""

from ..data import METRICS, busiest_points, column
from ..style import bar_panel, type_size
from ..registry import Chart, register


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


register(Chart("resources", "Server resources at the largest connection count",
               lambda axes, w: draw_resources(axes, w.part), shape=(1, 3)))
