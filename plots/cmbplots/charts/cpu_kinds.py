"""(run --profile) the server's CPU per request by kind, per model."""

from ..data import METRICS, busiest_points, column
from ..style import legend_outside, type_size
from ..registry import Chart, register


# Where the CPU goes (run --profile): the kinds as cmbench's metrics table
# names them (cpu_KIND), in its order, each a colour of the palette.
CPU_KINDS = [name[len("cpu_"):] for name in METRICS if name.startswith("cpu_")]


INTERPRETER_FRAMES = "interpreter's, so the server's own code shows as other"


CPU_KIND_COLOURS = ["#e69f00", "#009e73", "#cc79a7", "#d55e00", "#f0e442", "#56b4e9",
                    "#0072b2", "#d9d9d9"]


def profiled_points(part):
    """Whether some point of `part` was profiled (run --profile)."""
    columns = [column(f"cpu_{kind}") for kind in CPU_KINDS]
    return all(c in part.columns for c in columns) and bool(part[columns].notna().all(axis=1).any())


def draw_cpu_kinds(ax, part):
    """Where the CPU goes: per profiled model, at its busiest point, one
    horizontal bar of its CPU per request stacked by kind (perf's samples'
    shares, harness/results/cpu_kinds.hpp). Unprofiled models are left out."""
    columns = [column(f"cpu_{kind}") for kind in CPU_KINDS]
    if any(c not in part.columns for c in columns):
        return False
    busiest = busiest_points(part)
    busiest = busiest[busiest[columns].notna().all(axis=1)]
    if busiest.empty:
        return False
    models = list(busiest["model"])
    left = [0.0] * len(models)
    for kind, name, colour in zip(CPU_KINDS, columns, CPU_KIND_COLOURS):
        widths = busiest[name].tolist()
        ax.barh(range(len(models)), widths, left=left, label=kind, color=colour,
                edgecolor="white", linewidth=0.5)
        left = [a + b for a, b in zip(left, widths)]
    for i, total in enumerate(left):
        ax.text(total, i, f" {total:.1f}", va="center", fontsize=type_size("x-small"))
    ax.set_xlim(0, max(left) * 1.15 or 1)
    ax.set_yticks(range(len(models)))
    # cmbench's warning for a profile whose frames are an interpreter's.
    interpreted = (busiest["warnings"].str.contains(INTERPRETER_FRAMES, regex=False)
                   if "warnings" in busiest else [False] * len(models))
    ax.set_yticklabels([f"{m} (c={int(c)})" + ("\ninterpreter's frames: its code is other"
                                                if frames else "")
                        for m, c, frames in zip(models, busiest["connections"], interpreted)],
                       fontsize=type_size("small"))
    ax.invert_yaxis()
    ax.set_xlabel("CPU per request (µs), by where perf found it")
    ax.set_title("CPU per request, by kind (perf's samples)")
    ax.grid(True, axis="x", alpha=0.3)
    legend_outside(ax)
    return True


register(Chart("where_the_cpu_goes", "Where the CPU goes",
               lambda axes, w: draw_cpu_kinds(axes[0], w.part)))
