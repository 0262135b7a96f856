"""Street graphs and routing: known answers on small grids, agreement with networkx elsewhere."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest

from sim.city import PLACE_TYPES, build_city
from sim.errors import ScenarioError
from sim.routing import Router
from sim.scenario import GridCity, Places, RadialCity


def grid(columns: int = 4, rows: int = 4, block_m: float = 100.0):
    spec = GridCity(
        kind="grid",
        columns=columns,
        rows=rows,
        block_m=block_m,
        places=Places(
            workplaces=2,
            shops=2,
            transit_hubs=1,
            plazas=1,
            places_of_worship=1,
            schools=1,
            hospitals=1,
        ),
    )
    return build_city(spec)


def test_grid_shape_and_lengths() -> None:
    city = grid(4, 3, 50.0)
    assert city.n_nodes == 12, "4 x 3 crossings"
    assert city.n_edges == 3 * 3 + 4 * 2, "horizontal + vertical streets"
    assert np.allclose(city.edge_length_m, 50.0), "every block is 50 m"
    assert np.all(city.edge_u < city.edge_v), "edges stored with u < v"


def test_grid_routing_known_answer() -> None:
    city = grid(4, 4, 100.0)
    corner, opposite = 0, 15
    r = Router(city, [opposite])
    assert r.distance_m([opposite], [corner])[0] == pytest.approx(600.0), "Manhattan distance"
    paths = r.expand([corner], [opposite], [True])
    nodes = paths.node[paths.offset[0] : paths.offset[1]]
    assert nodes[0] == corner and nodes[-1] == opposite, "path runs origin to destination"
    assert nodes.size == 7, "6 blocks, 7 crossings"
    assert np.allclose(paths.along_m, np.arange(7) * 100.0), "100 m per block"
    steps = np.abs(np.diff(nodes))
    assert set(steps.tolist()) <= {1, 4}, "each step moves to a neighbouring crossing"


def test_reversed_trip_is_the_mirror_of_the_forward_trip() -> None:
    city = grid(5, 5)
    r = Router(city, [12])
    fwd = r.expand([0], [12], [True])
    back = r.expand([12], [0], [False])
    f = fwd.node[fwd.offset[0] : fwd.offset[1]]
    b = back.node[back.offset[0] : back.offset[1]]
    assert np.array_equal(f, b[::-1]), "going home retraces the way out"
    assert np.allclose(back.along_m, np.arange(b.size) * 100.0), "distance grows from the origin"


def test_step_edges_match_node_pairs() -> None:
    city = build_city(RadialCity(kind="radial", rings=5))
    dest = city.places_of("shop")[:3]
    r = Router(city, dest)
    rng = np.random.default_rng(2)
    origin = rng.integers(0, city.n_nodes, 50)
    d = rng.choice(dest, 50)
    toward = rng.random(50) < 0.5
    o2 = np.where(toward, origin, d)
    d2 = np.where(toward, d, origin)
    paths = r.expand(o2, d2, toward)
    for i in range(paths.n_trips):
        nodes = paths.node[paths.offset[i] : paths.offset[i + 1]]
        steps = paths.step_edge[paths.offset[i] : paths.offset[i + 1]]
        assert steps[-1] == -1, "no step after the last node"
        if nodes.size > 1:
            expect = city.directed_edge(nodes[:-1], nodes[1:])
            assert np.array_equal(steps[:-1], expect), f"trip {i}: step edges follow the path"
        assert nodes[0] == o2[i] and nodes[-1] == d2[i], f"trip {i}: right ends"


def test_router_distances_agree_with_networkx() -> None:
    city = build_city(RadialCity(kind="radial", rings=6, spokes=6))
    g = city.to_networkx()
    dest = city.places_of("workplace")[:5]
    r = Router(city, dest)
    for t in dest:
        expect = nx.single_source_dijkstra_path_length(g, int(t), weight="length_m")
        got = r.dist_m[r.row_of[t]]
        for node, dist in expect.items():
            assert got[node] == pytest.approx(dist), f"distance {t}->{node}"


def test_radial_capital_structure() -> None:
    spec = RadialCity(
        kind="radial", rings=8, ring_spacing_m=200, spokes=8, centre_rings=2, districts=8
    )
    city = build_city(spec)
    assert city.centre_node == 0 and city.node_x_m[0] == 0 and city.node_y_m[0] == 0
    assert city.district_names[0] == "Centre" and len(city.district_names) == 9
    assert "North" in city.district_names, "compass district names"
    assert nx.is_connected(city.to_networkx()), "every street reachable"
    plaza_names = [
        n
        for n, t in zip(city.place_name, city.place_type, strict=True)
        if PLACE_TYPES[t] == "plaza"
    ]
    assert plaza_names[0] == "Central Plaza"
    assert city.places_of("plaza")[0] == 0, "the central plaza is at the centre"
    r = np.hypot(city.node_x_m, city.node_y_m)
    assert r.max() == pytest.approx(8 * 200), "outer ring radius"
    inner = city.node_district[(r > 0) & (r <= 2 * 200 + 1e-6)]
    assert np.all(inner == 0), "the first two rings are the Centre district"
    geom = city.edge_geometry
    assert np.allclose([g.length for g in geom], city.edge_length_m), "geometry matches length"


def test_too_many_places_is_a_scenario_error() -> None:
    spec = GridCity(kind="grid", columns=3, rows=3, places=Places(shops=50))
    with pytest.raises(ScenarioError, match=r"city\.places\.shops"):
        build_city(spec)


def test_hop_counts_equal_walking_the_predecessor_links() -> None:
    """Router.hops (pointer jumping) against following pred one step at a time."""
    import numpy as np

    from sim.city import build_city
    from sim.routing import Router
    from sim.scenario import load_scenario

    sc = load_scenario({"city": {"kind": "radial", "rings": 6}})
    city = build_city(sc.city)
    rng = np.random.default_rng(4)
    router = Router(city, rng.choice(city.n_nodes, 12, replace=False))
    for row in range(router.pred.shape[0]):
        for node in rng.choice(city.n_nodes, 40, replace=False):
            steps, cur = 0, int(node)
            while router.pred[row, cur] >= 0:
                cur = int(router.pred[row, cur])
                steps += 1
            assert router.hops[row, node] == steps
            assert cur == router.destinations[row]


def radial_trips(
    seed: int, n: int
) -> tuple[Any, Router, np.ndarray, np.ndarray, np.ndarray, np.random.Generator]:
    """A radial city, a router to 15 destinations and ``n`` trips, half of them toward one."""
    city = build_city(RadialCity(kind="radial", rings=6))
    rng = np.random.default_rng(seed + 1)
    dest = rng.choice(city.n_nodes, 15, replace=False)
    toward = rng.random(n) < 0.5
    ends = rng.choice(dest, n)
    others = rng.integers(0, city.n_nodes, n)
    return (
        city,
        Router(city, dest),
        np.where(toward, others, ends),
        np.where(toward, ends, others),
        toward,
        rng,
    )


@pytest.mark.parametrize("share", [0.0, 0.05, 0.4, 1.0])
def test_marked_steps_are_the_expanded_steps_on_marked_edges(share: float) -> None:
    """Router.marked_steps (jumping between marked steps) against expanding every path and
    keeping the steps on marked directed edges: same trips, positions, edges and distances."""
    city, r, origin, target, toward, rng = radial_trips(5, 400)
    marked = rng.random(2 * city.n_edges) < share
    paths = r.expand(origin, target, toward)
    step = paths.step_edge
    pos = np.flatnonzero((step >= 0) & marked[np.maximum(step, 0)])
    trip = np.searchsorted(paths.offset, pos, side="right") - 1
    got = r.marked_steps(r.skip_tables(marked), origin, target, toward)
    assert np.array_equal(got.trip, trip)
    assert np.array_equal(got.position, pos - paths.offset[trip])
    assert np.array_equal(got.edge, step[pos])
    assert np.array_equal(got.along0_m, paths.along_m[pos]), "bit for bit, not approximately"
    assert np.array_equal(got.along1_m, paths.along_m[pos + 1])
    if share == 1.0:
        assert pos.size == int(np.sum(step >= 0)), "every step of every trip"


def test_marked_steps_known_answer_on_a_grid() -> None:
    """A 4 x 4 grid walked corner to corner: only the marked block is reported, 200-300 m in."""
    city = grid(4, 4, 100.0)
    r = Router(city, [15])
    paths = r.expand([0], [15], [True])
    nodes = paths.node
    marked = np.zeros(2 * city.n_edges, bool)
    marked[paths.step_edge[2]] = True  # the third block of the way
    got = r.marked_steps(r.skip_tables(marked), [0, 15], [15, 0], [True, False])
    assert got.trip.tolist() == [0], "the way back walks that street the other way round"
    assert got.position.tolist() == [2]
    assert got.along0_m.tolist() == [200.0] and got.along1_m.tolist() == [300.0]
    assert city.directed_edge(nodes[2:3], nodes[3:4]).tolist() == got.edge.tolist()


def test_climb_visits_every_node_of_every_path() -> None:
    """Router.climb (all trips up their trees at once, longest first) visits the same (trip,
    node, distance walked) as expanding each path in order, bit for bit."""
    _, r, origin, target, toward, _ = radial_trips(7, 300)
    n = origin.size
    paths = r.expand(origin, target, toward)
    order, steps = r.climb(origin, target, toward)
    assert np.array_equal(np.sort(order), np.arange(n))
    lengths = np.diff(paths.offset)
    assert np.all(np.diff(lengths[order]) <= 0), "longest path first"
    got = [
        (int(order[i]), int(node[i]), float(along[i])) for m, node, along in steps for i in range(m)
    ]
    want = list(
        zip(
            paths.trip_of_position().tolist(),
            paths.node.tolist(),
            paths.along_m.tolist(),
            strict=True,
        )
    )
    assert sorted(got) == sorted(want)
    assert len(got) == int(paths.offset[-1])


def test_climb_known_answer_on_a_grid() -> None:
    """Corner to corner of a 3 x 3 grid and back: both trips visit five nodes; the first step
    of the way back is at its far end (400 m walked), the way out starts at 0 m."""
    r = Router(grid(3, 3, 100.0), [8])
    order, steps = r.climb([0, 8], [8, 0], [True, False])
    assert order.tolist() == [0, 1], "equal lengths keep their order"
    items = list(steps)
    assert [m for m, _, _ in items] == [2, 2, 2, 2, 2]
    _, first_node, first_along = items[0]
    assert first_node.tolist() == [0, 0] and first_along.tolist() == [0.0, 400.0]
    assert items[-1][1].tolist() == [8, 8]


# ---------------------------------------------------------------- a city fixed by its own seed
def _fingerprint(city: Any) -> tuple[Any, ...]:
    return (
        city.node_x_m.tobytes(),
        city.edge_u.tobytes(),
        city.place_node.tobytes(),
        tuple(city.place_name),
        tuple(city.district_names),
    )


def test_the_city_does_not_change_with_the_run_seed_or_replication() -> None:
    from sim.scenario import load_scenario
    from sim.world import build_world

    sc = load_scenario(SMALL_CITY)
    a = build_world(sc, seed=1)
    b = build_world(sc, seed=2, replication=3)
    assert _fingerprint(a.city) == _fingerprint(b.city), "one place at every seed"
    assert not np.array_equal(a.population.home_node, b.population.home_node), (
        "but other people live there"
    )


def test_city_seed_changes_the_map_and_the_derived_seed_is_stable() -> None:
    from sim.city import city_seed

    spec = RadialCity(kind="radial", rings=6)
    assert city_seed(spec) == city_seed(RadialCity(kind="radial", rings=6)), "same settings"
    assert city_seed(spec) != city_seed(RadialCity(kind="radial", rings=7))
    # Place counts do not enter the derived seed, and a given seed is kept.
    assert city_seed(spec) == city_seed(RadialCity(kind="radial", rings=6, places=Places(shops=99)))
    assert city_seed(RadialCity(kind="radial", rings=6, seed=42)) == 42
    a = build_city(RadialCity(kind="radial", rings=6, seed=1))
    b = build_city(RadialCity(kind="radial", rings=6, seed=2))
    assert not np.array_equal(a.place_node, b.place_node), "another seed, other places"
    assert np.array_equal(a.node_x_m, b.node_x_m), "the streets are the settings' own"


def test_more_places_keep_the_places_and_names_there_were() -> None:
    few = build_city(RadialCity(kind="radial", rings=6, places=Places(shops=10, plazas=3)))
    more = build_city(RadialCity(kind="radial", rings=6, places=Places(shops=25, plazas=5)))
    for t in ("shop", "plaza", "workplace"):
        a, b = few.places_of(t), more.places_of(t)
        assert np.array_equal(b[: a.size], a), f"the first {a.size} {t}s stay where they were"
    named = dict(zip(more.place_name, more.place_node, strict=True))
    for name, node in zip(few.place_name, few.place_node, strict=True):
        assert named[name] == node, f"{name} keeps its name and place"
    assert (
        "Shop 1 ("
        in few.place_name[
            few.place_name.index(next(n for n in few.place_name if n.startswith("Shop 1 (")))
        ]
    )


SMALL_CITY = {
    "city": {"kind": "radial", "rings": 5},
    "population": {"people": 500},
    "watchlist": {"size": 50, "present": 2},
}


# ---------------------------------------------------------------- trees independent of scipy
def test_trees_take_the_lowest_numbered_of_equally_short_parents() -> None:
    """On a grid most nodes have two equally short ways to a corner: the rule picks the
    lower-numbered neighbour, whatever scipy's Dijkstra kept."""
    city = grid(6, 5)
    r = Router(city, [0, 29, 14])
    adj = city.adjacency.tocsr()
    for row, root in enumerate(r.destinations):
        for node in range(city.n_nodes):
            if node == root:
                assert r.pred[row, node] == -1
                continue
            nbrs = adj.indices[adj.indptr[node] : adj.indptr[node + 1]]
            on_shortest = [
                int(p) for p in nbrs if abs(r.dist_m[row, p] + 100.0 - r.dist_m[row, node]) < 1e-6
            ]
            assert r.pred[row, node] == min(on_shortest), (root, node)
    assert np.allclose(r.dist_m[r.row_of[0]], (np.arange(30) % 6 + np.arange(30) // 6) * 100)


def test_trees_do_not_depend_on_the_predecessors_dijkstra_returns() -> None:
    from scipy.sparse.csgraph import dijkstra

    from sim.routing import _canonical_parents

    city = build_city(RadialCity(kind="radial", rings=7))
    dest = np.unique(city.places_of("shop"))  # in the router's row order
    dist, pred = dijkstra(city.adjacency, directed=False, indices=dest, return_predecessors=True)
    rng = np.random.default_rng(0)
    garbage = rng.integers(0, city.n_nodes, pred.shape).astype(np.int32)
    assert np.array_equal(
        _canonical_parents(city, dist, pred.astype(np.int32)),
        _canonical_parents(city, dist, garbage),
    ), "scipy's choice unused"
    r = Router(city, dest)
    # Distances are sums along the chosen trees, equal to Dijkstra's within rounding.
    assert np.allclose(r.dist_m, dist, rtol=1e-12)
