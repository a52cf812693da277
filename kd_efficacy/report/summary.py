"""``summary.csv``: one row per planned run, built from run directories alone.

Each run directory holds ``planned.json`` (its place in the study: name, role, teachers; written
by the study at plan time, ``run_dir.write_planned``), its
``result.json`` and ``metrics.jsonl``, so a report can be rebuilt from copied directories,
including runs gathered from other machines.

Splits, as the columns name them: ``val_*`` is the validation split every run holds out of its
training data (all selection reads it: best epoch, snapshots); ``test_*`` is the final model on
the test split, for reporting only; ``train_kd`` is the un-augmented training set. ``params`` are
trainable parameters, as papers count them. A teacher's own row has no ``teacher_*`` accuracies;
its ``test_accuracy`` is its own final test accuracy.
"""

import csv
import io
import os

from kd_efficacy import atomic_io, run_dir

COLUMNS = (
    "run",
    "role",
    "model",
    "params",  # trainable parameters (result.json model.params, kd_efficacy.models.param_count)
    "teacher",
    "teacher_params",  # trainable, summed over an ensemble's members
    "teacher_epoch",
    "teacher_val_accuracy",  # the snapshot the student used, on the validation split
    "teacher_test_accuracy",  # ... and on the test split (reporting only)
    "stop_kd_epoch",
    "kd_method",  # 'kd' (vanilla), 'dkd', 'dist'; '+mixup' / '+cutmix' on mixed batches
    "seed",
    "status",
    "test_accuracy",  # final model on the test split
    "val_accuracy",  # final model (last epoch) on the validation split
    "best_epoch",  # best epoch by validation accuracy
    "best_val_accuracy",
    "train_kd",  # last epoch's KD loss on the un-augmented training set
    "val_kd",  # last evaluated epoch's KD loss on the validation split
    "test_kd",  # final model's KD loss on the test split
    "test_agreement",  # final model's top-1 agreement with its teacher on the test split
    "train_seconds",
    "reason",
)


def planned_runs(study_dir):
    """``{name: planned dict}`` for every run directory under ``<study_dir>/runs``."""
    found = {}
    root = os.path.join(study_dir, run_dir.RUNS_DIR)
    for here, _, files in os.walk(root):
        if run_dir.PLANNED_JSON in files:
            planned = run_dir.read_planned(here)
            found[planned["name"]] = dict(planned, dir=here)
    return found


def _metrics(directory):
    return atomic_io.read_json_lines(os.path.join(directory, run_dir.METRICS_JSONL))


def teacher_val_accuracy(teacher_dir, epoch):
    """The teacher's validation accuracy at the snapshot a student used ('last', 'best', N).

    Read from the teacher's own run: its metrics.jsonl row of that epoch (snapshot epochs and
    the last epoch are always evaluated, even when the eval schedule thins the others).
    """
    result = run_dir.read_result(teacher_dir) or {}
    if epoch == "last":
        return result.get("last", {}).get("val_accuracy")
    if epoch == "best":
        return result.get("best", {}).get("val_accuracy")
    rows = _metrics(teacher_dir)
    return next((r.get("val_accuracy") for r in rows if r["epoch"] == int(epoch)), None)


def kd_method(planned):
    """The KD method of a planned run: 'kd', 'dkd', 'dist', with '+mixup' when mixing.

    Read from ``planned.json``'s KD settings; one written before methods existed is 'kd'.
    """
    kd = planned.get("kd") or {}
    mix = kd.get("mix", "none")
    return kd.get("method", "kd") + ("" if mix == "none" else f"+{mix}")


def _last_with(rows, key):
    """The value of ``key`` in the last metrics row that has it (eval may skip epochs)."""
    return next((r[key] for r in reversed(rows) if r.get(key) is not None), None)


def status(planned, name, seen=None):
    """(status, reason) of a planned run: its result.json status; a run without one whose teacher
    failed (or is itself blocked) is 'blocked', since it cannot be trained."""
    result = run_dir.read_result(planned[name]["dir"]) or {}
    if result:
        return result.get("status", "missing"), result.get("reason")
    seen = set() if seen is None else seen
    for teacher in planned[name]["teachers"]:
        if teacher in planned and teacher not in seen:
            seen.add(teacher)
            if status(planned, teacher, seen)[0] in ("failed", "blocked"):
                return "blocked", f"teacher {teacher} did not train"
    return "missing", None


def rows(study_dir, order=None):
    """Summary rows for the study's runs (plan order when given, else sorted by name)."""
    planned = planned_runs(study_dir)
    names = [n for n in (order or sorted(planned)) if n in planned]
    out = []
    for name in names:
        p = planned[name]
        result = run_dir.read_result(p["dir"]) or {}
        run_status, reason = status(planned, name)
        last = result.get("last", {})
        teachers = [planned[t] for t in p["teachers"] if t in planned]
        teacher_results = [run_dir.read_result(t["dir"]) or {} for t in teachers]
        test = result.get("test", {})
        single = len(teachers) == 1
        row = {
            "run": name,
            "role": p["role"],
            "model": p["model"],
            "params": result.get("model", {}).get("params"),
            "teacher": "+".join(t["model"] for t in teachers),
            "teacher_params": sum(r.get("model", {}).get("params", 0) for r in teacher_results)
            or None,
            "teacher_epoch": p["teacher_epoch"] if teachers else None,
            "teacher_val_accuracy": (
                teacher_val_accuracy(teachers[0]["dir"], str(p["teacher_epoch"]))
                if single
                else result.get("teacher_val_accuracy")
            ),
            "teacher_test_accuracy": result.get("teacher_test_accuracy"),
            "stop_kd_epoch": p["stop_kd_epoch"],
            "kd_method": kd_method(p) if teachers else None,
            "seed": p["seed"],
            "status": run_status,
            "test_accuracy": test.get("accuracy"),
            "val_accuracy": last.get("val_accuracy"),
            "best_epoch": result.get("best", {}).get("epoch"),
            "best_val_accuracy": result.get("best", {}).get("val_accuracy"),
            "train_kd": last.get("train_eval_kd"),
            "val_kd": _last_with(_metrics(p["dir"]), "val_kd") if result else None,
            "test_kd": test.get("kd"),
            "test_agreement": test.get("agreement"),
            "train_seconds": result.get("train_seconds"),
            "reason": reason,
        }
        out.append(row)
    return out


def write(study_dir, table):
    """Rewrites the study's ``summary.csv`` from summary rows."""
    atomic_io.write_text(os.path.join(study_dir, run_dir.SUMMARY_CSV), to_csv(table))


def to_csv(table):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in table:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
    return buffer.getvalue()


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))
