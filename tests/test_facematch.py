"""The face-match rate model: NIST multipliers, threshold behaviour and one-to-many search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.facematch import MODELS, NIST_GROUPS

MEDIAN = MODELS["nist_frvt2019_median"]


def idx(name: str) -> int:
    return NIST_GROUPS.index(name)


def test_reference_threshold_reproduces_nist_annex15_medians() -> None:
    fmr = MEDIAN.fmr(0.60)
    fnmr = MEDIAN.fnmr(0.60)
    wm = idx("white_male")
    assert fmr[wm] == pytest.approx(1e-5), "White-male reference FMR (NISTIR 8280)"
    assert fnmr[wm] == pytest.approx(0.0103), "White-male reference FNMR"
    assert fmr[idx("black_female")] / fmr[wm] == pytest.approx(7.9)
    assert fmr[idx("amerindian_female")] / fmr[wm] == pytest.approx(50.0)
    assert fnmr[idx("asian_female")] / fnmr[wm] == pytest.approx(2.14)
    assert fnmr[idx("black_male")] / fnmr[wm] == pytest.approx(0.39)


def test_raising_the_threshold_trades_false_matches_for_misses() -> None:
    lo, hi = 0.60, 0.62
    assert np.all(MEDIAN.fmr(hi) < MEDIAN.fmr(lo)), "fewer false matches"
    assert np.all(MEDIAN.fnmr(hi) > MEDIAN.fnmr(lo)), "more misses"
    # NPL 2023: about a factor 7 fewer false positives per +0.02 (7 at 0.60, 1 at 0.62).
    assert MEDIAN.fmr(lo)[0] / MEDIAN.fmr(hi)[0] == pytest.approx(7.0)


def test_fpir_is_the_exact_one_to_many_formula() -> None:
    n = np.zeros(len(NIST_GROUPS))
    n[idx("white_male")] = 1000
    fmr = MEDIAN.fmr(0.6)[idx("white_male")]
    fpir = MEDIAN.fpir(0.6, n)[idx("white_male")]
    assert fpir == pytest.approx(1 - (1 - fmr) ** 1000, rel=1e-12), "1 - (1 - FMR)^N"
    assert fpir < 1000 * fmr, "the N x FMR approximation overstates it"
    assert fpir == pytest.approx(1000 * fmr, rel=0.01), "but is close for small FMR"


def test_fpir_grows_with_own_group_on_the_list() -> None:
    bf = idx("black_female")
    own = np.zeros(len(NIST_GROUPS))
    own[bf] = 500
    other = np.zeros(len(NIST_GROUPS))
    other[idx("white_male")] = 500
    assert MEDIAN.fpir(0.6, own)[bf] > 5 * MEDIAN.fpir(0.6, other)[bf], \
        "a list full of one's own group is far more dangerous"
    bigger = own * 2
    assert MEDIAN.fpir(0.6, bigger)[bf] > MEDIAN.fpir(0.6, own)[bf], "grows with list size"


def test_equal_rates_control_has_no_differential() -> None:
    eq = MODELS["equal_rates"]
    assert np.ptp(eq.fmr(0.6)) == 0 and np.ptp(eq.fnmr(0.6)) == 0


@settings(max_examples=200, deadline=None)
@given(threshold=st.floats(0, 1), sizes=st.lists(st.integers(0, 10**7), min_size=8, max_size=8),
       quality=st.floats(0, 1), model=st.sampled_from(sorted(MODELS)))
def test_rates_are_probabilities(threshold: float, sizes: list[int], quality: float,
                                 model: str) -> None:
    m = MODELS[model]
    for name, v in (("fmr", m.fmr(threshold)), ("fnmr", m.fnmr(threshold)),
                    ("fmr_matrix", m.fmr_matrix(threshold)),
                    ("fpir", m.fpir(threshold, sizes)), ("tpir", m.tpir(threshold, quality))):
        assert np.all((v >= 0) & (v <= 1)), f"{name} outside [0, 1]"
