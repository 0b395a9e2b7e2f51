"""pytest for `cmbench export`: its JSON validates against the schemas of
github-action-benchmark's custom tools and of the Bencher Metric Format
(tests/export/schemas), and its figures are each point's median, minimum
and maximum over the repetitions, computed here again with pandas from the
committed baseline (5 repetitions per point)."""

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pandas
import pytest

ROOT = Path(__file__).resolve().parents[2]
CMBENCH = Path(os.environ.get("CMBENCH_BIN", ROOT / "build/release/harness/cmbench"))
SCHEMAS = Path(__file__).parent / "schemas"
BASELINE = ROOT / "results/baselines/ci.csv"


def cmbench(*args):
    return subprocess.run([str(CMBENCH), *args], capture_output=True, text=True, timeout=60)


def schema(name):
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def repetitions():
    frame = pandas.read_csv(BASELINE, keep_default_na=False)
    frame = frame[frame["error"] == ""]
    return frame.groupby(["model", "workload", "connections"], sort=False)


def point_name(model, workload, connections):
    return f"{model} {workload or 'hello'} c={connections}"


@pytest.fixture(scope="module", autouse=True)
def built():
    if not CMBENCH.exists():
        pytest.fail(f"{CMBENCH} is not built (scripts/build)")


def test_bmf_validates_and_carries_median_and_bounds():
    result = cmbench("export", str(BASELINE), "--format", "bmf", "--metric", "rps,p99,cpu")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema("bmf"))
    groups = repetitions()
    assert len(document) == groups.ngroups
    for (model, workload, connections), rows in groups:
        measures = document[point_name(model, workload, connections)]
        for measure, column in [("throughput", "rps"), ("latency-p99-us", "latency_p99_us"),
                                ("server-cpu-us-per-request", "server_cpu_us_per_request")]:
            figures = measures[measure]
            assert figures["value"] == pytest.approx(rows[column].median(), abs=0.01)
            assert figures["lower_value"] == pytest.approx(rows[column].min(), abs=0.01)
            assert figures["upper_value"] == pytest.approx(rows[column].max(), abs=0.01)


def test_github_action_benchmark_writes_one_file_per_direction(tmp_path):
    prefix = tmp_path / "bench"
    result = cmbench("export", str(BASELINE), "--format", "github-action-benchmark",
                     "--metric", "rps,p50,p99", "-o", str(prefix))
    assert result.returncode == 0, result.stderr
    bigger = json.loads(Path(f"{prefix}-bigger.json").read_text())
    smaller = json.loads(Path(f"{prefix}-smaller.json").read_text())
    for document in (bigger, smaller):
        jsonschema.validate(document, schema("github-action-benchmark"))
    assert {entry["unit"] for entry in bigger} == {"req/s"}
    assert {entry["unit"] for entry in smaller} == {"us"}
    groups = repetitions()
    assert len(bigger) == groups.ngroups and len(smaller) == 2 * groups.ngroups
    by_name = {entry["name"]: entry for entry in bigger + smaller}
    for (model, workload, connections), rows in groups:
        name = point_name(model, workload, connections)
        rps = by_name[f"{name} rps"]
        assert rps["value"] == pytest.approx(rows["rps"].median(), abs=0.01)
        spread = max(rows["rps"].max() - rows["rps"].median(),
                     rows["rps"].median() - rows["rps"].min())
        assert rps["range"] == f"± {round(spread, 2):g}"
        assert f"median of {len(rows)} repetitions" in rps["extra"]
        assert by_name[f"{name} p99"]["value"] == pytest.approx(
            rows["latency_p99_us"].median(), abs=0.01)


def test_the_schemas_reject_what_dashboards_would():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"name": "x", "value": "fast", "unit": "req/s"}],
                            schema("github-action-benchmark"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"b": {"throughput": {"lower_value": 1}}}, schema("bmf"))


def test_bad_input_is_a_usage_error(tmp_path):
    assert cmbench("export", str(BASELINE), "--format", "bmf", "--metric", "speed").returncode == 2
    assert cmbench("export", str(BASELINE), "--format", "github-action-benchmark").returncode == 2
    torn = tmp_path / "other.csv"
    torn.write_text("a,b\n1,2\n")
    result = cmbench("export", str(torn), "--format", "bmf")
    assert result.returncode == 2 and "column" in result.stderr


def test_a_metric_the_run_did_not_measure_is_refused_and_error_rows_are_named(tmp_path):
    frame = pandas.read_csv(BASELINE, keep_default_na=False, dtype=str)
    frame["server_syscalls_per_request"] = ""  # a run without --syscalls
    failed = frame.iloc[[0]].copy()
    failed["model"], failed["error"] = "gone", "server 'gone' did not start"
    csv = tmp_path / "run.csv"
    pandas.concat([frame, failed]).to_csv(csv, index=False)

    refused = cmbench("export", str(csv), "--format", "bmf", "--metric", "rps,syscalls")
    assert refused.returncode == 1, refused.stderr
    assert "did not measure 'syscalls'" in refused.stderr and "--syscalls" in refused.stderr
    assert refused.stdout == ""

    exported = cmbench("export", str(csv), "--format", "bmf", "--metric", "rps")
    assert exported.returncode == 0, exported.stderr
    assert "left out gone cpu_us=20 c=8 (an error row: server 'gone' did not start)" \
        in exported.stderr
    assert not any(name.startswith("gone ") for name in json.loads(exported.stdout))
