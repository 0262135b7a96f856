"""Patrols: officers with body-worn cameras who stop and scan, and patrol cars that scan."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.world import build_world
from tests.conftest import SCENARIOS, small_dict

OFFICERS = {"kind": "bodycam", "officers": 12, "stops_per_officer_hour": 1.0}


def run(deployment: list[dict], **over: object) -> sim.RunResult:
    return sim.run(
        load_scenario(
            small_dict(
                population={"people": 6000},
                facematch={"threshold": 0.55},
                deployment=deployment,
                **over,
            )
        )
    )


def test_officers_walk_their_beats_during_the_shift() -> None:
    sc = load_scenario(small_dict(deployment=[{**OFFICERS, "start_h": 9, "end_h": 17}]))
    w = build_world(sc)
    p = w.patrols
    assert p.n > 0 and set(np.unique(p.device)) == set(range(12)), "every officer patrols"
    tod = p.start_s % 86400 / 3600
    assert tod.min() >= 9 and (p.end_s % 86400 / 3600).max() <= 17
    # Consecutive stops of an officer's beat are neighbouring crossings.
    adj = w.city.adjacency
    for dev in range(3):
        mine = np.argsort(p.start_s[p.device == dev])
        nodes = p.node[p.device == dev][mine]
        for u, v in itertools.pairwise(nodes):
            assert u == v or adj[u, v] > 0, "officers walk street by street"
    assert p.at([p.node[0]], [p.start_s[0] + 1])[0] >= 0, "found where and when it is"
    assert p.at([p.node[0]], [p.start_s[0] - 3600 * 5])[0] == -1


def test_stop_propensity_raises_a_groups_stops() -> None:
    fair = run([OFFICERS]).summary["patrol_stops_per_100k_by_group"]
    biased = run([{**OFFICERS, "stop_propensity": {"black_male": 4.0}}]).summary
    per = biased["patrol_stops_per_100k_by_group"]
    assert per["black_male"] > 2 * fair["black_male"], "four times the propensity"
    assert per["black_male"] > 2 * per["white_male"]


def test_scan_rules() -> None:
    every = run([OFFICERS]).summary
    assert every["patrol_stops"] > 30 and every["patrol_scans"] == every["patrol_stops"]
    none = run([{**OFFICERS, "scan": "none"}]).summary
    assert none["patrol_scans"] == 0 and none["captures"] == 0 and none["alerts"] == 0
    assert none["patrol_stops"] == every["patrol_stops"], "the rule changes scans, not stops"
    some = run([{**OFFICERS, "scan": "suspicion_only", "p_suspicion": 0.3}]).summary
    assert 0 < some["patrol_scans"] < every["patrol_scans"]
    assert some["patrol_scans"] == pytest.approx(0.3 * some["patrol_stops"], abs=12)


def test_patrol_cars_scan_passers_by() -> None:
    res = run([{"kind": "carcam", "cars": 3}])
    s = res.summary
    assert s["captures"] > 100 and s["patrol_stops"] == 0
    q = res.tables["captures"].column("quality").to_numpy()
    assert np.all(q <= 0.6 + 1e-6), "faces from a moving car are poor"


def test_bad_patrol_settings() -> None:
    with pytest.raises(ScenarioError, match=r"deployment\.0\.stop_propensity names unknown"):
        load_scenario(small_dict(deployment=[{**OFFICERS, "stop_propensity": {"x": 2}}]))
    with pytest.raises(ScenarioError, match=r"deployment\.0: end_h"):
        load_scenario(small_dict(deployment=[{**OFFICERS, "start_h": 20, "end_h": 8}]))


def test_bodycam_stops_scenario() -> None:
    sc = load_scenario(SCENARIOS / "bodycam_stops.toml", ["population.people=8000"])
    s = sim.run(sc).summary
    assert s["patrol_stops"] > 0 and s["patrol_scans"] == s["patrol_stops"]
    per = s["patrol_stops_per_100k_by_group"]
    assert per["black_male"] > per["white_male"], "the documented disparity is modelled"
