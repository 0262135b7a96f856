"""World building: groups by district, watchlist composition, camera placement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.world import build_world
from tests.conftest import small_dict

TWO_GROUPS = [
    {"name": "a", "share": 0.7, "model_group": "white_male"},
    {
        "name": "b",
        "share": 0.3,
        "model_group": "black_female",
        "district_shares": {"North-East": 0.9},
    },
]


def test_segregated_district_shares() -> None:
    sc = load_scenario(small_dict(population={"people": 6000, "groups": TWO_GROUPS}))
    w = build_world(sc)
    pop, city = w.population, w.city
    district = city.node_district[pop.home_node]
    ne = city.district_names.index("North-East")
    share_b_ne = float(np.mean(pop.group[district == ne] == 1))
    share_b_else = float(np.mean(pop.group[district != ne] == 1))
    assert share_b_ne == pytest.approx(0.9, abs=0.04), "group b is 90% of the North-East"
    assert share_b_else < 0.2, "and rarer elsewhere"
    assert float(np.mean(pop.group == 1)) == pytest.approx(0.3, abs=0.02), "city-wide share kept"


def test_unknown_district_is_a_scenario_error() -> None:
    groups = [dict(g) for g in TWO_GROUPS]
    groups[1]["district_shares"] = {"Atlantis": 0.5}
    sc = load_scenario(small_dict(population={"people": 100, "groups": groups}))
    with pytest.raises(ScenarioError, match=r"population\.groups\.1\.district_shares.*Atlantis"):
        build_world(sc)


def test_watchlist_composition() -> None:
    prop = build_world(load_scenario(small_dict(watchlist={"size": 20000, "present": 0})))
    shares = np.bincount(prop.watchlist.group, minlength=8) / 20000
    pop_shares = np.array([g.share for g in prop.scenario.population.groups])
    assert np.allclose(shares, pop_shares, atol=0.01), "proportional to the population"
    skew = build_world(
        load_scenario(
            small_dict(
                watchlist={
                    "size": 5000,
                    "present": 5,
                    "composition": "skewed",
                    "group_shares": {"black_male": 0.6, "white_male": 0.4},
                }
            )
        )
    )
    counts = np.bincount(skew.watchlist.group, minlength=8)
    names = skew.population.group_names
    assert counts[names.index("black_male")] / 5000 == pytest.approx(0.6, abs=0.03)
    assert counts.sum() == counts[names.index("black_male")] + counts[names.index("white_male")]
    listed = skew.watchlist.person_id[skew.watchlist.person_id >= 0]
    assert listed.size == 5 and np.unique(listed).size == 5, "five distinct residents listed"
    assert np.array_equal(
        skew.population.group[listed], skew.watchlist.group[skew.watchlist.person_id >= 0]
    ), "same group"


def test_camera_placements() -> None:
    centre = build_world(load_scenario(small_dict(deployment__0__placement="centre")))
    d = centre.city.distance_from_centre_m()
    assert d[centre.cameras.node].max() <= np.sort(d)[19] + 1e-9, "the 20 most central crossings"
    foot = build_world(load_scenario(small_dict()))
    ff = np.bincount(
        np.concatenate([foot.trips.origin_node, foot.trips.dest_node]), minlength=foot.city.n_nodes
    )
    assert ff[foot.cameras.node].mean() > ff.mean(), "footfall cameras sit where people pass"
    rnd = build_world(load_scenario(small_dict(deployment__0__placement="random")))
    assert np.unique(rnd.cameras.node).size == 20, "distinct crossings"


def test_ban_places_no_camera() -> None:
    w = build_world(load_scenario(small_dict(governance={"ban": True})))
    assert w.cameras.n == 0 and w.coverage.n_pairs == 0


def test_trips_follow_day_plans() -> None:
    w = build_world(load_scenario(small_dict(population={"people": 3000})))
    t, pop = w.trips, w.population
    assert np.all(np.diff(t.depart_s) >= 0), "sorted by departure"
    assert np.all(t.arrive_s > t.depart_s)
    work = t.purpose == 0
    hours = (t.depart_s[work] / 3600) % 24
    assert 7.0 < np.median(hours) < 9.0, "commutes leave in the morning"
    # Nobody is in two places at once: each person's trips do not overlap.
    order = np.lexsort((t.depart_s, t.person_id))
    same = t.person_id[order][1:] == t.person_id[order][:-1]
    assert np.all(t.depart_s[order][1:][same] >= t.arrive_s[order][:-1][same] - 1e-6)
    # Each person's day starts and ends at home.
    first = np.ones(t.n, bool)
    first[1:] = ~same
    assert np.all(t.origin_node[order][first] == pop.home_node[t.person_id[order][first]])


def test_the_day_plan_is_a_scenario_setting() -> None:
    plan = {
        "work_leave_h": [9.5, 0.0],
        "work_stay_h": [4.0, 0.0],
        "shop_stop_share": 0.0,
        "errands_factor_busy": 0.0,
    }
    w = build_world(
        load_scenario(
            small_dict(
                population={
                    "people": 2000,
                    "day_plan": plan,
                    "leisure_per_day": 0.0,
                    "flights_per_day": 0.0,
                }
            )
        )
    )
    t, pop = w.trips, w.population
    work = t.purpose == 0
    workers = np.count_nonzero((pop.work_node >= 0) & (pop.age_band == 1))
    assert 0.95 * workers <= work.sum() <= workers  # (one working at home has no commute)
    assert np.all(t.depart_s[work] == 9.5 * 3600), "every worker leaves at 9:30 sharp"
    # Straight home after four hours at work (no shop stop, no errands for workers).
    worker_trips = np.isin(t.person_id, t.person_id[work])
    home = worker_trips & (t.purpose == 4)
    assert home.sum() == work.sum()
    np.testing.assert_allclose(np.sort(t.depart_s[home] - 4 * 3600), np.sort(t.arrive_s[work]))
    with pytest.raises(
        ScenarioError,
        match=r"population\.day_plan.*leave_range_h: expected "
        r"\[low, high\]",
    ):
        load_scenario(small_dict(population={"day_plan": {"leave_range_h": [11, 5]}}))
    with pytest.raises(ScenarioError, match=r"population\.day_plan\.tour_gap"):
        load_scenario(small_dict(population={"day_plan": {"tour_gap": 3}}))


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    people=st.integers(50, 600),
    cams=st.integers(0, 60),
    threshold=st.floats(0.5, 0.7),
    hours=st.floats(1, 30),
)
def test_random_scenarios_keep_the_invariants(
    seed: int, people: int, cams: int, threshold: float, hours: float
) -> None:
    sc = load_scenario(
        small_dict(
            seed=seed,
            duration_h=hours,
            population={"people": people},
            watchlist={"size": 300, "present": min(10, people)},
            facematch={"threshold": threshold},
            deployment__0__count=cams,
        )
    )
    res = sim.run(sc)
    t = res.tables
    for name, col in (("trips", "depart_s"), ("captures", "t_s"), ("alerts", "t_s")):
        times = t[name].column(col).to_numpy()
        assert np.all(np.diff(times) >= 0), f"{name} goes back in time"
        assert np.all(times < hours * 3600), f"{name} after the end"
    cap_t = t["captures"].column("t_s").to_numpy()
    cid = t["alerts"].column("capture_id").to_numpy()
    assert np.all(cap_t[cid] < t["alerts"].column("t_s").to_numpy()), "alerts follow captures"
    q = t["captures"].column("quality").to_numpy()
    assert np.all((q >= 0) & (q <= 1))
    s = res.summary
    for key in ("false_alert_share", "watchlist_detected_share"):
        assert s[key] is None or 0 <= s[key] <= 1, key
    if cams == 0:
        assert s["captures"] == 0


def test_district_composition_keeps_named_shares_and_city_totals() -> None:
    from sim.population import district_composition

    sc = load_scenario(small_dict(population={"people": 10, "groups": TWO_GROUPS}))
    names = ["South-West", "South-East", "North-West", "North-East"]
    cap = np.array([30.0, 20.0, 25.0, 25.0])
    c = district_composition(sc.population, names, cap)
    assert np.allclose(c.sum(axis=0), 1.0), "every district's make-up sums to 1"
    assert c[1, 3] == pytest.approx(0.9), "the named share is kept"
    w = cap / cap.sum()
    assert np.allclose((c * w).sum(axis=1), [0.7, 0.3]), "city-wide shares are kept"


def test_impossible_district_shares_are_explained() -> None:
    groups = [dict(g) for g in TWO_GROUPS]
    groups[1]["share"], groups[0]["share"] = 0.05, 0.95
    sc = load_scenario(small_dict(population={"people": 100, "groups": groups}))
    with pytest.raises(ScenarioError, match=r"groups\.1\.district_shares: these districts alone"):
        build_world(sc)


@pytest.mark.parametrize("people", [300, 3000])
def test_footfall_counts_every_node_of_the_sampled_paths_at_its_hour(people: int) -> None:
    """estimate_footfall against the plain count: the sampled trips' paths expanded in order,
    each node counted in the hour the walker reaches it, scaled to all trips (bit for bit)."""
    from sim.world import _FOOTFALL_SAMPLE, estimate_footfall

    w = build_world(load_scenario(small_dict(population={"people": people})))
    t, pop, city = w.trips, w.population, w.city
    got = estimate_footfall(city, w.router, t, pop, np.random.default_rng(11))
    k = min(t.n, _FOOTFALL_SAMPLE)
    sample = np.sort(np.random.default_rng(11).choice(t.n, size=k, replace=False))
    paths = w.router.expand(t.origin_node[sample], t.dest_node[sample], t.toward_dest[sample])
    trip = sample[paths.trip_of_position()]
    when = t.depart_s[trip] + paths.along_m / pop.speed_mps[t.person_id[trip]]
    want = np.zeros((city.n_nodes, 24))
    np.add.at(want, (paths.node, (when // 3600).astype(np.int64) % 24), 1.0)
    days = max(1.0, float(np.ceil(t.depart_s.max() / 86400.0)))
    assert np.array_equal(got, want * (t.n / k / days))
    assert got.sum() > 0 and got[:, 3].sum() < got[:, 8].sum(), "fewer walkers at 3 am than 8 am"


def test_watchlist_composition_is_an_exact_quota_at_every_replication() -> None:
    from sim.watchlist import quotas

    sc = load_scenario(
        small_dict(population={"people": 3000}, watchlist={"size": 1000, "present": 40})
    )
    a, b = build_world(sc, seed=1), build_world(sc, seed=5, replication=3)
    shares = [g.share for g in sc.population.groups]
    want = quotas(1000, shares)
    assert want.sum() == 1000 and np.abs(want - 1000 * np.array(shares)).max() < 1
    assert np.array_equal(np.bincount(a.watchlist.group, minlength=8), want)
    assert np.array_equal(a.watchlist.group, b.watchlist.group), "the same list every time"
    listed_a = a.watchlist.person_id[a.watchlist.person_id >= 0]
    assert listed_a.size == 40
    assert np.array_equal(
        np.bincount(a.population.group[listed_a], minlength=8), quotas(40, want)
    ), "listed residents follow the list's make-up"
    assert not np.array_equal(
        np.sort(listed_a), np.sort(b.watchlist.person_id[b.watchlist.person_id >= 0])
    ), "who they are varies with the replication"
