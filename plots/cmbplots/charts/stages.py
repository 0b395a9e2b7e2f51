"""Where the time goes inside each own model: inbound, queued, service,
outbound, and what they leave of the client's mean."""

from ..data import TABLE, busiest_points, column
from ..style import axis_inches, legend_outside, ms, text_fits, text_inches, type_size
from ..registry import Chart, register


STAGES = TABLE["stages"] + ["unaccounted"]


# From Okabe and Ito's palette too, light enough for black type inside.
STAGE_COLOURS = {"inbound": "#56b4e9", "queued": "#e69f00", "service": "#009e73",
                 "outbound": "#cc79a7", "unaccounted": "#d9d9d9", "never answered": "#d55e00"}


NEVER = "never answered"


# The stages a request can wait in for a worker, which the server counts as
# the window closes (the CSV's STAGE_waiting columns), drawn in the stage's
# colour, hatched.
WAITING_STAGES = ["inbound", "queued"]


def counts_unanswered(part):
    """Whether the CSV counts the requests never answered (runs from before
    it did have no such columns)."""
    return column("unanswered") in part.columns and column("unanswered_wait") in part.columns


def staged_points(part):
    """Per model with stages (not nginx or an external), its busiest point;
    and a point that answered nothing at all, whose bar is all never answered."""
    columns = [column(stage) for stage in STAGES]
    if any(c not in part.columns for c in columns):
        return part.iloc[0:0]
    busiest = busiest_points(part)
    staged = busiest[columns[:4]].notna().all(axis=1)
    if counts_unanswered(part):
        staged |= (busiest["requests"] == 0) & (busiest[column("unanswered")] > 0)
    return busiest[staged]


def stage_segments(busiest):
    """Each bar's segments in ms, in order, from the client's mean over every
    request sent: a stage's mean over the answered, scaled by the share
    answered; then the never answered's age over every request sent
    (unanswered_wait_us), split where the server knew what waited for a
    worker as the window closed (STAGE_waiting: that wait is its stage's,
    "STAGE, never answered") from the rest, which it did not know of
    ("never answered": the kernel's backlog or unread bytes). Their sum is
    that mean."""
    answered = busiest["requests"].astype(float)
    unanswered = busiest[column("unanswered")].astype(float) if counts_unanswered(busiest) else 0
    sent = answered + unanswered
    share = (answered / sent).fillna(0)
    segments = {stage: (busiest[column(stage)].fillna(0).clip(lower=0) * share / 1000).tolist()
                for stage in STAGES}
    if not counts_unanswered(busiest):
        return segments
    never = busiest[column("unanswered_wait")].astype(float) / 1000
    known = {stage: (busiest[f"{stage}_waiting"].fillna(0) *
                     busiest[f"{stage}_waiting_age_mean_us"].fillna(0) / sent / 1000).fillna(0)
             for stage in WAITING_STAGES if f"{stage}_waiting" in busiest.columns}
    # The server's count of a wait (since accept) may run ahead of the
    # client's (since send): never more than the client's never answered.
    total = sum(known.values()) if known else 0 * never
    scale = (never / total).where(total > never, 1).fillna(1)
    for stage, wait in known.items():
        if (wait > 0).any():
            segments[f"{stage}, {NEVER}"] = (wait * scale).tolist()
    segments[NEVER] = (never - total * scale).clip(lower=0).tolist()
    return segments


def starved_label(point):
    """"\n63 never answered" under a model's name when connections got no
    response all window long (starved clients), else ""."""
    starved = point.get("connections_unanswered", 0)
    return f"\n{int(starved)} never answered" if starved and starved > 0 else ""


def segment_labels(ax, segments, totals, span):
    """({(stage, bar): label} drawn inside their segments, [label beside each
    bar]): a segment is named inside when the words fit there; the one that
    holds most of a bar is named beside its total, under it, when they do
    not."""
    inside, beside = {}, [f"{ms(total)} ms" for total in totals]
    for stage, widths in segments.items():
        for i, width in enumerate(widths):
            label = f"{stage} {ms(width)} ms"
            if text_fits(ax, width, span, label):
                inside[(stage, i)] = label
            elif width > 0.5 * totals[i]:
                beside[i] += f"\n{stage} {ms(width)}"
    return inside, beside


def draw_stages(ax, part):
    """Where the time goes: per model, at its largest connection count, one
    horizontal bar of the client's mean over every request sent (the
    answered at their latency, the never answered at their age), stacked
    from the four stages and the unaccounted rest, each as its share of that
    mean, and the requests never answered as a segment of its own, labelled
    with how many. A segment is named inside when the words fit there; the
    one that holds most of a bar is named beside its total when they do not.
    Models without stages (nginx, externals) are left out; a negative rest
    (the stages' means above the client's) draws as 0."""
    busiest = staged_points(part)
    if busiest.empty:
        return False
    models = list(busiest["model"])
    segments = stage_segments(busiest)
    totals = [sum(values) for values in zip(*segments.values())]
    # The axis runs far enough that each bar's label beside it fits too.
    span = max(totals) * 1.3 or 1
    for _ in range(2):
        inside, beside = segment_labels(ax, segments, totals, span)
        span = max(span, *[total / max(0.3, 1 - text_inches(text, "x-small") / axis_inches(ax))
                          for total, text in zip(totals, beside)])
    ax.set_xlim(0, span)
    left = [0.0] * len(models)
    for stage, widths in segments.items():
        base = stage.split(",")[0]  # "inbound, never answered": inbound's colour, hatched
        waited = base != stage
        ax.barh(range(len(models)), widths, left=left, label=stage,
                color=STAGE_COLOURS[base], hatch="//" if waited else None,
                edgecolor=STAGE_COLOURS[NEVER] if waited else "white", linewidth=0.5)
        for i, width in enumerate(widths):
            if (stage, i) in inside:
                ax.text(left[i] + width / 2, i, inside[(stage, i)], ha="center", va="center",
                        fontsize=type_size("x-small"))
        left = [a + b for a, b in zip(left, widths)]
    for i, total in enumerate(totals):
        ax.text(total + 0.01 * span, i, beside[i], va="center", fontsize=type_size("x-small"))
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels([f"{m} (c={int(c)})" + starved_label(point)
                        for m, c, (_, point) in zip(models, busiest["connections"],
                                                    busiest.iterrows())], fontsize=type_size("small"))
    ax.invert_yaxis()
    ax.set_xlabel("mean time per request sent (ms)")
    ax.set_title("Where the time goes, inside the server" + (
        "" if counts_unanswered(busiest)
        else "\n(an older run: requests never answered not counted)"))
    ax.grid(True, axis="x", alpha=0.3)
    legend_outside(ax)
    return True


register(Chart("where_the_time_goes", "Where the time goes",
               lambda axes, w: draw_stages(axes[0], w.part)))
