"""GPU check: a CIFAR-shaped KD training step under each precision and under MirroredStrategy.

    python tools/gpu_check.py [--logical_devices=2] [--out=gpu_check.json]

For every configuration (precision x strategy) it reports
- throughput: images/s of the Distiller's ``fit`` step (teacher forward + student step) on a
  batch held in memory, so the input pipeline is not measured, after ``--warmup`` steps;
- agreement with float32 on one device: from the same initial weights and the same batches,
  ``--agree_steps`` training steps, then the max |logit difference| and the relative loss
  difference of the student on a fixed batch. Agreement runs use synchronized BatchNorm, which
  makes a mirrored step equal a one-device step (per-replica BN statistics legitimately differ).

JIT follows ``experiment.jit_compile='auto'`` (XLA on when a GPU is visible). With one physical
GPU, ``--logical_devices=2`` splits it in two so MirroredStrategy has two replicas (all-reduce by
copying through one device: NCCL needs distinct GPUs). Without a GPU the script runs on CPU at
whatever sizes you pass (a dry run of the script itself; float16 is skipped, as experiment.py
refuses it on CPU). Exit status 1 when an agreement bound below is broken.
Record the printed table in docs/SCALING.md ("GPU check").
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Bounds on |agreement with float32 on one device| after --agree_steps steps.
BOUNDS = {
    ("float32", "mirrored"): 1e-3,  # same math, different summation order
    ("mixed_bfloat16", "default"): 0.5,  # 8-bit mantissa: logits drift, stay close
    ("mixed_bfloat16", "mirrored"): 0.5,
    ("mixed_float16", "default"): 0.1,
    ("mixed_float16", "mirrored"): 0.1,
}


def _flags():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--teacher", default="resnet110")
    p.add_argument("--student", default="resnet20")
    p.add_argument("--num_classes", type=int, default=100)
    p.add_argument("--batch", type=int, default=256, help="global batch")
    p.add_argument("--steps", type=int, default=100, help="timed steps")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--agree_steps", type=int, default=5)
    p.add_argument("--logical_devices", type=int, default=0, help="split the first device")
    p.add_argument("--logical_memory_mb", type=int, default=6000, help="per logical GPU")
    p.add_argument("--out", default="gpu_check.json")
    return p.parse_args()


def _split_first_device(count, memory_mb):
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    device = (gpus or tf.config.list_physical_devices("CPU"))[0]
    limit = {"memory_limit": memory_mb} if gpus else {}  # logical GPUs need a memory limit
    configs = [tf.config.LogicalDeviceConfiguration(**limit) for _ in range(count)]
    tf.config.set_logical_device_configuration(device, configs)


def _strategy(name):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
    # Logical GPUs share one physical GPU: NCCL cannot all-reduce between them.
    ops = tf.distribute.HierarchicalCopyAllReduce() if len(devices) > 1 else None
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=ops)


class _Setup:
    """Initial weights and data shared by every configuration."""

    def __init__(self, flags):
        import keras

        from kd_efficacy import models

        self.flags = flags
        shape = (32, 32, 3)
        rng = np.random.default_rng(0)
        total = flags.batch * max(flags.agree_steps, 1)
        self.images = rng.uniform(size=(total, *shape)).astype(np.float32)
        self.labels = rng.integers(0, flags.num_classes, size=(total,)).astype(np.int32)
        self.eval_images = rng.uniform(size=(flags.batch, *shape)).astype(np.float32)
        self.eval_labels = rng.integers(0, flags.num_classes, size=(flags.batch,)).astype(np.int32)
        keras.mixed_precision.set_global_policy("float32")
        self.weights = {}
        for role, name in (("teacher", flags.teacher), ("student", flags.student)):
            keras.utils.set_random_seed(1 if role == "teacher" else 2)
            model = models.build(name, input_shape=shape, num_classes=flags.num_classes)
            self.weights[role] = [w.numpy() for w in model.weights]

    def distiller(self, precision, strategy, sync_batchnorm, jit):
        import keras

        from kd_efficacy import models
        from kd_efficacy.distiller import Distiller
        from kd_efficacy.kd_settings import KDSettings

        keras.mixed_precision.set_global_policy(precision)
        with strategy.scope():
            built = {}
            for role, name in (("teacher", self.flags.teacher), ("student", self.flags.student)):
                model = models.build(
                    name,
                    input_shape=(32, 32, 3),
                    num_classes=self.flags.num_classes,
                    sync_batchnorm=sync_batchnorm,
                )
                model.set_weights(self.weights[role])
                built[role] = model
            distiller = Distiller(
                built["student"],
                [built["teacher"]],
                kd=KDSettings(4.0, 0.1, 0.9),
                weight_decay=5e-4,
                num_classes=self.flags.num_classes,
            )
            optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
            if precision == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            distiller.compile(optimizer=optimizer, jit_compile=jit)
        return distiller


def _agreement(setup, precision, strategy_name, jit):
    import tensorflow as tf

    from kd_efficacy import losses

    distiller = setup.distiller(precision, _strategy(strategy_name), True, jit)
    data = tf.data.Dataset.from_tensor_slices((setup.images, setup.labels)).batch(setup.flags.batch)
    distiller.fit(data, epochs=1, verbose=0, shuffle=False)
    logits = distiller.student.predict(setup.eval_images, batch_size=setup.flags.batch, verbose=0)
    ce = losses.cross_entropy(setup.eval_labels, logits).numpy().mean()
    return np.asarray(logits, np.float32), float(ce)


def _throughput(setup, precision, strategy_name, jit):
    import tensorflow as tf

    distiller = setup.distiller(precision, _strategy(strategy_name), False, jit)
    batch = (setup.images[: setup.flags.batch], setup.labels[: setup.flags.batch])
    data = tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)
    distiller.fit(data, steps_per_epoch=setup.flags.warmup, epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    distiller.fit(data, steps_per_epoch=setup.flags.steps, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    return setup.flags.steps * setup.flags.batch / seconds


def main():
    flags = _flags()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if flags.logical_devices:
        _split_first_device(flags.logical_devices, flags.logical_memory_mb)
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    jit = bool(gpus)  # experiment.jit_compile = 'auto'
    precisions = ["float32", "mixed_bfloat16"] + (["mixed_float16"] if gpus else [])
    replicas = _strategy("mirrored").num_replicas_in_sync
    strategies = ["default"] + (["mirrored"] if replicas > 1 else [])
    setup = _Setup(flags)
    reference_logits, reference_ce = _agreement(setup, "float32", "default", jit)
    rows, failures = [], []
    for precision in precisions:
        for strategy_name in strategies:
            logits, ce = _agreement(setup, precision, strategy_name, jit)
            row = {
                "precision": precision,
                "strategy": strategy_name,
                "replicas": replicas if strategy_name == "mirrored" else 1,
                "jit": jit,
                "images_per_s": round(_throughput(setup, precision, strategy_name, jit), 1),
                "max_abs_logit_diff": float(np.abs(logits - reference_logits).max()),
                "ce_rel_diff": abs(ce - reference_ce) / max(abs(reference_ce), 1e-12),
            }
            bound = BOUNDS.get((precision, strategy_name))
            if bound is not None and row["max_abs_logit_diff"] > bound:
                failures.append(f"{precision}/{strategy_name}: |dlogit| > {bound}")
            rows.append(row)
            print(json.dumps(row), flush=True)
    device = tf.config.experimental.get_device_details(gpus[0]) if gpus else {"device": "CPU"}
    report = {"device": device, "flags": vars(flags), "rows": rows, "failures": failures}
    with open(flags.out, "w") as f:
        json.dump(report, f, indent=2, default=str)
    print(f"\ndevice: {device.get('device_name', device)}; global batch {flags.batch}; "
          f"{flags.teacher} -> {flags.student}; XLA {'on' if jit else 'off'}")  # fmt: skip
    print("| precision | strategy | replicas | images/s | max abs dlogit vs float32 | rel dCE |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['precision']} | {r['strategy']} | {r['replicas']} | {r['images_per_s']} | "
              f"{r['max_abs_logit_diff']:.2e} | {r['ce_rel_diff']:.2e} |")  # fmt: skip
    if failures:
        print("FAILED: " + "; ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
