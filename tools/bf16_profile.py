"""Why does ``mixed_bfloat16`` not speed up KD on this CPU? Measures each suspect in isolation.

    python tools/bf16_profile.py [--batch=64] [--rounds=5] [--out=bf16_profile.json]

Each section times float32 against bfloat16 in interleaved rounds (medians; a shared machine's
load hits both alike) and prints one JSON line:

  conv_wide the same for wide layers (WRN-28-10, ImageNet ResNets' last stages)
  conv      3x3 convolutions of the CIFAR ResNets' three stages (16/32/64 channels at 32/16/8 px):
            forward, input gradient and filter gradient, in GFLOP/s
  batchnorm a Keras BatchNormalization layer's training step (forward + backward) under each
            dtype policy: under ``mixed_bfloat16`` Keras computes the moments in float32, so it
            casts the activations up and back
  casts     how many Cast ops a student's traced training step holds under each policy
  onednn    which oneDNN implementation runs each convolution and reorder of one training step
            (from ONEDNN_VERBOSE, in a subprocess), and the share of time per primitive kind
  model     images/s of whole steps: the student's training step and the teacher's inference

The numbers go to BENCHMARKS.md ("bf16 on CPU"), with the command that made them.
"""

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

STAGES = ((32, 16), (16, 32), (8, 64))  # (pixels, channels) of the CIFAR ResNets' stages
# Wider layers (WRN-28-10's stages, ImageNet ResNets' last stages), to see whether the bf16
# kernels pay once channels are wide enough for their blocking.
WIDE_STAGES = ((32, 160), (16, 320), (14, 256), (7, 512))
POLICIES = ("float32", "mixed_bfloat16")


def _median_seconds(fns, rounds, steps):
    """Interleaved timing: each round runs every fn ``steps`` times; medians per fn."""
    for fn in fns.values():
        fn()  # trace and warm up outside the timed rounds
    times = collections.defaultdict(list)
    for r in range(rounds):
        names = list(fns)
        names = names[r % len(names) :] + names[: r % len(names)]
        for name in names:
            start = time.perf_counter()
            for _ in range(steps):
                out = fns[name]()
            _ = [t.numpy() for t in tf.nest.flatten(out)[:1]]  # wait for the result
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(t) for name, t in times.items()}


def conv_section(batch, rounds, stages=STAGES):
    """GFLOP/s of 3x3 convolutions (forward, input grad, filter grad) per dtype and stage."""
    out = {}
    for pixels, channels in stages:
        flops = 2 * batch * pixels * pixels * channels * channels * 9
        fns = {}
        for dtype in (tf.float32, tf.bfloat16):
            x = tf.random.normal((batch, pixels, pixels, channels), dtype=tf.float32)
            w = tf.random.normal((3, 3, channels, channels), dtype=tf.float32) * 0.1
            x, w = tf.cast(x, dtype), tf.cast(w, dtype)
            dy = tf.cast(tf.random.normal((batch, pixels, pixels, channels)), dtype)
            name = dtype.name

            fns[f"{name}_forward"] = tf.function(lambda x=x, w=w: tf.nn.conv2d(x, w, 1, "SAME"))
            fns[f"{name}_input_grad"] = tf.function(
                lambda x=x, w=w, dy=dy: tf.raw_ops.Conv2DBackpropInput(
                    input_sizes=tf.shape(x),
                    filter=w,
                    out_backprop=dy,
                    strides=[1, 1, 1, 1],
                    padding="SAME",
                )
            )
            fns[f"{name}_filter_grad"] = tf.function(
                lambda x=x, w=w, dy=dy: tf.raw_ops.Conv2DBackpropFilter(
                    input=x,
                    filter_sizes=tf.shape(w),
                    out_backprop=dy,
                    strides=[1, 1, 1, 1],
                    padding="SAME",
                )
            )
        seconds = _median_seconds(fns, rounds, steps=10)
        out[f"{pixels}px_{channels}ch"] = {k: round(flops / s / 1e9, 1) for k, s in seconds.items()}
    return out


def _bn_step(policy, batch, pixels, channels):
    keras.mixed_precision.set_global_policy(policy)
    layer = keras.layers.BatchNormalization()
    layer.build((None, pixels, pixels, channels))
    x = tf.cast(tf.random.normal((batch, pixels, pixels, channels)), layer.compute_dtype)
    keras.mixed_precision.set_global_policy("float32")

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, tf.float32))
        return tape.gradient(loss, x)

    return step


def batchnorm_section(batch, rounds):
    """Microseconds per BatchNorm training step (forward + backward) per policy and stage."""
    out = {}
    for pixels, channels in STAGES:
        fns = {p: _bn_step(p, batch, pixels, channels) for p in POLICIES}
        seconds = _median_seconds(fns, rounds, steps=20)
        out[f"{pixels}px_{channels}ch"] = {p: round(s * 1e6) for p, s in seconds.items()}
    return out


def _student_step(policy, model_name, batch):
    from kd_efficacy import models

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = models.build(model_name, input_shape=(32, 32, 3), num_classes=10)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    images = tf.random.uniform((batch, 32, 32, 3))
    labels = tf.random.uniform((batch,), maxval=10, dtype=tf.int32)
    variables = model.trainable_variables

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            logits = tf.cast(model(images, training=True), tf.float32)
            loss = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            )
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    @tf.function
    def infer():
        return model(images, training=False)

    return step, infer


def _op_counts(graph):
    """Op types in ``graph`` and, recursively, in the function bodies it calls (the model's
    forward and backward live in nested functions of the traced step)."""
    total = collections.Counter(op.type for op in graph.get_operations())
    for fn in graph._functions.values():
        if hasattr(fn, "graph"):
            total += _op_counts(fn.graph)
    return total


def casts_section(model_name, batch):
    """Cast ops in the traced training step (forward + backward + update) per policy."""
    out = {}
    for policy in POLICIES:
        step, _ = _student_step(policy, model_name, batch)
        ops = _op_counts(step.get_concrete_function().graph)
        out[policy] = {
            "Cast": ops["Cast"],
            "Conv2D": ops["Conv2D"],
            "FusedBatchNormV3": ops["FusedBatchNormV3"],
            "all_ops": sum(ops.values()),
        }
    return out


def model_section(student, teacher, batch, rounds):
    """Images/s of the student's training step and the teacher's inference per policy."""
    fns = {}
    for policy in POLICIES:
        step, _ = _student_step(policy, student, batch)
        _, infer = _student_step(policy, teacher, batch)
        fns[f"{policy}_student_train"] = step
        fns[f"{policy}_teacher_infer"] = infer
    seconds = _median_seconds(fns, rounds, steps=5)
    return {k: round(batch / s, 1) for k, s in seconds.items()}


_VERBOSE_LINE = re.compile(
    r"^onednn_verbose,v1,primitive,exec,cpu,([^,]+),([^,]*),([^,]*),.*,([\d.]+)$"
)


_MARKER = "kd_efficacy: timed steps follow"
_TIMED_STEPS = 3


def onednn_section(student, batch):
    """Per policy: oneDNN primitive -> {implementation: count per step}, and ms per step."""
    out = {}
    for policy in POLICIES:
        env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
        cmd = [
            sys.executable,
            __file__,
            "--_one_step",
            policy,
            "--student",
            student,
            "--batch",
            str(batch),
        ]
        text = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        impls, ms = collections.defaultdict(collections.Counter), collections.Counter()
        # Only the second (timed) step: the first one also creates every primitive.
        timed = text.split(_MARKER, 1)[-1]
        for line in timed.splitlines():
            m = _VERBOSE_LINE.match(line)
            if m:
                kind, impl, prop, t = m.groups()
                impls[f"{kind}/{prop}"][impl] += 1 / _TIMED_STEPS
                ms[f"{kind}/{prop}"] += float(t) / _TIMED_STEPS
        out[policy] = {
            "implementations": {k: dict(v) for k, v in impls.items()},
            "ms_per_kind": {k: round(v, 1) for k, v in ms.most_common()},
        }
    return out


def _one_step(policy, student, batch):
    step, _ = _student_step(policy, student, batch)
    step()  # trace + first run (oneDNN creates primitives)
    print(_MARKER, flush=True)
    for _ in range(_TIMED_STEPS):
        step().numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--wide_batch", type=int, default=16, help="batch of the conv_wide section")
    parser.add_argument("--student", default="resnet20")
    parser.add_argument("--teacher", default="resnet56")
    parser.add_argument("--sections", default="conv,conv_wide,batchnorm,casts,onednn,model")
    parser.add_argument("--out", default=None, help="also append the JSON lines to this file")
    parser.add_argument("--_one_step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._one_step:
        return _one_step(args._one_step, args.student, args.batch)
    sections = {
        "conv": lambda: conv_section(args.batch, args.rounds),
        "conv_wide": lambda: conv_section(args.wide_batch, args.rounds, WIDE_STAGES),
        "batchnorm": lambda: batchnorm_section(args.batch, args.rounds),
        "casts": lambda: casts_section(args.student, args.batch),
        "onednn": lambda: onednn_section(args.student, args.batch),
        "model": lambda: model_section(args.student, args.teacher, args.batch, args.rounds),
    }
    for name in args.sections.split(","):
        line = json.dumps({"section": name, "batch": args.batch, **{"result": sections[name]()}})
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
