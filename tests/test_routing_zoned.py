"""Routing by zones (sim.routing_zoned): every route is a real walk through the streets from
one end to the other, every query answers for that walk (length, steps, watched steps, climbs),
routes are exact shortest paths on a uniform grid and never shorter than the shortest path
elsewhere (longer by at most about a zone's width), and zones are used only when a scenario
asks for them (a city too large for exact trees is refused, with the suggestion)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.routing_compact as rc
from sim.budget import budget_problems, memory_parts
from sim.city import build_city
from sim.routing import Router
from sim.routing_zoned import ZonedRouter, zone_size
from sim.scenario import RadialCity, load_scenario
from sim.world import build_world
from tests.conftest import small_dict
from tests.test_city_routing import grid
from tests.test_routing_compact import _trips

CITIES = {
    "grid": lambda: grid(24, 19, 80.0),
    "uneven grid": lambda: grid(15, 15, 73.3),
    "radial": lambda: build_city(RadialCity(kind="radial", rings=8)),
}


def _check_paths(city: Any, router: ZonedRouter, o: Any, g: Any, toward: Any) -> Any:
    """Every expanded path walks real streets from its origin to its destination, and its
    distances walked are the sums of the streets' lengths."""
    p = router.expand(o, g, toward)
    for i in range(o.size):
        a, b = p.offset[i], p.offset[i + 1]
        nodes = p.node[a:b]
        assert nodes[0] == o[i] and nodes[-1] == g[i]
        edges = p.step_edge[a : b - 1]
        assert p.step_edge[b - 1] == -1
        assert np.array_equal(city.directed_edge(nodes[:-1], nodes[1:]), edges)
        walked = np.concatenate([[0.0], np.cumsum(city.edge_length_m[edges // 2])])
        np.testing.assert_allclose(p.along_m[a:b], walked, atol=1e-6)
    return p


@pytest.mark.parametrize("name", sorted(CITIES))
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), zone=st.sampled_from([8, 20, 60]))
def test_zoned_routes_are_walks_and_every_query_answers_for_them(
    name: str, seed: int, zone: int
) -> None:
    city = CITIES[name]()
    rng = np.random.default_rng(seed)
    dest = rng.choice(city.n_nodes, 25, replace=False)
    exact, zoned = Router(city, dest), ZonedRouter(city, dest, zone_nodes=zone)
    o, g, toward = _trips(city, zoned.destinations, 300, rng)
    p = _check_paths(city, zoned, o, g, toward)
    root, other = np.where(toward, g, o), np.where(toward, o, g)
    length = zoned.distance_m(root, other)
    assert np.array_equal(length, p.along_m[p.offset[1:] - 1])  # the route's own length
    rows = zoned.distance_rows(zoned.destinations[:3])
    for k, r in enumerate(zoned.destinations[:3]):
        assert np.array_equal(
            rows[k], zoned.distance_m(np.full(city.n_nodes, r), np.arange(city.n_nodes))
        )
    # Never shorter than the shortest path; longer by at most a zone's width, twice over.
    shortest = exact.distance_m(root, other)
    assert np.all(length >= shortest - 1e-6)
    width = np.sqrt(zone / city.n_nodes) * np.ptp(city.node_x_m) * 1.5
    assert np.all(length - shortest <= 2 * width * 2 + 1e-6)
    if name != "radial":  # a uniform grid: the zone's entry lies between the ends
        np.testing.assert_allclose(length, shortest, atol=1e-6)
    # Watched steps: those of the expanded paths on marked edges, with their distances.
    marked = rng.random(2 * city.n_edges) < 0.15
    steps = zoned.marked_steps(zoned.skip_tables(marked), o, g, toward)
    on = np.flatnonzero((p.step_edge >= 0) & marked[np.maximum(p.step_edge, 0)])
    trip = p.trip_of_position()
    assert np.array_equal(steps.trip, trip[on]) and np.array_equal(steps.edge, p.step_edge[on])
    along0, along1 = steps.along()
    assert np.array_equal(along0, p.along_m[on]) and np.array_equal(along1, p.along_m[on + 1])
    assert np.array_equal(steps.position, on - p.offset[trip[on]])
    # Climbs visit the same nodes at the same distances walked.
    order, climbs = zoned.climb(o, g, toward)
    seen = [(order[:m], node, along) for m, node, along in climbs]
    got = np.concatenate([np.stack([t, n]) for t, n, _ in seen], axis=1)
    want = np.stack([trip, p.node])
    key = lambda a: np.sort(a[0].astype(np.int64) * city.n_nodes + a[1])  # noqa: E731
    assert np.array_equal(key(got), key(want))
    assert np.isclose(sum(float(a.sum()) for _, _, a in seen), float(p.along_m.sum()))


def test_a_zone_of_one_crossing_and_a_trip_that_starts_at_its_destination() -> None:
    city = grid(6, 5, 100.0)
    dest = np.arange(city.n_nodes)  # every crossing a destination; zones of one or two
    zoned = ZonedRouter(city, dest, zone_nodes=1)
    exact = Router(city, dest)
    o = np.array([0, 7, 29, 12])
    g = np.array([0, 22, 3, 12])
    toward = np.array([True, False, True, False])
    p = _check_paths(city, zoned, o, g, toward)
    assert np.array_equal(np.diff(p.offset), [1, 6, 7, 1])  # Manhattan steps + 1
    np.testing.assert_allclose(
        zoned.distance_m(np.where(toward, g, o), np.where(toward, o, g)),
        exact.distance_m(np.where(toward, g, o), np.where(toward, o, g)),
    )


def test_zoned_tables_are_cached_and_read_back_the_same(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("SURVSIM_CACHE", str(tmp_path))
    city = CITIES["radial"]()
    dest = np.arange(0, city.n_nodes, 7)
    first = ZonedRouter(city, dest, cache=True, zone_nodes=20)
    again = ZonedRouter(city, dest, cache=True, zone_nodes=20)
    assert any(tmp_path.rglob("*")), "nothing was written to the cache"
    for name in ("zslot", "zdist", "zloc", "lpar", "lslot", "ldist", "xnode"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    fresh = ZonedRouter(city, dest, zone_nodes=20)
    assert np.array_equal(first.ldist, fresh.ldist) and np.array_equal(first.zslot, fresh.zslot)


def test_zones_only_when_asked_for() -> None:
    assert rc.routing_kind(600, 1233) == "whole"  # the capital
    assert rc.routing_kind(9052, 40_000) == "compact"  # the metropolis: 3.3 GB compact
    assert rc.routing_kind(39_000, 160_000) == "compact"  # 56 GB: refused by the budget
    assert rc.routing_kind(600, 1233, "zones") == "zones"
    assert zone_size(160_000) == 800 and zone_size(100) == 20


def test_a_run_with_zones_on_a_grid_is_a_whole_run_and_refusals_count_zones(
    monkeypatch: Any,
) -> None:
    d = small_dict(population__people=400, city__columns=12, city__rows=12)
    d["routing"] = {"paths": "zones"}
    world = build_world(load_scenario(d))
    assert isinstance(world.router, ZonedRouter)
    assert world.trips.n > 0
    exact = {**d, "routing": {"paths": "exact"}}  # the default
    # On a uniform grid the routes are as long as the exact ones: the same trip lengths.
    w2 = build_world(load_scenario(exact))
    np.testing.assert_allclose(world.trips.length_m, w2.trips.length_m, atol=1e-6)
    big = small_dict(city__columns=400, city__rows=400)
    big["city"]["places"].update(workplaces=20000, shops=16000, schools=1200)
    big["routing"] = {"paths": "zones"}
    parts = {p.what: p.bytes for p in memory_parts(load_scenario(big))}
    zones = parts["routing trees (zones x crossings)"]
    assert 0.3 * 2**30 < zones < 3 * 2**30  # measured: 0.57 GiB of tables, 2.1 GiB peak
    monkeypatch.setenv("SURVSIM_MAX_MEMORY_GB", "8")
    assert budget_problems(load_scenario(big)) == []  # by zones: not refused
    del big["routing"]  # exact, the default
    parts = {p.what: p.bytes for p in memory_parts(load_scenario(big))}
    assert parts["routing trees (destinations x crossings)"] > 40 * 2**30
    (problem,) = budget_problems(load_scenario(big))
    assert "more than the 8.0 GiB allowed" in problem and 'routing.paths = "zones"' in problem


def test_a_run_by_zones_says_so_in_its_summary_and_report(tmp_path: Any) -> None:
    import sim
    from analysis.report import ZONES_CAVEAT, build_run_report

    d = small_dict(population__people=300, duration_h=6)
    exact = sim.run(load_scenario(d), out=tmp_path / "exact")
    d["routing"] = {"paths": "zones"}
    zoned = sim.run(load_scenario(d), out=tmp_path / "zones")
    assert exact.summary["routing"] == "exact" and zoned.summary["routing"] == "zones"
    caveat = ZONES_CAVEAT.replace("'", "&#x27;")
    assert caveat in build_run_report(tmp_path / "zones").read_text("utf-8")
    assert caveat not in build_run_report(tmp_path / "exact").read_text("utf-8")


def test_last_legs_are_exact_when_the_way_round_leaves_the_ring() -> None:
    """A river across a grid, with a bridge at its east end and a long winding one at its
    west end: from one bank of a western zone to the other the shortest path runs east, far
    outside the zone and its ring, though a longer one stays inside; so the last legs must be
    searched wider (as many times as it takes); they are then the exact shortest paths."""
    import dataclasses

    city = grid(30, 30, 100.0)
    x_u, y_u, y_v = (
        city.node_x_m[city.edge_u],
        city.node_y_m[city.edge_u],
        city.node_y_m[city.edge_v],
    )
    crossing = (np.minimum(y_u, y_v) < 1450.0) & (np.maximum(y_u, y_v) > 1450.0)
    winding = crossing & (x_u == 0.0)
    keep = ~crossing | (x_u == city.node_x_m.max()) | winding
    length = np.where(winding, 9000.0, city.edge_length_m)
    city = dataclasses.replace(
        city, edge_u=city.edge_u[keep], edge_v=city.edge_v[keep], edge_length_m=length[keep]
    )
    on_river = np.flatnonzero(np.abs(city.node_y_m - 1450.0) < 100.0)
    dest = on_river[city.node_x_m[on_river] < 1000.0]  # far west of the bridge
    zoned, exact = ZonedRouter(city, dest, zone_nodes=64), Router(city, dest)
    for r in zoned.destinations:
        inside = np.flatnonzero(zoned.zone_of == zoned.zone_of[r])
        got = zoned.distance_m(np.full(inside.size, r), inside)
        want = exact.distance_m(np.full(inside.size, r), inside)
        assert np.array_equal(got, want)
        assert got.max() > 2900.0  # some of the zone is across the river: round by the bridge
    o, g, toward = _trips(city, zoned.destinations, 200, np.random.default_rng(3))
    _check_paths(city, zoned, o, g, toward)
