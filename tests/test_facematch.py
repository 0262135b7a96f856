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
ANNEX15_FMR = tuple(1e-5 * m for m in (1.0, 1.0, 1.0, 7.9, 1.0, 4.0, 12.6, 50.0))
ANNEX15_FNMR_MULT = (1.0, 1.31, 0.39, 0.69, 0.94, 2.14, 1.97, 2.89)


def _floored(fmr: tuple[float, ...]) -> np.ndarray:
    return np.isclose(np.asarray(fmr), 1e-5)


def test_nist_median_reproduces_annex15_and_reads_the_floor_as_at_most() -> None:
    fmr, fnmr = MEDIAN.fmr(0.60), MEDIAN.fnmr(0.60)
    floored = _floored(ANNEX15_FMR)
    assert np.allclose(fmr[~floored], np.asarray(ANNEX15_FMR)[~floored], rtol=1e-6), (
        "groups above NIST's floor keep Annex 15's FMR"
    )
    assert np.all(fmr[floored] <= 1e-5 * (1 + 1e-9)), "floored groups: at most 1e-5"
    assert fmr[idx("white_female")] == pytest.approx(1e-5), "the highest floored group"
    # NIST's unfloored mugshot ratios (FRVT 1:1, White men at FMR 1e-3) carried to 1e-5.
    assert fmr[idx("black_male")] / fmr[WM] == pytest.approx(2.96, rel=0.02)
    assert fmr[idx("white_female")] / fmr[WM] == pytest.approx(4.19, rel=0.02)
    assert fmr[idx("asian_male")] == pytest.approx(fmr[WM]), "no unfloored figure: equal"
    assert fnmr[WM] == pytest.approx(0.0103, rel=1e-6)
    assert np.allclose(fnmr / fnmr[WM], ANNEX15_FNMR_MULT, rtol=1e-6)
    worse = [g for g in NIST_GROUPS if g not in ("white_male", "asian_male")]
    assert all(fmr[idx(g)] > fmr[WM] for g in worse), "NIST's groups with more false matches"


def test_carrying_a_ratio_to_another_level_and_shift_units() -> None:
    from sim.facematch import ratio_at, shift_units

    assert ratio_at(1e-3, 2.25, 1e-3) == pytest.approx(2.25), "the same level: the same ratio"
    assert ratio_at(1e-5, 2.25, 1e-3) == pytest.approx(2.96, rel=0.01), "tighter: wider ratio"
    # Mugshot cross-race pairs (FRVT 1:1 medians): men 0.57 and women 0.78 spreads below.
    assert shift_units(2.0e-4, 1.0e-3, 2.25e-3) == pytest.approx(0.574, abs=0.005)
    assert shift_units(5.0e-4, 2.9e-3, 1.17e-2) == pytest.approx(0.777, abs=0.005)


@pytest.mark.parametrize("name", sorted(_NAMED))
def test_named_algorithms_reproduce_their_annex15_rates(name: str) -> None:
    fmr, fnmr = _NAMED[name]
    m = MODELS[name]
    floored = _floored(fmr)
    assert np.allclose(m.fmr(0.60)[~floored], np.asarray(fmr)[~floored], rtol=1e-6), name
    assert np.all(m.fmr(0.60)[floored] <= 1e-5 * (1 + 1e-9)), name
    assert np.allclose(m.fnmr(0.60), fnmr, rtol=1e-6), name


def npl_aggregate(t: float, n: float) -> float:
    from sim.facematch import _NPL_GALLERY, _NPL_PROBES

    return float(_NPL_PROBES @ NPL.fpir(t, _NPL_GALLERY * n / 10_000) / _NPL_PROBES.sum())


def test_npl2023_fpir_at_its_own_gallery_scales_with_the_watchlist() -> None:
    assert npl_aggregate(0.60, 10_000) * 6_000 == pytest.approx(1, rel=1e-6)
    assert npl_aggregate(0.60, 1_000) * 60_000 == pytest.approx(1, rel=0.01)
    assert np.allclose(NPL.tpir(0.60, 0.8), 0.89), "TPIR 0.89 on live video"


def test_npl2023_false_positives_fall_like_the_test() -> None:
    """7, 1 and 0 false positives at 0.60, 0.62 and 0.64 in NPL's test."""
    faces = 7 * 6_000  # 7 false positives at 1 in 6,000 faces (N = 10,000)
    lam = {t: faces * npl_aggregate(t, 10_000) for t in (0.60, 0.62, 0.64)}
    assert lam[0.60] == pytest.approx(7, rel=1e-6)
    assert stats.poisson.pmf(1, lam[0.62]) > 0.2, f"1 at 0.62 is typical (mean {lam[0.62]:.2f})"
    assert stats.poisson.pmf(0, lam[0.64]) > 0.6, f"0 at 0.64 is typical (mean {lam[0.64]:.2f})"


def test_npl2023_minority_differential_is_estimated_from_the_seven() -> None:
    from sim.facematch import _NPL_GALLERY, _NPL_PROBES, minority_ratio_posterior

    r, w = minority_ratio_posterior()
    median = float(np.interp(0.5, np.cumsum(w), r))
    lo, hi = (float(np.interp(q, np.cumsum(w), r)) for q in (0.05, 0.95))
    assert 3.5 < median < 5.5 and lo > 1.0 and hi > 10, (lo, median, hi)
    # Without a differential, 7 of 7 from the minority half of the probes is a 1-in-128 event;
    # with the estimate it is unremarkable.
    f = _NPL_PROBES * NPL.fpir(0.60, _NPL_GALLERY)
    p_minority = float(f[2:].sum() / f.sum())
    assert p_minority**7 > 0.1 > 0.5**7
    for t in (0.56, 0.58):  # "more Black subjects falsely matched than ... White"
        assert NPL.fpir(t, _NPL_GALLERY)[idx("black_male")] > NPL.fpir(t, _NPL_GALLERY)[WM]


def test_pnd2025_reproduces_published_fpir_at_its_gallery() -> None:
    from sim.facematch import _pnd_gallery

    published = {
        "white_male": 0.0004,
        "asian_female": 0.040,
        "black_male": 0.004,
        "black_female": 0.099,
    }
    fpir = PND.fpir(0.60, _pnd_gallery())
    for g, p in published.items():
        assert fpir[idx(g)] == pytest.approx(p, rel=1e-6), g


def test_cross_demographic_pairs_resemble_each_other_less() -> None:
    f = MEDIAN.fmr_matrix(0.60)
    same = np.diag(f)
    assert np.allclose(same, MEDIAN.fmr(0.60)), "same-group adult pairs: the group's FMR"
    wm, wf, bm = idx("white_male"), idx("white_female"), idx("black_male")
    geo = np.sqrt(same[wm] * same[bm])
    assert f[wm, bm] < geo / 5, "another race: far fewer false matches"
    assert f[wm, wf] < np.sqrt(same[wm] * same[wf]) / 3, "another sex: fewer"
    assert f[wf, bm] < f[wm, bm] and f[wf, bm] < f[wf, wm], "both differ: fewer still"
    by_age = MEDIAN.fmr_matrix_by_age(0.60)
    assert by_age[0, wm, wm] < same[wm], "a child against adults' faces"
    assert np.allclose(by_age[1], f)


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
    assert (
        MEDIAN.fpir(0.6, only("black_female", 500))[bf]
        > 5 * MEDIAN.fpir(0.6, only("white_male", 500))[bf]
    )


def test_threshold_trades_errors() -> None:
    assert np.all(MEDIAN.fmr(0.62) < MEDIAN.fmr(0.60))
    assert np.all(MEDIAN.fnmr(0.62) > MEDIAN.fnmr(0.60))
    wf = idx("white_female")  # at FMR 1e-5, the level the spread was pinned at
    assert MEDIAN.fmr(0.60)[wf] / MEDIAN.fmr(0.62)[wf] == pytest.approx(7.0, rel=0.01), (
        "about 7x fewer false matches per +0.02 (NPL 2023)"
    )


models = st.builds(
    lambda imp, isd, gen, gsd, cross, qs: ScoreModel(
        name="h",
        groups=("a", "b", "c"),
        imp_mu=tuple(imp),
        imp_sd=tuple(isd),
        gen_mu=tuple(gen),
        gen_sd=tuple(gsd),
        cross_shift=cross,
        quality_shift=qs,
        threshold_ref=0.6,
    ),
    st.lists(st.floats(-6, 6), min_size=3, max_size=3),
    st.lists(st.floats(0.01, 3), min_size=3, max_size=3),
    st.lists(st.floats(-6, 8), min_size=3, max_size=3),
    st.lists(st.floats(0.01, 3), min_size=3, max_size=3),
    st.floats(0, 3),
    st.floats(0, 10),
)


@settings(max_examples=300, deadline=None)
@given(
    m=models,
    t=st.floats(0, 1),
    n=st.lists(st.integers(0, 10**8), min_size=3, max_size=3),
    q=st.floats(0, 1),
)
def test_rates_are_probabilities_for_any_parameters(
    m: ScoreModel, t: float, n: list[int], q: float
) -> None:
    for name, v in (
        ("fmr", m.fmr(t)),
        ("fnmr", m.fnmr(t, q)),
        ("fmr_matrix", m.fmr_matrix(t)),
        ("fpir", m.fpir(t, n)),
        ("tpir", m.tpir(t, q)),
        ("p_hit", m.p_hit(t, [0, 1, 2], [q, q, q])),
    ):
        assert np.all((v >= 0) & (v <= 1)), f"{name} outside [0, 1]: {v}"


@settings(max_examples=200, deadline=None)
@given(
    m=models,
    t1=st.floats(0.01, 0.99),
    t2=st.floats(0.01, 0.99),
    n1=st.integers(0, 10**6),
    n2=st.integers(0, 10**6),
)
def test_fpir_is_monotone_in_list_size_and_threshold(
    m: ScoreModel, t1: float, t2: float, n1: int, n2: int
) -> None:
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
CUSTOM = {
    "model": "custom",
    "custom": {
        "threshold_ref": 0.7,
        "groups": {
            "group_a": {"fmr": 1e-4, "fnmr": 0.02},
            "group_b": {
                "impostor_mean_logit": 0.0,
                "impostor_sd_logit": 0.3,
                "genuine_mean_logit": 2.5,
            },
        },
    },
}


def test_custom_model_from_a_scenario_hits_its_targets() -> None:
    from sim.facematch import model_for

    sc = load_scenario(
        {
            "facematch": CUSTOM,
            "population": {
                "groups": [{"name": "group_a", "share": 0.5}, {"name": "group_b", "share": 0.5}]
            },
        }
    )
    m = model_for(sc.facematch)
    assert m.groups == ("group_a", "group_b")
    assert m.fmr(0.7)[0] == pytest.approx(1e-4) and m.fnmr(0.7)[0] == pytest.approx(0.02)
    assert m.imp_mu[1] == 0.0 and m.imp_sd[1] == 0.3 and m.gen_mu[1] == 2.5


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"fmr": -1e-4}, "facematch.custom.groups.group_a.fmr"),
        ({"fnmr": 1.5}, "facematch.custom.groups.group_a.fnmr"),
        ({"impostor_mean_logit": 0.1}, "facematch.custom.groups.group_a: give exactly one of fmr"),
        ({"genuine_sd_logit": 0}, "facematch.custom.groups.group_a.genuine_sd_logit"),
    ],
)
def test_bad_custom_models_name_the_key(patch: dict, where: str) -> None:
    spec = {
        "model": "custom",
        "custom": {"groups": {"group_a": {"fmr": 1e-4, "fnmr": 0.02, **patch}}},
    }
    with pytest.raises(ScenarioError, match=where.replace(".", r"\.")):
        load_scenario(
            {"facematch": spec, "population": {"groups": [{"name": "group_a", "share": 1.0}]}}
        )


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

    sc = load_scenario(
        SCENARIOS / "capital_cctv.toml",
        ["population.people=6000", "deployment.0.count=120", "facematch.threshold=0.6"],
    )
    res = sim.run(sc)
    caps = res.tables["captures"]
    hour = caps.column("t_s").to_numpy() % 86400 / 3600
    day = (hour >= 6) & (hour < 20)
    groups = res.tables["people"].column("group_id").to_numpy()[caps.column("person_id").to_numpy()]
    q = caps.column("quality").to_numpy()
    tpir = MEDIAN.p_hit(0.6, groups[day], q[day])  # groups are the NIST groups, in order
    assert 0.70 <= float(tpir.mean()) <= 0.89, f"daytime TPIR {tpir.mean():.3f}"


# ---------------------------------------------------------------- model uncertainty
def test_ensemble_draws_are_fixed_vary_and_keep_each_presets_anchor() -> None:
    from sim.facematch import (
        _NPL_GALLERY,
        _NPL_PROBES,
        Inputs,
        _build_presets,
        _pnd_gallery,
        draw_inputs,
        ensemble_models,
    )

    assert draw_inputs(3) == draw_inputs(3), "draw r is the same everywhere"
    assert draw_inputs(4) != draw_inputs(3)
    assert _build_presets(Inputs())["nist_frvt2019_median"] == MEDIAN, "point = presets"
    spread = np.array([ensemble_models(r)["nist_frvt2019_median"].fmr(0.6) for r in range(12)])
    assert np.all(spread.std(axis=0) > 0), "every group's FMR is uncertain"
    for r in range(4):
        npl = ensemble_models(r)["uk_lfr_npl2023"]
        agg = float(_NPL_PROBES @ npl.fpir(0.6, _NPL_GALLERY) / _NPL_PROBES.sum())
        assert agg * 6000 == pytest.approx(1, rel=1e-6), "NPL's 1 in 6,000 in every draw"
        pnd = ensemble_models(r)["uk_pnd_retrospective2025"].fpir(0.6, _pnd_gallery())
        assert pnd[idx("black_female")] == pytest.approx(0.099, rel=1e-6)


def test_ensemble_is_for_presets() -> None:
    assert (
        load_scenario({"facematch": {"uncertainty": "ensemble"}}).facematch.uncertainty
        == "ensemble"
    )
    with pytest.raises(ScenarioError, match="ensemble' needs a preset model"):
        load_scenario(
            {
                "facematch": {**CUSTOM, "uncertainty": "ensemble"},
                "population": {
                    "groups": [{"name": "group_a", "share": 0.5}, {"name": "group_b", "share": 0.5}]
                },
            }
        )
