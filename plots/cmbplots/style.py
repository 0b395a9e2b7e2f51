"""How every chart looks: one fixed look per model, the paper and talk
styles, the Figure that saves PNG and SVG, and the axis and legend helpers
the charts share."""

import re

import matplotlib
import matplotlib.ticker
import matplotlib.pyplot as plt

from .data import manifest


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


# paper: a chart for a page, a grid of them wider. talk: every chart one
# 1920x1080 slide (16 x 9 inches at 120 dpi) whose smallest type is 20 pt,
# with thicker lines and larger markers.
STYLES = {
    "paper": {"size": (7, 4.5), "font": 11, "least_type": 0, "line": 1.8, "marker": 6},
    "talk": {"size": (16, 9), "font": 20, "least_type": 20, "line": 4, "marker": 11},
}


_least_type = [0]  # the drawing figure's least type size (STYLES)


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
