"""A study as a report sees it: rows, run directories, curves and what ran, from files alone.

Everything is read from the study directory (``config.gin``, each run's ``planned.json``,
``result.json`` and ``metrics.jsonl``), so a study copied or gathered from other machines reports
the same as where it ran.
"""

import dataclasses
import hashlib
import os

from kd_efficacy import hardware, run_dir
from kd_efficacy.report import histories, summary, tables


@dataclasses.dataclass
class Study:
    directory: str
    kind: str
    rows: list  # summary rows of every planned run
    planned: dict  # run name -> planned.json entry (with 'dir')
    histories: dict  # run name -> metrics.jsonl rows

    @property
    def complete(self):
        return [r for r in self.rows if r["status"] == "complete"]

    @property
    def dataset(self):
        datasets = {p.get("recipe", {}).get("dataset") for p in self.planned.values()}
        return "+".join(sorted(str(d) for d in datasets)) if datasets else "unknown"

    @property
    def student(self):
        """The model the study is about: the grid's student, the chain's last model."""
        scratch = [r["model"] for r in self.rows if r["role"] == "scratch"]
        return scratch[0] if scratch else "unknown"


def load(study_dir, kind):
    rows = summary.rows(study_dir)
    planned = summary.planned_runs(study_dir)
    return Study(study_dir, kind, rows, planned, histories.load(planned))


def config_block(study_dir):
    """The study's config.gin: path, hash and its macros (the knobs a reader cares about)."""
    path = os.path.join(study_dir, run_dir.CONFIG_GIN)
    if not os.path.exists(path):
        return "No `config.gin` in the study directory (it was not copied with the runs)."
    with open(path, "rb") as f:
        raw = f.read()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    macros, inside = [], False
    for line in raw.decode().splitlines():
        if line.startswith("# Macros"):
            inside = True
        elif inside and line.startswith("# Parameters"):
            break
        elif inside and not line.startswith("# ="):
            macros.append(line)
    text = "\n".join(macros).strip()
    body = f"Config: `{run_dir.CONFIG_GIN}` (sha256 `{digest}`), the full parsed gin config"
    if text:
        body += "; its macros:\n\n```\n" + text + "\n```"
    return body + "\n"


def _hardware(study):
    found = {}
    for entry in study.planned.values():
        described = (run_dir.read_result(entry["dir"]) or {}).get("hardware")
        line = hardware.line(described) if described else "not recorded by the run"
        found[line] = found.get(line, 0) + 1
    return "; ".join(f"{line} ({n} runs)" for line, n in sorted(found.items()))


def _splits(study):
    """The split sizes the runs recorded (train / validation / test examples)."""
    found = {}
    for entry in study.planned.values():
        splits = (run_dir.read_result(entry["dir"]) or {}).get("splits")
        if splits:
            line = ", ".join(f"{k} {splits.get(k)}" for k in ("train", "validation", "test"))
            found[line] = found.get(line, 0) + 1
    if not found:
        return "not recorded by the runs"
    return "; ".join(f"{line} examples ({n} runs)" for line, n in sorted(found.items()))


def what_ran(study):
    """Markdown: runs and their status, time, hardware, config."""
    statuses = {}
    for row in study.rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    status_text = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    train = sum(tables.to_float(r.get("train_seconds")) or 0.0 for r in study.rows)
    session = 0.0
    for entry in study.planned.values():
        result = run_dir.read_result(entry["dir"]) or {}
        session += tables.to_float(result.get("session_seconds")) or 0.0
    roles = {}
    for row in study.rows:
        roles[row["role"]] = roles.get(row["role"], 0) + 1
    role_text = ", ".join(f"{role} × {n}" for role, n in roles.items())
    seeds = sorted({int(r["seed"]) for r in study.rows if r["role"] != "teacher"})
    return "\n".join(
        [
            f"- Runs: {len(study.rows)} ({status_text}); by role: {role_text}.",
            f"- Dataset: {study.dataset}; student: {study.student}; student seeds: {seeds}.",
            f"- Splits: {_splits(study)}.",
            f"- Wall time: {session / 60:.1f} min summed over runs, of which "
            f"{train / 60:.1f} min in training epochs.",
            f"- Hardware: {_hardware(study)}.",
            f"- Report built with: {hardware.line(hardware.describe())}.",
            "",
            config_block(study.directory),
        ]
    )
