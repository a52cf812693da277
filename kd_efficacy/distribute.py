"""Strategy selection: the same experiment on a laptop CPU, one GPU host or many hosts.

``STRATEGY`` (``experiment.strategy``):
- 'auto': MirroredStrategy when more than one GPU is visible, else the default strategy;
- 'default': no distribution; 'one_device': pinned to the first GPU (or CPU);
- 'mirrored': all local GPUs (or, with none, all logical CPU devices: used by tests);
- 'multi_worker': MultiWorkerMirroredStrategy driven by TF_CONFIG or Slurm, with the Keras 3
  workaround of ``keras_multi_worker_fix.py``.

The global batch (GLOBAL_BATCH_SIZE) is split evenly across all replicas of all workers
(``check_batch``); the learning rate depends on the global batch only (``learning_rate.peak_lr``),
never on the replica count. Under multi_worker every worker runs the same program; only the chief
(``is_chief``) writes into model_dir, the others write into a scratch directory (``tasks.py``),
and each worker decodes only its own share of every global batch (``train_input``).
"""

import json
import os

import tensorflow as tf

from kd_efficacy.errors import ConfigError

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker")


def make_strategy(name="auto"):
    if name not in STRATEGIES:
        raise ConfigError(
            f"unknown strategy {name!r}; use one of {STRATEGIES} (experiment.strategy)"
        )
    if name == "multi_worker":  # first: listing logical devices would start the runtime
        return _multi_worker()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)


def _multi_worker():
    from kd_efficacy import keras_multi_worker_fix

    resolver = None
    if "TF_CONFIG" in os.environ:
        _check_tf_config(os.environ["TF_CONFIG"])
    elif "SLURM_JOB_ID" in os.environ:
        # One task per node, each using all of its node's GPUs (srun --ntasks-per-node=1).
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
    else:
        raise ConfigError(
            "strategy 'multi_worker' needs TF_CONFIG (or a Slurm job); set TF_CONFIG on every "
            "host (see docs/SCALING.md), or use experiment.strategy = 'mirrored' for one host"
        )
    return keras_multi_worker_fix.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


def _check_tf_config(text):
    example = (
        '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", '
        '"index": 0}} with this host\'s index'
    )
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        workers = list(cluster.get("chief", [])) + list(cluster["worker"])
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(
            f"TF_CONFIG is not usable for multi_worker ({e!r}); set it to {example}"
        ) from None
    if not workers:
        raise ConfigError(f"TF_CONFIG lists no workers; set it to {example}")
    if kind not in ("worker", "chief") or not 0 <= index < len(cluster.get(kind, [])):
        raise ConfigError(
            f"TF_CONFIG task {kind}:{index} is not in its cluster; set task.type to 'worker' "
            f"and task.index to this host's position in cluster.worker"
        )


def is_chief(strategy):
    """Whether this process writes results (always, except non-chief multi-worker processes)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def is_multi_worker(strategy):
    """Whether ``strategy`` spans more than one worker process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    return len(spec.get("chief", [])) + len(spec.get("worker", [])) > 1


def check_same_on_all_workers(strategy, values, what):
    """Raises ConfigError unless every worker holds the same small integers ``values``.

    Workers that disagree on shared state (e.g. a run's progress read from model_dir) would
    otherwise wait for each other's collectives forever; one gather turns that into an error.
    """
    if not is_multi_worker(strategy):
        return
    local = tf.constant([values], tf.float32)
    seen = strategy.gather(local, axis=0).numpy()
    if (seen != seen[:1]).any():
        raise ConfigError(
            f"the workers disagree on {what} ({seen.astype(int).tolist()}); put model_dir on a "
            "filesystem every worker reads (NFS, a bucket mount) and give all the same --model_dir"
        )


def train_input(strategy, data):
    """What ``fit`` trains on: ``data.train`` (split per replica by ``fit``) on one host; across
    workers, one stream per worker holding its rows of each global batch, decoded by it alone
    (``Data.train_share``), instead of tf.data's auto-sharding, under which every worker decodes
    every example and keeps its share."""
    if not is_multi_worker(strategy):
        return data.train
    return strategy.distribute_datasets_from_function(data.train_share)


def check_batch(global_batch_size, strategy):
    """The global batch must split evenly: every replica gets global / replicas examples."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ConfigError(
            f"GLOBAL_BATCH_SIZE {global_batch_size} is not divisible by the {replicas} replicas; "
            f"use a multiple of {replicas}"
        )
