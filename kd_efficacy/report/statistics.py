"""The statistics behind every number and sentence of a report, built on ``scipy.stats``.

- ``summarize``: one cell (mean, std with ddof=1, n, t-based 95% CI of the mean). One value has
  no spread, so it gets no CI; the text says so instead of inventing one.
- ``compare``: group a against group b, on the difference of means (a − b), its 95% CI and the
  two-sided p. Paired (``ttest_rel``; CI from the t distribution of the paired differences) when
  both groups are runs of the same seeds, matched by each row's ``seed``: students of one seed
  share initialization and data order in scratch, KD and ESKD runs, so their differences cancel
  the seed's luck. Welch otherwise (``ttest_ind(equal_var=False)``, Welch–Satterthwaite df).
  Fewer than 2 values per group (or pairs): no test.
- ``sentence``: the one wording every generated finding uses. A difference is *called* (A beat
  B) only when its 95% CI excludes zero; otherwise it says "no clear difference".

p-values are per comparison, not corrected for the number of comparisons in a report.
"""

import dataclasses
import math

import numpy as np
from scipy import stats

LEVEL = 0.95
DIGITS = 3
TIE = 1e-9  # relative: values this close are equal (0.95 - 0.92 is not exactly 0.96 - 0.93)


@dataclasses.dataclass(frozen=True)
class Summary:
    mean: float
    std: float  # ddof=1; 0.0 for one value
    n: int
    low: float | None  # 95% CI of the mean; None when n < 2
    high: float | None

    def short(self, digits=DIGITS):
        """'0.916 ± 0.026' (or '0.916' for one value)."""
        if self.n > 1:
            return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"
        return f"{self.mean:.{digits}f}"

    def text(self, digits=DIGITS, with_n=True):
        """'0.916 ± 0.026 (n=5; CI 0.884–0.948)'; one value: '0.916 (n=1, no CI)'."""
        if self.low is None:
            return f"{self.short(digits)} (n={self.n}, no CI)"
        n = f"n={self.n}; " if with_n else ""
        return f"{self.short(digits)} ({n}CI {self.low:.{digits}f}–{self.high:.{digits}f})"


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _numbers(values):
    return np.asarray([x for x in map(_number, values) if x is not None], dtype=float)


def _interval(center, std, n, df):
    """t-based CI of a mean (or mean difference) with standard error std/sqrt(n)."""
    if std == 0.0:  # scipy's interval is undefined for scale 0; the values are all equal
        return center, center
    low, high = stats.t.interval(LEVEL, df, loc=center, scale=std / math.sqrt(n))
    return float(low), float(high)


def summarize(values):
    """Summary of the numbers among ``values`` (strings, None and NaN skipped); None if none."""
    x = _numbers(values)
    if x.size == 0:
        return None
    mean = float(x.mean())
    if x.size == 1:
        return Summary(mean, 0.0, 1, None, None)
    std = float(x.std(ddof=1))
    return Summary(mean, std, int(x.size), *_interval(mean, std, x.size, x.size - 1))


@dataclasses.dataclass(frozen=True)
class Comparison:
    a: Summary | None
    b: Summary | None
    diff: float | None  # mean(a) − mean(b); for pairs, the mean paired difference
    low: float | None  # 95% CI of diff
    high: float | None
    p: float | None
    test: str  # 'paired', 'Welch' or 'none'
    n: tuple  # (pairs,) when paired, else (n_a, n_b)
    why_not: str | None = None  # 'too few' or 'no spread' when test == 'none'

    @property
    def called(self):
        """True only when the 95% CI of the difference excludes zero."""
        return self.low is not None and (self.low > 0 or self.high < 0)


def seed_key(value):
    """Seeds from summary rows (ints) and CSVs (strings) compare equal: '1', 1 and '1.0'."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None if value in (None, "") else str(value)


def _by_seed(rows, column):
    """{seed: value} for rows with a number, or None if a seed is missing or repeated."""
    found = {}
    for row in rows:
        value, seed = _number(row.get(column)), seed_key(row.get("seed"))
        if value is not None:
            if seed is None or seed in found:
                return None
            found[seed] = value
    return found


def compare(rows_a, rows_b, column="test_accuracy", paired=None):
    """Group a (rows) against group b on ``column``; paired by seed when the seeds match.

    ``paired=None`` pairs exactly when every row of both groups has a distinct seed and the two
    seed sets are equal; ``False`` forces Welch; ``True`` requires pairs (ValueError otherwise).
    """
    seeds_a, seeds_b = _by_seed(rows_a, column), _by_seed(rows_b, column)
    can_pair = seeds_a is not None and seeds_b is not None and set(seeds_a) == set(seeds_b)
    if paired and not can_pair:
        raise ValueError("paired comparison asked for, but the groups' seeds do not match")
    a = summarize([r.get(column) for r in rows_a])
    b = summarize([r.get(column) for r in rows_b])
    if can_pair and paired is not False and seeds_a:
        order = sorted(seeds_a, key=str)
        xa = np.array([seeds_a[s] for s in order])
        xb = np.array([seeds_b[s] for s in order])
        return _paired(a, b, xa, xb)
    xa = _numbers([r.get(column) for r in rows_a])
    return _welch(a, b, xa, _numbers([r.get(column) for r in rows_b]))


def _paired(a, b, xa, xb):
    d = xa - xb
    n = (int(d.size),)
    diff = float(d.mean())
    if d.size < 2:
        return Comparison(a, b, diff, None, None, None, "none", n, "too few")
    sd = float(d.std(ddof=1))
    if np.ptp(d) <= TIE * max(1.0, abs(diff)):  # one difference in every pair: t is undefined
        return Comparison(a, b, diff, None, None, None, "none", n, "no spread")
    result = stats.ttest_rel(xa, xb)
    low, high = _interval(diff, sd, d.size, d.size - 1)
    return Comparison(a, b, diff, low, high, float(result.pvalue), "paired", n)


def _welch(a, b, xa, xb):
    n = (int(xa.size), int(xb.size))
    diff = float(xa.mean() - xb.mean()) if xa.size and xb.size else None
    if xa.size < 2 or xb.size < 2:
        return Comparison(a, b, diff, None, None, None, "none", n, "too few")
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    if max(np.ptp(xa), np.ptp(xb)) <= TIE * max(1.0, abs(diff)):
        return Comparison(a, b, diff, None, None, None, "none", n, "no spread")
    df = (va + vb) ** 2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))  # Welch–Satterthwaite
    se = math.sqrt(va + vb)
    low, high = stats.t.interval(LEVEL, df, loc=diff, scale=se)
    result = stats.ttest_ind(xa, xb, equal_var=False)
    return Comparison(a, b, diff, float(low), float(high), float(result.pvalue), "Welch", n)


def _signed(x, digits):
    """'+0.008'; a difference that rounds to zero reads '+0.000', never '-0.000'."""
    return f"{0.0 if round(x, digits) == 0 else x:+.{digits}f}"


def p_text(p):
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _n_text(c):
    """'n = 5' for pairs, 'n = 5 and 4' for two independent groups."""
    return "n = " + " and ".join(str(k) for k in c.n)


def sentence(c, name_a, name_b, verb="beat", digits=DIGITS):
    """The finding for comparison ``c`` of ``name_a`` against ``name_b`` (higher is ``verb``).

    'A beat B by 0.036 (95% CI 0.012 to 0.060; paired, n = 5, p = 0.01)' only when the CI
    excludes zero (the winner comes first, the CI is of winner − loser); otherwise 'no clear
    difference between A and B (+0.008, 95% CI -0.010 to 0.026; paired, n = 5, p = 0.31)'.
    """
    f = f".{digits}f"
    if c.a is None or c.b is None:
        missing = name_a if c.a is None else name_b
        return f"no comparison of {name_a} with {name_b}: {missing} has no result"
    d, n = _signed(c.diff, digits), _n_text(c)
    test = f"{c.test}, {n}, {p_text(c.p)}" if c.p is not None else None
    if c.why_not == "too few":
        need = "2 seed pairs" if len(c.n) == 1 else "2 values per group"
        return (
            f"not enough data to test {name_a} against {name_b} ({c.a.mean:{f}} vs "
            f"{c.b.mean:{f}}, {d}; {n}, a test needs at least {need})"
        )
    if c.why_not == "no spread":
        where = "in every seed pair" if len(c.n) == 1 else "with no spread in either group"
        return (
            f"no test of {name_a} against {name_b}: the difference is {d} {where} ({n}), so "
            "there is no spread to build a CI from"
        )
    if not c.called:
        return (
            f"no clear difference between {name_a} and {name_b} ({d}, 95% CI {c.low:{f}} to "
            f"{c.high:{f}}; {test})"
        )
    if c.diff > 0:
        winner, loser, low, high = name_a, name_b, c.low, c.high
    else:
        winner, loser, low, high = name_b, name_a, -c.high, -c.low
    return f"{winner} {verb} {loser} by {abs(c.diff):{f}} (95% CI {low:{f}} to {high:{f}}; {test})"
