"""Strategy selection: the same experiment on a laptop CPU, one GPU host or many hosts.

``STRATEGY`` (``experiment.strategy``):
- 'auto': MirroredStrategy when more than one GPU is visible, else the default strategy;
- 'default': no distribution; 'one_device': pinned to the first GPU (or CPU);
- 'mirrored': all local GPUs (or, with none, all logical CPU devices: used by tests);
- 'multi_worker': MultiWorkerMirroredStrategy driven by TF_CONFIG or Slurm.
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
    return _multi_worker()


def _multi_worker():
    resolver = None
    if "TF_CONFIG" in os.environ:
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])
            workers = cluster["cluster"]["worker"]
            cluster["task"]["index"]
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(
                f"TF_CONFIG is not usable for multi_worker ({e}); set it to "
                '{"cluster": {"worker": ["host:port", ...]}, '
                '"task": {"type": "worker", "index": i}}'
            ) from None
        if not workers:
            raise ConfigError("TF_CONFIG lists no workers; add them under cluster.worker")
    elif "SLURM_JOB_ID" in os.environ:
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
    else:
        raise ConfigError(
            "strategy 'multi_worker' needs TF_CONFIG (or a Slurm job); set TF_CONFIG on every "
            "host, or use experiment.strategy = 'mirrored' for one host"
        )
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


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


def check_batch(global_batch_size, strategy):
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ConfigError(
            f"GLOBAL_BATCH_SIZE {global_batch_size} is not divisible by the {replicas} replicas; "
            f"use a multiple of {replicas}"
        )
