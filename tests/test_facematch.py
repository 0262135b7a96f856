"""Face-match models: calibration to the published record, and the laws every model obeys."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.errors import ScenarioError
from sim.facematch import _NAMED, MODELS, NIST_GROUPS, ScoreModel
from sim.scenario import load_scenario

MEDIAN = MODELS["nist_frvt2019_median"]
NPL = MODELS["uk_lfr_npl2023"]
PND = MODELS["uk_pnd_retrospective2025"]
WM = NIST_GROUPS.index("white_male")


def idx(name: str) -> int:
    return NIST_GROUPS.index(name)


def only(group: str, n: float) -> np.ndarray:
    e = np.zeros(len(NIST_GROUPS))
    e[idx(group)] = n
    return e


def proportional(n: float) -> np.ndarray:
    from sim.presets import GROUP_PRESETS

    shares = np.array([float(g["share"]) for g in GROUP_PRESETS["nist_sex_race"]])  # type: ignore[arg-type]
    return n * shares / shares.sum()


# ---------------------------------------------------------------- calibration
def test_nist_median_reproduces_annex15_multipliers() -> None:
    fmr, fnmr = MEDIAN.fmr(0.60), MEDIAN.fnmr(0.60)
    assert fmr[WM] == pytest.approx(1e-5, rel=0.1) and fnmr[WM] == pytest.approx(0.0103, rel=0.1)
    fmr_mult = (1.0, 1.0, 1.0, 7.9, 1.0, 4.0, 12.6, 50.0)
    fnmr_mult = (1.0, 1.31, 0.39, 0.69, 0.94, 2.14, 1.97, 2.89)
    for i, g in enumerate(NIST_GROUPS):
        assert fmr[i] / fmr[WM] == pytest.approx(fmr_mult[i], rel=0.1), f"FMR {g}"
        assert fnmr[i] / fnmr[WM] == pytest.approx(fnmr_mult[i], rel=0.1), f"FNMR {g}"


@pytest.mark.parametrize("name", sorted(_NAMED))
def test_named_algorithms_reproduce_their_annex15_rates(name: str) -> None:
    fmr, fnmr = _NAMED[name]
    m = MODELS[name]
    assert np.allclose(m.fmr(0.60), fmr, rtol=0.1), name
    assert np.allclose(m.fnmr(0.60), fnmr, rtol=0.1), name


def test_npl2023_fpir_scales_with_the_watchlist() -> None:
    for n, one_in in ((10_000, 6_000), (1_000, 60_000)):
        for enrolled in (proportional(n), only("white_male", n)):
            fpir = NPL.fpir(0.60, enrolled)
            assert np.all(np.abs(fpir * one_in - 1) < 0.1), f"FPIR 1 in {one_in:,} at N={n:,}"
    assert np.allclose(NPL.tpir(0.60, 0.8), 0.89), "TPIR 0.89 on live video"


def test_npl2023_false_positives_fall_like_the_test() -> None:
    """7, 1 and 0 false positives at 0.60, 0.62 and 0.64 in NPL's test."""
    faces = 7 * 6_000  # 7 false positives at 1 in 6,000 faces (N = 10,000)
    lam = {t: faces * float(np.mean(NPL.fpir(t, proportional(10_000)))) for t in (0.60, 0.62,
                                                                                   0.64)}
    assert lam[0.60] == pytest.approx(7, rel=0.1)
    assert stats.poisson.pmf(1, lam[0.62]) > 0.2, f"1 at 0.62 is typical (mean {lam[0.62]:.2f})"
    assert stats.poisson.pmf(0, lam[0.64]) > 0.6, f"0 at 0.64 is typical (mean {lam[0.64]:.2f})"


def test_npl2023_more_black_false_matches_below_060() -> None:
    for t in (0.56, 0.58):
        assert NPL.fmr(t)[idx("black_male")] > NPL.fmr(t)[WM], f"at {t}"
    assert NPL.fmr(0.60)[idx("black_male")] == pytest.approx(NPL.fmr(0.60)[WM])


def test_pnd2025_reproduces_published_fpir() -> None:
    published = {"white_male": 0.0004, "asian_female": 0.040, "black_male": 0.004,
                 "black_female": 0.099}
    for g, p in published.items():
        assert PND.fpir(0.60, only(g, 19_000_000))[idx(g)] == pytest.approx(p, rel=0.1), g


def test_live_video_detection_rates() -> None:
    """docs/calibration.md section 5: TPIR 0.89 (controlled), > 0.76, about 0.70."""
    tpir = MEDIAN.tpir(0.60, np.array([1.0, 0.8, 0.7, 0.67]))[WM]
    assert tpir[0] > 0.98, "portraits"
    assert tpir[1] == pytest.approx(0.89, abs=0.01)
    assert tpir[2] == pytest.approx(0.76, abs=0.02)
    assert tpir[3] == pytest.approx(0.70, abs=0.02)


# ---------------------------------------------------------------- laws
def test_fpir_exact_and_its_approximation() -> None:
    fmr = MEDIAN.fmr(0.6)[WM]
    fpir = MEDIAN.fpir(0.6, only("white_male", 1000))[WM]
    assert fpir == pytest.approx(1 - (1 - fmr) ** 1000, rel=1e-9), "1 - (1 - FMR)^N"
    assert fpir < 1000 * fmr and fpir == pytest.approx(1000 * fmr, rel=0.01)
    n = round(2 / fmr)  # N x FMR = 2: the approximation says "200%"
    assert MEDIAN.fpir(0.6, only("white_male", n))[WM] == pytest.approx(1 - np.exp(-2), rel=1e-3)


def test_own_group_on_the_list_raises_false_matches() -> None:
    bf = idx("black_female")
    assert MEDIAN.fpir(0.6, only("black_female", 500))[bf] > \
        5 * MEDIAN.fpir(0.6, only("white_male", 500))[bf]


def test_threshold_trades_errors() -> None:
    assert np.all(MEDIAN.fmr(0.62) < MEDIAN.fmr(0.60))
    assert np.all(MEDIAN.fnmr(0.62) > MEDIAN.fnmr(0.60))
    assert MEDIAN.fmr(0.60)[WM] / MEDIAN.fmr(0.62)[WM] == pytest.approx(7.0, rel=0.01), \
        "about 7x fewer false matches per +0.02 (NPL 2023)"


models = st.builds(
    lambda imp, isd, gen, gsd, cross, qs: ScoreModel(
        name="h", groups=("a", "b", "c"), imp_mu=tuple(imp), imp_sd=tuple(isd),
        gen_mu=tuple(gen), gen_sd=tuple(gsd), cross_shift=cross, quality_shift=qs,
        threshold_ref=0.6),
    st.lists(st.floats(-6, 6), min_size=3, max_size=3),
    st.lists(st.floats(0.01, 3), min_size=3, max_size=3),
    st.lists(st.floats(-6, 8), min_size=3, max_size=3),
    st.lists(st.floats(0.01, 3), min_size=3, max_size=3),
    st.floats(0, 3), st.floats(0, 10))


@settings(max_examples=300, deadline=None)
@given(m=models, t=st.floats(0, 1), n=st.lists(st.integers(0, 10**8), min_size=3, max_size=3),
       q=st.floats(0, 1))
def test_rates_are_probabilities_for_any_parameters(m: ScoreModel, t: float, n: list[int],
                                                    q: float) -> None:
    for name, v in (("fmr", m.fmr(t)), ("fnmr", m.fnmr(t, q)), ("fmr_matrix", m.fmr_matrix(t)),
                    ("fpir", m.fpir(t, n)), ("tpir", m.tpir(t, q)),
                    ("p_hit", m.p_hit(t, [0, 1, 2], [q, q, q]))):
        assert np.all((v >= 0) & (v <= 1)), f"{name} outside [0, 1]: {v}"


@settings(max_examples=200, deadline=None)
@given(m=models, t1=st.floats(0.01, 0.99), t2=st.floats(0.01, 0.99),
       n1=st.integers(0, 10**6), n2=st.integers(0, 10**6))
def test_fpir_is_monotone_in_list_size_and_threshold(m: ScoreModel, t1: float, t2: float,
                                                     n1: int, n2: int) -> None:
    lo_t, hi_t = sorted((t1, t2))
    lo_n, hi_n = sorted((n1, n2))
    e = np.array([1.0, 1.0, 1.0])
    assert np.all(m.fpir(lo_t, e * hi_n) >= m.fpir(lo_t, e * lo_n) - 1e-15), "grows with N"
    assert np.all(m.fpir(lo_t, e * hi_n) >= m.fpir(hi_t, e * hi_n) - 1e-15), "falls with T"


def test_alert_scores_follow_the_truncated_distribution() -> None:
    rng = np.random.default_rng(5)
    u = rng.random(20_000)
    t = 0.6
    g = np.full(u.size, idx("black_female"))
    s = MEDIAN.impostor_score_above(t, g, g, u)
    assert np.all(s > t), "scores of alerts pass the threshold"
    # Conditional CDF: P(S <= x | S > t) = 1 - FMR(x) / FMR(t).
    x = 0.62
    expect = 1 - MEDIAN.fmr(x)[idx("black_female")] / MEDIAN.fmr(t)[idx("black_female")]
    assert np.mean(s <= x) == pytest.approx(expect, abs=0.015)
    q = np.full(u.size, 0.8)
    gs = MEDIAN.genuine_score_above(t, np.full(u.size, WM), q, u)
    assert np.all(gs > t) and np.median(gs) > 0.7, "genuine scores sit well above"


# ---------------------------------------------------------------- user-defined models
CUSTOM = {"model": "custom", "custom": {"threshold_ref": 0.7, "groups": {
    "group_a": {"fmr": 1e-4, "fnmr": 0.02},
    "group_b": {"impostor_mean_logit": 0.0, "impostor_sd_logit": 0.3,
                "genuine_mean_logit": 2.5}}}}


def test_custom_model_from_a_scenario_hits_its_targets() -> None:
    from sim.facematch import model_for

    sc = load_scenario({"facematch": CUSTOM, "population": {"groups": [
        {"name": "group_a", "share": 0.5}, {"name": "group_b", "share": 0.5}]}})
    m = model_for(sc.facematch)
    assert m.groups == ("group_a", "group_b")
    assert m.fmr(0.7)[0] == pytest.approx(1e-4) and m.fnmr(0.7)[0] == pytest.approx(0.02)
    assert m.imp_mu[1] == 0.0 and m.imp_sd[1] == 0.3 and m.gen_mu[1] == 2.5


@pytest.mark.parametrize(("patch", "where"), [
    ({"fmr": -1e-4}, "facematch.custom.groups.group_a.fmr"),
    ({"fnmr": 1.5}, "facematch.custom.groups.group_a.fnmr"),
    ({"impostor_mean_logit": 0.1}, "facematch.custom.groups.group_a: give exactly one of fmr"),
    ({"genuine_sd_logit": 0}, "facematch.custom.groups.group_a.genuine_sd_logit"),
])
def test_bad_custom_models_name_the_key(patch: dict, where: str) -> None:
    spec = {"model": "custom", "custom": {"groups": {"group_a": {"fmr": 1e-4, "fnmr": 0.02,
                                                                 **patch}}}}
    with pytest.raises(ScenarioError, match=where.replace(".", r"\.")):
        load_scenario({"facematch": spec, "population": {"groups": [
            {"name": "group_a", "share": 1.0}]}})


def test_unknown_preset_and_missing_custom_table() -> None:
    with pytest.raises(ScenarioError, match=r"facematch\.model: unknown model 'acme'"):
        load_scenario({"facematch": {"model": "acme"}})
    with pytest.raises(ScenarioError, match=r"needs a \[facematch\.custom\] table"):
        load_scenario({"facematch": {"model": "custom"}})


def test_capital_scenario_detects_listed_people_at_live_video_rates() -> None:
    """docs/calibration.md section 5: live deployments find 70% (Met 2020) to 89% (NPL, controlled)
    of listed passers-by; the capital's daytime captures must land in that band at 0.60."""
    import sim
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "capital_cctv.toml", [
        "population.people=6000", "deployment.0.count=120", "facematch.threshold=0.6"])
    res = sim.run(sc)
    caps = res.tables["captures"]
    hour = caps.column("t_s").to_numpy() % 86400 / 3600
    day = (hour >= 6) & (hour < 20)
    groups = res.tables["people"].column("group_id").to_numpy()[caps.column("person_id")
                                                                  .to_numpy()]
    q = caps.column("quality").to_numpy()
    tpir = MEDIAN.p_hit(0.6, groups[day], q[day])  # groups are the NIST groups, in order
    assert 0.70 <= float(tpir.mean()) <= 0.89, f"daytime TPIR {tpir.mean():.3f}"
