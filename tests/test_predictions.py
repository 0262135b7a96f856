"""The out-of-sample predictions (sim/predictions.py): their arithmetic, not their verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import predictions as pr
from sim.facematch import NIST_GROUPS, ensemble_models


def test_london_crowd_is_the_census_among_white_black_and_asian() -> None:
    crowd = pr.london_crowd()
    assert crowd.sum() == pytest.approx(1.0)
    black = sum(crowd[i] for i, g in enumerate(NIST_GROUPS) if g.startswith("black"))
    assert black == pytest.approx(0.135 / (0.538 + 0.135 + 0.207))
    assert crowd[NIST_GROUPS.index("amerindian_male")] == 0


def test_black_share_is_the_closed_form_over_the_draws() -> None:
    got = pr.black_share(draws=2, threshold=0.64, size=1000)
    shares = []
    for r in range(2):
        m = ensemble_models(r)["uk_lfr_npl2023"]
        rate = pr.london_crowd() * m.fpir(0.64, pr.listed(1000, "custody_england_wales_2018"))
        shares.append(rate[2:4].sum() / rate.sum())
    assert got.median == pytest.approx(float(np.median(shares)))
    le = np.mean(stats.binom.cdf(8, 10, shares))
    ge = np.mean(stats.binom.sf(7, 10, shares))
    assert got.p_value == pytest.approx(min(1.0, 2 * min(le, ge)))


def test_a_count_inside_its_prediction_passes_and_far_outside_fails() -> None:
    # The two-sided mixed p-value: an expectation equal to the observed count is a pass, one a
    # hundred times smaller a fail.
    assert pr._two_sided(float(stats.poisson.cdf(10, 10.0)), float(stats.poisson.sf(9, 10.0))) > 0.5
    assert pr._two_sided(float(stats.poisson.cdf(10, 0.1)), float(stats.poisson.sf(9, 0.1))) < 1e-10
    p = pr.met_false_alerts(draws=2, threshold=0.60, size=10_000)
    assert p.verdict == ("pass" if p.p_value >= 0.05 else "fail")
    assert p.low <= p.median <= p.high
    assert "| P2 the Met's false alerts" in pr.markdown([p])


def test_more_entries_more_false_alerts() -> None:
    small, big = (pr.met_false_alerts(draws=2, threshold=0.64, size=n) for n in (5000, 20000))
    assert big.median == pytest.approx(4 * small.median, rel=0.02)
