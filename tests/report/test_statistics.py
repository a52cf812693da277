"""Report statistics agree with scipy.stats, pair by seed, and never call a CI that spans zero."""

import random

import numpy as np
import pytest
from scipy import stats

from kd_efficacy.report import statistics

A = [0.95, 0.96, 0.94, 0.97, 0.955]
B = [0.92, 0.93, 0.925, 0.935, 0.92]


def _rows(values, seeds=None, column="test_accuracy"):
    seeds = range(len(values)) if seeds is None else seeds
    return [{"seed": str(s), column: str(v)} for s, v in zip(seeds, values)]


def test_cell_summary_is_the_t_interval_of_the_mean():
    found = statistics.summarize(["0.9", 0.92, "0.95", None, "", float("nan")])
    x = np.array([0.9, 0.92, 0.95])
    low, high = stats.t.interval(0.95, 2, loc=x.mean(), scale=stats.sem(x))
    assert found.n == 3
    assert found.mean == pytest.approx(x.mean())
    assert found.std == pytest.approx(x.std(ddof=1))
    assert (found.low, found.high) == pytest.approx((low, high))
    assert found.text() == f"0.923 ± 0.025 (n=3; CI {low:.3f}–{high:.3f})"


def test_one_value_has_no_ci_and_no_test():
    one = statistics.summarize([0.9])
    assert (one.n, one.std, one.low, one.high) == (1, 0.0, None, None)
    assert one.text() == "0.900 (n=1, no CI)"
    assert statistics.summarize([None, ""]) is None
    for b in (_rows([0.8]), _rows([0.8, 0.85, 0.9], seeds=[5, 6, 7])):
        found = statistics.compare(_rows([0.9]), b)
        assert found.test == "none" and found.why_not == "too few" and not found.called
        text = statistics.sentence(found, "KD", "scratch")
        assert text.startswith("not enough data to test KD against scratch")
        assert "beat" not in text and "CI" not in text and "p =" not in text


def test_paired_comparison_matches_ttest_rel():
    found = statistics.compare(_rows(A), _rows(B))
    d = np.array(A) - np.array(B)
    low, high = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
    expected = stats.ttest_rel(A, B)
    assert found.test == "paired" and found.n == (5,)
    assert found.diff == pytest.approx(d.mean())
    assert (found.low, found.high) == pytest.approx((low, high))
    assert (found.low, found.high) == pytest.approx(tuple(expected.confidence_interval()))
    assert found.p == pytest.approx(expected.pvalue)
    assert found.called
    assert statistics.sentence(found, "ESKD", "full KD") == (
        f"ESKD beat full KD by 0.029 (95% CI {low:.3f} to {high:.3f}; paired, n = 5, "
        f"{statistics.p_text(expected.pvalue)})"
    )


def test_welch_comparison_matches_ttest_ind_unequal_variances():
    b = B[:3] + [0.90]
    found = statistics.compare(_rows(A), _rows(b, seeds=[10, 11, 12, 13]))
    expected = stats.ttest_ind(A, b, equal_var=False)
    assert found.test == "Welch" and found.n == (5, 4)
    assert found.diff == pytest.approx(np.mean(A) - np.mean(b))
    assert found.p == pytest.approx(expected.pvalue)
    # scipy's own Welch interval (Welch–Satterthwaite df), computed independently of ours.
    assert (found.low, found.high) == pytest.approx(tuple(expected.confidence_interval()))
    assert "Welch, n = 5 and 4" in statistics.sentence(found, "KD", "scratch")
    forced = statistics.compare(_rows(A), _rows(B), paired=False)
    assert forced.test == "Welch"
    assert forced.p == pytest.approx(stats.ttest_ind(A, B, equal_var=False).pvalue)
    with pytest.raises(ValueError):
        statistics.compare(_rows(A), _rows(b, seeds=[10, 11, 12, 13]), paired=True)


def test_pairing_matches_seeds_not_row_order():
    # A seed effect larger than the gap: pairing by seed sees a consistent +0.01, a pairing by
    # position (or Welch) does not.
    seed_luck = [0.0, 0.05, -0.04, 0.03, -0.02]
    a = [0.90 + luck + 0.01 + 0.001 * i for i, luck in enumerate(seed_luck)]
    b = [0.90 + luck for luck in seed_luck]
    expected = stats.ttest_rel(a, b)
    rows_a, rows_b = _rows(a), _rows(b)
    random.Random(0).shuffle(rows_a)
    rows_b.reverse()
    found = statistics.compare(rows_a, rows_b)
    assert found.test == "paired"
    assert found.p == pytest.approx(expected.pvalue)
    assert found.called
    assert not statistics.compare(_rows(a), _rows(b), paired=False).called
    ints = [{"seed": s, "test_accuracy": v} for s, v in enumerate(b)]  # CSV strings vs ints
    assert statistics.compare(rows_a, ints).p == pytest.approx(expected.pvalue)


def test_a_ci_containing_zero_is_never_called():
    noisy = [0.93, 0.95, 0.91, 0.94, 0.92]
    found = statistics.compare(_rows(noisy), _rows([0.92, 0.96, 0.90, 0.95, 0.91]))
    assert found.low < 0 < found.high and not found.called
    text = statistics.sentence(found, "ESKD", "full KD")
    assert text.startswith("no clear difference between ESKD and full KD (+0.002, 95% CI ")
    assert "; paired, n = 5, p = " in text
    assert "beat" not in text


def test_a_loss_is_worded_with_the_winner_first_and_a_positive_ci():
    found = statistics.compare(_rows(B), _rows(A))  # B − A < 0: A beat B
    assert found.called and found.high < 0
    text = statistics.sentence(found, "full KD", "ESKD")
    assert text.startswith(f"ESKD beat full KD by 0.029 (95% CI {-found.high:.3f} to ")


def test_differences_without_spread_are_not_tested():
    found = statistics.compare(_rows([0.982, 0.982]), _rows([0.989, 0.989]))
    assert found.why_not == "no spread" and not found.called and found.p is None
    text = statistics.sentence(found, "the chain ensemble", "its most accurate member")
    assert "-0.007 in every seed pair" in text and "no spread" in text and "beat" not in text
