"""Reading a run: its results CSV (measured rows, repetitions reduced to
medians), the manifest beside it, each point's .hist and .timeline.csv, and
cmbench's metrics table (metrics.json), which names the columns."""

import json
import re
from pathlib import Path

import pandas as pd


# cmbench's metrics table (harness/results/metrics.cpp), as `cmbench metrics
# --json` writes it: which column holds a figure and its unit; with the
# server's stages in order and the CSV's text columns, which the chart script
# keeps no list of its own of.
TABLE = json.loads((Path(__file__).resolve().parent.parent / "metrics.json").read_text())
METRICS = {m["name"]: m for m in TABLE["metrics"]}
TEXT_COLUMNS = TABLE["text_columns"]


def column(metric):
    """The CSV column of one of cmbench's metrics ("p99" -> "latency_p99_us")."""
    return METRICS[metric]["columns"][0]


RPS, P50, P99 = column("rps"), column("p50"), column("p99")
REQUIRED_COLUMNS = ["model", "workload", "connections", RPS, P50, P99, "error"]


# How cmbench's `warnings` column says a point fell short of its offered
# rate (loadgen/report.cpp: warnings); the rule is the load generator's.
RATE_NOT_REACHED = "the target rate was not reached"


def read_rows(csv_path):
    """The measured rows of a results CSV as written, each repetition and a
    search's every step (the text columns as text, the rest as numbers)."""
    text = TEXT_COLUMNS
    frame = pd.read_csv(csv_path, keep_default_na=False,
                        dtype={c: str for c in text if c != "timestamp"})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv_path}: not a cmbench results CSV (missing {', '.join(missing)})")
    frame = frame[frame["error"] == ""].copy()
    if frame.empty:
        raise ValueError(f"{csv_path}: no measured rows (every point has an error)")
    if "rate" not in frame.columns:
        frame["rate"] = 0
    if "idle_connections" not in frame.columns:
        frame["idle_connections"] = 0
    if "artifacts" not in frame.columns:
        frame["artifacts"] = ""
    numeric = [c for c in frame.columns if c not in text]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    error_columns = [c for c in frame.columns if c.startswith("errors_")]
    frame["errors"] = frame[error_columns].sum(axis=1) if error_columns else 0
    return frame


def medians(rows):
    """Each point's repetitions reduced to their medians (its text: the
    first repetition's, its warnings every one's)."""
    keys = ["workload", "model", "rate", "connections", "idle_connections"]
    numeric = [c for c in rows.columns if c not in TEXT_COLUMNS and c != "errors"]
    figures = [c for c in numeric if c not in keys and c not in ("repetition",)] + ["errors"]
    agg = {c: "median" for c in figures}
    agg["errors"] = "sum"
    agg["artifacts"] = "first"
    if "server_accepts_per_thread" in rows.columns:
        agg["server_accepts_per_thread"] = "first"  # text: the first repetition's
    if "ramp" in rows.columns:
        agg["ramp"] = "first"
    if "warnings" in rows.columns:  # every repetition's
        agg["warnings"] = lambda values: "; ".join(v for v in values if v)
    if "steady" in rows.columns:  # a point is unsteady if any repetition was
        agg["steady"] = lambda values: "no" if (values == "no").any() else "yes"
    return rows.groupby(keys, sort=False).agg(agg).reset_index()


def load(csv_path):
    """The measured rows of a results CSV, repetitions reduced to medians."""
    return medians(read_rows(csv_path))


def search_steps(rows, workload):
    """The rows of a workload's rate searches (run --search rate), each step
    as measured."""
    return rows[(rows["workload"] == workload) & rows["search_step"].notna()]


def manifest(csv_path):
    """The manifest beside a results CSV, or {} when there is none."""
    try:
        return json.loads(Path(csv_path).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def knees(csv_path, workload):
    """(SLO in ms, {model: knee rate or None}) for one workload, as the
    manifest's summary gives them; (None, {}) without one. cmbench computes
    the knee (harness/results/summary.cpp); this script only draws it."""
    summary = manifest(csv_path).get("summary") or {}
    models = (summary.get("workloads") or {}).get(workload, {})
    return summary.get("slo_p99_ms"), {m: f.get("knee_rate") for m, f in models.items()}


def machine_label(csv_path):
    m = manifest(csv_path)
    if not m:
        return ""
    kernel = m.get("kernel", "").split()
    return (f"{m.get('cores', '?')} cores, {m.get('cpu_model', '').strip()}, "
            f"Linux {kernel[1] if len(kernel) > 1 else '?'}"
            + (", profiled with perf" if m.get("profile") else ""))


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")


def busiest_points(part):
    """Per model, the point at its largest connection count (idle ones too, and rate)."""
    return (part.assign(held=part["connections"] + part["idle_connections"])
            .sort_values(["held", "rate"]).groupby("model", sort=False).tail(1))


def read_hist(csv_path, artifacts):
    """(percentile, value in ms) pairs from a point's .hist file."""
    path = Path(csv_path).parent / f"{artifacts}.hist"
    rows = []
    try:
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and not line.startswith("#") and re.match(r"^[\d.]+$", fields[0]):
                try:
                    rows.append((float(fields[1]), float(fields[0]) / 1000))
                except ValueError:
                    pass
    except OSError:
        return []
    return rows


def read_timeline(csv_path, artifacts):
    """A point's .timeline.csv, or None when it is missing or empty."""
    try:
        timeline = pd.read_csv(Path(csv_path).parent / f"{artifacts}.timeline.csv")
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None
    return None if timeline.empty else timeline


def searches(csv_path, workload):
    """(SLO in ms, [the manifest's found rates for one workload])."""
    search = manifest(csv_path).get("search") or {}
    return search.get("slo_p99_ms"), [f for f in search.get("found", [])
                                      if f.get("workload") == workload]


def finding_of(csv_path):
    """The story chart's title: the scenario's expected shape when every claim
    cmbench judged held, else how many did not, else its question."""
    m = manifest(csv_path)
    verdicts = m.get("expectations") or []
    failed = [v for v in verdicts if v.get("held") is False]
    if failed:
        return f"Not as expected on this machine: {len(failed)} of {len(verdicts)} claims did not hold"
    if verdicts and any(v.get("held") for v in verdicts):
        return m.get("expect") or None
    return m.get("question") or None
