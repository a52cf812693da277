"""Shared test helpers: the tiny sizes, the two ways to run, and the run and study contracts.

Every end-to-end test runs through these, so a change to the CLI, the sizes or the on-disk
contract (docs/ARCHITECTURE.md, "Run directory (contract)") is made once:

- ``REPO_ROOT``: the checkout under test (subprocesses run there and import it).
- ``TINY_RUN``: the canonical tiny run (2 epochs, 128 examples, batch 32, quiet), and
  ``TINY_STUDY``: the smallest study shape on top of it (one resnet8 teacher and student, one
  seed: capacity_gap with ``VARIANTS = KD_ONLY`` is 3 runs).
- ``run_experiment(gin_files, bindings, model_dir)``: in process, parsed exactly like the CLI
  (gin cleared before and after), ``TINY_RUN`` first unless ``tiny=False``; returns the result.
- ``run_cli(...)`` / ``start_cli(...)``: ``python -m kd_efficacy.run`` as a subprocess (completed,
  or a running ``Popen``), with ``cli_env()``: quiet TF logs, this checkout first on PYTHONPATH,
  and no inherited TF_CONFIG/SLURM_JOB_ID (a test must not become a cluster worker by accident).
- ``assert_run_contract(run_dir)``: what a complete run directory promises, read from disk only
  (no model is built unless ``load_export=True``); returns the parsed result.json. An imported
  (pretrained) teacher has its own, smaller contract: ``assert_imported_contract``.
- ``assert_study_contract(study_dir)``: the study files, and every planned run's contract.
- ``assert_same_weights(a, b)``: two Keras ``.weights.h5`` files hold bit-identical arrays.
- ``last_line(stderr)``: the run's own last stderr line, past TF's native log lines.
"""

import csv
import glob
import json
import math
import os
import re
import subprocess
import sys

import gin

from kd_efficacy import atomic_io, checkpoint, experiment, gin_errors, run, run_dir, run_lock

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEACHER_GIN = "gin_configs/quickstart/teacher.gin"
STUDENT_GIN = "gin_configs/quickstart/student.gin"
CAPACITY_GAP_GIN = "gin_configs/experiments/capacity_gap/digits.gin"

TINY_RUN = [
    "EPOCHS = 2",
    "GLOBAL_BATCH_SIZE = 32",
    "recipe.max_train_examples = 128",
    "experiment.verbose = 0",
]
TINY_STUDY = ["TEACHERS = ['resnet8']", "STUDENT = 'resnet8'", "SEEDS = [0]"]
# A teacher run long enough to be stopped after its first checkpoint and resumed, deterministic so
# the resumed run can be compared bit for bit with one never stopped (e2e kill, preemption tests;
# that one, ``resumable_clean`` in conftest.py, is run once per session).
RESUMABLE_RUN = [
    "EPOCHS = 4",
    "GLOBAL_BATCH_SIZE = 32",
    "recipe.max_train_examples = 512",
    "MODEL = 'resnet8'",
    "experiment.deterministic = True",
    "recipe.train_set_metrics = False",
    "SNAPSHOT_EPOCHS = [1, 3]",  # a requested snapshot before and after a stop must match too
]
KD_ONLY = "VARIANTS = {'kd': ('last', None)}"  # capacity_gap: teacher, scratch and kd only


# TF's C++ runtime can log after our last line as the process exits (the absl preamble, then
# glog-style "E0000 00:00:..." records); TF_CPP_MIN_LOG_LEVEL does not silence either.
_NATIVE_LOG = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)|[IWEF]\d{4} \d\d:\d\d:"
)


def last_line(stderr):
    """The last stderr line that is not TF's native logging ("" when there is none)."""
    lines = [line for line in stderr.strip().splitlines() if not _NATIVE_LOG.match(line)]
    return lines[-1] if lines else ""


def run_experiment(gin_files, bindings=(), model_dir=None, tiny=True):
    """Parses like ``python -m kd_efficacy.run`` and runs; returns the task's result."""
    gin.clear_config()
    try:
        run.parse_gin(list(gin_files), (TINY_RUN if tiny else []) + list(bindings))
        kwargs = {"model_dir": str(model_dir)} if model_dir else {}
        with gin_errors.as_config_errors():
            return experiment.run(**kwargs)
    finally:
        gin.clear_config()


def cli_env(**extra):
    """The environment a CLI subprocess gets: this checkout, quiet logs, no cluster settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "SLURM_JOB_ID")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cli_command(gin_files=(), bindings=(), model_dir=None, args=(), launcher=None):
    """The argv of ``python -m kd_efficacy.run`` (or of the script ``launcher``)."""
    if isinstance(gin_files, str):
        gin_files = [gin_files]
    command = [sys.executable, *([launcher] if launcher else ["-m", "kd_efficacy.run"])]
    command += [f"--gin_file={f}" for f in gin_files]
    command += [f"--gin_bindings={b}" for b in bindings]
    command += [f"--model_dir={model_dir}"] if model_dir is not None else []
    return command + list(args)


def run_cli(gin_files=(), bindings=(), model_dir=None, *, args=(), env=None, timeout=300, **kw):
    """Runs the CLI to its end; returns the CompletedProcess (text stdout and stderr)."""
    return subprocess.run(
        cli_command(gin_files, bindings, model_dir, args, kw.pop("launcher", None)),
        cwd=REPO_ROOT,
        env=cli_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def start_cli(gin_files=(), bindings=(), model_dir=None, *, args=(), env=None, **popen_kwargs):
    """Starts the CLI and returns the Popen; output is discarded unless redirected."""
    popen_kwargs.setdefault("stdout", subprocess.DEVNULL)
    popen_kwargs.setdefault("stderr", subprocess.DEVNULL)
    launcher = popen_kwargs.pop("launcher", None)
    return subprocess.Popen(
        cli_command(gin_files, bindings, model_dir, args, launcher),
        cwd=REPO_ROOT,
        env=cli_env(**(env or {})),
        text=True,
        **popen_kwargs,
    )


def assert_cli_ok(done):
    """Asserts exit status 0, showing stderr's tail otherwise."""
    assert done.returncode == 0, f"exit {done.returncode}; stderr tail:\n{done.stderr[-3000:]}"
    return done


def assert_same_weights(a, b):
    import numpy as np

    from tools.chaos import h5_arrays  # the one reader of weight files (chaos compares them too)

    x, y = h5_arrays(a), h5_arrays(b)
    assert len(x) == len(y) > 0, f"{a}: {len(x)} arrays, {b}: {len(y)}"
    for i, (p, q) in enumerate(zip(x, y)):
        np.testing.assert_array_equal(p, q, err_msg=f"array {i} of {a} and {b}")


def _assert_finite(metrics, where):
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert math.isfinite(value), f"{where}[{key!r}] = {value}"


def _events_in(directory):
    return glob.glob(os.path.join(directory, "events.out.tfevents.*"))


def assert_run_contract(directory, load_export=False):
    """Asserts that ``directory`` holds a complete run as docs/ARCHITECTURE.md promises.

    Reads files only; ``load_export=True`` also loads the SavedModel and serves one batch
    (outputs ``logits`` and their softmax ``probabilities``).
    Returns the parsed result.json.
    """
    directory = str(directory)
    with open(os.path.join(directory, run_dir.RUN_JSON)) as f:
        spec = json.load(f)
    if spec["task"] == "import_teacher":
        return assert_imported_contract(directory)
    result = run_dir.read_result(directory)
    assert result is not None, f"{directory}: no {run_dir.RESULT_JSON}"
    assert result["status"] == "complete", f"{directory}: {result['status']} {result.get('reason')}"
    assert result["config_hash"] == run_dir.spec_hash(spec), f"{directory}: hash is not run.json's"
    epochs = spec["recipe"]["epochs"]
    assert result["epochs"] == epochs and result["task"] == spec["task"]
    model = result["model"]
    assert model["name"] == spec["model"] and model["params"] > 0
    assert len(model["input_shape"]) == 3 and model["num_classes"] > 1
    assert set(result["splits"]) == {"train", "validation", "test"}
    assert all(n > 0 for n in result["splits"].values()), result["splits"]
    assert result["selection_split"] == "validation"

    rows = atomic_io.read_json_lines(os.path.join(directory, run_dir.METRICS_JSONL))
    assert [r["epoch"] for r in rows] == list(range(1, epochs + 1)), f"{directory}: epochs"
    for row in rows:
        assert {"lr", "loss", "ce", "accuracy"} <= set(row), f"{directory}: {sorted(row)}"
        _assert_finite(row, f"metrics epoch {row['epoch']}")
    assert "val_accuracy" in rows[-1], "the last epoch is always evaluated"
    assert result["last"] == rows[-1]
    evaluated = [r for r in rows if "val_accuracy" in r]
    assert result["best"]["val_accuracy"] == max(r["val_accuracy"] for r in evaluated)
    assert result["best"] in evaluated
    assert "accuracy" in result["test"] and "loss" in result["test"]
    for part in ("last", "best", "test"):
        _assert_finite(result[part], f"result[{part!r}]")

    snapshots = os.path.join(directory, "snapshots")
    wanted = {"last", "best"} | {f"epoch_{e:04d}" for e in spec.get("snapshot_epochs") or []}
    for name in wanted:
        assert os.path.isfile(os.path.join(snapshots, f"{name}.weights.h5")), f"snapshot {name}"
    checkpoints = os.path.join(directory, "checkpoints")
    assert checkpoint.finished_epochs(checkpoints) == epochs, f"{directory}: checkpoint epoch"
    assert os.path.isfile(checkpoint.prefix(checkpoints) + ".index"), "latest.json names no files"
    logs = os.path.join(directory, "logs")
    for sub in ("train", "validation"):
        assert _events_in(os.path.join(logs, sub)), f"{directory}: no event file in logs/{sub}"
    if spec["recipe"].get("train_set_metrics"):
        assert _events_in(os.path.join(logs, "train_eval")), "no event file in logs/train_eval"
    assert run_lock.holder(directory) is None, f"{directory}: a live lease after completion"

    export = result["export"]
    assert export["dir"] == "export" and math.isfinite(export["max_logit_error"])
    saved_model = os.path.join(directory, export["dir"], "saved_model")
    assert os.path.isfile(os.path.join(saved_model, "saved_model.pb")), "no exported SavedModel"
    with open(os.path.join(directory, export["dir"], export["class_names"]), encoding="utf-8") as f:
        names = f.read().splitlines()
    assert len(names) == model["num_classes"] and all(names), f"{directory}: class names {names}"
    if load_export:
        _assert_export_serves(saved_model, model)
    if not os.path.exists(os.path.join(directory, "planned.json")):  # top-level run, not a study's
        for name in ("config.gin", "operative_config.gin"):
            assert os.path.isfile(os.path.join(directory, name)), f"{directory}: no {name}"
    return result


def assert_imported_contract(directory):
    """A complete imported (pretrained) teacher: what students and reports read of a teacher
    (result, model info, the 'last' and 'best' snapshots), without a training history."""
    directory = str(directory)
    with open(os.path.join(directory, run_dir.RUN_JSON)) as f:
        spec = json.load(f)
    result = run_dir.read_result(directory)
    assert result["status"] == "complete", f"{directory}: {result['status']} {result.get('reason')}"
    assert result["config_hash"] == run_dir.spec_hash(spec) and result["task"] == spec["task"]
    model = result["model"]
    assert model["name"] == spec["model"] and model["params"] > 0 and model["num_classes"] > 1
    assert model["source"] == spec["source"] and len(model["input_shape"]) == 3
    assert all(n > 0 for n in result["splits"].values()) and result["epochs"] == 0
    assert result["selection_split"] == "validation" and result["last"] == result["best"]
    assert 0 <= result["last"]["val_accuracy"] <= 1 and 0 <= result["test"]["accuracy"] <= 1
    for part in ("last", "test"):
        _assert_finite(result[part], f"result[{part!r}]")
    for name in ("last", "best"):
        assert os.path.isfile(os.path.join(directory, "snapshots", f"{name}.weights.h5")), name
    whole = os.path.join(directory, run_dir.IMPORTED_MODEL)
    saved = os.path.join(directory, run_dir.IMPORTED_SAVED_MODEL, "saved_model.pb")
    assert os.path.isfile(whole) or os.path.isfile(saved), f"{directory}: no teacher model"
    assert run_lock.holder(directory) is None, f"{directory}: a live lease after completion"
    return result


def _assert_export_serves(saved_model, model):
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(saved_model)  # kept alive while serving: variables die with it
    images = np.random.default_rng(0).uniform(size=(2, *model["input_shape"])).astype("float32")
    served = loaded.serve(images)
    assert set(served) == {"logits", "probabilities"}, sorted(served)
    logits = np.asarray(served["logits"])
    assert logits.shape == (2, model["num_classes"]) and np.isfinite(logits).all()
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    np.testing.assert_allclose(served["probabilities"], probabilities, rtol=1e-5, atol=1e-6)


def assert_study_contract(study_dir, statuses=None):
    """Asserts a finished study: its files, and every planned run (the runs/ directories holding
    planned.json) in summary.csv with the contract of a complete run.

    ``statuses`` maps run names to the status expected when not every run completes (e.g.
    ``{"teacher/resnet8_s0": "failed"}``); the runs it does not name must be complete. Returns
    summary.csv's rows by run name.
    """
    study_dir = str(study_dir)
    for name in ("config.gin", "study_log.jsonl", "summary.csv", "report.md"):
        assert os.path.isfile(os.path.join(study_dir, name)), f"{study_dir}: no {name}"
    with open(os.path.join(study_dir, "summary.csv")) as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    runs_root = os.path.join(study_dir, "runs")
    planned = {
        os.path.relpath(os.path.dirname(p), runs_root)
        for p in glob.glob(os.path.join(runs_root, "**", "planned.json"), recursive=True)
    }
    assert planned and set(rows) == planned, (sorted(rows), sorted(planned))
    statuses = statuses or {}
    assert set(statuses) <= planned, sorted(set(statuses) - planned)
    logged = {
        e["run"] for e in atomic_io.read_json_lines(os.path.join(study_dir, "study_log.jsonl"))
    }
    for name, row in rows.items():
        expected = statuses.get(name, "complete")
        assert row["status"] == expected, f"{name}: {row['status']} ({row.get('reason')})"
        assert name in logged, f"{name} is not in study_log.jsonl"
        if expected == "complete":
            assert_run_contract(os.path.join(runs_root, name))
    return rows
