"""The run-directory contract (docs/ARCHITECTURE.md): identity, completion and paths.

A run's identity is its spec, a JSON-able dict written to ``run.json`` before training. Rerunning
into a directory that holds:
- a complete run (``result.json`` status "complete") of the same spec: a no-op;
- a different spec: refused before anything is written, naming the differing entries;
- an interrupted run of the same spec: resumed from its checkpoint.
"""

import contextlib
import hashlib
import json
import os
import uuid

from kd_efficacy import atomic_io
from kd_efficacy.errors import ConfigError

RUN_JSON = "run.json"
RESULT_JSON = "result.json"
METRICS_JSONL = "metrics.jsonl"
# Sub-directories written only by the process training the run (not by a study's other runs).
TRAINER_WRITTEN = ("checkpoints", "snapshots")


def spec_hash(spec):
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_result(run_dir):
    """The parsed ``result.json``, or None."""
    path = os.path.join(run_dir, RESULT_JSON)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


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
    path = os.path.join(run_dir, RUN_JSON)
    if not os.path.exists(path):
        return
    with open(path) as f:
        old = json.load(f)
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
