"""Preemption and Ctrl-C: SIGTERM stops a run with EXIT_PREEMPTED, SIGINT with EXIT_INTERRUPTED,
each in one line naming the epoch in progress and the epoch the rerun resumes from, keeping every
finished epoch; the same command then resumes it to exactly the result of a run never stopped."""

import os
import re
import signal
import subprocess
import time

import pytest
from kd_testing import RESUMABLE_RUN, TEACHER_GIN, assert_run_contract, start_cli

from kd_efficacy import atomic_io, checkpoint
from kd_efficacy.errors import EXIT_INTERRUPTED, EXIT_PREEMPTED
from tools import chaos

BINDINGS = [*RESUMABLE_RUN, "SNAPSHOT_EPOCHS = [1, 3]"]


def _run(model_dir, **kwargs):
    return start_cli(TEACHER_GIN, BINDINGS, model_dir, **kwargs)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The run never stopped, which both stopped runs must end identical to."""
    directory = tmp_path_factory.mktemp("preemption") / "clean"
    assert _run(directory).wait(600) == 0
    assert_run_contract(directory)
    return directory


@pytest.mark.parametrize(
    "sent, code, head",
    [
        (signal.SIGTERM, EXIT_PREEMPTED, "preempted: received SIGTERM"),
        (signal.SIGINT, EXIT_INTERRUPTED, "interrupted"),  # Ctrl-C; 130 = 128 + SIGINT
    ],
)
def test_a_stopped_run_exits_in_one_line_and_the_rerun_resumes_bit_identically(
    tmp_path, clean, sent, code, head
):
    stopped = tmp_path / "stopped"
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
    line = stderr.strip().splitlines()[-1]
    expected = rf"{head} in epoch (\d); rerun the same command to resume from epoch "
    match = re.fullmatch(expected + str(saved + 1), line)
    assert match and int(match.group(1)) in (saved, saved + 1), line  # in the save, or after it
    rows = atomic_io.read_json_lines(stopped / "metrics.jsonl")
    assert [r["epoch"] for r in rows][:saved] == list(range(1, saved + 1))

    assert _run(stopped).wait(600) == 0
    assert_run_contract(stopped)
    run = os.path.relpath(stopped, tmp_path)
    assert chaos.metrics_rows(stopped) == chaos.metrics_rows(clean)
    assert chaos.result_fields(stopped) == chaos.result_fields(clean)
    for name in chaos.weight_files(clean) | chaos.weight_files(stopped):
        assert chaos.same_arrays(clean / name, stopped / name), f"{run}/{name}"
