"""Rebuild a study's summary.csv, figures/ and report.md from its run directories alone.

    python tools/report.py STUDY_DIR [--kind KIND]

The same as ``python -m kd_efficacy.report``; kept here beside the other tools.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kd_efficacy.report.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
