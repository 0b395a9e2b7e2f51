"""One module per chart, each registering itself (registry.py); imported
here in the order the charts are drawn."""

from . import rate, throughput, latency, ramp, search, percentiles, timeline  # noqa: F401
from . import resources, accepts, stages, cpu_kinds, story  # noqa: F401
