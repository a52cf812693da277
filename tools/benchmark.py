"""KD throughput benchmark: ``python tools/benchmark.py [flags]``, same as
``python -m kd_efficacy.benchmark``; see BENCHMARKS.md and ``--help``."""

import os
import sys

# Run from a checkout without installing: the repository root holds the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kd_efficacy import benchmark  # noqa: E402

if __name__ == "__main__":
    benchmark.main()
