"""The line a finished command prints: the measured result and what was written, from disk."""

import json

from kd_efficacy import run_dir
from kd_efficacy.done_line import done_line


def _complete_run(path, **extra):
    path.mkdir(parents=True)
    result = {
        "status": "complete",
        "test": {"accuracy": 0.9865},
        "best": {"val_accuracy": 0.9888, "epoch": 10},
        "session_seconds": 59.7,
        **extra,
    }
    (path / run_dir.RESULT_JSON).write_text(json.dumps(result))
    (path / run_dir.METRICS_JSONL).write_text("")
    (path / run_dir.EXPORT_DIR).mkdir()
    return result


def test_a_run_says_its_accuracy_and_only_what_is_on_disk(tmp_path):
    result = _complete_run(tmp_path / "student")
    line = done_line(str(tmp_path / "student"), result)
    assert line == (
        f"[kd_efficacy] done in 60 s: test accuracy 0.987 (best val 0.989, epoch 10); "
        f"wrote {tmp_path / 'student'}: result.json, metrics.jsonl, export/"
    )  # no logs/ was written here, so none is named


def test_a_failed_run_gets_no_done_line(tmp_path):
    assert done_line(str(tmp_path), {"status": "failed", "reason": "diverged"}) is None


def test_a_study_names_its_counts_report_and_logdir(tmp_path):
    (tmp_path / run_dir.REPORT_MD).write_text("# report")
    results = [{"status": "complete"}] * 2 + [{"status": "blocked"}]
    line = done_line(str(tmp_path), results)
    assert "(2 complete, 1 blocked)" in line
    assert f"report {tmp_path / run_dir.REPORT_MD}" in line
    assert f"tensorboard --logdir {tmp_path}" in line
