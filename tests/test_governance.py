"""Governance knobs: what each rule does to captures, alerts, reviews and stops."""

from __future__ import annotations

import pytest
import shapely

import sim
from sim.errors import ScenarioError
from sim.policy import exclusion_area
from sim.scenario import load_scenario
from sim.world import build_world
from tests.conftest import SCENARIOS, small_dict

BUSY = {
    "population": {"people": 3000},
    "facematch": {"threshold": 0.5},
    "watchlist": {"size": 300, "present": 30},
}


def run(**over: object) -> sim.RunResult:
    return sim.run(load_scenario(small_dict(**{**BUSY, **over})))


def test_exclusion_zones_remove_every_capture_inside() -> None:
    zones = [{"place_types": ["school", "place_of_worship", "hospital"], "buffer_m": 150}]
    free = run()
    ruled = run(governance={"exclusion_zones": zones})
    sc = load_scenario(small_dict(**BUSY, governance={"exclusion_zones": zones}))
    w = build_world(sc)
    area = exclusion_area(w.city, sc.governance.exclusion_zones)
    caps = ruled.tables["captures"]
    pts = shapely.points(caps.column("x_m").to_numpy(), caps.column("y_m").to_numpy())
    assert caps.num_rows > 0
    inside = shapely.contains(area, pts) & (shapely.distance(area.boundary, pts) > 0.01)
    assert not inside.any(), "no capture inside an exclusion zone"
    fpts = shapely.points(
        free.tables["captures"].column("x_m").to_numpy(),
        free.tables["captures"].column("y_m").to_numpy(),
    )
    assert shapely.contains(area, fpts).sum() > 50, "without the rule, many were inside"
    assert ruled.summary["captures"] < free.summary["captures"]
    assert ruled.tables["trips"].equals(free.tables["trips"]), "people move the same"


def test_review_backlog_grows_and_overflow_rules_apply() -> None:
    slow = {"enabled": True, "reviewers": 1, "review_time_s": 3600.0, "max_queue": 5}
    waited = run(governance={"review": {**slow, "overflow": "wait"}})
    s = waited.summary
    assert s["alerts"] > 100, "alert volume far above one reviewer an hour"
    assert s["review_backlog_max"] > 20, "the queue grows without bound under 'wait'"
    dropped = run(governance={"review": {**slow, "overflow": "drop"}})
    v = dropped.tables["reviews"].column("verdict").to_pylist()
    assert v.count("dropped") > 50, "'drop' discards alerts once the queue is full"
    assert dropped.summary["review_backlog_max"] <= 5
    auto = run(governance={"review": {**slow, "overflow": "auto_act"}})
    v = auto.tables["reviews"].column("verdict").to_pylist()
    assert v.count("auto_acted") > 50
    assert auto.summary["confirmed_false_alerts"] > dropped.summary["confirmed_false_alerts"], (
        "acting unreviewed lets false alerts through"
    )


def test_dispatch_makes_stops_and_arrests() -> None:
    res = run(governance={"alert_action": "dispatch", "officers": 50})
    s = res.summary
    stops = res.tables["stops"]
    assert s["stops"] > 10 and s["wrongful_stops"] > 0 and s["arrests"] > 0
    outcome = stops.column("outcome").to_pylist()
    assert s["wrongful_stops"] == outcome.count("wrongful_stop")
    alerts = res.tables["alerts"]
    t_alert = dict(
        zip(alerts.column("alert_id").to_pylist(), alerts.column("t_s").to_pylist(), strict=True)
    )
    for aid, t, resp in zip(
        stops.column("alert_id").to_pylist(),
        stops.column("t_s").to_pylist(),
        stops.column("response_s").to_pylist(),
        strict=True,
    ):
        assert t == pytest.approx(t_alert[aid] + resp) and resp >= 0
    logged = run()
    assert logged.summary["stops"] == 0 and logged.tables["stops"].num_rows == 0, "'log' only"
    # With officers to spare nobody waits for one: on the spot the stop is immediate.
    on_spot = run(governance={"alert_action": "stop", "officers": 10_000})
    assert on_spot.summary["intercept_time_s_median"] == 0.0, "officers on the spot"
    driven = run(governance={"alert_action": "dispatch", "officers": 10_000})
    assert driven.summary["intercept_time_s_median"] > 10.0, "officers drive from a station"


def test_too_few_officers_miss_people() -> None:
    few = run(governance={"alert_action": "dispatch", "officers": 1, "intercept_window_s": 300})
    assert few.summary["missed_intercepts"] > 0


def test_warrant_scope_searches_only_named_targets() -> None:
    res = run(governance={"scan_scope": "warrant", "warrant_targets": [0, 1, 2]})
    entries = set(res.tables["alerts"].column("entry_id").to_pylist())
    assert entries <= {0, 1, 2}, "only warrant targets can be claimed"
    assert res.summary["false_alerts"] < run().summary["false_alerts"] / 10


def test_governance_threshold_overrides_facematch() -> None:
    a = run(governance={"threshold": 0.66})
    b = run(facematch={"threshold": 0.66})
    assert a.tables["alerts"].equals(b.tables["alerts"])


@pytest.mark.parametrize(
    ("gov", "message"),
    [
        ({"scan_scope": "warrant"}, "needs warrant_targets"),
        ({"warrant_targets": [1]}, "only used with scan_scope"),
        ({"scan_scope": "warrant", "warrant_targets": [10_000]}, "not on the watchlist"),
        ({"exclusion_zones": [{"place_types": ["castle"]}]}, "exclusion_zones.0.place_types.0"),
        ({"review": {"overflow": "panic"}}, "governance.review.overflow"),
    ],
)
def test_conflicting_settings_are_validation_errors(gov: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        load_scenario(small_dict(governance=gov))


def test_regulated_capital_is_kinder_than_the_unregulated_one() -> None:
    small = ["population.people=12000", "deployment.0.count=120"]
    plain = sim.run(
        load_scenario(SCENARIOS / "capital_cctv.toml", [*small, "governance.alert_action=dispatch"])
    )
    reg = sim.run(load_scenario(SCENARIOS / "capital_cctv_regulated.toml", small))
    assert reg.tables["trips"].equals(plain.tables["trips"]), "common random numbers"
    assert reg.summary["false_alerts"] < plain.summary["false_alerts"]
    assert reg.summary["wrongful_stops"] < plain.summary["wrongful_stops"]
    assert plain.summary["wrongful_stops"] > 0


def test_regulated_capital_tracks_nobody_unlisted() -> None:
    small = ["population.people=6000", "deployment.0.count=80"]
    reg = sim.run(load_scenario(SCENARIOS / "capital_cctv_regulated.toml", small)).summary
    plain = sim.run(load_scenario(SCENARIOS / "capital_cctv.toml", small)).summary
    assert reg["tracking_reach_mean"] < plain["tracking_reach_mean"] / 50, "no retention"


def _alerts_by_camera_network(result: sim.RunResult) -> dict[str, int]:
    cams = result.tables["cameras"].to_pydict()
    name_of = dict(zip(cams["camera_id"], cams["deployment"], strict=True))
    alerts = result.tables["alerts"].column("camera_id").to_pylist()
    out: dict[str, int] = {}
    for c in alerts:
        out[str(name_of[c])] = out.get(str(name_of[c]), 0) + 1
    return out


def test_each_deployment_searches_at_its_own_threshold() -> None:
    two = [
        {
            "kind": "cctv",
            "name": "loose",
            "count": 20,
            "placement": "footfall",
            "range_m": 30,
            "p_capture": 0.8,
            "threshold": 0.52,
        },
        {
            "kind": "cctv",
            "name": "strict",
            "count": 20,
            "placement": "random",
            "range_m": 30,
            "p_capture": 0.8,
            "threshold": 0.66,
        },
    ]
    base = run(deployment=two)
    per = _alerts_by_camera_network(base)
    assert per.get("loose", 0) > 5 * max(per.get("strict", 0), 1), per
    # The strict network's threshold alone changes nothing of the loose one's alerts.
    stricter = run(deployment=[two[0], {**two[1], "threshold": 0.70}])
    # (the loose network's 20 cameras come first)
    loose = [a for a in base.tables["alerts"].to_pylist() if a["camera_id"] < 20]
    loose2 = [a for a in stricter.tables["alerts"].to_pylist() if a["camera_id"] < 20]
    assert [a["capture_id"] for a in loose] == [a["capture_id"] for a in loose2]
    assert base.tables["captures"].equals(stricter.tables["captures"]), "same captures"


def test_the_regulators_threshold_is_a_floor_for_every_deployment() -> None:
    dep = {"kind": "cctv", "count": 20, "placement": "footfall", "range_m": 30, "p_capture": 0.8}
    floor = run(deployment=[{**dep, "threshold": 0.52}], governance={"threshold": 0.64})
    plain = run(deployment=[dep], governance={"threshold": 0.64})
    higher = run(deployment=[{**dep, "threshold": 0.70}], governance={"threshold": 0.64})
    assert floor.summary["alerts"] == plain.summary["alerts"], "0.52 is raised to the 0.64 floor"
    assert higher.summary["alerts"] < plain.summary["alerts"], "a stricter one stays stricter"
    sc = load_scenario(
        small_dict(deployment=[{**dep, "threshold": 0.52}], governance={"threshold": 0.64})
    )
    assert sc.threshold_of(0) == 0.64
