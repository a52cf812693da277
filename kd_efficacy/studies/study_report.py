"""Study reports: the tables of each study kind, built from run directories alone.

``build(study_dir, kind)`` reads every run's ``planned.json``/``result.json``, rewrites
``summary.csv`` and writes ``report.md``. It needs no gin config, so
``python -m kd_efficacy.report <study_dir>`` rebuilds a report from copied directories.
"""

import json
import os

from kd_efficacy import atomic_io
from kd_efficacy.report import report, tables
from kd_efficacy.studies import summary

STUDY_JSON = "study.json"
TITLES = {
    "capacity_gap": "Capacity gap: student accuracy against teacher size",
    "early_stopping": "Early stopping: early-stopped teachers and ESKD",
    "sequential": "Sequential KD: chains through mid-sized models",
    "ensemble": "Ensembles of chained, independent and distilled models",
}
HEADERS = {
    "teacher_params": "teacher params",
    "teacher_accuracy": "teacher acc",
    "test_accuracy": "student test acc",
    "train_kd": "final train KD",
    "test_kd": "final test KD",
    "teacher_epoch": "teacher epoch",
    "stop_kd_epoch": "stop-KD epoch",
}


def _sort_key(entry):
    order = {"teacher": 0, "scratch": 1}
    return (order.get(entry["role"], 2), entry["role"], entry.get("teacher_params") or 0)


def _grid_sections(rows):
    students = [r for r in rows if r["role"] != "teacher"]
    by = ["role", "teacher", "teacher_epoch", "stop_kd_epoch"]
    values = [
        "teacher_params",
        "teacher_accuracy",
        "test_accuracy",
        "train_kd",
        "test_kd",
        "agreement",
    ]
    table = sorted(tables.aggregate(students, by, values), key=_sort_key)
    teacher_rows = tables.aggregate(
        [r for r in rows if r["role"] == "teacher"], ["model"], ["params", "test_accuracy"]
    )
    teacher_headers = {"test_accuracy": "test acc"}
    return [
        ("Students", tables.markdown(table, by, values, HEADERS)),
        (
            "Teachers",
            tables.markdown(teacher_rows, ["model"], ["params", "test_accuracy"], teacher_headers),
        ),
    ]


def _sequential_sections(rows):
    by, values = ["role", "model"], ["test_accuracy", "test_kd", "agreement"]
    table = tables.aggregate(rows, by, values)
    return [("Chain, direct and scratch", tables.markdown(table, by, values, HEADERS))]


def _ensemble_sections(study_dir, rows):
    sections = _sequential_sections(rows)
    path = os.path.join(study_dir, "ensembles.csv")
    if os.path.exists(path):
        values = [
            "ensemble_accuracy",
            "mean_member_accuracy",
            "best_member_accuracy",
            "disagreement",
        ]
        table = tables.aggregate(summary.read_csv(path), ["group", "members"], values)
        sections.insert(0, ("Ensembles", tables.markdown(table, ["group", "members"], values)))
    return sections


def sections_for(study_dir, kind, rows):
    if kind in ("capacity_gap", "early_stopping"):
        return _grid_sections(rows)
    if kind == "sequential":
        return _sequential_sections(rows)
    return _ensemble_sections(study_dir, rows)


def what_ran(rows):
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    seconds = sum(tables.to_float(r.get("train_seconds")) or 0.0 for r in rows)
    status_text = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    return (
        f"{len(rows)} runs ({status_text}); {seconds / 60:.1f} min of training in total.\n\n"
        f"Environment: {report.environment_line()}."
    )


def build(study_dir, kind=None):
    """Writes summary.csv and report.md for the study in ``study_dir``; returns the rows."""
    kind = kind or _read_kind(study_dir)
    atomic_io.write_json(os.path.join(study_dir, STUDY_JSON), {"kind": kind})
    rows = summary.rows(study_dir)
    atomic_io.write_text(os.path.join(study_dir, summary.SUMMARY_CSV), summary.to_csv(rows))
    complete = [r for r in rows if r["status"] == "complete"]
    sections = sections_for(study_dir, kind, complete)
    failed = [r for r in rows if r["status"] != "complete"]
    if failed:
        listing = "\n".join(f"- `{r['run']}`: {r['status']}" for r in failed)
        sections.append(("Runs not complete (excluded from means)", listing))
    report.write(study_dir, TITLES.get(kind, kind), what_ran(rows), sections)
    return rows


def _read_kind(study_dir):
    with open(os.path.join(study_dir, STUDY_JSON)) as f:
        return json.load(f)["kind"]
