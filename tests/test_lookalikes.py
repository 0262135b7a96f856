"""Persistent look-alikes (sim/lookalikes.py): known answers and the repeat-flagging keys."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.facematch import ADULT, MODELS, NIST_GROUPS
from sim.lookalikes import Lookalikes
from sim.scenario import load_scenario
from sim.world import build_world
from tests.conftest import small_dict

MEDIAN = MODELS["nist_frvt2019_median"]
KEYS = (np.uint64(2026), np.uint64(1201))
LIST = np.array([505, 187, 200, 74, 9, 3, 16, 6], np.float64)  # a custody-like list of 1,000


def chances(
    rho: float, enrolled: np.ndarray = LIST, group: int = 0, n: int = 100_000, t: float = 0.60
) -> np.ndarray:
    look = Lookalikes(MEDIAN, t, enrolled, rho, *KEYS)
    p = np.arange(n)
    return look.p_false(p, np.full(n, group), np.full(n, ADULT))


def test_without_persistence_every_person_has_the_fpir() -> None:
    p = chances(0.0)
    assert np.allclose(p, MEDIAN.fpir(0.60, LIST)[0], rtol=1e-12)


@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_persistence_keeps_the_fpir_on_average_and_spreads_it(rho: float) -> None:
    for group in (0, NIST_GROUPS.index("black_female")):
        p = chances(rho, group=group)
        fpir = MEDIAN.fpir(0.60, LIST)[group]
        assert p.mean() == pytest.approx(fpir, rel=0.04), "the same false alerts in all"
        assert np.quantile(p, 0.5) < fpir < np.quantile(p, 0.999) / 5, "on a few people"


def test_one_entry_gives_the_closed_form_of_its_resemblance() -> None:
    """With one listed face, a person's chance is q(A) = P(sqrt(rho) A + sqrt(1-rho) E > z)
    for their own A ~ N(0, 1): the share of people above any level is a normal tail."""
    rho = 0.7
    one = np.zeros(8)
    one[0] = 1
    p = chances(rho, enrolled=one, n=200_000)
    z = float((np.log(0.6 / 0.4) - MEDIAN.imp_mu[0]) / MEDIAN.imp_sd[0])
    for x in (1e-4, 1e-3, 1e-2):
        a_min = (z - np.sqrt(1 - rho) * stats.norm.isf(x)) / np.sqrt(rho)
        expect = stats.norm.sf(a_min)
        got = float(np.mean(p > x))
        sd = np.sqrt(expect * (1 - expect) / p.size)
        # virtual people are quantiles 1/2048 apart; residents take them by a keyed coin
        assert abs(got - expect) < 4 * sd + 1 / 2048, (x, got, expect)


def test_order_statistics_and_distinct_look_alikes() -> None:
    rng = np.random.default_rng(1)
    top = Lookalikes.order_statistics(500, rng.random((20_000, 4)))
    assert np.all(np.diff(top, axis=1) <= 0), "largest first"
    # The largest of 500 normals: P(max <= x) = Phi(x)^500.
    x = 3.0
    assert np.mean(top[:, 0] <= x) == pytest.approx(stats.norm.cdf(x) ** 500, abs=0.02)
    assert np.isnan(Lookalikes.order_statistics(2, rng.random((5, 4)))[:, 2:]).all()
    look = Lookalikes(MEDIAN, 0.60, LIST, 0.8, *KEYS)
    person = np.arange(5000)
    picks = look._floyd(person, np.zeros(5000, np.int64), np.full(5000, 505))
    assert all(len(set(row)) == 4 for row in picks.tolist()), "four different entries"
    assert np.array_equal(
        picks, look._floyd(person, np.zeros(5000, np.int64), np.full(5000, 505))
    ), "keyed: the same again"
    small = look._floyd(person, np.zeros(5000, np.int64), np.full(5000, 3))
    assert all(sorted(r[:3]) == [0, 1, 2] and r[3] == -1 for r in small.tolist())


def test_repeat_flagging_in_a_run_matches_the_closed_form() -> None:
    """People flagged at least once (and more than once) = sum over people of 1 - (1 - P)^n
    (and of 1 - (1 - P)^n - n P (1 - P)^(n-1)), with P each person's chance and n their
    captures."""
    over = small_dict(
        population={"people": 3000},
        facematch={"threshold": 0.52, "persistence": 0.8},
        watchlist={"size": 2000, "present": 0},
    )
    sc = load_scenario(over)
    world = build_world(sc)
    res = sim.run(sc)
    s = res.summary
    caps = res.tables["captures"]
    n = np.bincount(caps.column("person_id").to_numpy(), minlength=world.population.n)
    enrolled = np.bincount(world.model_group[world.watchlist.group], minlength=8)
    look = Lookalikes(
        world.model, 0.52, enrolled, 0.8, world.coins.lookalike_order, world.coins.lookalike_pick
    )
    pop = world.population
    p = look.p_false(np.arange(pop.n), world.model_group[pop.group], pop.age_band)
    none = (1 - p) ** n
    one = n * p * (1 - p) ** np.maximum(n - 1, 0)
    at_least_once, twice = 1 - none, 1 - none - one
    for key, probs in (
        ("people_falsely_flagged", at_least_once),
        ("people_falsely_flagged_repeatedly", twice),
    ):
        expect = float(probs.sum())
        sd = float(np.sqrt((probs * (1 - probs)).sum()))
        assert expect > 20, f"{key}: enough people for a sharp test"
        assert abs(s[key] - expect) < 4 * sd, (key, s[key], expect)
    assert s["people_falsely_flagged_repeatedly"] > 0.2 * s["people_falsely_flagged"], (
        "a look-alike is flagged again and again"
    )
    by_group = s["people_falsely_flagged_by_group"]
    assert sum(by_group.values()) == s["people_falsely_flagged"]
    # Where false alerts are rare (a stricter threshold), independent coins spread them over
    # as many people as there are alerts; persistent look-alikes concentrate them.
    strict = ["facematch.threshold=0.58"]
    kept = sim.run(load_scenario(over, strict)).summary
    indep = sim.run(load_scenario(over, [*strict, "facematch.persistence=0"])).summary
    assert kept["false_alerts_per_flagged_person"] > 1.1
    assert indep["false_alerts_per_flagged_person"] < 1.05
    assert indep["people_falsely_flagged"] > kept["people_falsely_flagged"]
