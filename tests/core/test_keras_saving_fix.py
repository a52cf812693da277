"""keras_saving_fix: Keras' own skip sets, cached where Keras reads them; files unchanged."""

import inspect

import h5py
import keras
import numpy as np
from keras.src.backend.common import global_state
from keras.src.layers import layer as keras_layer
from keras.src.saving import saving_lib

from kd_efficacy import keras_saving_fix, models


def _student():
    keras.utils.set_random_seed(0)
    return models.build(
        "densenet_bc_10_4", input_shape=(8, 8, 1), num_classes=10, mean=(0.0,), std=(1.0,)
    )


def _contents(path):
    """{dataset path: array} and {group path: attrs} of an h5 file."""
    arrays, attrs = {}, {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            arrays[name] = obj[()]
        else:
            attrs[name] = dict(obj.attrs)

    with h5py.File(path, "r") as f:
        attrs["/"] = dict(f.attrs)
        f.visititems(visit)
    return arrays, attrs


def test_keras_still_reads_the_key_it_never_writes():
    # When this fails Keras fixed its cache key: keras_saving_fix.py and its calls can go.
    source = inspect.getsource(saving_lib.get_attr_skipset)
    assert keras_saving_fix.READ_KEY.format("{obj_type}") in source
    assert source.count("saving_attr_skiplist_") == 1


def test_the_cached_sets_are_the_ones_keras_computes():
    keras.backend.clear_session()
    keras_saving_fix.cache_skipsets()
    for obj_type in keras_saving_fix.TYPES:
        cached = global_state.get_global_attribute(keras_saving_fix.READ_KEY.format(obj_type))
        keras.backend.clear_session()
        assert cached == saving_lib.get_attr_skipset(obj_type), obj_type
        keras_saving_fix.cache_skipsets()


def test_cached_walk_builds_no_reference_layer_and_writes_the_same_file(tmp_path, monkeypatch):
    student = _student()
    plain, fixed = str(tmp_path / "plain.weights.h5"), str(tmp_path / "fixed.weights.h5")
    keras.backend.clear_session(free_memory=False)
    student.save_weights(plain)

    keras_saving_fix.cache_skipsets()
    built = []
    real_init = keras_layer.Layer.__init__

    def counting_init(self, *args, **kwargs):
        built.append(type(self))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(keras_layer.Layer, "__init__", counting_init)
    student.save_weights(fixed)
    monkeypatch.undo()
    assert built == []  # without the cache: a throwaway Layer() per layer visited

    (a_arrays, a_attrs), (b_arrays, b_attrs) = _contents(plain), _contents(fixed)
    assert a_attrs == b_attrs
    assert a_arrays.keys() == b_arrays.keys() and a_arrays
    for name in a_arrays:
        np.testing.assert_array_equal(a_arrays[name], b_arrays[name])

    other = _student()
    for w in other.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    other.load_weights(fixed)
    for a, b in zip(student.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
