"""Kept so that tests written against it still import; the helpers live in kd_testing.py."""

from kd_testing import TINY_RUN as TINY  # noqa: F401
from kd_testing import run_experiment  # noqa: F401
