"""Fault injection: a study killed with SIGKILL at random moments must end as if never killed.

    python tools/chaos.py --kills 20 --seed 0 [--study capacity_gap|early_stopping|sequential|
        ensemble] [--size small|ci] [--eskd both|before|after|none] [--double_starts N]
        [--workdir DIR]

1. Runs a small digits study (``--study``, default capacity_gap) once, uninterrupted (the
   reference), deterministic.
2. Runs it again in a fresh directory, killing it (SIGKILL) ``--kills`` times and restarting it
   each time, then lets it finish. Kill points are drawn with ``--seed``: a target amount of
   progress (epochs written across the study's runs, uniform over the whole study), reached,
   plus a random delay of up to ``--jitter`` seconds, so kills land anywhere: during start-up,
   mid-epoch, inside a checkpoint, snapshot or result write, between runs, in the report.
   ``--eskd`` adds kills placed around the stop epoch S of the study's first ESKD run (if it has
   one), with no delay: when its epoch S-1 is written (so the kill lands in the last KD epoch or
   in its checkpoint write) and when epoch S is written (the first epoch without KD).
3. Compares the two studies bit for bit: ``summary.csv`` and every run's ``metrics.jsonl`` and
   ``result.json`` (timings aside), checkpoint and snapshot arrays. Counts *runs lost*: runs
   complete at some kill whose ``result.json`` was written again later (trained twice).

With ``--double_starts N``, N of the starts launch two processes at once (a double launch, or
two sweep workers): they must split the study's runs (run_lock.py), both end with exit 0, and
the result must still be bit-identical.

Prints the figures as JSON; exits 1 when the studies differ or a run was lost.
"""

import argparse
import csv
import glob
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's kd_efficacy, also when run as a script

from kd_efficacy import run_dir as layout  # noqa: E402 (file names; imports no TensorFlow)

STUDY_GIN = "gin_configs/experiments/capacity_gap/digits.gin"
_COMMON = [
    "SEEDS = [0]",
    "EPOCHS = 3",  # ESKD stops at 2: a kill before and one after the stop epoch both resume
    "GLOBAL_BATCH_SIZE = 32",
    "recipe.max_train_examples = 128",
    "experiment.deterministic = True",
    "experiment.verbose = 0",
]
SIZES = {
    # 9 runs: 2 teachers, scratch, and KD / ESKD / early-stopped-teacher students of each teacher.
    "small": _COMMON
    + [
        "STUDENT = 'resnet8'",
        "TEACHERS = ['resnet8', 'resnet14']",
        "VARIANTS = {'kd': ('last', None), 'eskd': ('last', 2), 'early': (1, None)}",
    ],
    # 3 runs (teacher, scratch, ESKD student): short enough for CI.
    "ci": _COMMON
    + [
        "STUDENT = 'resnet8'",
        "TEACHERS = ['resnet8']",
        "VARIANTS = {'eskd': ('last', 2)}",
        "recipe.train_set_metrics = False",
    ],
}
# --study: (gin file, {size: bindings}); the other studies at one small size each.
STUDIES = {
    "capacity_gap": (STUDY_GIN, SIZES),
    "early_stopping": (
        "gin_configs/experiments/early_stopping/digits.gin",
        # 5 runs: teacher, scratch, KD from the last and the epoch-1 teacher, ESKD stopped at 2.
        {
            "small": _COMMON
            + [
                "STUDENT = 'resnet8'",
                "TEACHERS = ['resnet14']",
                "TEACHER_EPOCHS = [1]",
                "STOP_KD_EPOCHS = [2]",
            ]
        },
    ),
    "sequential": (
        "gin_configs/experiments/sequential/digits.gin",
        {"small": _COMMON + ["CHAIN = ['resnet14', 'resnet8']"]},
    ),
    "ensemble": (
        "gin_configs/experiments/ensemble/digits.gin",
        {"small": _COMMON + ["CHAIN = ['resnet14', 'resnet8', 'resnet8']"]},  # 2+ members
    ),
}
TIMING_KEYS = ("train_seconds", "session_seconds", "epoch_seconds", "hardware")


def command(size, study_dir, study="capacity_gap"):
    gin_file, sizes = STUDIES[study]
    bindings = [f"--gin_bindings={b}" for b in sizes[size]]
    return [sys.executable, "-m", "kd_efficacy.run", f"--gin_file={gin_file}", *bindings] + [
        f"--model_dir={study_dir}"
    ]


def start(size, study_dir, log, study="capacity_gap"):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(
        command(size, study_dir, study), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def run_clean(size, study_dir, log_path, timeout=3600, study="capacity_gap"):
    started = time.time()
    with open(log_path, "ab") as log:
        code = start(size, study_dir, log, study).wait(timeout)
    if code != 0:
        raise RuntimeError(f"the reference study failed (exit {code}); see {log_path}")
    return time.time() - started


def progress(study_dir):
    """Epoch lines written across the study's runs (drops back when a resume discards some)."""
    total = 0
    for path in _find(study_dir, layout.METRICS_JSONL):
        with open(path, "rb") as f:
            total += f.read().count(b"\n")
    return total


def complete_results(study_dir):
    """{run dir: sha256 of result.json} for every complete run."""
    found = {}
    for path in _find(study_dir, layout.RESULT_JSON):
        with open(path, "rb") as f:
            raw = f.read()
        if json.loads(raw).get("status") == "complete":
            found[os.path.dirname(path)] = hashlib.sha256(raw).hexdigest()
    return found


def double_start_points(kills, double_starts, seed):
    """The starts (0: the first, ``kills``: the last) that launch a second process at once."""
    rng = random.Random(f"double-{seed}")  # apart from the kill draws, which stay as they were
    return set(rng.sample(range(kills + 1), min(double_starts, kills + 1)))


def finish_twins(twins, timeout):
    """Waits for every second process; each must end well (exit 0), never killed by us."""
    return [twin.wait(timeout) for twin in twins]


def eskd_targets(clean_dir, sides=("before", "after")):
    """Progress targets around the stop epoch S of the first ESKD run of a finished study: the
    study's progress when that run has written epoch S-1 ("before") and epoch S ("after").

    Runs train one after another in the study log's order, so the progress of the runs before it
    is fixed: every earlier run is complete (and never drops back) by the time it trains.
    """
    offset = 0
    for row in _json_lines(os.path.join(clean_dir, layout.STUDY_LOG)):  # the order runs trained in
        run_dir = layout.run_path(clean_dir, row["run"])
        with open(os.path.join(run_dir, layout.RUN_JSON)) as f:
            stop = json.load(f).get("stop_kd_epoch")
        if stop:
            at = {"before": stop - 1, "after": stop}
            return [(offset + at[side], row["run"], side) for side in sides]
        offset += len(_json_lines(os.path.join(run_dir, layout.METRICS_JSONL)))
    return []


def _json_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def run_with_kills(
    size,
    study_dir,
    log_path,
    kills,
    seed,
    total_progress,
    jitter,
    timeout=3600,
    study="capacity_gap",
    placed=(),
    double_starts=0,
):
    """Runs the study to completion through ``kills`` SIGKILLs at random targets plus one at each
    ``placed`` target (progress, run, label), with no delay; returns the figures."""
    rng = random.Random(seed)
    targets = sorted(
        [(rng.randrange(max(total_progress, 1)), jitter, None) for _ in range(kills)]
        + [(at, 0.0, f"{run} {side} its stop epoch") for at, run, side in placed]
    )
    kills = len(targets)
    doubles, twins = double_start_points(kills, double_starts, seed), []
    events, seen_complete, started = [], {}, time.time()
    with open(log_path, "ab") as log:
        while True:
            proc = start(size, study_dir, log, study)
            if len(events) in doubles:
                twins.append(start(size, study_dir, log, study))
            target, max_delay, label = targets[len(events)] if len(events) < kills else (None,) * 3
            if target is None:
                code = proc.wait(timeout)
                break
            while proc.poll() is None and progress(study_dir) < target:
                time.sleep(0.05)
            delay = rng.uniform(0, max_delay)
            try:
                code = proc.wait(delay)  # it may finish on its own meanwhile
                break
            except subprocess.TimeoutExpired:
                pass
            seen_complete.update(complete_results(study_dir))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            events.append(
                {
                    "at_seconds": round(time.time() - started, 1),
                    "progress": progress(study_dir),
                    "complete_runs": len(complete_results(study_dir)),
                    **({"placed": label} if label else {}),
                }
            )
    twin_codes = finish_twins(twins, timeout)
    if code != 0 or any(twin_codes):
        raise RuntimeError(
            f"the study failed after {len(events)} kills (exit {code}, second starts' exits "
            f"{twin_codes}); {log_path}"
        )
    final = complete_results(study_dir)
    lost = sorted(d for d, digest in seen_complete.items() if final.get(d) != digest)
    return {
        "kills": len(events),
        "double_starts": len(twins),
        "runs_lost": len(lost),
        "lost": lost,
        "wall_seconds": round(time.time() - started, 1),
        "events": events,
    }


def compare(clean_dir, chaos_dir):
    """Differences between two runs of the same study (timings aside); empty when identical."""
    diffs = []
    a, b = _summary(clean_dir), _summary(chaos_dir)
    if a != b:
        diffs.append(f"{layout.SUMMARY_CSV} differs")
    runs = sorted(
        os.path.relpath(os.path.dirname(p), clean_dir) for p in _find(clean_dir, layout.RUN_JSON)
    )
    for run in runs:
        x, y = os.path.join(clean_dir, run), os.path.join(chaos_dir, run)
        if metrics_rows(x) != metrics_rows(y):
            diffs.append(f"{run}/{layout.METRICS_JSONL} differs")
        if result_fields(x) != result_fields(y):
            diffs.append(f"{run}/{layout.RESULT_JSON} differs")
        for name in weight_files(x) | weight_files(y):
            if not same_arrays(os.path.join(x, name), os.path.join(y, name)):
                diffs.append(f"{run}/{name} differs")
    return runs, diffs


def _find(study_dir, name):
    """Paths of the file ``name`` in every run directory of the study."""
    return glob.glob(os.path.join(study_dir, layout.RUNS_DIR, "**", name), recursive=True)


def _summary(study_dir):
    with open(os.path.join(study_dir, layout.SUMMARY_CSV)) as f:
        return [_drop_timings(row) for row in csv.DictReader(f)]


def metrics_rows(run_dir):
    with open(os.path.join(run_dir, layout.METRICS_JSONL)) as f:
        return [_drop_timings(json.loads(line)) for line in f]


def result_fields(run_dir):
    with open(os.path.join(run_dir, layout.RESULT_JSON)) as f:
        return _drop_timings(json.load(f))


def _drop_timings(value):
    if isinstance(value, dict):
        return {k: _drop_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    return value


def weight_files(run_dir):
    names = {layout.CHECKPOINTS_DIR}  # the latest checkpoint (kd_efficacy/checkpoint.py)
    names |= {
        os.path.relpath(p, run_dir)
        for p in glob.glob(
            os.path.join(run_dir, layout.SNAPSHOTS_DIR, "*" + layout.SNAPSHOT_SUFFIX)
        )
    }
    return names


def _arrays(path):
    path = str(path)
    if not os.path.exists(path):
        return None
    if os.path.isdir(path):  # a checkpoints directory: its latest checkpoint, key by key
        from kd_efficacy import checkpoint  # TensorFlow, only when comparing

        stored = checkpoint.arrays(path)
        return None if stored is None else [stored[k] for k in sorted(stored)]
    return h5_arrays(path)


def h5_arrays(path):
    """Every array in a Keras ``.weights.h5`` file, in file order."""
    arrays = []
    with h5py.File(path) as f:
        f.visititems(lambda _, node: arrays.append(node[()]) if hasattr(node, "shape") else None)
    return arrays


def same_arrays(x, y):
    a, b = _arrays(x), _arrays(y)
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


ESKD_SIDES = {"both": ("before", "after"), "before": ("before",), "after": ("after",), "none": ()}


def chaos(
    kills,
    seed=0,
    size="small",
    workdir=None,
    jitter=3.0,
    study="capacity_gap",
    eskd="both",
    double_starts=0,
):
    """The whole experiment; returns the figures (``identical``, ``runs_lost``, ...)."""
    if size not in STUDIES[study][1]:
        raise SystemExit(f"--size {size} is not defined for --study {study}; use small")
    workdir = workdir or tempfile.mkdtemp(prefix="kd_chaos_")
    clean_dir, chaos_dir = os.path.join(workdir, "clean"), os.path.join(workdir, "chaos")
    clean_seconds = run_clean(size, clean_dir, os.path.join(workdir, "clean.log"), study=study)
    placed = eskd_targets(clean_dir, ESKD_SIDES[eskd])
    figures = run_with_kills(
        size,
        chaos_dir,
        os.path.join(workdir, "chaos.log"),
        kills,
        seed,
        progress(clean_dir),
        jitter,
        study=study,
        placed=placed,
        double_starts=double_starts,
    )
    runs, diffs = compare(clean_dir, chaos_dir)
    return {
        "study": study,
        "size": size,
        "seed": seed,
        "placed_kills": len(placed),
        "runs": len(runs),
        "identical": not diffs,
        "differences": diffs,
        "clean_wall_seconds": round(clean_seconds, 1),
        "workdir": workdir,
        **figures,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--study", choices=sorted(STUDIES), default="capacity_gap")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--jitter", type=float, default=3.0, help="max seconds after a target")
    parser.add_argument(
        "--eskd", choices=sorted(ESKD_SIDES), default="both", help="kills at an ESKD stop epoch"
    )
    parser.add_argument("--workdir", default=None)
    parser.add_argument(
        "--double_starts", type=int, default=0, help="starts that launch two processes at once"
    )
    args = parser.parse_args(argv)
    figures = chaos(
        args.kills,
        args.seed,
        args.size,
        args.workdir,
        args.jitter,
        args.study,
        args.eskd,
        args.double_starts,
    )
    print(json.dumps(figures, indent=2))
    return 0 if figures["identical"] and figures["runs_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
