"""How evenly each model's accepting threads took the connections."""

from ..style import bar_look, type_size
from ..registry import Chart, register


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


register(Chart("accepts_per_thread", "Accept balance",
               lambda axes, w: draw_accepts(axes[0], w.part)))
