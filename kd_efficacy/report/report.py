"""report.md: the question, what ran, then per section a table, its sentences and figures."""

import os

from kd_efficacy import atomic_io, run_dir

READING = (
    "Splits: every run holds a validation split out of its training data; per-epoch curves, "
    "the best epoch and any pick of a best teacher read the validation split, and final "
    "numbers are the final model on the test split, used for reporting only. Cells are mean ± "
    "std over seeds with n and the t-based 95% CI of the mean (one seed: no CI). Each "
    "comparison gives the difference of means, its 95% CI and p: paired by seed (t-test on "
    "the per-seed differences) when both groups are runs of the same seeds, Welch's t-test "
    "otherwise. A difference is called only when its 95% CI excludes zero, else the sentence "
    "says there is no clear difference; p-values are not corrected for the number of "
    "comparisons. Figure whiskers are each group's own CI: a paired difference can be clear "
    "while they overlap. The sentences are generated from the numbers when the report is built."
)


def write(study_dir, title, question, what_ran, sections):
    """``sections``: list of (heading, body markdown). Returns the text written."""
    parts = [f"# {title}", ""]
    if question:
        parts += [question, ""]
    parts += [READING, "", "## What ran", "", what_ran, ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body, ""]
    text = "\n".join(parts).rstrip() + "\n"
    atomic_io.write_text(os.path.join(study_dir, run_dir.REPORT_MD), text)
    return text
