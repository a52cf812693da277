"""Which of a study's runs train packed: one ``fit``, one teacher pass per batch for several.

A study trains runs with one ``packed_runs.pack_key`` (same seed, recipe, teachers and
temperature: e.g. the KD and ESKD variants of one teacher and seed, or the students an ensemble
study distills directly from one teacher) together, as soon as their teachers are done. Each
member keeps its own run directory, lease, checkpoint and result, bit-identical to its separate
run (packed_runs.py), so packing is on by default wherever ``packed_runs.can_pack`` holds; bind
``packing.enabled = False`` to train every run on its own.
"""

import gin

from kd_efficacy import packed_runs
from kd_efficacy.run_dir import run_path


@gin.configurable("packing")
def packing(enabled: bool = True):
    """Whether studies pack runs that share teacher and data stream (``packing.enabled``)."""
    return enabled


def groups(ctx, runs, specs):
    """{run name: the runs (plan order) of its pack, itself included}, for runs that have
    pack-mates; empty when packing is off or not proven for ``ctx``."""
    if not packing() or not packed_runs.can_pack(ctx):
        return {}
    by_key = {}
    for run in runs:
        key = packed_runs.pack_key(run_path(ctx.model_dir, run.name), specs[run.name])
        if key is not None:
            by_key.setdefault(key, []).append(run)
    return {run.name: group for group in by_key.values() if len(group) > 1 for run in group}
