"""TensorFlow's INFO chatter is hidden unless ``--verbosity`` asks for it (run._quiet_by_default).

The end-to-end half (the log of a real run holds no TF INFO line) is in test_run_e2e.py, on the
quickstart fixture's output; here, the flag parsing, without training.
"""

import logging

import pytest
from absl import logging as absl_logging

from kd_efficacy import run


@pytest.fixture
def parse():
    """``run._parse_flags`` on an argv; flags and the absl level are restored afterwards."""
    before = absl_logging.get_verbosity()

    def _parse(*args):
        run.FLAGS.unparse_flags()
        run._parse_flags(["kd_efficacy.run", "--gin_file=x.gin", *args])
        return run.FLAGS.verbosity

    yield _parse
    run.FLAGS.unparse_flags()
    absl_logging.set_verbosity(before)


def test_unset_verbosity_is_warnings_only(parse):
    assert parse() == run.QUIET_VERBOSITY == absl_logging.WARNING
    # Counts as given: absl.app raises only a default-valued --verbosity to 0 (info).
    assert not run.FLAGS["verbosity"].using_default_value
    assert absl_logging.get_absl_logger().getEffectiveLevel() == logging.WARNING


@pytest.mark.parametrize("given, level", [("0", logging.INFO), ("1", logging.DEBUG)])
def test_explicit_verbosity_is_kept(parse, given, level):
    assert parse(f"--verbosity={given}") == int(given)
    assert absl_logging.get_absl_logger().getEffectiveLevel() == level


def test_short_flag_is_kept(parse):
    assert parse("-v", "0") == 0


def test_help_lists_verbosity():
    assert "--verbosity" in run.help_text()
