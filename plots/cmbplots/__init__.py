"""cmbench's charts: data.py reads a run, style.py is how every chart looks,
registry.py the list of charts, and charts/ one module per chart, each
registering itself (plot_results.py draws them all)."""

import matplotlib

matplotlib.use("Agg")  # no display: files only, before pyplot is imported anywhere
