"""The compact trees (sim.routing_compact) answer every routing question exactly as the whole
trees (sim.routing.Router) do: same distances, paths, watched steps and climbs, bit for bit, and
so the same run; which one a run uses depends only on the size of its trees."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
import sim.routing_compact as rc
from sim.budget import memory_parts
from sim.city import build_city
from sim.population import trip_destinations
from sim.routing import Router
from sim.routing_compact import CompactRouter, router_for
from sim.scenario import RadialCity, load_scenario
from sim.schema import TABLES
from sim.world import build_world, checked_city
from tests.conftest import SCENARIOS, small_dict
from tests.test_city_routing import grid


def _trips(city: Any, dest: np.ndarray, n: int, rng: np.random.Generator) -> tuple[Any, ...]:
    toward = rng.random(n) < 0.5
    ends = rng.choice(dest, n)
    others = rng.integers(0, city.n_nodes, n)
    return np.where(toward, others, ends), np.where(toward, ends, others), toward


def _same(a: Any, b: Any, names: tuple[str, ...]) -> None:
    for name in names:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype.kind == y.dtype.kind, name
        assert np.array_equal(x, y), name


CITIES = {
    "grid": lambda: grid(9, 7, 80.0),
    "uneven grid": lambda: grid(8, 8, 73.3),
    "radial": lambda: build_city(RadialCity(kind="radial", rings=5)),
}


@pytest.mark.parametrize("name", sorted(CITIES))
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.sampled_from([0.0, 0.03, 0.3, 1.0]))
def test_compact_trees_answer_as_whole_trees(name: str, seed: int, share: float) -> None:
    city = CITIES[name]()
    rng = np.random.default_rng(seed)
    dest = rng.choice(city.n_nodes, 9, replace=False)
    full, compact = Router(city, dest), CompactRouter(city, dest)
    assert np.array_equal(full.dist_m, compact.dist_m.astype(np.float64))
    origin, goal, toward = _trips(city, full.destinations, 400, rng)
    root = np.where(toward, goal, origin)
    other = np.where(toward, origin, goal)
    assert np.array_equal(full.distance_m(root, other), compact.distance_m(root, other))
    assert np.array_equal(full.distance_rows(dest[:3]), compact.distance_rows(dest[:3]))
    names = ("offset", "node", "along_m", "step_edge")
    _same(full.expand(origin, goal, toward), compact.expand(origin, goal, toward), names)
    marked = rng.random(2 * city.n_edges) < share
    a = full.marked_steps(full.skip_tables(marked), origin, goal, toward)
    b = compact.marked_steps(compact.skip_tables(marked), origin, goal, toward)
    _same(a, b, ("trip", "edge", "position", "along0_m", "along1_m"))
    assert (a.trip.size > 0) == (share > 0)
    order_a, climb_a = full.climb(origin, goal, toward)
    order_b, climb_b = compact.climb(origin, goal, toward)
    assert np.array_equal(order_a, order_b)
    for (m, node, along), (m2, node2, along2) in zip(climb_a, climb_b, strict=True):
        assert m == m2 and np.array_equal(node, node2) and np.array_equal(along, along2)


def test_compact_trees_on_a_real_map_and_a_known_answer() -> None:
    """The bundled real extract (uneven street lengths: float64 distances), and a 3 x 3 grid
    where the walk from a corner to the far corner is known."""
    city = checked_city(load_scenario(SCENARIOS / "real_city_example.toml"))
    dest = trip_destinations(city)
    full, compact = Router(city, dest), CompactRouter(city, dest)
    assert compact.dist_m.dtype == np.float64 and compact.slot.dtype == np.uint8
    assert np.array_equal(full.dist_m, compact.dist_m)
    rng = np.random.default_rng(3)
    origin, goal, toward = _trips(city, full.destinations, 2000, rng)
    _same(
        full.expand(origin, goal, toward),
        compact.expand(origin, goal, toward),
        ("offset", "node", "along_m", "step_edge"),
    )
    small = grid(3, 3, 100.0)
    r = CompactRouter(small, [8])
    assert r.dist_m.dtype == np.float32  # whole metres: exact in float32, half the memory
    paths = r.expand([0], [8], [True])
    # Ties go to the lowest-numbered neighbour nearer the root: 0 -> 1 -> 2 -> 5 -> 8.
    assert paths.node.tolist() == [0, 1, 2, 5, 8]
    assert paths.along_m.tolist() == [0.0, 100.0, 200.0, 300.0, 400.0]
    back = r.expand([8], [0], [False])
    assert back.node.tolist() == [8, 5, 2, 1, 0]


def test_a_run_is_the_same_with_compact_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    """Street cameras, body-cams and door checks, with whole trees and with compact ones."""
    sc = load_scenario(
        small_dict(
            deployment=[
                {"kind": "cctv", "count": 20, "placement": "footfall", "range_m": 30},
                {"kind": "bodycam", "officers": 8},
                {"kind": "entry_point", "place_type": "shop", "count": 4},
            ]
        )
    )
    assert isinstance(build_world(sc).router, Router)
    whole = sim.run(sc)
    monkeypatch.setattr(rc, "FULL_TREES_MAX_BYTES", 0)
    assert isinstance(build_world(sc).router, CompactRouter)
    compact = sim.run(sc)
    assert whole.tables["captures"].num_rows > 100
    for name in TABLES:
        assert whole.tables[name].equals(compact.tables[name]), name
    drop = ("wall_s",)
    assert {k: v for k, v in whole.summary.items() if k not in drop} == {
        k: v for k, v in compact.summary.items() if k not in drop
    }


def test_the_size_of_the_trees_picks_them_and_the_estimate_follows() -> None:
    small = grid(6, 6, 100.0)
    assert isinstance(router_for(small, [0, 5]), Router)
    assert rc.full_trees_fit(1000, 1000) and not rc.full_trees_fit(9760, 40_000)
    places = {"workplaces": 5000, "shops": 4000, "schools": 300}
    for side, compact in ((30, False), (200, True)):
        sc = load_scenario(
            small_dict(
                city={"kind": "grid", "columns": side, "rows": side, "block_m": 100,
                      "places": places}
            )
        )  # fmt: skip
        n = side * side
        trees = next(p for p in memory_parts(sc) if p.what.startswith("routing trees")).bytes
        spec = sc.city.places
        dest = min(sum(int(getattr(spec, f)) for f in type(spec).model_fields) + 33, n)
        if compact:  # 9 bytes an entry, and the block being computed
            assert trees == dest * n * 9 + rc.BLOCK_ENTRIES * 48
        else:
            assert trees == dest * n * 64


def test_the_metropolis_file_is_the_benchmarks_and_fits_this_machine() -> None:
    """scenarios/metropolis.toml (not run by the suite: benchmarks/bench_metro.py runs it) is
    the benchmark's scenario, and is no longer refused: its compact trees fit."""
    import sys

    from tests.conftest import ROOT

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_metro

    shipped = load_scenario(SCENARIOS / "metropolis.toml")
    assert shipped.model_dump() == load_scenario(bench_metro.scenario(200, 1_000_000)).model_dump()
    parts = memory_parts(shipped)
    assert sum(p.bytes for p in parts) < 8 * 2**30
    trees = next(p for p in parts if p.what.startswith("routing trees"))
    assert trees.bytes < 4 * 2**30  # compact: at most 9,740 + 33 destinations x 40,000 x 9 bytes
