"""The sensitivity table (sim/sensitivity.py): known answers and its monotone directions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from sim import sensitivity as sens
from sim.facematch import MODELS, NIST_GROUPS


def test_point_outcome_is_the_presets_closed_form() -> None:
    out = sens.outcome(sens.POINT)
    model = MODELS["nist_frvt2019_median"]
    shares, ages = sens._population()
    listed = sens.quotas(1000, [sens.WATCHLIST_PRESETS["arrests_us_2018"][g]
                                for g in NIST_GROUPS])
    rate = ages @ model.fpir_by_age(0.62, listed)
    assert out["false_per_million"] == pytest.approx(float(shares @ rate) * 1e6)
    assert out["black_male/white_male"] == pytest.approx(rate[2] / rate[0])


def test_without_persistence_repeats_are_the_binomial_share() -> None:
    no = dataclasses.replace(sens.POINT, persistence=1e-9)
    model = MODELS["nist_frvt2019_median"]
    shares, ages = sens._population()
    listed = sens.quotas(1000, [sens.WATCHLIST_PRESETS["arrests_us_2018"][g]
                                for g in NIST_GROUPS])
    got = sens.repeat_share(model, listed, no.persistence, shares, ages)
    p = model.fpir_by_age(0.62, listed)
    w = ages[:, None] * shares[None, :]
    once = float((w * stats.binom.sf(0, 6, p)).sum())
    twice = float((w * stats.binom.sf(1, 6, p)).sum())
    assert got == pytest.approx(twice / once, rel=0.02)


def test_directions_of_the_table() -> None:
    rows = {r["assumption"]: r for r in sens.table()}
    persist = rows["look-alike persistence"]
    assert persist["high"]["repeat_share"] > 5 * persist["low"]["repeat_share"]
    bm = rows["Black men's unfloored ratio"]
    assert bm["high"]["black_male/white_male"] > bm["low"]["black_male/white_male"]
    slope = rows["FMR fall per +0.02"]
    assert slope["high"]["false_per_million"] < slope["low"]["false_per_million"], \
        "a steeper fall, fewer false alerts at 0.62"
    assert np.isfinite([v for r in rows.values() for v in r["low"].values()]).all()
    assert "| assumption (range) |" in sens.markdown(list(rows.values()))
