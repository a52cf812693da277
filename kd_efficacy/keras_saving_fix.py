"""Keras 3 weight files: the cache Keras means to keep while walking a model, kept.

``model.save_weights`` and ``model.load_weights`` walk the model's attributes and skip those a
plain reference object has (``saving_lib.get_attr_skipset``). Keras computes that skip set by
constructing a fresh reference ``Layer()`` (or ``Operation``, ``Optimizer``...) and means to cache
it in its global state, but it reads the cache under ``saving_attr_skiplist_<type>`` and writes it
under ``saving_attr_skipset_<type>`` (Keras 3.15, ``keras/src/saving/saving_lib.py``), so the cache
never hits: every layer visited builds a throwaway ``Layer`` and lists its attributes. For the
digits student that is about a third of each ``.weights.h5`` write (48 -> 33 ms; resnet56: 359 ->
176 ms a write, 345 -> 267 ms a load), paid at every best-epoch snapshot of every run.

``cache_skipsets`` stores, under the key Keras reads, the very sets Keras computes, so every file
and every loaded weight is what Keras alone gives (tests/core/test_keras_saving_fix.py). Nothing in
Keras is patched; ``keras.backend.clear_session()`` drops the cache with the rest of Keras'
global state, so callers ask again before each save or load (a dictionary lookup once cached).
The test reads Keras' source and says so when Keras fixes the key; then this file can go.
"""

try:  # Keras internals: a Keras that moved them keeps its own (slower, correct) walk
    from keras.src.backend.common import global_state
    from keras.src.saving import saving_lib
except ImportError:  # pragma: no cover - the canary test fails first
    global_state = saving_lib = None

# The key Keras reads its cached skip sets under (the one it never writes).
READ_KEY = "saving_attr_skiplist_{}"
# The object types Keras' walk meets in our models, optimizers and metrics.
TYPES = ("Operation", "Layer", "Functional", "Sequential", "Metric", "Optimizer", "Loss")


def cache_skipsets():
    """Caches Keras' own skip set of every type in ``TYPES`` where Keras will look for it."""
    if saving_lib is None or not hasattr(saving_lib, "get_attr_skipset"):
        return
    for obj_type in TYPES:
        key = READ_KEY.format(obj_type)
        if global_state.get_global_attribute(key, None) is None:
            global_state.set_global_attribute(key, saving_lib.get_attr_skipset(obj_type))
