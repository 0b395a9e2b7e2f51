"""pytest for plots/plot_results.py against committed fixtures: a slice of a
real why-multithreaded run (with its .hist and .timeline.csv files and its
manifest) and a short real rate sweep."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plots"))

import plot_results  # noqa: E402
from cmbplots import data as plots_data, style as plots_style  # noqa: E402
from cmbplots.charts import accepts as accepts_chart, cpu_kinds as cpu_kinds_chart  # noqa: E402
from cmbplots.charts import latency as latency_chart, ramp as ramp_chart, rate as rate_chart  # noqa: E402
from cmbplots.charts import search as search_chart, stages as stages_chart  # noqa: E402
from cmbplots.charts import throughput as throughput_chart  # noqa: E402
import matplotlib.colors  # noqa: E402
import matplotlib.container  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

CMBENCH = Path(os.environ.get("CMBENCH_BIN", ROOT / "build/release/harness/cmbench"))
FIXTURES = Path(__file__).parent / "fixtures"
WHY = FIXTURES / "why.csv"
KNEE = FIXTURES / "knee.csv"


def names(paths):
    return sorted(p.name for p in paths)


def test_load_drops_error_rows():
    frame = plots_data.load(WHY)
    assert "prefork" not in set(frame["model"])
    assert set(frame["model"]) == {"iterative", "epoll-workers"}
    iterative16 = frame[(frame["model"] == "iterative") & (frame["connections"] == 16)]
    assert iterative16["errors"].iloc[0] > 0  # its starved connections timed out


def test_load_takes_the_median_of_repetitions(tmp_path):
    lines = WHY.read_text().splitlines()
    header, row = lines[0], lines[1]
    columns = header.split(",")
    rps = columns.index("rps")
    repeated = [header]
    for i, value in enumerate(["100", "300", "200"]):
        fields = row.split(",")
        fields[rps] = value
        fields[columns.index("repetition")] = str(i + 1)
        repeated.append(",".join(fields))
    csv = tmp_path / "repeated.csv"
    csv.write_text("\n".join(repeated) + "\n")
    frame = plots_data.load(csv)
    assert len(frame) == 1
    assert frame["rps"].iloc[0] == pytest.approx(200)


def test_connection_sweep_draws_every_chart(tmp_path):
    paths = plot_results.plot(WHY, tmp_path)
    expected = {f"{chart}.{ext}" for chart in ("throughput_vs_connections", "latency_vs_connections",
                                               "latency_percentiles", "timeline", "resources", "story")
                for ext in ("png", "svg")}
    assert set(names(paths)) == expected
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000
        assert data.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in data[:2000]


def test_titles_carry_workload_and_machine(tmp_path):
    paths = plot_results.plot(WHY, tmp_path)
    svg = next(p for p in paths if p.name == "story.svg").read_text()
    assert "sleep_us=10000" in svg
    assert "2 cores" in svg


def test_rate_sweep_draws_the_knee_chart(tmp_path):
    paths = names(plot_results.plot(KNEE, tmp_path))
    assert "p99_vs_rate.png" in paths
    assert "throughput_vs_connections.png" not in paths  # one connection count: nothing to sweep


def circled_rates(csv_path):
    """The rates draw_rate circles, per model, and its SLO lines."""
    frame = plots_data.load(csv_path)
    slo, knee_rates = plots_data.knees(csv_path, "cpu_us=200")
    figure = plots_style.Figure("paper")
    ax = figure.axes[0]
    rate_chart.draw_rate(ax, frame, slo, knee_rates, "paper")
    circles = sorted(float(x) for c in ax.collections for x, _ in c.get_offsets())
    slo_lines = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"]
    figure.discard()
    return circles, slo_lines


def test_the_knee_and_slo_come_from_the_manifest(tmp_path):
    # The fixture's manifest, written by `cmbench run ... --slo-p99 25`.
    assert plots_data.knees(KNEE, "cpu_us=200") == (25.0, {"epoll": 3000.0, "epoll-workers": 3000.0})
    assert circled_rates(KNEE) == ([3000.0, 3000.0], [25.0])
    # Whatever the manifest says is drawn: the script has no knee rule of its own.
    csv = tmp_path / "knee.csv"
    shutil.copy(KNEE, csv)
    manifest = json.loads(KNEE.with_suffix(".json").read_text())
    manifest["summary"]["slo_p99_ms"] = 500
    manifest["summary"]["workloads"]["cpu_us=200"]["epoll"]["knee_rate"] = 6000
    manifest["summary"]["workloads"]["cpu_us=200"]["epoll-workers"]["knee_rate"] = None
    csv.with_suffix(".json").write_text(json.dumps(manifest))
    assert circled_rates(csv) == ([6000.0], [500.0])
    # No manifest: no knee and no SLO line, rather than a guess.
    csv.with_suffix(".json").unlink()
    assert circled_rates(csv) == ([], [])


def test_missing_artifacts_skip_only_their_charts(tmp_path):
    csv = tmp_path / "why.csv"
    shutil.copy(WHY, csv)  # without the why/ folder beside it, nor the manifest
    paths = names(plot_results.plot(csv, tmp_path / "out"))
    assert "throughput_vs_connections.png" in paths
    assert "latency_percentiles.png" not in paths
    assert "timeline.png" not in paths


def test_talk_style_draws_larger_images(tmp_path):
    paper = plot_results.plot(WHY, tmp_path / "paper", "paper")
    talk = plot_results.plot(WHY, tmp_path / "talk", "talk")
    paper_png = next(p for p in paper if p.name == "throughput_vs_connections.png")
    talk_png = next(p for p in talk if p.name == paper_png.name)
    assert talk_png.stat().st_size > paper_png.stat().st_size


def test_looks_come_from_the_manifest_and_are_fixed_per_model(tmp_path):
    # The knee fixture's manifest was written by an older cmbench: its
    # registry's colours then, with no marker (a circle).
    plots_style.use_looks_of(KNEE, ["epoll", "epoll-workers", "epoll:4"])
    assert plots_style.look("epoll") == ("#1f77b4", "circle")
    assert plots_style.model_colour("epoll-workers") == "#2ca02c"
    assert plots_style.model_colour("epoll:4") == "#1f77b4"  # its own --threads, same model
    # A manifest's colour and marker, as cmbench gives them.
    csv = tmp_path / "new.csv"
    shutil.copy(KNEE, csv)
    manifest = json.loads(KNEE.with_suffix(".json").read_text())
    manifest["models"] = [{"name": "epoll", "colour": "#0072b2", "marker": "circle"},
                          {"name": "fiber", "colour": "#0072B2", "marker": "square"},
                          {"name": "srv", "colour": ""}]  # an --external: none
    csv.with_suffix(".json").write_text(json.dumps(manifest))
    plots_style.use_looks_of(csv, ["epoll", "fiber", "srv", "other", "epoll:2"])
    assert plots_style.look("fiber") == ("#0072b2", "square")
    assert plots_style.line_look("fiber") == {"color": "#0072b2", "marker": "s"}
    assert plots_style.bar_look(["epoll", "fiber"])["hatch"] == ["", "//"]
    # Models the manifest gives no look get ones no other model of the run has,
    # from the palette.
    looks = [plots_style.look(m) for m in ["epoll", "fiber", "srv", "other"]]
    assert len(set(looks)) == 4
    assert all(colour in plots_style.PALETTE for colour, _ in looks)
    assert plots_style.look("epoll:2") == plots_style.look("epoll")


def test_main_prints_paths_and_rejects_other_csv(tmp_path, capsys):
    assert plot_results.main([str(WHY), "--out-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 12 and all(Path(p).exists() for p in printed)

    bogus = tmp_path / "bogus.csv"
    bogus.write_text("a,b\n1,2\n")
    assert plot_results.main([str(bogus), "--out-dir", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err


def test_accept_balance_is_drawn_busiest_first(tmp_path):
    """The committed accept-balance gallery run: one chart of connections
    per accepting thread, and the story chart's second panel."""
    assert accepts_chart.accept_counts("2987|8|6|0") == [2987, 8, 6, 0]
    assert accepts_chart.accept_counts("") == []
    sample = ROOT / "results" / "sample" / "accept-balance.csv"
    frame = plots_data.load(sample)
    assert frame["server_accepts_per_thread"].map(lambda f: len(accepts_chart.accept_counts(f))).min() == 4
    written = names(plot_results.plot(sample, tmp_path))
    assert "accepts_per_thread.png" in written and "story.png" in written


def write_sweep(path, workload, rows, server_cpus=None):
    """A results CSV of (model, connections, idle_connections, rps) rows, and
    a manifest naming the server's CPUs when given."""
    lines = ["model,workload,connections,rate,idle_connections,rps,latency_p50_us,latency_p99_us,error"]
    lines += [f"{m},{workload},{c},0,{i},{rps},100,200," for m, c, i, rps in rows]
    path.write_text("\n".join(lines) + "\n")
    if server_cpus is not None:
        path.with_suffix(".json").write_text(json.dumps({"server_cpus": server_cpus}))
    return path


def test_an_idle_connection_sweep_is_drawn_against_the_idle_count(tmp_path):
    csv = write_sweep(tmp_path / "idle.csv", "",
                      [("poll", 32, 0, 100000), ("poll", 32, 1000, 60000), ("poll", 32, 8000, 20000),
                       ("epoll", 32, 0, 100000), ("epoll", 32, 1000, 99000), ("epoll", 32, 8000, 98000)])
    paths = plot_results.plot(csv, tmp_path / "charts")
    assert {"throughput_vs_idle_connections.svg", "latency_vs_idle_connections.svg"} <= set(names(paths))
    assert "throughput_vs_connections.svg" not in names(paths)
    svg = (tmp_path / "charts" / "throughput_vs_idle_connections.svg").read_text()
    assert "idle connections (beside 32 active)" in svg
    assert "8,000" in svg


def test_a_pure_cpu_workload_is_drawn_against_its_ideal(tmp_path):
    rows = [("epoll", 16, 0, 40000), ("epoll", 256, 0, 39000)]
    csv = write_sweep(tmp_path / "cpu.csv", "cpu_us=20", rows, server_cpus=[0])
    plot_results.plot(csv, tmp_path / "charts")
    svg = (tmp_path / "charts" / "throughput_vs_connections.svg").read_text()
    assert "ideal: 50,000 req/s" in svg
    # Not for other workloads, nor without the server's CPUs.
    assert throughput_chart.cpu_bound(plots_data.load(csv), None) is None
    other = write_sweep(tmp_path / "sleep.csv", "sleep_us=20", rows, server_cpus=[0])
    assert throughput_chart.cpu_bound(plots_data.load(other), [0]) is None
    assert throughput_chart.cpu_bound(plots_data.load(csv), [0, 1]) == pytest.approx(100000)


def test_the_metrics_table_is_cmbenchs():
    """plots/metrics.json is `cmbench metrics --json`, so the chart script
    reads the columns and units from the one table (after changing it:
    build/release/harness/cmbench metrics --json > plots/metrics.json)."""
    if not CMBENCH.exists():
        pytest.fail(f"{CMBENCH} is not built (scripts/build)")
    printed = subprocess.run([str(CMBENCH), "metrics", "--json"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    assert json.loads(printed) == json.loads((ROOT / "plots" / "metrics.json").read_text())
    assert plots_data.column("p99") == "latency_p99_us"
    assert plots_data.METRICS["cpu"]["display_unit"] == "µs/request"


def test_repetitions_intervals_are_drawn_as_error_bars(tmp_path):
    """A point measured several times carries its median's interval
    (rps_lo/rps_hi, p99_lo_us/p99_hi_us): drawn as error bars; a point
    measured once has none."""
    frame = pd.read_csv(WHY, keep_default_na=False)
    frame["rps_lo"], frame["rps_hi"] = frame["rps"] * 0.9, frame["rps"] * 1.1
    frame["p99_lo_us"], frame["p99_hi_us"] = "", ""
    frame["outlier"] = ""
    csv = tmp_path / "why.csv"
    frame.to_csv(csv, index=False)
    part = plots_data.load(csv)
    figure, axes = plt.subplots(1, 2)
    throughput_chart.draw_throughput(axes[0], part, "paper")
    latency_chart.draw_latency(axes[1], part, "paper")
    bars = [c for c in axes[0].containers if isinstance(c, matplotlib.container.ErrorbarContainer)]
    assert len(bars) == part["model"].nunique()
    assert not [c for c in axes[1].containers
                if isinstance(c, matplotlib.container.ErrorbarContainer)]
    plt.close(figure)


def test_unsteady_points_are_drawn_hollow(tmp_path):
    """A point any of whose repetitions was not steady gets a hollow marker."""
    frame = pd.read_csv(WHY, keep_default_na=False)
    frame["steady"] = "yes"
    frame.loc[0, "steady"] = "no"
    csv = tmp_path / "why.csv"
    frame.to_csv(csv, index=False)
    part = plots_data.load(csv)
    assert (part["steady"] == "no").sum() == 1
    figure, ax = plt.subplots()
    throughput_chart.draw_throughput(ax, part, "paper")
    hollow = [c for c in ax.collections if len(c.get_offsets()) and
              (c.get_facecolors() == matplotlib.colors.to_rgba("white")).all()]
    assert len(hollow) == 1 and len(hollow[0].get_offsets()) == 1
    plt.close(figure)


SEARCH = FIXTURES / "search.csv"  # `cmbench run knee --models epoll --search rate --slo-p99 100ms -d 2s --warmup 500ms --busy-poll`


def test_a_search_is_drawn_as_its_path_with_the_rate_it_found(tmp_path):
    assert "search.png" in names(plot_results.plot(SEARCH, tmp_path))
    figure, ax = plt.subplots()
    assert search_chart.draw_search(ax, plots_data.read_rows(SEARCH), SEARCH, "cpu_us=200", "paper")
    found = json.loads(SEARCH.with_suffix(".json").read_text())["search"]["found"][0]
    lines = {line.get_linestyle(): line for line in ax.get_lines()}
    # The path: every step in the order the search measured it, the probe's
    # three left out; a rate measured again near the edge is drawn again.
    steps = list(lines["-"].get_xdata())
    assert len(steps) == found["points"] - 3
    assert [rate for i, rate in enumerate(steps) if i == 0 or rate != steps[i - 1]] == found["path"]
    # The rate found, from the manifest, and the SLO.
    assert lines["--"].get_xdata()[0] == found["max_rate"]
    assert lines[":"].get_ydata()[0] == 100.0
    plt.close(figure)
    # A run without a search has no search chart.
    assert "search.png" not in names(plot_results.plot(KNEE, tmp_path / "knee"))


RAMP = FIXTURES / "ramp.csv"  # `cmbench run --models epoll,thread-pool --workload cpu_us=200 --ramp 1000:6000`


def test_a_ramp_is_drawn_as_p99_against_the_rate_offered_each_second(tmp_path):
    assert "p99_vs_offered_rate.png" in names(plot_results.plot(RAMP, tmp_path))
    frame = plots_data.load(RAMP)
    figure, ax = plt.subplots()
    assert ramp_chart.draw_ramp(ax, frame, RAMP, "paper")
    drawn = {line.get_label(): line for line in ax.get_lines() if line.get_linestyle() == "-"}
    assert set(drawn) == {"epoll", "thread-pool"}
    for model, line in drawn.items():
        artifacts = frame[frame["model"] == model]["artifacts"].iloc[0]
        timeline = pd.read_csv(FIXTURES / f"{artifacts}.timeline.csv")
        assert list(line.get_xdata()) == list(timeline["offered_rps"])
        assert list(line.get_ydata()) == list(timeline["p99_us"] / 1000)
    plt.close(figure)
    # A run without a ramp has no such chart.
    assert "p99_vs_offered_rate.png" not in names(plot_results.plot(KNEE, tmp_path / "knee"))


def test_where_the_time_goes_stacks_each_models_stages(tmp_path):
    """One bar per model with stages, at its largest connection count,
    stacked in stage order; a model without stages (nginx, an external) is
    left out, and a CSV without them gets no such chart."""
    frame = pd.read_csv(WHY, keep_default_na=False)
    stages = {"iterative": [650_000, 3, 10_200, 80, 150], "epoll-workers": [150, 71_000, 10_300, 180, 200]}
    for stage in stages_chart.STAGES:
        frame[f"{stage}_mean_us"] = ""
    for model, means in stages.items():
        for stage, mean in zip(stages_chart.STAGES, means):
            frame.loc[frame["model"] == model, f"{stage}_mean_us"] = mean
    csv = tmp_path / "why.csv"
    frame.to_csv(csv, index=False)
    part = plots_data.load(csv)
    figure, ax = plt.subplots()
    assert stages_chart.draw_stages(ax, part)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["iterative (c=16)", "epoll-workers (c=16)"]
    assert [c.get_label() for c in ax.containers] == stages_chart.STAGES
    widths = [[bar.get_width() for bar in c] for c in ax.containers]
    assert widths[0] == pytest.approx([650, 0.15]) and widths[1] == pytest.approx([0.003, 71])
    labels = [t.get_text() for t in ax.texts]
    # The wide segment is named inside; a narrow one that holds most of its
    # bar, beside the bar's total (its words would spill out of it).
    assert "inbound 650 ms" in labels and "81.8 ms\nqueued 71" in labels
    assert "queued 71 ms" not in labels
    plt.close(figure)
    written = names(plot_results.plot(csv, tmp_path / "charts"))
    assert "where_the_time_goes.png" in written and "story.png" in written
    assert "where_the_time_goes.png" not in names(plot_results.plot(WHY, tmp_path / "without"))


def test_where_the_cpu_goes_stacks_each_profiled_models_kinds(tmp_path):
    """One bar per profiled model, at its largest connection count, stacked
    by kind in the metrics table's order and adding up to its CPU per
    request; an unprofiled model is left out, and a CSV without the kinds
    gets no such chart."""
    frame = pd.read_csv(WHY, keep_default_na=False)
    assert cpu_kinds_chart.CPU_KINDS[0] == "parsing" and cpu_kinds_chart.CPU_KINDS[-1] == "other"
    for kind in cpu_kinds_chart.CPU_KINDS:
        frame[f"cpu_{kind}_us_per_request"] = ""
    profiled = frame["model"] == "epoll-workers"
    for i, kind in enumerate(cpu_kinds_chart.CPU_KINDS):
        frame.loc[profiled, f"cpu_{kind}_us_per_request"] = i + 1.0
    # cmbench's warning when the samples are an interpreter's (profiler.cpp).
    frame.loc[profiled, "warnings"] = ("profile: the frames are python3's interpreter's, so the "
                                       "server's own code shows as other")
    csv = tmp_path / "profiled.csv"
    frame.to_csv(csv, index=False)
    part = plots_data.load(csv)
    figure, ax = plt.subplots()
    assert cpu_kinds_chart.draw_cpu_kinds(ax, part)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "epoll-workers (c=16)\ninterpreter's frames: its code is other"]
    assert [c.get_label() for c in ax.containers] == cpu_kinds_chart.CPU_KINDS
    assert [c[0].get_width() for c in ax.containers] == pytest.approx(
        [i + 1.0 for i in range(len(cpu_kinds_chart.CPU_KINDS))])
    total = sum(range(1, len(cpu_kinds_chart.CPU_KINDS) + 1))
    assert f" {total:.1f}" in [t.get_text() for t in ax.texts]
    plt.close(figure)
    assert "where_the_cpu_goes.png" in names(plot_results.plot(csv, tmp_path / "charts"))
    assert "where_the_cpu_goes.png" not in names(plot_results.plot(WHY, tmp_path / "without"))


def test_where_the_time_goes_counts_the_requests_never_answered(tmp_path):
    """Each bar is the mean over every request sent: the stages scaled by the
    share answered, and the never answered as a segment of their own, with
    their count; a model that answered nothing is all never answered."""
    frame = pd.read_csv(WHY, keep_default_na=False)
    for stage in stages_chart.STAGES:
        frame[f"{stage}_mean_us"] = ""
    for name in ("unanswered", "unanswered_age_mean_us", "unanswered_wait_us",
                 "connections_unanswered"):
        frame[name] = 0
    iterative = frame["model"] == "iterative"
    for stage, mean in zip(stages_chart.STAGES, [100, 3, 10_000, 80, 150]):
        frame.loc[iterative, f"{stage}_mean_us"] = mean
    # 300 answered, 100 never: the stages count for 3/4, the wait for the rest.
    frame.loc[iterative, "requests"] = 300
    frame.loc[iterative, ["unanswered", "unanswered_age_mean_us", "unanswered_wait_us"]] = \
        [100, 2_000_000, 500_000]
    silent = frame["model"] == "epoll-workers"
    frame.loc[silent, ["requests", "rps"]] = 0
    frame.loc[silent, ["unanswered", "unanswered_age_mean_us", "unanswered_wait_us",
                       "connections_unanswered"]] = [16, 2_000_000, 2_000_000, 16]
    csv = tmp_path / "why.csv"
    frame.to_csv(csv, index=False)
    part = plots_data.load(csv)
    figure, ax = plt.subplots(figsize=(12, 4))
    assert stages_chart.draw_stages(ax, part)
    assert [c.get_label() for c in ax.containers] == stages_chart.STAGES + ["never answered"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "iterative (c=16)", "epoll-workers (c=16)\n16 never answered"]
    widths = {c.get_label(): [bar.get_width() for bar in c] for c in ax.containers}
    assert widths["service"] == pytest.approx([7.5, 0])
    assert widths["never answered"] == pytest.approx([500, 2000])
    total = sum(w[0] for w in widths.values())
    assert total == pytest.approx(0.75 * 10.333 + 500, rel=1e-3)
    labels = [t.get_text() for t in ax.texts]
    # Inside the segment where the words fit, else beside the bar's total.
    assert "never answered 2000 ms" in labels
    assert "never answered 500 ms" in labels or "508 ms\nnever answered 500" in labels
    plt.close(figure)


def test_a_wait_the_server_knows_of_is_its_stages_even_when_never_answered():
    """What the server held waiting for a worker as the window closed is
    drawn in its stage, hatched; the rest of the never answered, which it
    could not know of, stays a segment of its own; and the server's count
    never takes more than the client's."""
    busiest = pd.DataFrame({
        "model": ["thread-pool", "epoll-workers"], "requests": [300, 900],
        "unanswered": [100, 100], "unanswered_age_mean_us": [2_000_000, 40_000],
        "unanswered_wait_us": [500_000, 4_000],
        "inbound_waiting": [60, 0], "inbound_waiting_age_mean_us": [2_500_000, 0],
        "queued_waiting": [0, 90], "queued_waiting_age_mean_us": [0, 50_000],
        **{f"{stage}_mean_us": [0, 0] for stage in stages_chart.STAGES}})
    segments = stages_chart.stage_segments(busiest)
    # The pool: 60 x 2.5 s over 400 sent = 375 ms known, 125 ms not.
    assert segments["inbound, never answered"] == pytest.approx([375, 0])
    # The workers: 90 x 50 ms over 1000 sent = 4.5 ms, more than the
    # client's 4 ms never answered: taken down to it.
    assert segments["queued, never answered"] == pytest.approx([0, 4])
    assert segments["never answered"] == pytest.approx([125, 0])


def test_a_panel_with_nothing_to_say_is_left_out(tmp_path):
    """One offered rate that every point held: no throughput chart (it would
    draw that rate); one that fell short keeps it. A one-second timeline is
    a dot: no timeline chart."""
    def run(name, frame):
        """The fixture's rows as `frame` says, with its per-point files."""
        folder = tmp_path / name
        shutil.copytree(FIXTURES / "why", folder / "why")  # the artifacts' folder
        frame.to_csv(folder / "why.csv", index=False)
        return folder

    frame = pd.read_csv(WHY, keep_default_na=False)
    frame["rate"], frame["warnings"] = 500, ""
    held = run("held", frame)
    written = names(plot_results.plot(held / "why.csv", held / "charts"))
    assert "throughput_vs_connections.png" not in written
    assert {"latency_vs_connections.png", "story.png", "timeline.png"} <= set(written)
    frame.loc[frame.index[0], "warnings"] = "the target rate was not reached: 410.0 req/s"
    short = run("short", frame)
    assert "throughput_vs_connections.png" in names(
        plot_results.plot(short / "why.csv", short / "charts"))

    one = run("one", pd.read_csv(WHY, keep_default_na=False))
    for timeline in (one / "why").glob("*.timeline.csv"):
        lines = timeline.read_text().splitlines()
        timeline.write_text("\n".join(lines[:2]) + "\n")  # the header and one second
    assert "timeline.png" not in names(plot_results.plot(one / "why.csv", one / "charts"))
