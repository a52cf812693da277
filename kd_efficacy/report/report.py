"""report.md: the question, what ran, then per section a table, its sentences and figures."""

import os

from kd_efficacy import atomic_io

REPORT_MD = "report.md"
READING = (
    "Numbers are mean ± std over seeds (n = number of seeds); accuracies are fractions of the "
    "test set. The sentences under each heading are generated from the numbers in that section "
    "when the report is built."
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
    atomic_io.write_text(os.path.join(study_dir, REPORT_MD), text)
    return text
