"""Preemption and Ctrl-C: SIGTERM stops a run with EXIT_PREEMPTED, SIGINT with EXIT_INTERRUPTED,
each in one line naming the epoch in progress and the epoch the rerun resumes from, keeping every
finished epoch; the same command then resumes it to exactly the result of a run never stopped.

The reference run is conftest.py's ``resumable_clean`` (shared with test_run_e2e's SIGKILL test).
CI resumes the SIGTERM stop; the Ctrl-C stop is checked up to its exit (its resume is the same
rerun), and resumed as well under ``pytest -m slow``."""

import os
import re
import signal
import subprocess
import time

import pytest
from kd_testing import RESUMABLE_RUN, TEACHER_GIN, assert_run_contract, last_line, start_cli

from kd_efficacy import atomic_io, checkpoint
from kd_efficacy.errors import EXIT_INTERRUPTED, EXIT_PREEMPTED
from tools import chaos


def _run(model_dir, **kwargs):
    return start_cli(TEACHER_GIN, RESUMABLE_RUN, model_dir, **kwargs)


def _stop(stopped, sent, code, head):
    """Starts the run, sends ``sent`` once its first checkpoint is written, and checks the exit:
    ``code``, one line naming the epoch in progress and the resume epoch, every finished epoch
    kept. Returns the number of epochs saved."""
    proc = _run(stopped, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and not checkpoint.finished_epochs(stopped / "checkpoints"):
        time.sleep(0.05)
    proc.send_signal(sent)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-3000:]
    assert "Traceback" not in stderr
    assert not (stopped / "result.json").exists(), "the signal came too late to test resuming"
    saved = checkpoint.finished_epochs(stopped / "checkpoints")
    assert saved >= 1
    line = last_line(stderr)
    expected = rf"{head} in epoch (\d); rerun the same command to resume from epoch "
    match = re.fullmatch(expected + str(saved + 1), line)
    assert match and int(match.group(1)) in (saved, saved + 1), line  # in the save, or after it
    rows = atomic_io.read_json_lines(stopped / "metrics.jsonl")
    assert [r["epoch"] for r in rows][:saved] == list(range(1, saved + 1))
    return saved


@pytest.mark.parametrize(
    "sent, code, head",
    [
        (signal.SIGTERM, EXIT_PREEMPTED, "preempted: received SIGTERM"),
        # Ctrl-C; 130 = 128 + SIGINT. Slow: its resume is SIGTERM's; CI stops it only (below).
        pytest.param(signal.SIGINT, EXIT_INTERRUPTED, "interrupted", marks=pytest.mark.slow),
    ],
)
def test_a_stopped_run_exits_in_one_line_and_the_rerun_resumes_bit_identically(
    tmp_path, resumable_clean, sent, code, head
):
    clean, stopped = resumable_clean, tmp_path / "stopped"
    _stop(stopped, sent, code, head)
    assert _run(stopped).wait(600) == 0
    assert_run_contract(stopped)
    run = os.path.relpath(stopped, tmp_path)
    assert chaos.metrics_rows(stopped) == chaos.metrics_rows(clean)
    assert chaos.result_fields(stopped) == chaos.result_fields(clean)
    for name in chaos.weight_files(clean) | chaos.weight_files(stopped):
        assert chaos.same_arrays(clean / name, stopped / name), f"{run}/{name}"


def test_ctrl_c_exits_interrupted_in_one_line_keeping_every_finished_epoch(tmp_path):
    _stop(tmp_path / "stopped", signal.SIGINT, EXIT_INTERRUPTED, "interrupted")
