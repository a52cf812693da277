"""Fault injection (tools/chaos.py): a study killed with SIGKILL and restarted, again and again,
ends bit-identical to an uninterrupted run and loses no complete run.

The short variant (one kill, a 3-run study) runs in CI; the long one is ``pytest -m slow``
(README "Reliability" records a longer run's figures).
"""

import pytest

from tools import chaos


def _check(figures, kills, double_starts=0):
    assert figures["kills"] == kills, figures["events"]
    assert figures["double_starts"] == double_starts
    assert figures["runs_lost"] == 0, figures["lost"]
    assert figures["identical"], figures["differences"]


def test_one_kill_of_a_small_study(tmp_path):
    _check(chaos.chaos(kills=1, seed=1, size="ci", workdir=str(tmp_path)), kills=1)


@pytest.mark.slow
def test_ten_kills_of_a_nine_run_study(tmp_path):
    _check(chaos.chaos(kills=10, seed=0, size="small", workdir=str(tmp_path)), kills=10)


@pytest.mark.slow
def test_kills_and_double_starts_of_a_small_study(tmp_path):
    """Two processes at once at two of the starts (run_lock.py splits the runs between them)."""
    figures = chaos.chaos(kills=2, seed=2, size="ci", workdir=str(tmp_path), double_starts=2)
    _check(figures, kills=2, double_starts=2)
