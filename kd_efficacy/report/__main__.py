"""``python -m kd_efficacy.report STUDY_DIR [--kind KIND]``: rebuild a study's report.

Rewrites ``summary.csv``, ``figures/`` and ``report.md`` from the run directories under
``STUDY_DIR/runs`` alone (no gin config, no training), e.g. after gathering runs from other
machines. The study kind comes from ``study.json`` unless ``--kind`` names it.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kd_efficacy.report", description=__doc__)
    parser.add_argument("study_dir", help="a study directory (holds runs/ and study.json)")
    parser.add_argument("--kind", help="capacity_gap, early_stopping, sequential or ensemble")
    args = parser.parse_args(argv)
    from kd_efficacy import run_dir
    from kd_efficacy.report import study_report  # after parsing: --help needs no matplotlib

    if not os.path.isdir(os.path.join(args.study_dir, run_dir.RUNS_DIR)):
        parser.error(f"{args.study_dir} has no runs/ directory: not a study directory")
    if args.kind is not None and args.kind not in study_report.KINDS:
        parser.error(f"unknown --kind {args.kind!r}; use one of {study_report.KINDS}")
    try:
        rows = study_report.build(args.study_dir, args.kind)
    except FileNotFoundError as e:
        parser.error(str(e))
    complete = sum(r["status"] == "complete" for r in rows)
    path = os.path.join(args.study_dir, run_dir.REPORT_MD)
    print(f"[kd_efficacy] {path}: {complete}/{len(rows)} runs complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
