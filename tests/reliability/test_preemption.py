"""Preemption: SIGTERM stops a run with EXIT_PREEMPTED, keeping every finished epoch; the same
command then resumes it to exactly the result of a run never stopped."""

import os
import signal
import subprocess
import sys
import time

from kd_efficacy import atomic_io, checkpoint
from kd_efficacy.errors import EXIT_PREEMPTED
from tools import chaos

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDINGS = [
    "EPOCHS = 4",
    "GLOBAL_BATCH_SIZE = 32",
    "recipe.max_train_examples = 512",
    "MODEL = 'resnet8'",
    "experiment.deterministic = True",
    "recipe.train_set_metrics = False",
    "SNAPSHOT_EPOCHS = [1, 3]",
]


def _command(model_dir):
    return (
        [sys.executable, "-m", "kd_efficacy.run", "--gin_file=gin_configs/quickstart/teacher.gin"]
        + [f"--gin_bindings={b}" for b in BINDINGS]
        + [f"--model_dir={model_dir}"]
    )


def _run(model_dir, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(_command(model_dir), cwd=ROOT, env=env, text=True, **kwargs)


def test_sigterm_exits_75_and_the_rerun_resumes_bit_identically(tmp_path):
    clean, stopped = tmp_path / "clean", tmp_path / "stopped"
    assert _run(clean, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait(600) == 0
    proc = _run(stopped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and not checkpoint.finished_epochs(stopped / "checkpoints"):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_PREEMPTED, stderr[-3000:]
    assert stderr.strip().splitlines()[-1].startswith("preempted: received SIGTERM")
    assert "Traceback" not in stderr
    assert not (stopped / "result.json").exists(), "SIGTERM came too late to test resuming"
    saved = checkpoint.finished_epochs(stopped / "checkpoints")
    assert saved >= 1
    rows = atomic_io.read_json_lines(stopped / "metrics.jsonl")
    assert [r["epoch"] for r in rows][:saved] == list(range(1, saved + 1))

    assert _run(stopped, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait(600) == 0
    run = os.path.relpath(stopped, tmp_path)
    assert chaos.metrics_rows(stopped) == chaos.metrics_rows(clean)
    assert chaos.result_fields(stopped) == chaos.result_fields(clean)
    for name in chaos.weight_files(clean) | chaos.weight_files(stopped):
        assert chaos.same_arrays(clean / name, stopped / name), f"{run}/{name}"
