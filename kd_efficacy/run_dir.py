"""The on-disk layout (docs/ARCHITECTURE.md "Run directory (contract)") and a run's identity.

Every file and folder name of a run directory and of a study directory is defined here, and only
here; the rest of the package builds paths from these names. This module imports nothing of the
package but ``atomic_io`` and ``errors``, so studies, reports and tools can all depend on it.

A run's identity is its spec, a JSON-able dict written to ``run.json`` before training. Rerunning
into a directory that holds:
- a complete run (``result.json`` status "complete") of the same spec: a no-op;
- a different spec: refused before anything is written, naming the differing entries;
- an interrupted run of the same spec: resumed from its checkpoint.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import uuid

from kd_efficacy import atomic_io
from kd_efficacy.errors import ConfigError

# A run directory (a top-level run's model_dir, or <study_dir>/runs/<name>).
CONFIG_GIN = "config.gin"  # top-level: the parsed gin config, written before any work
OPERATIVE_GIN = "operative_config.gin"  # top-level: the bindings actually used, written at the end
RUN_JSON = "run.json"  # the spec: the run's identity
PLANNED_JSON = "planned.json"  # the run's place in a study (name, role, teachers), not identity
RESULT_JSON = "result.json"  # written last: status complete | failed
METRICS_JSONL = "metrics.jsonl"  # one line per epoch
LOCK_PREFIX = "run.lock."  # + a number: the leases of run_lock.py
LOGS_DIR = "logs"  # TensorBoard
CONFIG_LOGS = "config"  # the TensorBoard run (under logs/) holding the operative config as text
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_LATEST = "latest.json"  # in checkpoints/: names the complete epoch_NNNN directory
CHECKPOINT_PREFIX = "ckpt"  # file prefix inside a checkpoint directory: ckpt.index, ckpt.data-*
LEGACY_CHECKPOINT = "state.npz"  # the old format, in checkpoints/; read once, then replaced
SNAPSHOTS_DIR = "snapshots"
SNAPSHOT_SUFFIX = ".weights.h5"  # Keras insists on this ending
EPOCH_PREFIX = "epoch_"  # checkpoints/epoch_NNNN/ and snapshots/epoch_NNNN.weights.h5
EXPORT_DIR = "export"
EXPORT_STAGING_SUFFIX = ".partial"  # export.partial/: being written and checked, then renamed
SAVED_MODEL = "saved_model"  # in export/
TFLITE = "student.tflite"  # in export/
CLASS_NAMES = "labels.txt"  # in export/: line i names label id i (TFLite's label-file convention)
TEACHER_LOGITS_DIR = "teacher_logits"  # a teacher run's cache, written by its students
IMPORTED_MODEL = "teacher.keras"  # an imported (pretrained) teacher: adapter + model, whole
IMPORTED_SAVED_MODEL = "teacher_saved_model"  # ... or, from a SavedModel directory, its copy
# Sub-directories written only by the process training the run (not by a study's other runs).
TRAINER_WRITTEN = (CHECKPOINTS_DIR, SNAPSHOTS_DIR)

# A study directory.
RUNS_DIR = "runs"  # runs/<name>/: one run directory per planned run
STUDY_LOG = "study_log.jsonl"  # every action, in the order the runs were trained
STUDY_JSON = "study.json"  # the study kind, so a report can be rebuilt without gin
SUMMARY_CSV = "summary.csv"
ENSEMBLES_CSV = "ensembles.csv"  # the ensemble study's ensembles
REPORT_MD = "report.md"
FIGURES_DIR = "figures"
HELPER_LOGS_DIR = "helper_logs"  # studies/parallel_runs.py: helper_<k>.log, one per helper
# The study's own TensorBoard run: `tensorboard --logdir <study_dir>` shows it beside every run's
# logs/. Its event files end in a suffix each, so each kind is replaced without touching the other.
STUDY_LOGS_DIR = "logs"
HPARAMS_CONFIG_SUFFIX = ".hparams_config"  # hparams_logging.log_study_config: the HParams columns
FIGURES_EVENTS_SUFFIX = ".figures"  # report/figure_summaries.py: figures/*.png as images


def run_path(study_dir, name):
    """The directory of the study's planned run ``name`` (e.g. "teacher/resnet20_s0")."""
    return os.path.join(study_dir, RUNS_DIR, name)


def epoch_name(epoch):
    """``epoch_NNNN`` for a 1-based epoch: a checkpoint directory's or a snapshot's stem."""
    return f"{EPOCH_PREFIX}{int(epoch):04d}"


def snapshot_path(snapshot_dir, which):
    """``which`` is 'last', 'best' or a 1-based epoch number."""
    name = epoch_name(which) if str(which).isdigit() else str(which)
    return os.path.join(snapshot_dir, name + SNAPSHOT_SUFFIX)


def snapshot_epochs(snapshot_dir):
    """The epoch numbers that have a snapshot in ``snapshot_dir``."""
    if not os.path.isdir(snapshot_dir):
        return []
    names = [n[len(EPOCH_PREFIX) : -len(SNAPSHOT_SUFFIX)] for n in os.listdir(snapshot_dir)]
    return sorted(int(n) for n in names if n.isdigit())


def teacher_logits_path(teacher_dir, split, epoch, key):
    """The cached logits of a teacher snapshot on one eval split (teacher_logits.py)."""
    return os.path.join(teacher_dir, TEACHER_LOGITS_DIR, f"{split}-{epoch}-{key}.npz")


def spec_hash(spec):
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_result(run_dir):
    """The parsed ``result.json``, or None."""
    return atomic_io.read_json(os.path.join(run_dir, RESULT_JSON))


def is_complete(run_dir, spec=None):
    result = read_result(run_dir)
    if not result or result.get("status") != "complete":
        return False
    return spec is None or result.get("config_hash") == spec_hash(spec)


def differences(old, new, prefix=""):
    """Flattened keys whose values differ between two nested dicts, with both values."""
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            diffs.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return diffs


def check_writable(run_dir):
    """Raises ConfigError unless a file can be created in ``run_dir`` (created if missing; removed
    again when it cannot be written)."""
    existed = os.path.isdir(run_dir)
    try:
        os.makedirs(run_dir, exist_ok=True)
        # A name of its own: two processes may probe one study directory at once.
        probe = os.path.join(run_dir, f".{uuid.uuid4().hex}.write-probe")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        if not existed and os.path.isdir(run_dir):
            with contextlib.suppress(OSError):
                os.rmdir(run_dir)
        raise ConfigError(
            f"model_dir {run_dir} is not writable ({e.strerror or e}); fix its permissions or "
            "free disk space, or choose another --model_dir"
        ) from None


def check_same(run_dir, spec):
    """Raises ConfigError when ``run_dir`` holds a run of a different spec; writes nothing."""
    old = atomic_io.read_json(os.path.join(run_dir, RUN_JSON))
    if old is None:
        return
    new = json.loads(json.dumps(spec, default=str))
    if old != new:
        raise ConfigError(
            f"{run_dir} holds a different run ({'; '.join(differences(old, new))}); use a new "
            "--model_dir or delete that directory to start over"
        )


def claim(run_dir, spec):
    """Checks ``run_dir`` against ``spec``; returns True when the run is already complete.

    Raises ConfigError, touching nothing, when the directory holds a different run or cannot be
    written (checked on every start: a resumed run's disk may have changed since).
    """
    check_same(run_dir, spec)
    path = os.path.join(run_dir, RUN_JSON)
    if os.path.exists(path) and is_complete(run_dir, spec):
        return True
    check_writable(run_dir)
    if not os.path.exists(path):
        atomic_io.write_json(path, spec)
    for sub in TRAINER_WRITTEN:  # this process is their only writer: drop a killed one's temps
        atomic_io.remove_stale_temps(os.path.join(run_dir, sub))
    return False


def write_result(run_dir, spec, status, **fields):
    """Writes ``result.json`` atomically; status 'complete' marks the run done."""
    result = {"status": status, "config_hash": spec_hash(spec), **fields}
    atomic_io.write_json(os.path.join(run_dir, RESULT_JSON), result)
    return result


def write_planned(run_dir, run):
    """Writes ``planned.json``: a study's ``PlannedRun`` (studies/plan.py), recorded for reports."""
    fields = dataclasses.asdict(run)
    fields["recipe"] = run.recipe.as_dict()
    atomic_io.write_json(os.path.join(run_dir, PLANNED_JSON), fields)


def read_planned(run_dir):
    """The parsed ``planned.json``, or None (a top-level run has none)."""
    return atomic_io.read_json(os.path.join(run_dir, PLANNED_JSON))
