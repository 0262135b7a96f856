"""Gatherings (truth) and the assembly detector (system view)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.assembly import AssemblyDetector
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.world import build_world
from tests.conftest import SCENARIOS, small_dict


def test_alarm_exactly_at_the_kth_flagged_person() -> None:
    det = AssemblyDetector(k=3, radius_m=100.0, window_s=1800.0)
    assert det.feed([0.0], [0.0], [0.0], [7]) == []
    assert det.feed([60.0], [10.0], [0.0], [7]) == [], "the same person twice is one person"
    assert det.feed([120.0], [20.0], [5.0], [8]) == []
    alarms = det.feed([180.0], [30.0], [0.0], [9])
    assert alarms == [(180.0, 30.0, 0.0, 3)], "the third distinct person raises it"
    assert det.feed([240.0], [5.0], [5.0], [10]) == [], "one alarm per gathering"


def test_far_apart_or_too_slow_is_no_assembly() -> None:
    det = AssemblyDetector(k=2, radius_m=100.0, window_s=600.0)
    assert det.feed([0.0, 10.0], [0.0, 500.0], [0.0, 0.0], [1, 2]) == [], "500 m apart"
    assert det.feed([2000.0], [0.0], [0.0], [3]) == [], "the first one is long gone"


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False),
       st.lists(st.tuples(st.floats(0, 3600), st.floats(0, 300), st.floats(0, 300),
                          st.integers(0, 12)), min_size=1, max_size=60))
def test_order_within_a_batch_does_not_matter(rnd, rows) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    a = AssemblyDetector(k=3, radius_m=120.0, window_s=900.0)
    b = AssemblyDetector(k=3, radius_m=120.0, window_s=900.0)
    cols = list(zip(*rows, strict=True))
    scols = list(zip(*shuffled, strict=True))
    assert a.feed(*cols) == b.feed(*scols)


def protest(**gov: object) -> dict:
    return small_dict(
        population={"people": 4000}, watchlist={"size": 200, "present": 40},
        facematch={"threshold": 0.55},
        governance={"assembly_analytics": True, **gov},
        assembly={"k": 3, "radius_m": 200, "window_min": 60},
        gathering=[{"name": "protest", "place": "plaza", "start_h": 19, "duration_h": 2,
                    "size": 600, "watchlisted": 15}])


def test_gathering_participants_go_there_and_back() -> None:
    w = build_world(load_scenario(protest()))
    g = w.gatherings
    assert g.n == 1 and g.participant_person.size > 500
    t = w.trips
    mine = np.isin(t.person_id, g.participant_person)
    to = mine & (t.purpose == 7)  # "gathering"
    assert to.sum() == g.participant_person.size
    assert np.all(t.dest_node[to] == g.node[0])
    arrive_h = t.arrive_s[to] / 3600
    assert abs(np.median(arrive_h) - 19) < 0.2, "they arrive around the start"
    listed = w.watchlist.person_id[w.watchlist.person_id >= 0]
    assert np.isin(listed, g.participant_person).sum() >= 10, "watchlisted activists come"


def test_protest_detected_and_participants_named() -> None:
    res = sim.run(load_scenario(protest()))
    s = res.summary
    assert s["gatherings"] == 1 and s["gatherings_detected"] == 1
    assert 0 <= s["assembly_detection_latency_s"] < 2 * 3600
    named = [v for v in s["participants_identified_share_by_group"].values() if v is not None]
    assert max(named) > 0.2, "retained captures name participants"
    off = sim.run(load_scenario(protest(assembly_analytics=False))).summary
    assert off["assembly_alarms"] == 0 and off["gatherings_detected"] == 0
    assert off["captures"] == s["captures"], "the detector reads, it changes nothing"


def test_no_camera_near_the_place_never_detects() -> None:
    d = protest()
    d["gathering"][0]["place"] = "school"
    d["governance"]["exclusion_zones"] = [{"place_types": ["school"], "buffer_m": 600}]
    s = sim.run(load_scenario(d)).summary
    assert s["gatherings_detected"] == 0


def test_bad_gatherings() -> None:
    with pytest.raises(ScenarioError, match=r"gathering\.0\.place: no place"):
        d = protest()
        d["gathering"][0]["place"] = "Wembley"
        build_world(load_scenario(d))
    with pytest.raises(ScenarioError, match=r"assembly\.flag: 'label' needs a \[classifier\]"):
        load_scenario(small_dict(governance={"assembly_analytics": True},
                                 assembly={"flag": "label", "target_label": "black"}))
    with pytest.raises(ScenarioError, match=r"gathering\.0: starts after the end"):
        load_scenario(small_dict(duration_h=10, gathering=[{"place": "plaza", "start_h": 12,
                                                            "size": 10}]))


def test_minority_alarm_flags_the_gathering_and_the_street() -> None:
    sc = load_scenario(SCENARIOS / "minority_alarm.toml",
                       ["population.people=8000", "deployment.0.count=120"])
    s = sim.run(sc).summary
    assert s["gatherings_detected"] == 1, "the prayer is found"
    assert s["false_assembly_alarms"] > 10, "and ordinary street scenes raise alarms too"
    err = s["label_error_by_group"]
    assert err["minority_male"] == pytest.approx(0.10, abs=0.03)


def test_retention_scenarios_rank_as_expected() -> None:
    reach = {}
    for d in (0, 7, 30):
        sc = load_scenario(SCENARIOS / f"capital_retention_{d}.toml",
                           ["population.people=3000", "duration_h=216"])
        reach[d] = sim.run(sc).summary["tracking_reach_mean"]
    assert reach[0] < reach[7] < reach[30]
