"""Resumable training state of a run: student weights, optimizer state, loss weights, epoch.

One ``.npz`` file written atomically at each epoch end. Teachers are never saved (they are
rebuilt from their own run directories), so a checkpoint is the student's size, not the
teacher's. Numpy arrays keep the format independent of Keras' file layouts.
"""

import os

import numpy as np

from kd_efficacy import atomic_io

FILENAME = "state.npz"


def path_in(checkpoint_dir):
    return os.path.join(checkpoint_dir, FILENAME)


def _state(distiller):
    return {
        "student": distiller.student.weights,
        "optimizer": distiller.optimizer.variables,
        "distiller": [distiller.ce_weight, distiller.kd_weight],
    }


def save(checkpoint_dir, distiller, epoch):
    """Saves the state after ``epoch`` (1-based: the number of finished epochs)."""
    arrays = {"epoch": np.asarray(epoch)}
    for group, variables in _state(distiller).items():
        for i, variable in enumerate(variables):
            arrays[f"{group}/{i:05d}"] = np.asarray(variable.numpy())
    with atomic_io.replacing(path_in(checkpoint_dir), suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def finished_epochs(checkpoint_dir):
    """How many epochs the checkpoint holds; 0 when there is none."""
    path = path_in(checkpoint_dir)
    if not os.path.exists(path):
        return 0
    with np.load(path) as arrays:
        return int(arrays["epoch"])


def restore(checkpoint_dir, distiller):
    """Loads the state into a built distiller (optimizer built); returns the finished epochs."""
    path = path_in(checkpoint_dir)
    if not os.path.exists(path):
        return 0
    with np.load(path) as arrays:
        for group, variables in _state(distiller).items():
            stored = sorted(k for k in arrays.files if k.startswith(group + "/"))
            if len(stored) != len(variables):
                raise RuntimeError(
                    f"checkpoint {path} holds {len(stored)} {group} variables, the model has "
                    f"{len(variables)}: it was written by a different model"
                )
            for key, variable in zip(stored, variables):
                variable.assign(arrays[key])
        return int(arrays["epoch"])
