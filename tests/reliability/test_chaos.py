"""Fault injection (tools/chaos.py): a study killed with SIGKILL and restarted, again and again,
ends bit-identical to an uninterrupted run and loses no complete run.

The short variant (one kill, a 3-run study) runs in CI; the long one is ``pytest -m slow``
(README "Reliability" records a longer run's figures).
"""

import pytest

from tools import chaos


def _check(figures, kills):
    assert figures["kills"] == kills, figures["events"]
    assert figures["runs_lost"] == 0, figures["lost"]
    assert figures["identical"], figures["differences"]


def test_one_kill_of_a_small_study(tmp_path):
    _check(chaos.chaos(kills=1, seed=1, size="ci", workdir=str(tmp_path)), kills=1)


@pytest.mark.slow
def test_ten_kills_of_a_nine_run_study(tmp_path):
    _check(chaos.chaos(kills=10, seed=0, size="small", workdir=str(tmp_path)), kills=10)
