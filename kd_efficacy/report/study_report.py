"""Study reports: ``summary.csv``, ``report.md`` and ``figures/``, built from run directories alone.

``build(study_dir, kind)`` reads every run's ``planned.json``/``result.json``/``metrics.jsonl``,
rewrites ``summary.csv``, draws the figures and writes ``report.md`` (what ran, tables, the
sentences generated from their numbers, figures, the paper's numbers where the setup matches);
the figures also go to the study's TensorBoard run (``figure_summaries.py``).
It needs no gin config: ``python -m kd_efficacy.report <study_dir>`` rebuilds a report from
copied directories, including runs gathered from other machines.
"""

import os

from kd_efficacy import atomic_io, run_dir
from kd_efficacy.report import (
    chain_sections,
    figure_summaries,
    grid_sections,
    report,
    study,
    summary,
)

KINDS = ("capacity_gap", "early_stopping", "sequential", "ensemble")
TITLES = {
    "capacity_gap": "Capacity gap: student accuracy against teacher size",
    "early_stopping": "Early stopping: early-stopped teachers and ESKD",
    "sequential": "Sequential KD: chains through mid-sized models",
    "ensemble": "Ensembles of chained, independent and distilled models",
}
# What each study asks (Cho & Hariharan 2019); the answers are in the generated sentences.
QUESTIONS = {
    "capacity_gap": (
        "Does a larger, more accurate teacher make a better student? One student architecture "
        "is distilled from teachers of growing size and compared with itself trained from "
        "scratch; the KD loss on the training set and on the held-out validation and test "
        "splits shows how well it mimics each teacher."
    ),
    "early_stopping": (
        "Does a student learn better from a teacher stopped early, or from KD stopped early "
        "(ESKD: the KD term switched off part-way, plain cross-entropy after)? Students of "
        "early teacher snapshots and ESKD students are compared with full KD and scratch."
    ),
    "sequential": (
        "Does distilling through mid-sized models (teacher → assistant → student) beat "
        "distilling the student directly from the teacher, or training it from scratch?"
    ),
    "ensemble": (
        "Do the models of a KD chain make a good ensemble? Ensembles of the same architectures "
        "trained as a chain, independently from scratch, or each distilled from the teacher "
        "are compared by accuracy and by how often their members disagree."
    ),
}


def sections_for(found):
    if found.kind in ("capacity_gap", "early_stopping"):
        return grid_sections.sections(found)
    return chain_sections.sections(found)


def build(study_dir, kind=None):
    """Writes summary.csv, figures/ and report.md for the study; returns the summary rows."""
    kind = kind or read_kind(study_dir)
    atomic_io.write_json(os.path.join(study_dir, run_dir.STUDY_JSON), {"kind": kind})
    found = study.load(study_dir, kind)
    summary.write(study_dir, found.rows)
    sections = sections_for(found)
    failed = [r for r in found.rows if r["status"] != "complete"]
    if failed:
        listing = "\n".join(
            f"- `{r['run']}`: {r['status']}" + (f" ({r['reason']})" if r.get("reason") else "")
            for r in failed
        )
        sections.append(("Runs not complete (excluded from means)", listing))
    intro = QUESTIONS.get(kind, "")
    report.write(study_dir, TITLES.get(kind, kind), intro, study.what_ran(found), sections)
    figure_summaries.log_figures(study_dir, step=len(found.rows) - len(failed))
    return found.rows


def read_kind(study_dir):
    path = os.path.join(study_dir, run_dir.STUDY_JSON)
    recorded = atomic_io.read_json(path)
    if recorded is None:
        raise FileNotFoundError(
            f"{path} is missing: it records the study kind; pass the kind explicitly "
            f"(one of {KINDS})"
        )
    return recorded["kind"]
