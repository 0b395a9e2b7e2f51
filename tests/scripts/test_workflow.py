"""The CI workflow (.github/workflows/bench.yml) as shipped: actionlint finds
nothing in it, and its shell steps, run by hand as a pull request would run
them, write a job summary of this run's tables only and fail no step."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "bench.yml"
CMBENCH = ROOT / "build" / "release" / "harness" / "cmbench"
# A short sweep: the steps and their files are under test, not the numbers.
RUN_FLAGS = "--models epoll,select -d 300ms --warmup 100ms --repeat 3"


def lint(*files):
    return subprocess.run([ROOT / "scripts" / "lint-workflows", *files], capture_output=True,
                          text=True, timeout=120)


def test_actionlint_finds_nothing_in_the_workflow():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_find_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    steps:\n      - run: echo hi\n")
    result = lint(broken)
    assert result.returncode == 1
    assert '"runs-on" section is missing' in result.stdout


def condition_holds(condition, out):
    """The workflow's `if:` as a pull request with no Bencher token sees it:
    the few expressions it uses, each evaluated; anything else fails."""
    def files(pattern):
        relative = pattern.removeprefix("bench-out/")
        return "x" if list(out.glob(relative)) else ""
    text = re.sub(r"hashFiles\('([^']*)'\)", lambda m: repr(files(m.group(1))), condition)
    text = (text.replace("always()", "True").replace("&&", " and ")
            .replace("github.event_name", "'pull_request'")
            .replace("env.BENCHER_API_TOKEN", "''"))
    assert re.fullmatch(r"[\sA-Za-z_'x!=]*", text), f"an expression this test cannot read: {text}"
    return eval(text)  # noqa: S307: only the literals and operators checked above


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Every step of the workflow's job, in order, as GitHub would run it on a
    pull request: shell steps run here (those that install and build are the
    suite's own set-up, already done), action steps only have their inputs
    checked. The base and the head are this build, twice."""
    assert CMBENCH.exists(), "build cmbench first (scripts/build)"
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["regression"]
    work = tmp_path_factory.mktemp("workflow")
    out = work / "bench-out"
    summary = work / "summary.md"
    env = dict(os.environ, OUT=str(out), RUN_FLAGS=RUN_FLAGS, GITHUB_STEP_SUMMARY=str(summary),
               BENCHER_API_TOKEN="")
    steps = []
    for step in job["steps"]:
        name = step.get("name", step.get("uses", ""))
        if "if" in step and not condition_holds(step["if"], out):
            steps.append((name, "skipped", None))
            continue
        if "uses" in step:
            for key in ("output-file-path", "path"):
                if key in step.get("with", {}):
                    target = out / step["with"][key].removeprefix("bench-out/")
                    if not step["uses"].startswith("actions/checkout"):
                        assert target.exists(), f"{name}: its input {target} is missing"
            steps.append((name, "action", None))
            continue
        if name.startswith("Install"):
            steps.append((name, "set-up", None))
            continue
        step_env = dict(env)
        for key, value in step.get("env", {}).items():
            step_env[key] = {"${{ github.event.pull_request.base.sha }}": str(CMBENCH),
                             "HEAD": str(CMBENCH)}.get(value, value)
        result = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=ROOT,
                                env=step_env, capture_output=True, text=True, timeout=600)
        steps.append((name, result.returncode, result.stdout + result.stderr))
    text = summary.read_text() if summary.exists() else ""
    yield steps, text, out
    shutil.rmtree(work, ignore_errors=True)


def test_no_step_fails_on_unchanged_code(ran):
    steps, _, _ = ran
    gate = [s for s in steps if s[0].startswith("A/B")]
    assert gate and gate[0][1] in (0, 1), gate
    for name, status, output in steps:
        if name.startswith("A/B"):
            continue  # below: its exit is its verdict
        assert status in ("skipped", "action", "set-up", 0), f"{name} exited {status}:\n{output}"


def test_the_gate_exits_as_its_verdict_says(ran):
    steps, text, _ = ran
    (name, status, output), = [s for s in steps if s[0].startswith("A/B")]
    regressed = "### cmbench compare: **regression" in text
    assert (status == 1) == regressed, output


def test_the_summary_holds_this_runs_tables_only(ran):
    _, text, out = ran
    assert "## The gate: base (A) against head (B), on this runner" in text
    assert "## The head's run" in text
    assert f"A = {CMBENCH}, B = {CMBENCH}" in text
    # The committed samples in results/bench/ are not this run's.
    assert "ab-handler-20pct-slower" not in text and "handler 20 % slower" not in text
    assert text.count("### cmbench compare:") == 1
    for produced in ("ab.csv", "ab.md", "ci.csv", "bench-bigger.json", "bench-smaller.json",
                     "bmf.json"):
        assert (out / produced).exists(), produced
