"""The charts, in the order they are drawn: each chart module registers its
name, its title, how it draws and when it applies; plot_results.plot()
draws every one that applies, per workload."""

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Workload:
    """What a chart draws from: one workload's rows of a run, and what the
    run says of them."""
    csv_path: object
    style: str
    workload: str
    part: object                # its points, repetitions reduced to medians (data.load)
    rows: object                # every measured row as written: repetitions, search steps
    x: str = "connections"      # "idle_connections" when the sweep varies those
    ideal: object = None        # the CPU-bound ceiling on throughput (throughput.cpu_bound)
    slo_ms: object = None
    knee_rates: dict = field(default_factory=dict)
    rate_sweep: bool = False    # more than one offered rate: the knee chart
    rate_held: bool = False     # one offered rate every point held: throughput says nothing
    subtitle: str = ""          # the workload and the machine
    finding: str = None         # the run's finding, the story's headline
    titled: bool = True         # False: no title over a chart (a slide says it)


@dataclass
class Chart:
    """`name` may name the x axis ({x}); `draw(axes, workload)` returns False
    when it has nothing to draw (the chart is then not saved); `shape` is
    its grid of axes. A chart that makes its own figure (the story) gives
    `render(workload, stem, title)` instead, returning the paths written."""
    name: str
    title: str
    draw: Callable = None
    applies: Callable = lambda workload: True
    shape: tuple = (1, 1)
    render: Callable = None


CHARTS = []


def register(chart):
    CHARTS.append(chart)
    return chart
