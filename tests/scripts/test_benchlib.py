"""The arithmetic the benchmark scripts report with (scripts/benchlib.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import benchlib  # noqa: E402


def test_interruptions_count_the_long_loops_and_the_instants_they_make_late():
    # 2 s of a busy loop: a million 1 µs loops, 100 of 30 µs, 10 of 120 µs,
    # and 50 of exactly 20 µs, which are not longer than 20.
    histogram = {1: 1_000_000, 20: 50, 30: 100, 120: 10}
    per_second, late_share = benchlib.interruptions(histogram, 2.0, 20)
    assert per_second == pytest.approx(55.0)
    # 100 × 10 µs + 10 × 100 µs of instants more than 20 µs late, in 2 s.
    assert late_share == pytest.approx(2000 / 2e6)


def test_a_machine_that_never_interrupts_is_never_late():
    assert benchlib.interruptions({1: 5_000_000, 2: 7}, 5.0, 20) == (0.0, 0.0)
