"""The checkpoint format (kd_efficacy/checkpoint.py): variables matched by name, a changed model
refused naming the variable, atomic publishing, and the old positional ``state.npz``."""

import os
import shutil

import keras
import numpy as np
import pytest

from kd_efficacy import atomic_io, checkpoint, models, run_dir
from kd_efficacy.distiller import Distiller
from kd_efficacy.errors import ConfigError
from kd_efficacy.kd_settings import KDSettings


def _student(order=("a", "b"), units=4):
    """Two same-shaped parallel layers; ``order`` decides which is called (and listed) first."""
    inputs = keras.Input((3,))
    branches = [keras.layers.Dense(units, name=name)(inputs) for name in order]
    out = keras.layers.Add(name="sum")(branches)
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(out))


def _distiller(student, trained=False):
    distiller = Distiller(student, kd=KDSettings(4.0, 1.0, 0.0))
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    distiller.compile(optimizer=optimizer)
    optimizer.build(student.trainable_variables)
    if trained:  # momentum slots and the iteration count become non-zero
        x, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 2
        distiller.fit(x.astype("float32"), y, epochs=2, batch_size=4, verbose=0)
        distiller.ce_weight.assign(0.25)
    return distiller


def _values(distiller):
    return {
        f"{group}/{name}": v.numpy()
        for group, variables in checkpoint.named_variables(distiller).items()
        for name, v in variables.items()
    }


def _assert_same(a, b):
    x, y = _values(a), _values(b)
    assert x.keys() == y.keys()
    for key in x:
        np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def test_round_trip_is_bit_identical(tmp_path):
    saved = _distiller(_student(), trained=True)
    checkpoint.save(tmp_path, saved, 2)
    assert sorted(os.listdir(tmp_path)) == ["epoch_0002", "latest.json"]
    assert checkpoint.finished_epochs(tmp_path) == 2
    restored = _distiller(_student())
    assert checkpoint.restore(tmp_path, restored) == 2
    _assert_same(saved, restored)
    assert int(restored.optimizer.iterations.numpy()) == 4


def test_reordered_variables_map_by_name(tmp_path):
    saved = _distiller(_student(order=("a", "b")), trained=True)
    checkpoint.save(tmp_path, saved, 1)
    restored = _distiller(_student(order=("b", "a")))
    first = [w.path for w in restored.student.weights][:2]
    assert first != [w.path for w in saved.student.weights][:2]  # listed in another order
    checkpoint.restore(tmp_path, restored)
    _assert_same(saved, restored)  # by position, a and b would have been swapped


def _resnet(name):
    return lambda: models.build(name, input_shape=(8, 8, 1), num_classes=10, mean=[0.0], std=[1.0])


@pytest.mark.parametrize(
    "saved, other, named",
    [
        (_student, lambda: _student(units=5), "student/a/kernel is (3, 4) in the checkpoint"),
        (_resnet("resnet8"), _resnet("resnet14"), "the model has student/stage1_block2_conv1/"),
    ],
)
def test_a_changed_model_is_refused_naming_the_variable(tmp_path, saved, other, named):
    checkpoint.save(tmp_path, _distiller(saved()), 1)
    with pytest.raises(ConfigError) as error:
        checkpoint.restore(tmp_path, _distiller(other()))
    message = str(error.value)
    assert named in message and "use a new --model_dir" in message and "\n" not in message


def test_a_variable_the_model_lost_is_named(tmp_path):
    checkpoint.save(tmp_path, _distiller(_student()), 1)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, name="a")(inputs)
    smaller = keras.Model(inputs, keras.layers.Dense(2, name="head")(hidden))
    with pytest.raises(ConfigError, match="the checkpoint has student/b/bias, the model does"):
        checkpoint.restore(tmp_path, _distiller(smaller))


class _Killed(BaseException):
    """Stands in for SIGKILL at a point of the publishing sequence."""


@pytest.mark.parametrize("at", ["write", "rename", "latest.json"])
def test_a_write_stopped_at_any_step_leaves_the_previous_checkpoint(tmp_path, monkeypatch, at):
    first = _distiller(_student(), trained=True)
    checkpoint.save(tmp_path, first, 1)
    later = _distiller(_student(), trained=True)
    later.ce_weight.assign(0.75)

    def stop(*args, **kwargs):
        raise _Killed(at)

    if at == "write":  # the checkpoint files half written
        monkeypatch.setattr(checkpoint, "_checkpoint", lambda *a: type("W", (), {"write": stop})())
    elif at == "rename":
        monkeypatch.setattr(checkpoint.os, "rename", stop)
    else:  # renamed to epoch_0002, not yet named by latest.json
        monkeypatch.setattr(checkpoint.atomic_io, "write_json", stop)
    with pytest.raises(_Killed):
        checkpoint.save(tmp_path, later, 2)
    monkeypatch.undo()
    # What a kill leaves (no clean-up ran): a temporary directory with part of a checkpoint.
    (tmp_path / ".tmp-killed").mkdir()
    (tmp_path / ".tmp-killed" / "ckpt.index").write_bytes(b"half")
    assert checkpoint.finished_epochs(tmp_path) == 1
    restored = _distiller(_student())
    assert checkpoint.restore(tmp_path, restored) == 1
    _assert_same(first, restored)

    atomic_io.remove_stale_temps(tmp_path)  # what the next start does (run_dir.claim)
    checkpoint.save(tmp_path, later, 2)  # and the next save replaces an unnamed epoch_0002
    assert sorted(os.listdir(tmp_path)) == ["epoch_0002", "latest.json"]
    checkpoint.restore(tmp_path, restored)
    _assert_same(later, restored)


def _legacy_save(directory, distiller, epoch):
    """The format before named checkpoints: arrays by position within each group."""
    groups = {
        "student": distiller.student.weights,
        "optimizer": distiller.optimizer.variables,
        "distiller": [distiller.ce_weight, distiller.kd_weight],
    }
    arrays = {"epoch": np.asarray(epoch)}
    for group, variables in groups.items():
        for i, variable in enumerate(variables):
            arrays[f"{group}/{i:05d}"] = variable.numpy()
    np.savez(directory / run_dir.LEGACY_CHECKPOINT, **arrays)


def test_an_old_state_npz_is_read_once_then_replaced(tmp_path):
    old = _distiller(_student(), trained=True)
    _legacy_save(tmp_path, old, 3)
    assert checkpoint.finished_epochs(tmp_path) == 3
    resumed = _distiller(_student())
    assert checkpoint.restore(tmp_path, resumed) == 3
    _assert_same(old, resumed)
    checkpoint.save(tmp_path, resumed, 4)  # the next epoch end writes the new format
    assert sorted(os.listdir(tmp_path)) == ["epoch_0004", "latest.json"]

    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    _legacy_save(tmp_path, old, 3)
    inputs = keras.Input((3,))
    other = keras.Model(inputs, keras.layers.Dense(2, name="head")(inputs))
    with pytest.raises(ConfigError, match="old-format checkpoint .* holds 6 student variables"):
        checkpoint.restore(tmp_path, _distiller(other))
