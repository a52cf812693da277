"""Fault injection (tools/chaos.py): a study killed with SIGKILL and restarted, again and again,
ends bit-identical to an uninterrupted run and loses no complete run.

The short variant (a 3-run study whose ESKD student is killed once, just after its stop epoch: the
resume must know KD has stopped) runs in CI; the kill on both sides of the stop epoch and the long
ones, one per study, are ``pytest -m slow`` (README "Reliability" records a longer run's figures).
"""

import os

import pytest
from kd_testing import assert_study_contract

from tools import chaos


def _check(figures, kills, double_starts=0):
    assert figures["kills"] == kills + figures["placed_kills"], figures["events"]
    assert figures["double_starts"] == double_starts
    assert figures["runs_lost"] == 0, figures["lost"]
    assert figures["identical"], figures["differences"]
    for study in ("clean", "chaos"):  # both end as complete studies, every run's contract held
        assert_study_contract(os.path.join(figures["workdir"], study))


def test_an_eskd_run_killed_after_its_stop_epoch(tmp_path):
    figures = chaos.chaos(kills=0, seed=1, size="ci", workdir=str(tmp_path), eskd="after")
    assert [e["placed"] for e in figures["events"]] == [
        "eskd/resnet8/resnet8_s0 after its stop epoch"
    ]
    _check(figures, kills=0)


@pytest.mark.slow  # four study processes; CI: the single kill above
def test_an_eskd_run_killed_on_both_sides_of_its_stop_epoch(tmp_path):
    figures = chaos.chaos(kills=0, seed=1, size="ci", workdir=str(tmp_path), eskd="both")
    assert [e["placed"] for e in figures["events"]] == [
        "eskd/resnet8/resnet8_s0 before its stop epoch",
        "eskd/resnet8/resnet8_s0 after its stop epoch",
    ]
    _check(figures, kills=0)


@pytest.mark.slow
def test_ten_kills_of_a_nine_run_study(tmp_path):
    _check(chaos.chaos(kills=10, seed=0, size="small", workdir=str(tmp_path)), kills=10)


@pytest.mark.slow
def test_kills_and_double_starts_of_a_small_study(tmp_path):
    """Two processes at once at two of the starts (run_lock.py splits the runs between them)."""
    figures = chaos.chaos(kills=2, seed=2, size="ci", workdir=str(tmp_path), double_starts=2)
    _check(figures, kills=2, double_starts=2)


@pytest.mark.slow
@pytest.mark.parametrize("study", ["early_stopping", "sequential", "ensemble"])
def test_four_kills_of_each_other_study(tmp_path, study):
    _check(chaos.chaos(kills=4, seed=0, study=study, workdir=str(tmp_path)), kills=4)
