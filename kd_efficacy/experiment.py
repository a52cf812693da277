"""The one gin root: ``experiment``. Everything a run needs flows from its bindings.

It picks the strategy and precision, seeds, writes ``config.gin`` before any work (refusing a
model_dir that holds another experiment), calls the task (a run or a study) and writes
``operative_config.gin`` and its TensorBoard text summary at the end.
"""

import collections.abc
import os
from typing import Literal

import gin
import keras
import tensorflow as tf

from kd_efficacy import (
    atomic_io,
    config_types,
    distribute,
    gin_errors,
    progress,
    run_dir,
    run_lock,
)
from kd_efficacy.config_types import NonNegativeInt
from kd_efficacy.context import RunContext
from kd_efficacy.done_line import done_line
from kd_efficacy.errors import ConfigError, DataReadError, PlanReady

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Bindings that say where or how verbosely to run, not what to run.
_NOT_IDENTITY = (
    "experiment.model_dir",
    "experiment.verbose",
    "experiment.only_run",
    "run_lock.wait",
    "run_lock.lease_seconds",
    "run_lock.heartbeat_seconds",
    "packing.enabled",  # packed runs are bit-identical to separate ones (studies/packing.py)
    "parallel_runs.processes",  # so are runs trained beside others (studies/parallel_runs.py)
)


@gin.configurable("experiment")
def run(
    model_dir: str = gin.REQUIRED,
    task: collections.abc.Callable = gin.REQUIRED,
    seed: NonNegativeInt = 0,
    deterministic: bool = False,
    strategy: Literal[distribute.STRATEGIES] = "auto",
    precision: Literal[PRECISIONS] = "float32",
    jit_compile: Literal["auto"] | bool = "auto",
    verbose: Literal[0, 1, 2] = 2,
    only_run: str | None = None,
    plan_only: bool = False,
):
    """Runs ``task(ctx)`` in ``model_dir``; ``task`` is ``@train``, ``@distill`` or a study.

    With ``plan_only`` a study's checked plan is returned and nothing is written or trained.
    """
    gin_errors.check_required_macros(gin.config_str())
    # Every binding's type and range (config_types.py), before anything is written.
    config_types.check_bindings()
    if plan_only:
        return _plan(task, model_dir, seed)
    gpus = tf.config.list_physical_devices("GPU")
    if precision == "mixed_float16" and not gpus:
        raise ConfigError(
            "PRECISION 'mixed_float16' needs a GPU and none is visible; use 'float32' on CPU"
        )
    if jit_compile == "auto":
        jit_compile = bool(gpus)  # XLA measured slower on CPU (see BENCHMARKS.md)
    strategy_obj = distribute.make_strategy(strategy)
    is_chief = distribute.is_chief(strategy_obj)  # other workers write nothing into model_dir
    claimed = _claim_config(model_dir, gin.config_str(), write=is_chief)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    ctx = RunContext(
        model_dir=model_dir,
        seed=seed,
        strategy=strategy_obj,
        precision=precision,
        jit_compile=bool(jit_compile),
        is_chief=is_chief,
        verbose=verbose,
        only_run=only_run,
    )
    progress.experiment_started(model_dir)
    try:
        with gin_errors.as_config_errors():  # so that gin's call-time errors undo the claim too
            result = task(ctx)
    except (ConfigError, DataReadError):  # refused inputs, or data the OS cannot read
        if claimed:
            _unclaim(model_dir, *claimed)
        raise
    if is_chief:
        _write_operative_config(model_dir)
        line = done_line(model_dir, result)
        if line and (verbose or isinstance(result, list)):  # a study says where its report is
            print(line, flush=True)
    return result


def _plan(task, model_dir, seed):
    try:
        task(RunContext(model_dir=model_dir, seed=seed, plan_only=True))
    except PlanReady as ready:
        return ready
    raise ConfigError("experiment.task is a single run, not a study: run it directly")


def bindings(config_text):
    """``{'name.param': 'value'}`` from gin config text (continuation lines joined)."""
    entries, current = {}, None
    for line in config_text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and current:
            entries[current] += " " + line.strip()
        elif "=" in line:
            current, value = (part.strip() for part in line.split("=", 1))
            entries[current] = value
    return {k: v for k, v in entries.items() if k not in _NOT_IDENTITY}


def _claim_config(model_dir, config_text, write=True):
    """Writes config.gin; refuses a model_dir whose config.gin differs, naming the bindings.

    Checks that model_dir is writable on every start (a resumed run's disk may be full or
    read-only by now). Returns (config.gin path, model_dir's entries before, None if it did not
    exist) when this call wrote config.gin, else None.
    """
    path = os.path.join(model_dir, run_dir.CONFIG_GIN)
    _check_same_config(model_dir, path, config_text)
    if not write:
        return None
    before = sorted(os.listdir(model_dir)) if os.path.isdir(model_dir) else None
    run_dir.check_writable(model_dir)
    if atomic_io.create_exclusive(path, config_text):
        return path, before
    # Another process wrote it first (two starts of one study, or sweep workers): same config,
    # both proceed; their runs are split by the runs' leases (run_lock.py).
    _check_same_config(model_dir, path, config_text)
    return None


def _check_same_config(model_dir, path, config_text):
    if not os.path.exists(path):
        return
    with open(path) as f:
        old = bindings(f.read())
    new = bindings(config_text)
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        detail = "; ".join(
            f"{k}: {old.get(k, '<unset>')} -> {new.get(k, '<unset>')}" for k in changed
        )
        raise ConfigError(
            f"{model_dir} holds another experiment (differs in {detail}); use a new "
            "--model_dir, or delete that directory to start over"
        )


def _unclaim(model_dir, config_path, before):
    """Undoes a fresh claim refused by a ConfigError (tasks and studies check their inputs before
    writing anything else), so that the corrected command can use the same model_dir."""
    if not any(name.startswith(run_dir.LOCK_PREFIX) for name in before or []):
        run_lock.remove_released(model_dir)  # the refused run's own lease, released
    if sorted(os.listdir(model_dir)) != sorted((before or []) + [run_dir.CONFIG_GIN]):
        return  # something else was written since: the claim stands
    os.remove(config_path)
    if before is None:
        os.rmdir(model_dir)


def _write_operative_config(model_dir):
    text = gin.operative_config_str()
    atomic_io.write_text(os.path.join(model_dir, run_dir.OPERATIVE_GIN), text)
    writer = tf.summary.create_file_writer(
        os.path.join(model_dir, run_dir.LOGS_DIR, run_dir.CONFIG_LOGS)
    )
    with writer.as_default():
        markdown = "\n".join("    " + line for line in text.splitlines())
        tf.summary.text("operative_config", markdown, step=0)
    writer.close()
