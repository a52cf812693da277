"""Reports: study directories -> tables (CSV/Markdown), figures (PNG) and report.md.

- ``summary.py``: summary rows (one per planned run) from run directories, and ``summary.csv``.
- ``study.py``: a study read from its run directories (rows, curves, what ran).
- ``statistics.py``: cell summaries (mean ± std, n, 95% CI) and two-group comparisons
  (paired by seed or Welch: difference, 95% CI, p) with the one sentence wording them.
- ``tables.py``: per-group aggregation and Markdown tables.
- ``findings.py``: the sentences stating what the numbers show, generated from them.
- ``figures.py``: the PNG figures (matplotlib, Agg canvas).
- ``grid_sections.py`` / ``chain_sections.py``: the sections of each study kind.
- ``paper.py``: the paper's published numbers and when they are comparable.
- ``report.py``: writes report.md; ``study_report.py``: builds a study's whole report (what the
  studies call when they finish); ``__main__``: ``python -m kd_efficacy.report STUDY_DIR``.

Imports go one way: studies -> report -> run_dir (tests/test_import_direction.py).
"""
