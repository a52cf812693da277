"""The one line a finished command prints: what it measured and where it wrote it.

A newcomer's first run ends after the last Keras epoch line; without this line the log says
neither the result nor where to look. It reads only the task's returned result and the directory
on disk, so it says what was written, not what was planned.
"""

import os

from kd_efficacy import run_dir


def done_line(model_dir, result):
    """E.g. '[kd_efficacy] done in 60 s: test accuracy 0.987 (best val 0.989, epoch 10); wrote
    runs/quickstart/student: result.json, metrics.jsonl, logs/, export/'; None if nothing to say."""
    if isinstance(result, list):
        return _study_line(model_dir, result)
    if not isinstance(result, dict) or result.get("status") != "complete":
        return None
    parts = []
    test = (result.get("test") or {}).get("accuracy")
    if test is not None:
        parts.append(f"test accuracy {test:.3f}")
    best = result.get("best") or {}
    if best.get("val_accuracy") is not None:
        parts.append(f"(best val {best['val_accuracy']:.3f}, epoch {best.get('epoch')})")
    took = result.get("session_seconds")
    head = f"done in {took:.0f} s" if took is not None else "done"
    written = [
        name + ("/" if os.path.isdir(os.path.join(model_dir, name)) else "")
        for name in (
            run_dir.RESULT_JSON,
            run_dir.METRICS_JSONL,
            run_dir.LOGS_DIR,
            run_dir.EXPORT_DIR,
        )
        if os.path.exists(os.path.join(model_dir, name))
    ]
    measured = (": " + " ".join(parts)) if parts else ""
    return f"[kd_efficacy] {head}{measured}; wrote {model_dir}: {', '.join(written)}"


def _study_line(study_dir, results):
    statuses = [r.get("status") for r in results if isinstance(r, dict)]
    counts = {s: statuses.count(s) for s in ("complete", "failed", "blocked") if s in statuses}
    runs = ", ".join(f"{n} {s}" for s, n in counts.items()) or f"{len(results)} runs"
    report = os.path.join(study_dir, run_dir.REPORT_MD)
    where = f"report {report}" if os.path.exists(report) else f"runs in {study_dir}"
    return (
        f"[kd_efficacy] study done ({runs}); {where}; TensorBoard: tensorboard --logdir {study_dir}"
    )
