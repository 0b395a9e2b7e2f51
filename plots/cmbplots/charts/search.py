"""(run --search rate) each search's path, the SLO and the rate it found."""

from .rate import rate_axes
from ..data import P99, search_steps, searches
from ..style import legend_outside, line_look, line_width, model_colour, type_size
from ..registry import Chart, register


def draw_search(ax, rows, csv_path, workload, style):
    """Each search's path: p99 against the rate of each step it measured,
    in order (steps numbered), the SLO line and the rate it found marked
    (a dashed line). cmbench searches (harness/results/search.cpp); this only
    draws the rows (read_rows') and the manifest."""
    slo_ms, found = searches(csv_path, workload)
    if not found or "search_step" not in rows.columns:
        return False
    rows = search_steps(rows, workload)
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


register(Chart("search", "Search",
               lambda axes, w: draw_search(axes[0], w.rows, w.csv_path, w.workload, w.style)))
