"""Every chart, as a viewer sees it: each chart kind the sample runs draw,
in both styles, read back from matplotlib's renderer before it is saved.
Nothing clipped by the figure's edge, no text over other text, no legend
over a data marker or line, no marker half outside its axes; in the talk
style, a 1920x1080 slide with no type under 20 pt."""

import itertools
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plots"))

import plot_results  # noqa: E402
from cmbplots.style import Figure  # noqa: E402

SAMPLES = sorted((ROOT / "results" / "sample").glob("*.csv"))
SLACK = 1.0  # pixels: a box may touch another or the edge


def label(artist):
    text = artist.get_text().replace("\n", " ")
    return f"'{text[:50]}'"


def drawn_tick_labels(fig):
    """The tick labels matplotlib draws: those of ticks within the view (an
    axis keeps others, undrawn). Axis._update_ticks is what its draw uses."""
    labels = []
    for ax in fig.axes:
        if not ax.axison or not ax.get_visible():  # a panel turned off draws no axis
            continue
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_visible():
                continue
            for tick in axis._update_ticks():
                labels += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    return labels


def visible_texts(fig):
    """Every visible, non-empty text drawn on the figure."""
    tick_labels = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
                   for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                   for t in (tick.label1, tick.label2)}
    texts = [t for t in fig.findobj(matplotlib.text.Text) if id(t) not in tick_labels]
    return [t for t in texts + drawn_tick_labels(fig) if t.get_visible() and t.get_text().strip()]


def text_boxes(fig, renderer):
    """(label, box) of every visible, non-empty text drawn on the figure."""
    return [(label(text), text.get_window_extent(renderer)) for text in visible_texts(fig)]


def overlap(a, b):
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width > SLACK and height > SLACK


def data_points(ax):
    """Display coordinates of every line vertex and marker drawn in `ax`."""
    points = []
    for line in ax.get_lines():
        if line.get_visible() and len(line.get_xydata()):
            points += [tuple(p) for p in line.get_transform().transform(line.get_xydata())]
    for collection in ax.collections:
        offsets = collection.get_offsets()
        if collection.get_visible() and len(offsets):
            points += [tuple(p) for p in collection.get_offset_transform().transform(offsets)]
    return points


def slide_problems(fig):
    """What keeps `fig` from being a talk's slide: its size, and type too small
    to read from the back of a room."""
    found = []
    size = (round(fig.get_figwidth() * fig.dpi), round(fig.get_figheight() * fig.dpi))
    if size != (1920, 1080):
        found.append(f"the slide is {size[0]}x{size[1]} pixels, not 1920x1080")
    for text in visible_texts(fig):
        if text.get_fontsize() < 20 - 1e-6:
            found.append(f"{label(text)} is set in {text.get_fontsize():.1f} pt, under 20")
    return found


def problems(fig, style):
    """What a viewer of `fig` could not read, one line each."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    edge = fig.bbox
    found = slide_problems(fig) if style == "talk" else []
    boxes = text_boxes(fig, renderer)
    for name, box in boxes:
        if (box.x0 < edge.x0 - SLACK or box.y0 < edge.y0 - SLACK or box.x1 > edge.x1 + SLACK
                or box.y1 > edge.y1 + SLACK):
            found.append(f"{name} is clipped by the figure's edge")
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        if overlap(box_a, box_b):
            found.append(f"{a} is drawn over {b}")
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            frame = legend.get_window_extent(renderer)
            covered = [p for p in data_points(ax) if frame.contains(*p)]
            if covered:
                found.append(f"the legend of '{ax.get_title()}' covers {len(covered)} data points")
        area = ax.get_window_extent(renderer)
        for line in ax.get_lines():
            if line.get_marker() in (None, "None", "", " ") or not line.get_visible():
                continue
            radius = line.get_markersize() / 72 * fig.dpi / 2
            for x, y in line.get_transform().transform(line.get_xydata()):
                inside = area.x0 - SLACK <= x - radius and x + radius <= area.x1 + SLACK and \
                    area.y0 - SLACK <= y - radius and y + radius <= area.y1 + SLACK
                if not inside:
                    found.append(f"a marker of '{line.get_label()}' in '{ax.get_title()}' is "
                                 "cut by its axes")
                    break
    return found


@pytest.mark.parametrize("style", ["paper", "talk"])
@pytest.mark.parametrize("csv", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_every_chart_is_legible(csv, style, tmp_path, monkeypatch):
    found = []
    save = Figure.save

    def checked_save(self, stem, title):
        """The figure as it is written: checked at its first savefig."""
        savefig = self.fig.savefig

        def checked_savefig(path, *args, **kwargs):
            if Path(path).suffix == ".png":
                found.extend(f"{Path(stem).name}: {p}" for p in problems(self.fig, style))
            return savefig(path, *args, **kwargs)

        self.fig.savefig = checked_savefig
        return save(self, stem, title)

    monkeypatch.setattr(Figure, "save", checked_save)
    plot_results.plot(csv, tmp_path, style)
    assert not found, "\n".join(found)
