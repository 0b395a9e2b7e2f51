"""The scenario's story on one figure: the charts that tell it, most telling
first, with one legend of the models beside them."""

import textwrap

from .accepts import draw_accepts
from .cpu_kinds import draw_cpu_kinds, profiled_points
from .latency import draw_latency
from .percentiles import draw_percentiles
from .rate import draw_rate
from .resources import draw_memory_and_threads
from .stages import draw_stages, staged_points
from .throughput import draw_throughput
from ..registry import Chart, register
from ..style import Figure


def share_one_legend(figure, staged):
    """The story's models named once, right of every panel, rather than in a
    legend per panel that would narrow each; the stages and the CPU's kinds
    (the panels below the grid) keep theirs."""
    handles, labels = figure.axes[0].get_legend_handles_labels()
    below = figure.fig.axes[4:] if staged else []
    for ax in figure.fig.axes:
        legend = ax.get_legend()
        if legend is not None and ax not in below:
            if not handles:
                handles, labels = legend.legendHandles, [t.get_text() for t in legend.texts]
            legend.remove()
    if handles:
        figure.side_legend = (handles, labels)


def draw_story(style, panels, part, stem, title):
    """The scenario's story on one figure, its panels (draws of one axes
    each, most telling first) with one legend of the models beside them. On
    paper: the first four in a grid, and below it where the time goes when
    the models have stages and where the CPU goes when they were profiled. On a slide: the first two that have
    something to draw, side by side (where the time goes is a slide of its
    own)."""
    staged = style == "paper" and not staged_points(part).empty
    profiled = style == "paper" and profiled_points(part)
    if style == "paper":
        rows = 2 + staged + profiled
        story = Figure(style, rows, 2)
        for ax in story.axes[4:]:
            ax.remove()
        below = [draw_stages] * staged + [draw_cpu_kinds] * profiled
        for row, draw in enumerate(below, start=3):
            draw(story.fig.add_subplot(rows, 1, row), part)
        for ax, draw in zip(story.axes[:4], panels):
            if draw(ax) is False:
                ax.axis("off")
        for ax in story.axes[len(panels):4]:  # fewer panels (a rate every point held)
            ax.axis("off")
    else:
        story = Figure(style, 1, 2)
        drawn = 0
        for draw in panels:
            if drawn < 2 and draw(story.axes[drawn]) is not False:
                drawn += 1
        for ax in story.axes[drawn:]:
            ax.axis("off")
    share_one_legend(story, staged or profiled)
    return story.save(stem, title)


def panels(w):
    """The story's panels for a workload, each a draw of one axes."""
    if w.rate_sweep:
        first = [lambda ax: draw_rate(ax, w.part, w.slo_ms, w.knee_rates, w.style),
                 lambda ax: draw_accepts(ax, w.part)]
    elif w.rate_held:  # nothing to say of throughput: latency first
        first = [lambda ax: draw_latency(ax, w.part, w.style, w.x)]
    else:
        first = [lambda ax: draw_throughput(ax, w.part, w.style, w.x, w.ideal),
                 lambda ax: draw_latency(ax, w.part, w.style, w.x)]
    return first + [lambda ax: draw_percentiles(ax, w.part, w.csv_path, w.style),
                    lambda ax: draw_memory_and_threads(ax, w.part)]


def render(w, stem):
    """Titled with the run's finding over the workload and machine, or only
    those without a finding; untitled for a slide."""
    headline = "\n".join(textwrap.wrap(w.finding, 90 if w.style == "paper" else 70)) if w.finding else ""
    title = None if not w.titled else f"{headline}\n{w.subtitle}" if w.finding else w.subtitle
    return draw_story(w.style, panels(w), w.part, stem, title)


register(Chart("story", "Story", render=render))
