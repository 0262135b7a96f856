"""The streaming reader of whole-city extracts (sim.osm_stream) builds the city osmnx builds, array
for array: on the two real extracts, on a synthetic city, with administrative boundaries, and on
a hand-drawn map of the cases osmnx's simplification treats specially."""

from __future__ import annotations

import bz2
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.city import build_city
from sim.osm import (
    _assemble,
    _osmnx,
    _read_extract,
    graph_streets,
    read_extract_streaming,
)
from sim.scenario import OsmCity
from tests.conftest import ROOT
from tests.test_osm import AGS, HEL, _extract, _with_extra_elements, needs_data, two_districts

pytest.importorskip("osmnx")
pytest.importorskip("osmium")


def both_ways(path: Path) -> tuple[Any, Any]:
    """The map prepared from osmnx's graph and from the streaming reader."""
    ox = _osmnx()
    spec = OsmCity(kind="osm", path=str(path))
    graph, features, boundaries = _read_extract(ox, path)
    by_osmnx = _assemble(graph_streets(ox, graph, "x"), features, boundaries, spec, "x")
    streets, features2, boundaries2 = read_extract_streaming(ox, path)
    streamed = _assemble(streets, features2, boundaries2, spec, "x")
    return by_osmnx, streamed


def assert_same(a: Any, b: Any) -> None:
    ca, cb = a.city, b.city
    for name in ("node_x_m", "node_y_m", "edge_u", "edge_v", "edge_length_m", "node_district"):
        assert np.array_equal(getattr(ca, name), getattr(cb, name)), name
    assert np.array_equal(ca.home_weight, cb.home_weight)
    assert ca.district_names == cb.district_names and ca.centre_node == cb.centre_node
    assert ca.crs == cb.crs
    assert [s.wkb for s in ca.shapes] == [s.wkb for s in cb.shapes], "street shapes"
    assert pickle.dumps(a.tagged) == pickle.dumps(b.tagged), "tagged places"


@needs_data
@pytest.mark.parametrize("name", [AGS, HEL])
def test_real_extracts_read_as_osmnx_reads_them(name: str) -> None:
    a, b = both_ways(_extract(name))
    assert a.city.n_edges > 1000
    assert_same(a, b)


@needs_data
def test_administrative_districts_read_as_osmnx_reads_them(tmp_path: Path) -> None:
    a, b = both_ways(_with_extra_elements(tmp_path, two_districts()))
    assert sorted(a.city.district_names) == ["Oriente", "Poniente"]
    assert_same(a, b)


def test_a_synthetic_city_reads_as_osmnx_reads_it(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import osm_synth

    path = tmp_path / "city.osm.pbf"
    osm_synth.write_city(path, 30)
    a, b = both_ways(path)
    assert a.city.n_nodes > 800
    assert_same(a, b)


def _map(tmp_path: Path) -> Path:
    """A hand-drawn map, 6 x 4 crossings 100 m apart, with what simplification treats specially:
    a footway that continues as a wall (no highway tag: merged into the street), a building
    whose outline touches a street (its corner becomes a crossing), two ways along the same
    two nodes, an isolated footway ring (removed), a loop back to its own start (dropped), a
    motorway (filtered) joined to a footway at a shape node (merged: kept), a private service
    road (filtered), curved streets with shape nodes and a way with a repeated node."""
    lat0, lon0, d = 45.0, 21.88, 0.0009
    nodes: dict[int, tuple[float, float]] = {}

    def node(i: int, lon: float, lat: float) -> int:
        nodes[i] = (lon, lat)
        return i

    grid = {
        (r, c): node(1 + r * 6 + c, lon0 + 1.41 * d * c, lat0 + d * r)
        for r in range(4)
        for c in range(6)
    }
    ways: list[tuple[list[int], dict[str, str]]] = []
    for r in range(4):  # rows, with a shape node between crossings 2 and 3
        refs = [grid[r, c] for c in range(3)]
        refs.append(node(100 + r, lon0 + 1.41 * d * 2.5, lat0 + d * r + d * 0.1))
        refs += [grid[r, c] for c in range(3, 6)]
        ways.append((refs, {"highway": "residential", "name": f"Row {r}"}))
    for c in range(6):
        refs = [grid[r, c] for r in range(4)]
        ways.append((refs, {"highway": "footway" if c % 2 else "tertiary"}))
    ways.append(([grid[1, 1], grid[1, 2]], {"highway": "service", "service": "alley"}))  # twin
    ways.append(([grid[2, 2], grid[2, 2], grid[3, 3]], {"highway": "path"}))  # repeated ref
    # A footway that runs on as a wall to a dead end.
    fw = node(200, lon0 + 1.41 * d * 6.5, lat0 + d * 1.0)
    ways.append(([grid[1, 5], fw], {"highway": "footway"}))
    ways.append(([fw, node(201, lon0 + 1.41 * d * 6.5, lat0 + d * 2.5)], {"barrier": "wall"}))
    # A building whose corner is a shape node of row 0's street: that node becomes a crossing.
    b0 = 100
    ring = [
        b0,
        node(300, lon0 + 1.41 * d * 2.5, lat0 - d * 0.5),
        node(301, lon0 + 1.41 * d * 2.8, lat0 - d * 0.5),
        b0,
    ]
    ways.append((ring, {"building": "yes"}))
    # An isolated footway ring, a loop, a motorway into a footway, a private road.
    iso = [node(400 + k, lon0 + 1.41 * d * (8 + k % 2), lat0 + d * (k // 2)) for k in range(4)]
    ways.append(([iso[0], iso[1], iso[3], iso[2], iso[0]], {"highway": "footway"}))
    lp = [grid[3, 0], node(500, lon0 - d, lat0 + d * 3.5), node(501, lon0 - d, lat0 + d * 2.5)]
    ways.append(([*lp, grid[3, 0]], {"highway": "footway"}))
    mid = node(600, lon0 + 1.41 * d * 3, lat0 - d * 1.5)
    ways.append(([grid[0, 2], mid], {"highway": "motorway"}))
    ways.append(([mid, grid[0, 4]], {"highway": "footway"}))
    ways.append(([grid[0, 0], node(700, lon0 - d, lat0 - d), grid[0, 1]],
                 {"highway": "service", "access": "private"}))  # fmt: skip
    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for i in sorted(nodes):
        lon, lat = nodes[i]
        xml.append(f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>')
    for k, (refs, tags) in enumerate(ways):
        xml.append(f'<way id="{1000 + k}" version="1">')
        xml += [f'<nd ref="{r}"/>' for r in refs]
        xml += [f'<tag k="{a}" v="{b}"/>' for a, b in tags.items()]
        xml.append("</way>")
    xml.append("</osm>")
    path = tmp_path / "drawn.osm.bz2"
    path.write_bytes(bz2.compress("\n".join(xml).encode()))
    return path


def test_the_cases_simplification_treats_specially(tmp_path: Path) -> None:
    a, b = both_ways(_map(tmp_path))
    assert_same(a, b)
    city = a.city
    x = city.node_x_m - city.node_x_m.min()
    # Known answers: 22 of the 24 grid crossings (two corners join two streets only: shape
    # nodes once simplified), the building's corner on row 0 and the wall's dead end.
    assert city.n_nodes == 24 and city.n_edges == 40
    assert x.max() < 700, "the isolated footway ring is gone"
    length = {(round(x[u] / 50), round(x[v] / 50)): m for u, v, m in
              zip(city.edge_u, city.edge_v, city.edge_length_m, strict=True)}  # fmt: skip
    # The footway merged with the wall it runs on as (one edge of about 300 m to the dead end),
    # and the motorway with the footway it meets at a shape node (kept: not all motorway).
    assert 290 < length[(10, 13)] < 310
    assert 350 < length[(4, 8)] < 370


def test_a_pbf_city_is_read_by_the_streaming_reader(tmp_path: Path, monkeypatch: Any) -> None:
    """A .osm.pbf goes through sim.osm_stream, not osmnx's graph (which it would not need)."""
    import sim.osm

    monkeypatch.setenv("SURVSIM_CACHE", "off")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import osm_synth

    path = tmp_path / "city.osm.pbf"
    osm_synth.write_city(path, 20)

    def no_graph(*_: object, **__: object) -> None:
        raise AssertionError("osmnx's graph was built")

    monkeypatch.setattr(sim.osm, "graph_streets", no_graph)
    city = build_city(OsmCity(kind="osm", path=str(path)))
    assert city.n_nodes > 300


def test_an_extract_too_large_for_the_memory_limit_is_refused_while_read(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Reading stops with the estimate and the limit (not an out-of-memory kill), and a limit
    the extract fits in reads it."""
    from sim.errors import ScenarioError

    monkeypatch.setenv("SURVSIM_CACHE", "off")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import osm_synth

    path = tmp_path / "city.osm.pbf"
    osm_synth.write_city(path, 60)  # about 13,000 nodes, 26,000 way refs: some 10 MB to read
    monkeypatch.setenv("SURVSIM_MAX_MEMORY_GB", str(4 / 1024))
    with pytest.raises(ScenarioError, match=r"reading this extract would take more than") as e:
        build_city(OsmCity(kind="osm", path=str(path)))
    assert "limit of 4 MiB" in str(e.value) and "city.path" in str(e.value)
    monkeypatch.setenv("SURVSIM_MAX_MEMORY_GB", "1")
    assert build_city(OsmCity(kind="osm", path=str(path))).n_nodes > 3000
