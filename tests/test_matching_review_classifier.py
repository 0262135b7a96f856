"""One-to-many decisions, demographic labels and human review: known rates, and in a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.classifier import CLASSIFIERS, ethnicity
from sim.coins import Coins
from sim.facematch import MODELS, NIST_GROUPS
from sim.matching import Matcher
from sim.review import REVIEWERS
from sim.rng import Streams
from sim.scenario import load_scenario
from tests.conftest import ROOT, small_dict

KEYS = Coins.claim(Streams(9)).match()


def test_matcher_claims_identities_in_proportion_to_fmr_times_list_size() -> None:
    model = MODELS["nist_frvt2019_median"]
    wl = np.repeat(np.arange(8), [400, 400, 80, 80, 40, 40, 8, 8])  # model group per entry
    m = Matcher(model, 0.50, wl, KEYS)
    n = 400_000
    probe = np.full(n, NIST_GROUPS.index("black_female"))
    d = m.decide(np.arange(n), np.zeros(n, np.int64), probe, np.full(n, -1), np.ones(n))
    alerts = d.claimed >= 0
    p = m.fpir[1, probe[0]]  # adults (the default age band)
    assert alerts.sum() == pytest.approx(n * p, abs=4 * np.sqrt(n * p * (1 - p))), "FPIR"
    assert not d.is_hit.any(), "nobody listed was captured"
    claimed_group = wl[d.claimed[alerts]]
    weights = model.fmr_matrix(0.50)[probe[0]] * np.bincount(wl, minlength=8)  # adults
    expected = weights / weights.sum()
    observed = np.bincount(claimed_group, minlength=8) / alerts.sum()
    assert np.allclose(observed, expected, atol=0.02), "claims follow FMR[g, h] * N_h"
    assert np.all(d.score[alerts] > 0.50) and np.all(np.isnan(d.score[~alerts]))


def test_matcher_finds_listed_people_at_their_tpir() -> None:
    model = MODELS["nist_frvt2019_median"]
    wl = np.arange(8).repeat(10)
    m = Matcher(model, 0.62, wl, KEYS)
    n = 100_000
    g = np.full(n, NIST_GROUPS.index("asian_female"))
    entry = np.full(n, 55)  # an asian_female entry
    q = np.full(n, 0.7)
    d = m.decide(np.arange(n), np.zeros(n, np.int64), g, entry, q)
    p = float(model.p_hit(0.62, g[:1], q[:1])[0])
    assert d.is_hit.mean() == pytest.approx(p, abs=0.01)
    assert np.all(d.claimed[d.is_hit] == 55)


def test_matcher_coins_are_keyed_by_capture_identity() -> None:
    model = MODELS["nist_frvt2019_median"]
    m = Matcher(model, 0.45, np.arange(8).repeat(50), KEYS)
    trips = np.arange(50_000)
    g = trips % 8
    full = m.decide(trips, trips * 3, g, np.full(trips.size, -1), np.ones(trips.size))
    part = m.decide(
        trips[::7], trips[::7] * 3, g[::7], np.full(trips[::7].size, -1), np.ones(trips[::7].size)
    )
    assert np.array_equal(full.claimed[::7], part.claimed), "a capture's outcome is its own"


def test_gender_shades_classifier_errors() -> None:
    ibm = CLASSIFIERS["gender_shades_ibm"]
    err = dict(zip(NIST_GROUPS, ibm.error_by_group(), strict=True))
    assert err["white_male"] == pytest.approx(0.003) and err["black_female"] == pytest.approx(
        0.347
    ), "Buolamwini & Gebru 2018, IBM"
    n = 200_000
    g = np.full(n, NIST_GROUPS.index("black_female"))
    labels = ibm.classify(g, np.random.default_rng(1).random(n))
    assert np.mean(labels == ibm.labels.index("male")) == pytest.approx(0.347, abs=0.005)


def test_ethnicity_classifier_is_configurable() -> None:
    c = ethnicity({"black": 0.7, "white": 0.95})
    err = dict(zip(NIST_GROUPS, c.error_by_group(), strict=True))
    assert err["black_female"] == pytest.approx(0.3) and err["white_male"] == pytest.approx(0.05)
    assert err["asian_male"] == pytest.approx(0.0), "unnamed ethnicities default to exact"
    assert np.allclose(c.matrix().sum(axis=1), 1.0)


def test_reviewer_verdicts() -> None:
    r = REVIEWERS["passport_officers_2014"]
    n = 200_000
    u = np.random.default_rng(2).random(n)
    assert r.confirms(np.zeros(n, bool), np.ones(n, bool), u).mean() == pytest.approx(
        0.14, abs=0.005
    )
    assert r.confirms(np.ones(n, bool), np.ones(n, bool), u).mean() == pytest.approx(
        0.935, abs=0.005
    )
    assert r.confirms(np.zeros(n, bool), np.zeros(n, bool), u).mean() < 0.03
    assert (
        REVIEWERS["rubber_stamp"]
        .confirms(np.zeros(10, bool), np.ones(10, bool), np.full(10, 0.5))
        .all()
    )


def test_review_and_labels_in_a_run() -> None:
    sc = load_scenario(
        small_dict(
            population={"people": 2500},
            facematch={"threshold": 0.5},
            governance={"review": {"enabled": True}},
            classifier={"model": "gender_shades_microsoft"},
        )
    )
    res = sim.run(sc)
    s = res.summary
    assert s["false_alerts"] > 100
    kept = s["confirmed_false_alerts"] / s["false_alerts"]
    assert 0.01 < kept < 0.2, "most false alerts are caught by the reviewer"
    labels = res.tables["labels"]
    assert labels.num_rows == res.tables["captures"].num_rows, "every face is labelled"
    err = s["label_error_by_group"]
    assert err["black_female"] == pytest.approx(0.208, abs=0.06), "Microsoft darker female"
    assert err["white_male"] < 0.02
    plain = sim.run(
        load_scenario(small_dict(population={"people": 2500}, facematch={"threshold": 0.5}))
    ).summary
    assert plain["confirmed_alerts"] == plain["alerts"], "without review every alert stands"
    assert plain["label_error_by_group"] is None
    assert plain["false_alerts"] == s["false_alerts"], "review changes verdicts, not matches"


def survsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_errors_command_json_and_table() -> None:
    p = survsim(
        "errors",
        "--model",
        "uk_pnd_retrospective2025",
        "--threshold",
        "0.6",
        "--watchlist",
        "19000000",
        "--list",
        "evaluation",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert set(d["groups"]) == set(NIST_GROUPS)
    wm = d["groups"]["white_male"]
    assert set(wm) == {"fmr", "fnmr", "fpir", "tpir"}
    assert wm["fpir"] == pytest.approx(0.0004, rel=1e-6), "NPL 2025 at its own gallery"
    assert d["groups"]["black_female"]["fpir"] == pytest.approx(0.099, rel=1e-6)
    t = survsim("errors", "--model", "idemia_005")
    assert t.returncode == 0 and "black_female" in t.stdout and "caveat" in t.stdout


def test_errors_sweep_writes_an_offline_figure(tmp_path: Path) -> None:
    out = tmp_path / "sweep.html"
    p = survsim("errors", "--model", "nist_frvt2019_median", "--sweep", "--out", str(out))
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    assert "plotly" in html and "black female" in html and len(html) > 1_000_000, (
        "plotly.js embedded, one line per group"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--model", "acme"],
        ["--threshold", "1.5"],
        ["--sweep"],
        ["--watchlist", "-3"],
        ["--list", "nope"],
        ["--list", "evaluation"],
    ],
)
def test_errors_bad_input(args: list[str]) -> None:
    p = survsim("errors", *args)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr


def test_ethnicity_accuracy_by_ethnicity_and_group_in_a_scenario() -> None:
    from sim.classifier import classifier_for

    c = classifier_for(
        "ethnicity",
        NIST_GROUPS,
        accuracy=0.9,
        accuracy_by_group={"black": 0.6, "black_female": 0.5},
    )
    err = dict(zip(NIST_GROUPS, c.error_by_group(), strict=True))
    assert err["black_male"] == pytest.approx(0.4), "the ethnicity's accuracy"
    assert err["black_female"] == pytest.approx(0.5), "the group's own wins"
    assert err["white_male"] == pytest.approx(0.1), "the overall accuracy otherwise"
    with pytest.raises(Exception, match=r"classifier\.accuracy_by_group: unknown groups martian"):
        load_scenario(
            small_dict(classifier={"model": "ethnicity", "accuracy_by_group": {"martian": 0.5}})
        )


def test_the_list_make_up_matters_for_every_preset() -> None:
    """The published FPIRs hold at each evaluation's own gallery; a list of another make-up
    moves false matches toward the groups it holds more of (the composition effect applies to
    every preset)."""
    from sim.facematch import _pnd_gallery

    pnd = MODELS["uk_pnd_retrospective2025"]
    own = pnd.fpir(0.6, _pnd_gallery())
    assert own[NIST_GROUPS.index("black_female")] == pytest.approx(0.099, rel=1e-6)
    assert own[NIST_GROUPS.index("white_male")] == pytest.approx(0.0004, rel=1e-6)
    black_heavy = np.zeros(8)
    black_heavy[NIST_GROUPS.index("black_female")] = 19_000_000
    other = pnd.fpir(0.6, black_heavy)
    assert other[NIST_GROUPS.index("black_female")] > 2 * own[NIST_GROUPS.index("black_female")]
    assert other[NIST_GROUPS.index("white_male")] < own[NIST_GROUPS.index("white_male")] / 4


def test_false_matches_is_decide_for_faces_not_on_the_list() -> None:
    from sim.facematch import MODELS
    from sim.matching import Matcher

    rng = np.random.default_rng(5)
    model = MODELS["nist_frvt2019_median"]
    keys = {
        k: np.uint64(i + 11)
        for i, k in enumerate(("hit", "false", "claim_group", "claim_entry", "score"))
    }
    m = Matcher(model, 0.5, rng.integers(0, 8, 3000), keys)
    n = 200_000
    trip, cam = np.arange(n), rng.integers(0, 500, n)
    group, age = rng.integers(0, 8, n), rng.integers(0, 3, n)
    d = m.decide(trip, cam, group, np.full(n, -1), np.full(n, 0.8), age)
    rows, claimed = m.false_matches(trip, cam, group, age)
    assert rows.size > 100
    assert np.array_equal(rows, np.flatnonzero(d.claimed >= 0))
    assert np.array_equal(claimed, d.claimed[rows])
