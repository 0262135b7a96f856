"""Deployment kinds: street cameras, event vans and door cameras, each with its own list."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.world import build_world
from tests.conftest import small_dict

VAN = {
    "kind": "van",
    "name": "event van",
    "places": ["Central Plaza"],
    "start_h": 10,
    "end_h": 16,
    "watchlist": "event",
}
EVENT_LIST = {"event": {"size": 50, "present": 5}}
DOORS = {
    "kind": "entry_point",
    "name": "shop doors",
    "place_type": "shop",
    "watchlist": "banned",
    "p_capture": 0.9,
}


def test_van_works_its_hours_at_its_place_with_its_own_list() -> None:
    sc = load_scenario(
        small_dict(
            population={"people": 3000},
            facematch={"threshold": 0.5},
            deployment=[VAN],
            watchlists=EVENT_LIST,
        )
    )
    res = sim.run(sc)
    cams = res.tables["cameras"]
    assert cams.num_rows == 1 and cams.column("kind").to_pylist() == ["van"]
    caps = res.tables["captures"]
    hour = caps.column("t_s").to_numpy() % 86400 / 3600
    assert caps.num_rows > 50
    assert np.all((hour >= 10) & (hour < 16)), "only during the event's hours"
    w = build_world(sc)
    plaza = w.city.place_node[w.city.place_name.index("Central Plaza")]
    d = np.hypot(
        caps.column("x_m").to_numpy() - w.city.node_x_m[plaza],
        caps.column("y_m").to_numpy() - w.city.node_y_m[plaza],
    )
    assert np.all(d <= 30.0 + 1e-3), "within the van's range of the plaza"
    lists = set(res.tables["alerts"].column("watchlist").to_pylist())
    assert lists == {"event"}, "the van searches its own list"
    assert res.summary["alerts_by_deployment"]["event van"] == res.summary["alerts"]


def test_van_outside_the_city_is_an_error() -> None:
    sc = load_scenario(
        small_dict(deployment=[{**VAN, "places": ["Wembley Stadium"]}], watchlists=EVENT_LIST)
    )
    with pytest.raises(ScenarioError, match=r"deployment\.0\.places.*outside the city"):
        build_world(sc)


def test_door_cameras_check_everyone_entering() -> None:
    sc = load_scenario(
        small_dict(
            population={"people": 3000},
            facematch={"threshold": 0.5},
            deployment=[DOORS],
            watchlists={"banned": {"size": 30, "present": 30}},
        )
    )
    res = sim.run(sc)
    trips = res.tables["trips"]
    caps = res.tables["captures"]
    w = build_world(sc)
    shops = set(w.city.places_of("shop").tolist())
    dest = trips.column("dest_node").to_numpy()
    errand = np.asarray(trips.column("purpose").to_pylist()) == "errand"
    to_shop = np.isin(dest, list(shops)) & errand  # going shopping, not home past a shop
    arrive = trips.column("arrive_s").to_numpy()
    n_arrivals = int((to_shop & (arrive < 86400)).sum())
    assert caps.num_rows == pytest.approx(0.9 * n_arrivals, rel=0.05), "p_capture of arrivals"
    tid = caps.column("trip_id").to_numpy()
    assert np.allclose(caps.column("t_s").to_numpy(), arrive[tid]), "captured on arrival"
    assert np.all(np.isin(dest[tid], list(shops))), "only at shops"
    assert np.all(errand[tid]), "only people entering the shop"
    assert res.summary["true_alerts"] > 0, "banned customers are recognised at the door"
    assert set(res.tables["alerts"].column("watchlist").to_pylist()) == {"banned"}
    q = caps.column("quality").to_numpy()
    assert np.allclose(q, 0.9), "door captures are close and frontal"


def test_deployment_with_an_unknown_list_is_an_error() -> None:
    with pytest.raises(ScenarioError, match=r"deployment\.0\.watchlist: no watchlist named"):
        load_scenario(small_dict(deployment=[DOORS]))


def test_lists_do_not_disturb_each_other() -> None:
    """Adding a shop's list and doors changes nothing for the street cameras (CRN)."""
    base = small_dict(population={"people": 2000}, facematch={"threshold": 0.5})
    a = sim.run(load_scenario(base))
    more = small_dict(
        population={"people": 2000},
        facematch={"threshold": 0.5},
        watchlists={"banned": {"size": 30, "present": 10}},
    )
    more["deployment"] = [*more["deployment"], DOORS]
    b = sim.run(load_scenario(more))
    street = lambda t: t["captures"].filter(  # noqa: E731
        np.isin(
            t["captures"].column("camera_id").to_numpy(),
            np.flatnonzero(np.asarray(t["cameras"].column("kind").to_pylist()) == "cctv"),
        )
    )
    sa, sb = street(a.tables), street(b.tables)
    assert sa.num_rows == sb.num_rows > 0
    assert np.array_equal(sa.column("trip_id").to_numpy(), sb.column("trip_id").to_numpy())
    assert a.tables["trips"].equals(b.tables["trips"])


def test_cctv_in_chosen_districts_and_at_entry_points() -> None:
    w = build_world(
        load_scenario(
            small_dict(
                deployment=[
                    {
                        "kind": "cctv",
                        "count": 8,
                        "placement": "districts",
                        "districts": ["North-East"],
                    }
                ]
            )
        )
    )
    names = {w.city.district_names[d] for d in w.city.node_district[w.cameras.node]}
    assert names == {"North-East"}
    w = build_world(
        load_scenario(
            small_dict(deployment=[{"kind": "cctv", "count": 12, "placement": "entry_points"}])
        )
    )
    x, y = w.cameras.x_m, w.cameras.y_m
    on_edge = (x == 0) | (x == 900) | (y == 0) | (y == 900)
    assert np.all(on_edge), "on the edge of the 10 x 10 grid"
    with pytest.raises(ScenarioError, match=r"deployment\.0\.districts: no district 'Mars'"):
        build_world(
            load_scenario(
                small_dict(
                    deployment=[
                        {
                            "kind": "cctv",
                            "count": 2,
                            "placement": "districts",
                            "districts": ["Mars"],
                        }
                    ]
                )
            )
        )
    with pytest.raises(ScenarioError, match=r"placement 'districts' needs districts"):
        load_scenario(small_dict(deployment=[{"kind": "cctv", "placement": "districts"}]))
