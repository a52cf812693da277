"""Crash safety: torn files, failed writes, unwritable directories, the kill windows of a run's end,
and how the command line reports each way a run stops short."""

import errno
import json
import os
import shutil

import pytest
from kd_testing import (
    CAPACITY_GAP_GIN,
    RESUMABLE_RUN,
    TEACHER_GIN,
    TINY_STUDY,
    assert_cli_ok,
    assert_run_contract,
    assert_same_weights,
    run_cli,
    run_experiment,
)

from kd_efficacy import atomic_io, checkpoint, data, progress, run, run_dir
from kd_efficacy.errors import ConfigError, RunFailed
from kd_efficacy.preemption import Preempted

RESNET8 = [
    "MODEL = 'resnet8'",
    "recipe.train_set_metrics = False",
    "experiment.deterministic = True",
]


def _tree(root):
    """{relative path: bytes} of every file under ``root``."""
    found = {}
    for here, _, files in os.walk(root):
        for name in files:
            path = os.path.join(here, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


def test_append_cuts_a_torn_last_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"epoch": 1}\n{"epo')  # a crash in the middle of the second append
    assert atomic_io.read_json_lines(path) == [{"epoch": 1}]
    atomic_io.append_json_line(path, {"epoch": 2})
    assert path.read_bytes() == b'{"epoch": 1}\n{"epoch": 2}\n'
    path.write_bytes(b'{"epo')  # torn first line
    atomic_io.append_json_line(path, {"epoch": 1})
    assert atomic_io.read_json_lines(path) == [{"epoch": 1}]


def test_a_failed_replace_keeps_the_previous_file(tmp_path):
    path = tmp_path / "result.json"
    atomic_io.write_json(path, {"status": "complete"})
    with pytest.raises(OSError), atomic_io.replacing(path) as tmp:
        with open(tmp, "w") as f:
            f.write('{"status": "comp')
        raise OSError(errno.ENOSPC, "No space left on device")
    assert json.loads(path.read_text()) == {"status": "complete"}
    assert os.listdir(tmp_path) == ["result.json"]


def test_stale_temporary_files_are_removed(tmp_path):
    (tmp_path / ".tmp-abc.h5").write_bytes(b"half a snapshot")
    (tmp_path / ".tmp-xyz").mkdir()  # a checkpoint being written
    (tmp_path / ".tmp-xyz" / "ckpt.index").write_bytes(b"half a checkpoint")
    (tmp_path / "latest.json").write_bytes(b"kept")
    atomic_io.remove_stale_temps(tmp_path)
    assert os.listdir(tmp_path) == ["latest.json"]


def _read_only_probe(monkeypatch):
    """Makes run_dir's writability probe fail as on a read-only disk (root ignores chmod)."""

    def fake_open(path, *args, **kwargs):
        if str(path).endswith(".write-probe"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(run_dir, "open", fake_open, raising=False)


def test_disk_full_mid_run_then_read_only_then_fixed(tmp_path, monkeypatch):
    """A failed checkpoint write keeps the previous state; an unwritable model_dir is refused
    before any work; once the disk is fixed the run resumes and completes."""
    directory = tmp_path / "run"
    binds = RESNET8 + ["EPOCHS = 3"]
    real_checkpoint, calls = checkpoint._checkpoint, []

    class DiskFullWriter:
        def write(self, prefix):  # half the files, then the disk is full
            with open(prefix + ".index", "wb") as f:
                f.write(b"half")
            raise OSError(errno.ENOSPC, "No space left on device", prefix + ".index")

    def checkpoint_until_disk_full(groups, epoch=None):
        calls.append(epoch)
        return DiskFullWriter() if len(calls) == 2 else real_checkpoint(groups, epoch)

    monkeypatch.setattr(checkpoint, "_checkpoint", checkpoint_until_disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_experiment([TEACHER_GIN], binds, directory)
    monkeypatch.setattr(checkpoint, "_checkpoint", real_checkpoint)
    assert checkpoint.finished_epochs(directory / "checkpoints") == 1
    assert sorted(os.listdir(directory / "checkpoints")) == ["epoch_0001", "latest.json"]
    assert not (directory / "result.json").exists()

    _read_only_probe(monkeypatch)
    monkeypatch.setattr(data, "build", lambda *a, **k: pytest.fail("work started"))
    before = _tree(directory)
    with pytest.raises(ConfigError, match="not writable.*Read-only file system"):
        run_experiment([TEACHER_GIN], binds, directory)
    assert _tree(directory) == before
    monkeypatch.undo()

    run_experiment([TEACHER_GIN], binds, directory)
    assert_run_contract(directory)  # complete: epochs 1..3, checkpoint at 3, snapshots, export


def test_unwritable_study_dir_is_refused_before_any_work(tmp_path, monkeypatch):
    _read_only_probe(monkeypatch)
    monkeypatch.setattr(data, "build", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ConfigError, match="not writable"):
        run_experiment([CAPACITY_GAP_GIN], TINY_STUDY, tmp_path / "study")
    assert not (tmp_path / "study").exists()


def test_kill_after_the_last_checkpoint_resumes_to_the_same_result(tmp_path, resumable_clean):
    """The window between the last epoch's checkpoint and result.json: the rerun trains nothing,
    writes the same result and snapshot, and drops a killed writer's temporary file. The clean
    run is the session's shared reference run (tests/conftest.py)."""
    clean = resumable_clean
    result = run_dir.read_result(str(clean))
    killed = tmp_path / "killed"
    shutil.copytree(clean, killed)
    for name in ("result.json", "operative_config.gin", "snapshots/last.weights.h5"):
        os.remove(killed / name)
    shutil.rmtree(killed / "export")
    (killed / "checkpoints" / ".tmp-killed").mkdir()
    (killed / "checkpoints" / ".tmp-killed" / "ckpt.index").write_bytes(b"half")
    assert_cli_ok(run_cli(TEACHER_GIN, RESUMABLE_RUN, killed, timeout=600))
    resumed = assert_run_contract(killed)
    assert resumed["test"] == result["test"] and resumed["last"] == result["last"]
    assert_same_weights(clean / "snapshots/last.weights.h5", killed / "snapshots/last.weights.h5")
    assert sorted(os.listdir(killed / "checkpoints")) == sorted(os.listdir(clean / "checkpoints"))


@pytest.mark.parametrize(
    "raised, code, start",
    [
        (ConfigError("bad MODEL; use resnet8"), 2, "error: bad MODEL"),
        (RunFailed("d: loss became nan at epoch 1, step 3\n  In call to train"), 3, "error:"),
        (Preempted("received SIGTERM"), 75, "preempted: received SIGTERM"),
        (OSError(errno.ENOSPC, "No space left on device", "/d/state.npz"), 74, "error: could"),
        (KeyboardInterrupt(), 130, "interrupted; every finished epoch is saved, rerun"),
    ],
)
def test_each_way_to_stop_short_is_one_line_and_an_exit_code(
    monkeypatch, capsys, raised, code, start
):
    def fail(argv):
        raise raised

    monkeypatch.setattr(run, "_run", fail)
    with pytest.raises(SystemExit) as stop:
        run.main(["kd_efficacy.run"])
    assert stop.value.code == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(start), err


def test_an_interrupt_inside_a_study_names_the_run_and_the_resume_epoch(tmp_path, monkeypatch):
    study, run_path = tmp_path / "study", tmp_path / "study" / "runs" / "kd" / "r"
    progress.experiment_started(str(study))
    progress.run_started(str(run_path), str(run_path / "checkpoints"))
    progress.epoch_started(3)
    monkeypatch.setattr(checkpoint, "finished_epochs", lambda d: 2 if "kd" in str(d) else 0)
    line = progress.interrupted_line("interrupted")
    assert line == (
        "interrupted in epoch 3 of run runs/kd/r; rerun the same command to resume from epoch 3"
    )
    progress.experiment_started(None)


def test_a_study_with_failed_runs_exits_run_failed(monkeypatch, capsys):
    rows = [
        {"run": "teacher/a", "status": "failed"},
        {"run": "kd/a/s", "status": "blocked"},
        {"run": "scratch/s", "status": "complete"},
    ]
    monkeypatch.setattr(run, "_run", lambda argv: rows)
    with pytest.raises(SystemExit) as stop:
        run.main(["kd_efficacy.run"])
    assert stop.value.code == 3
    err = capsys.readouterr().err
    assert "teacher/a (failed), kd/a/s (blocked)" in err and err.count("\n") == 1


def test_other_os_errors_keep_their_traceback(monkeypatch):
    monkeypatch.setattr(run, "_run", lambda argv: (_ for _ in ()).throw(FileNotFoundError("x")))
    with pytest.raises(FileNotFoundError):
        run.main(["kd_efficacy.run"])
