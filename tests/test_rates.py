"""Exact intervals, rate ratios and the parity test of analysis/rates.py, with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis import rates


def test_rate_interval_is_clopper_pearson_per_thousand() -> None:
    lo, hi = rates.rate_interval(5, 100) or (0, 0)
    ci = stats.binomtest(5, 100).proportion_ci(method="exact")
    assert (lo, hi) == pytest.approx((ci.low * 1000, ci.high * 1000))
    # None of n: the upper bound is 1 - (alpha / 2) ** (1 / n) (the "rule of 3.7").
    lo0, hi0 = rates.rate_interval(0, 1000) or (1, 1)
    assert lo0 == 0 and hi0 == pytest.approx((1 - 0.025 ** (1 / 1000)) * 1000)
    assert rates.rate_interval(3, 0) is None


def test_clopper_pearson_covers_at_least_95_percent() -> None:
    rng = np.random.default_rng(7)
    n, p = 2000, 0.003
    ks = rng.binomial(n, p, size=2000)
    cover = np.mean(
        [lo <= p * 1000 <= hi for lo, hi in (rates.rate_interval(int(k), n) or (0, 0) for k in ks)]
    )
    assert cover >= 0.95


def test_ratio_interval_of_equal_counts_is_symmetric_on_the_log_scale() -> None:
    lo, hi = rates.ratio_interval(10, 5000, 10, 5000) or (0, 0)
    assert lo * hi == pytest.approx(1.0)
    assert lo < 1 < hi
    assert rates.ratio_p_value(10, 5000, 10, 5000) == pytest.approx(1.0)
    # Twice the exposure halves the ratio and its bounds.
    lo2, hi2 = rates.ratio_interval(10, 10000, 10, 5000) or (0, 0)
    assert (lo2, hi2) == pytest.approx((lo / 2, hi / 2))
    # No events in the reference: unbounded above.
    lo3, hi3 = rates.ratio_interval(4, 1000, 0, 1000) or (0, 0)
    assert lo3 > 0 and math.isinf(hi3)
    assert rates.ratio_interval(0, 1000, 0, 1000) is None


def test_ratio_interval_matches_the_conditional_binomial() -> None:
    # k1 | k1 + k2 ~ Binomial(k1 + k2, R n1 / (R n1 + n2)): at the bounds the tail is 2.5%.
    k1, n1, k2, n2 = 30, 40_000, 12, 90_000
    lo, hi = rates.ratio_interval(k1, n1, k2, n2) or (0, 0)
    p_lo = lo * n1 / (lo * n1 + n2)
    p_hi = hi * n1 / (hi * n1 + n2)
    assert stats.binom.sf(k1 - 1, k1 + k2, p_lo) == pytest.approx(0.025, rel=1e-6)
    assert stats.binom.cdf(k1, k1 + k2, p_hi) == pytest.approx(0.025, rel=1e-6)


def test_parity_against_the_best_treated_group() -> None:
    r = rates.group_rates(
        {"a": 100, "b": 200, "c": 5, "d": 110, "e": 0},
        {"a": 10**6, "b": 10**6, "c": 10**6, "d": 10**6, "e": 0},
    )
    par = rates.parity(r)
    assert par["a"]["best"] == "a" and par["a"]["verdict"] == "within"
    assert par["b"]["verdict"] == "outside: flagged more often"
    assert par["b"]["ratio"] == pytest.approx(2.0)
    assert par["c"]["verdict"] == "too few to tell"
    assert par["d"]["verdict"] == "within", "1.1 times: inside the band"
    assert par["e"]["verdict"] == "not assessed: no captures"
    # Above 5/4 but not significant: within.
    r2 = rates.group_rates({"a": 10, "b": 14}, {"a": 10**5, "b": 10**5})
    assert rates.parity(r2)["b"]["verdict"] == "within"


def test_disparity_ignores_groups_with_too_few_events() -> None:
    r = rates.group_rates(
        {"ref": 50, "big": 60, "tiny": 3}, {"ref": 10**6, "big": 10**5, "tiny": 10**3}
    )
    d = rates.disparity(r, rates.reference_group(r))
    assert d is not None and d["group"] == "big" and d["reference"] == "ref"
    assert d["ratio"] == pytest.approx(12.0)
    assert d["ci"][0] < 12 < d["ci"][1]
    keys = rates.summary_keys(
        {"ref": 50, "big": 60, "tiny": 3}, {"ref": 10**6, "big": 10**5, "tiny": 10**3}
    )
    assert keys["false_alert_too_few_by_group"] == {"ref": False, "big": False, "tiny": True}
    assert keys["false_alert_rate_ratio_by_group"]["ref"] == pytest.approx(1.0)
    assert keys["false_alert_parity_best_group"] == "ref"
