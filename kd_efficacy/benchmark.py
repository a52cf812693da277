"""KD throughput against its limit: ``python -m kd_efficacy.benchmark`` (or ``tools/benchmark.py``).

A KD step costs at least one student training step plus one teacher forward pass, so with ``s``
and ``t`` the images/s of each alone, KD cannot beat ``limit = 1 / (1/s + 1/t)``. For each batch
size this measures, in steady state:

  student   the student's training step alone (a Distiller without teacher), through ``fit``
  teacher   the teacher's inference alone (``predict``) on batches cached from the same stream,
            so the input pipeline's cost is counted once in the limit (the strict bound)
  kd        KD training through the real Distiller and ``fit``
  multi     (``--students k``) k students sharing one teacher pass (MultiStudentDistiller)
  kd_run_callbacks  (``--run_callbacks``) kd with the per-batch callbacks of a real run
  pipeline  the tf.data training stream alone (it must never be the bottleneck)

Data: synthetic in-memory images of ``--image_shape`` through the real training pipeline
(``data/synthetic.py``: stateless per-example crop + flip, parallel map, batch, prefetch).

Modes are interleaved: each round times one window of every mode, in an order rotated per round,
so load from other processes on a shared machine hits all modes alike. Figures are medians over
rounds, with their spread; ``kd_over_limit`` divides medians, ``kd_over_limit_by_round`` gives the
per-round ratios. One JSON line per batch size goes to stdout (and ``--output``, appended).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

DEFAULTS = dict(
    teacher="resnet56",
    student="resnet20",
    batch_sizes="64,128",
    image_shape="32,32,3",
    num_classes=10,
    windows=5,
    window_steps=10,
    warmup_steps=3,
    num_examples=2048,
)
# --tiny: a smoke run of a few seconds (CI); any flag given explicitly still wins.
TINY = dict(
    teacher="resnet8",
    student="resnet8",
    batch_sizes="8",
    image_shape="8,8,3",
    num_classes=10,
    windows=2,
    window_steps=2,
    warmup_steps=1,
    num_examples=64,
)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m kd_efficacy.benchmark", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--teacher", help=f"teacher model name (default {DEFAULTS['teacher']})")
    parser.add_argument("--student", help=f"student model name (default {DEFAULTS['student']})")
    parser.add_argument("--batch_sizes", help="comma-separated global batch sizes (64,128)")
    parser.add_argument("--image_shape", help="H,W,C of the synthetic images (32,32,3)")
    parser.add_argument("--num_classes", type=int, help="classes (10)")
    parser.add_argument("--windows", type=int, help="timed windows (rounds) per mode (5)")
    parser.add_argument("--window_steps", type=int, help="timed steps per window (10)")
    parser.add_argument("--warmup_steps", type=int, help="untimed steps per mode first (3)")
    parser.add_argument("--num_examples", type=int, help="synthetic training examples (2048)")
    parser.add_argument("--students", type=int, default=1, help="k > 1 adds the multi mode")
    parser.add_argument("--steps_per_execution", type=int, default=1)
    parser.add_argument("--jit_compile", action="store_true", help="XLA-compile every step")
    parser.add_argument(
        "--precision", default="float32", choices=("float32", "mixed_bfloat16", "mixed_float16")
    )
    parser.add_argument(
        "--run_callbacks", action="store_true", help="add kd with a real run's batch callbacks"
    )
    parser.add_argument(
        "--inter_op_threads", type=int, default=0, help="TF inter-op threads (0: TF's default)"
    )
    parser.add_argument(
        "--intra_op_threads", type=int, default=0, help="TF intra-op threads (0: TF's default)"
    )
    parser.add_argument("--output", help="also append the JSON lines to this file")
    parser.add_argument("--tiny", action="store_true", help="smoke-test sizes (seconds)")
    args = parser.parse_args(argv)
    for name, value in (TINY if args.tiny else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.batch_sizes = [int(b) for b in str(args.batch_sizes).split(",")]
    args.image_shape = tuple(int(d) for d in str(args.image_shape).split(","))
    if args.windows < 1 or args.window_steps < 1 or args.students < 1:
        parser.error("--windows, --window_steps and --students must be >= 1")
    return args


class _Modes:
    """The models of one configuration and, per mode, a ``run(total_steps, timer)``."""

    def __init__(self, args, batch_size, log_dir):
        import keras

        from kd_efficacy import callbacks, models, multi_student, trainer
        from kd_efficacy.data import synthetic
        from kd_efficacy.distiller import Distiller
        from kd_efficacy.kd_settings import KDSettings
        from kd_efficacy.recipe import Recipe

        self.data = synthetic.build(
            args.image_shape,
            args.num_classes,
            global_batch_size=batch_size,
            num_examples=max(args.num_examples, batch_size),
        )
        info = self.data.info
        recipe = Recipe(global_batch_size=batch_size)

        def build(name):
            return models.build(
                name,
                input_shape=info.image_shape,
                num_classes=info.num_classes,
                mean=info.mean,
                std=info.std,
            )

        def compiled(distiller):  # the compile step of a real run (trainer.py)
            return trainer.compile_distiller(
                distiller,
                recipe,
                self.data.steps_per_epoch,
                args.precision,
                jit_compile=args.jit_compile,
                steps_per_execution=args.steps_per_execution,
            )

        kd_options = dict(kd=KDSettings())  # the default a run distills with
        common = dict(weight_decay=recipe.weight_decay, num_classes=info.num_classes)
        self.teacher = build(args.teacher)
        self.teacher.compile(
            jit_compile=args.jit_compile, steps_per_execution=args.steps_per_execution
        )
        fits = {
            "student": compiled(Distiller(build(args.student), **common)),
            "kd": compiled(Distiller(build(args.student), [self.teacher], **kd_options, **common)),
        }
        extra = {}
        if args.run_callbacks:
            fits["kd_run_callbacks"] = compiled(
                Distiller(build(args.student), [self.teacher], **kd_options, **common)
            )
            # The per-batch callbacks of tasks.py's runs (the others act at epoch ends only).
            extra["kd_run_callbacks"] = [
                callbacks.StopOnNonFinite(),
                keras.callbacks.TensorBoard(log_dir, write_graph=False, update_freq="epoch"),
            ]
        if args.students > 1:
            members = [
                compiled(Distiller(build(args.student), [self.teacher], **kd_options, **common))
                for _ in range(args.students)
            ]
            fits["multi"] = multi_student.compile_pack(
                multi_student.MultiStudentDistiller(members),
                jit_compile=args.jit_compile,
                steps_per_execution=args.steps_per_execution,
            )
        # Teacher input: a few batches of the real stream, cached (see the module docstring).
        cached = self.data.train.take(4).map(lambda images, labels: images).cache().repeat()

        self.runs = {name: self._fit(model, extra.get(name, [])) for name, model in fits.items()}
        self.runs["teacher"] = lambda total, timer: self.teacher.predict(
            cached, steps=total, verbose=0, callbacks=[timer]
        )
        self.runs["pipeline"] = self._iterate
        self.multi_students = args.students if args.students > 1 else None

    def _fit(self, model, extra_callbacks):
        def run(total, timer):
            model.fit(
                self.data.train,
                steps_per_epoch=total,
                epochs=1,
                verbose=0,
                shuffle=False,  # the stream is already shuffled per epoch
                callbacks=[timer, *extra_callbacks],
            )

        return run

    def _iterate(self, total, timer):
        for step, _ in enumerate(self.data.train.take(total)):
            timer.on_train_batch_begin(step)
        timer.on_epoch_end(0)


def _medians(windows, attr):
    medians = {}
    for name, ws in windows.items():
        values = [getattr(w, attr) for w in ws]
        medians[name] = None if None in values else statistics.median(values)
    return medians


def _multi(ips, k):
    """The k-student mode against separate KD runs and against its own limit."""
    multi = ips["multi"]["median"]
    limit = 1.0 / (k / ips["student"]["median"] + 1.0 / ips["teacher"]["median"])
    return {
        "students": k,
        "images_per_s": multi,
        # Each image trains k students; separate runs train one each at the kd rate.
        "student_images_per_s": k * multi,
        "speedup_vs_separate": k * multi / ips["kd"]["median"],
        "limit_images_per_s": limit,
        "over_limit": multi / limit,
    }


def _threads(kind):
    import tensorflow as tf

    getter = getattr(tf.config.threading, f"get_{kind}_op_parallelism_threads")
    return getter() or "default"


def _limit(student, teacher):
    return 1.0 / (1.0 / student + 1.0 / teacher)


def measure(args, batch_size):
    """Times every mode for one batch size; returns the JSON-ready result."""
    import keras

    from kd_efficacy import throughput

    keras.backend.clear_session()  # the previous batch size's models
    keras.mixed_precision.set_global_policy(args.precision)
    with tempfile.TemporaryDirectory() as log_dir:
        modes = _Modes(args, batch_size, log_dir)
        names = list(modes.runs)
        steps_per_call = {n: 1 if n == "pipeline" else args.steps_per_execution for n in names}
        warm_started = time.perf_counter()
        for name in names:  # traces and compiles each step function; untimed
            throughput.timed(modes.runs[name], args.warmup_steps, batch_size, steps_per_call[name])
        warmup_seconds = time.perf_counter() - warm_started
        windows = {name: [] for name in names}
        for round_index in range(args.windows):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                window = throughput.timed(
                    modes.runs[name], args.window_steps, batch_size, steps_per_call[name]
                )
                windows[name].append(window)
    result = {
        "teacher": args.teacher,
        "student": args.student,
        "batch_size": batch_size,
        "image_shape": list(args.image_shape),
        "num_classes": args.num_classes,
        "windows": args.windows,
        "window_steps": args.window_steps,
        "steps_per_execution": args.steps_per_execution,
        "jit_compile": bool(args.jit_compile),
        "precision": args.precision,
        "inter_op_threads": _threads("inter"),
        "intra_op_threads": _threads("intra"),
        "warmup_seconds": warmup_seconds,
        "cpu_share": _medians(windows, "cpu_share"),
        "others_share": _medians(windows, "others_share"),
        "peak_rss_mb": {n: max(w.peak_rss_mb for w in ws) for n, ws in windows.items()},
        "gpu_memory_mb": throughput.gpu_memory_mb(),
    }
    # Wall-clock figures, and the same per CPU-second (robust to other processes' load).
    for prefix, attr in (("", "images_per_s"), ("cpu_", "cpu_images_per_s")):
        ips = {n: throughput.summary([getattr(w, attr) for w in ws]) for n, ws in windows.items()}
        limit = _limit(ips["student"]["median"], ips["teacher"]["median"])
        by_round = [
            getattr(k, attr) / _limit(getattr(s, attr), getattr(t, attr))
            for s, t, k in zip(windows["student"], windows["teacher"], windows["kd"])
        ]
        result[f"{prefix}images_per_s"] = ips
        result[f"{prefix}limit_images_per_s"] = limit
        result[f"{prefix}kd_over_limit"] = ips["kd"]["median"] / limit
        result[f"{prefix}kd_over_limit_by_round"] = throughput.summary(by_round)
        if "kd_run_callbacks" in ips:
            ratio = ips["kd_run_callbacks"]["median"] / ips["kd"]["median"]
            result[f"{prefix}run_callbacks_over_kd"] = ratio
        if modes.multi_students:
            result[f"{prefix}multi"] = _multi(ips, modes.multi_students)
    result["machine"] = _machine()
    return result


def _machine():
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpus": [g.name for g in gpus],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _print_table(result, out=sys.stderr):
    """A human-readable summary (the JSON line on stdout has everything)."""
    shape = "x".join(map(str, result["image_shape"]))
    xla = "on" if result["jit_compile"] else "off"
    print(
        f"\n{result['teacher']} -> {result['student']}, batch {result['batch_size']}, {shape}, "
        f"XLA {xla}, {result['precision']}  (img/s: wall-clock | per CPU-second x cores)",
        file=out,
    )
    for name, stats in result["images_per_s"].items():
        cpu = result["cpu_images_per_s"][name]
        others = result["others_share"][name]
        print(
            f"  {name:17s} {stats['median']:8.1f} ±{100 * stats['spread']:4.1f}% | "
            f"{cpu['median']:8.1f} ±{100 * cpu['spread']:4.1f}%   "
            f"cpu share {result['cpu_share'][name]:.2f}, others "
            f"{'?' if others is None else f'{others:.2f}'}, "
            f"peak RSS {result['peak_rss_mb'][name]:.0f} MB",
            file=out,
        )
    for prefix, label in (("", "wall"), ("cpu_", "cpu ")):
        rounds = result[f"{prefix}kd_over_limit_by_round"]
        line = (
            f"  {label}: limit {result[f'{prefix}limit_images_per_s']:.1f} img/s, "
            f"KD/limit {result[f'{prefix}kd_over_limit']:.3f} (by round {rounds['median']:.3f}, "
            f"{rounds['min']:.3f}-{rounds['max']:.3f})"
        )
        if f"{prefix}multi" in result:
            m = result[f"{prefix}multi"]
            line += (
                f"; {m['students']} students {m['speedup_vs_separate']:.2f}x separate runs, "
                f"{m['over_limit']:.3f} of their limit"
            )
        if f"{prefix}run_callbacks_over_kd" in result:
            line += f"; run callbacks {result[f'{prefix}run_callbacks_over_kd']:.3f}x kd"
        print(line, file=out)


def main(argv=None):
    """Runs the benchmark; returns one result dict per batch size."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    # Thread pools are fixed when TensorFlow's runtime starts: before any op runs.
    if args.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    if args.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    results = []
    for batch_size in args.batch_sizes:
        result = measure(args, batch_size)
        _print_table(result)
        line = json.dumps(result, sort_keys=True)
        print(line, flush=True)
        if args.output:
            with open(args.output, "a") as f:
                f.write(line + "\n")
        results.append(result)
    return results


if __name__ == "__main__":
    main()
