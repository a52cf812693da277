"""What this process is training right now, for the one line an interrupted run prints.

Ctrl-C and SIGTERM can arrive anywhere; the line printed then names the epoch in progress, the run
(inside a study) and the epoch the rerun starts from. Recording this here, updated by the epoch
callbacks, keeps the command line from reaching into the training code. The epoch the rerun
starts from is read from the checkpoint on disk at that moment (``latest.json``), so it is right
even when the interrupt lands inside a checkpoint write.
"""

import dataclasses
import os


@dataclasses.dataclass
class _State:
    root: str | None = None  # the experiment's model_dir
    run_dir: str | None = None  # the run training now (a study's run, or root itself)
    checkpoint_dir: str | None = None  # the run's checkpoints in model_dir (what a rerun reads)
    epoch: int | None = None  # 1-based epoch in progress; None outside ``fit``


_state = _State()


def experiment_started(root):
    global _state
    _state = _State(root=root)


def run_started(run_dir, checkpoint_dir):
    _state.run_dir, _state.checkpoint_dir, _state.epoch = run_dir, checkpoint_dir, None


def epoch_started(epoch):
    _state.epoch = epoch


def training_ended():
    _state.epoch = None


def interrupted_line(head):
    """``head`` plus where it stopped and how to go on, e.g. 'interrupted in epoch 3 (of run
    runs/kd/x); rerun the same command to resume from epoch 3'."""
    if _state.epoch is None:
        return f"{head}; every finished epoch is saved, rerun the same command to resume"
    from kd_efficacy import checkpoint

    resume = checkpoint.finished_epochs(_state.checkpoint_dir) + 1
    run = ""
    if _state.root and os.path.abspath(_state.run_dir) != os.path.abspath(_state.root):
        run = f" of run {os.path.relpath(_state.run_dir, _state.root)}"
    return (
        f"{head} in epoch {_state.epoch}{run}; rerun the same command to resume from epoch {resume}"
    )
