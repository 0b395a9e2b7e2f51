"""pytest for plots/plot_results.py against the committed fixture CSV."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plots"))

import plot_results  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "sample.csv"


def test_load_drops_error_rows_and_takes_median_of_repetitions():
    frame = plot_results.load(FIXTURE)
    assert "prefork" not in set(frame["model"])
    tpc16 = frame[(frame["model"] == "thread-per-connection") & (frame["connections"] == 16)
                  & (frame["workload"] == "sleep_us=10000")]
    assert len(tpc16) == 1
    assert tpc16["rps"].iloc[0] == pytest.approx(1565.0)
    iterative16 = frame[(frame["model"] == "iterative") & (frame["connections"] == 16)]
    assert iterative16["errors"].iloc[0] == 30


def test_plot_writes_png_and_svg_per_chart_and_workload(tmp_path):
    paths = plot_results.plot(FIXTURE, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(
        f"{chart}_vs_connections-{workload}.{ext}"
        for chart in ("throughput", "p99")
        for workload in ("sleep_us=10000", "hello")
        for ext in ("png", "svg")
    )
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG")
        else:
            assert b"<svg" in data[:2000]


def test_talk_style_draws_larger_images(tmp_path):
    paper = plot_results.plot(FIXTURE, tmp_path / "paper", "paper")
    talk = plot_results.plot(FIXTURE, tmp_path / "talk", "talk")
    paper_png = next(p for p in paper if p.suffix == ".png")
    talk_png = next(p for p in talk if p.name == paper_png.name)
    assert talk_png.stat().st_size > paper_png.stat().st_size


def test_colours_are_fixed_per_model():
    assert plot_results.model_colour("iterative") == plot_results.MODEL_COLOURS["iterative"]
    first = plot_results.model_colour("some-new-model")
    assert plot_results.model_colour("some-new-model") == first
    assert first not in plot_results.MODEL_COLOURS.values()


def test_main_prints_paths_and_rejects_other_csv(tmp_path, capsys):
    assert plot_results.main([str(FIXTURE), "--out-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 8 and all(Path(p).exists() for p in printed)

    bogus = tmp_path / "bogus.csv"
    bogus.write_text("a,b\n1,2\n")
    assert plot_results.main([str(bogus), "--out-dir", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err
