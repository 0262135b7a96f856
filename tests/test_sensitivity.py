"""The sensitivity table (sim/sensitivity.py): known answers and its monotone directions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim import sensitivity as sens
from sim.facematch import MODELS, NIST_GROUPS


def test_point_outcome_is_the_presets_closed_form() -> None:
    out = sens.outcome(sens.POINT)
    model = MODELS["nist_frvt2019_median"]
    shares, ages = sens._population()
    listed = sens.quotas(1000, [sens.WATCHLIST_PRESETS["arrests_us_2018"][g] for g in NIST_GROUPS])
    rate = ages @ model.fpir_by_age(0.62, listed)
    assert out["false_per_million"] == pytest.approx(float(shares @ rate) * 1e6)
    assert out["black_male/white_male"] == pytest.approx(rate[2] / rate[0])


def test_without_persistence_repeats_are_the_binomial_share() -> None:
    no = dataclasses.replace(sens.POINT, persistence=1e-9)
    model = MODELS["nist_frvt2019_median"]
    shares, ages = sens._population()
    listed = sens.quotas(1000, [sens.WATCHLIST_PRESETS["arrests_us_2018"][g] for g in NIST_GROUPS])
    got = sens.repeat_share(model, listed, no.persistence, shares, ages)
    p = model.fpir_by_age(0.62, listed)
    w = ages[:, None] * shares[None, :]
    once = float((w * stats.binom.sf(0, 6, p)).sum())
    twice = float((w * stats.binom.sf(1, 6, p)).sum())
    assert got == pytest.approx(twice / once, rel=0.02)


@pytest.fixture(scope="module")
def table() -> list[dict[str, object]]:
    return sens.table()


DOC = Path(__file__).resolve().parents[1] / "docs" / "face_match.md"


def test_the_docs_quote_the_code(table: list[dict[str, object]]) -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert sens.markdown(table) in doc, "docs/face_match.md 2.9: python -m sim.sensitivity"
    assert sens.preset_tables() in doc, (
        "docs/face_match.md 2.7: python -m sim.sensitivity --presets"
    )


def test_directions_of_the_table(table: list[dict[str, object]]) -> None:
    rows = {r["assumption"]: r for r in table if r["model"] == sens.NIST}
    persist = rows["look-alike persistence"]
    assert persist["high"]["repeat_share"] > 5 * persist["low"]["repeat_share"]
    bm = rows["Black men's unfloored ratio"]
    assert bm["high"]["black_male/white_male"] > bm["low"]["black_male/white_male"]
    slope = rows["FMR fall per +0.02"]
    assert slope["high"]["false_per_million"] < slope["low"]["false_per_million"], (
        "a steeper fall, fewer false alerts at 0.62"
    )
    assert np.isfinite([v for r in rows.values() for v in r["low"].values()]).all()
    assert "| assumption (range) |" in sens.markdown(list(rows.values()))
    uk = {r["assumption"]: r for r in table if r["model"] == sens.UK}
    npl = uk["NPL minority / White ratio"]
    assert npl["high"]["black_male/white_male"] > 5 * npl["low"]["black_male/white_male"]
    assert set(uk) - {r for r in uk if r.startswith("point")} == sens.UK_ONLY | sens.UK_ALSO
