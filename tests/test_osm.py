"""Real cities from OpenStreetMap: the two extracts in SURVSIM_DATA, errors, cache, formats."""

from __future__ import annotations

import bz2
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
import shapely

from sim.city import City, build_city
from sim.errors import ScenarioError
from sim.osm import ATTRIBUTION, consolidate, load_osm_city, place_type_of
from sim.routing import Router
from sim.scenario import OsmCity, load_scenario
from tests.conftest import ROOT

DATA = os.environ.get("SURVSIM_DATA")
needs_data = pytest.mark.skipif(
    not DATA,
    reason="SURVSIM_DATA is not set: it names the folder with the OpenStreetMap "
    "extracts (shared/data); .ci/run sets it",
)
AGS = "aguascalientes.osm.bz2"
HEL = "helsinki_center_highways.osm.bz2"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prepared maps go to a cache of the test session, never to the user's."""
    monkeypatch.setenv("SURVSIM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _extract(name: str) -> Path:
    assert DATA
    return Path(DATA) / name


def _city(name: str, **kw: object) -> tuple[City, dict]:
    return load_osm_city(OsmCity(kind="osm", path=str(_extract(name)), **kw))  # type: ignore[arg-type]


# ---------------------------------------------------------------- pure functions, no data
def test_consolidate_merges_only_nearby_nodes_joined_by_a_street() -> None:
    # 0-1 are 4 m apart and joined; 2 is 4 m from 1 but joined to it only through 3 (far away);
    # 4 is 30 m away. With tolerance 5 m (buffers overlap under 10 m): {0, 1}, {2}, {3}, {4}.
    x = np.array([0.0, 4.0, 8.0, 100.0, 40.0])
    y = np.zeros(5)
    eu = np.array([0, 1, 2, 1])
    ev = np.array([1, 3, 3, 4])
    assert consolidate(x, y, eu, ev, 5.0).tolist() == [0, 0, 1, 2, 3]
    # Joined directly, 2 joins the cluster; a tolerance of 1 m merges nothing.
    assert consolidate(x, y, np.array([0, 1]), np.array([1, 2]), 5.0).tolist()[:3] == [0, 0, 0]
    assert consolidate(x, y, eu, ev, 1.0).tolist() == [0, 1, 2, 3, 4]


def test_place_types_from_tags() -> None:
    assert (
        place_type_of({"amenity": "place_of_worship", "religion": "muslim"}) == "place_of_worship"
    )
    assert place_type_of({"amenity": "kindergarten"}) == "school"
    assert place_type_of({"railway": "subway_entrance"}) == "transit_hub"
    assert place_type_of({"place": "square", "highway": "pedestrian"}) == "plaza"
    assert place_type_of({"amenity": "marketplace"}) == "plaza"
    assert place_type_of({"shop": "bakery"}) == "shop"
    assert place_type_of({"office": "company"}) == "workplace"
    assert place_type_of({"amenity": "prison"}) == "prison"
    assert place_type_of({"aeroway": "aerodrome"}) == "airport"
    assert place_type_of({"amenity": "parking"}) is None


def test_exactly_one_source() -> None:
    with pytest.raises(ScenarioError, match="exactly one of 'path'"):
        load_scenario({"city": {"kind": "osm"}})
    with pytest.raises(ScenarioError, match="exactly one of 'path'"):
        load_scenario({"city": {"kind": "osm", "path": "a.osm", "place": "Cardiff, Wales"}})


def test_path_is_relative_to_the_scenario_file_and_expands_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    f = tmp_path / "sub" / "s.toml"
    f.write_text('[city]\nkind = "osm"\npath = "maps/x.osm"\n')
    assert load_scenario(f).city.path == str(tmp_path / "sub" / "maps" / "x.osm")  # type: ignore[union-attr]
    monkeypatch.setenv("MY_MAPS", str(tmp_path))
    f.write_text('[city]\nkind = "osm"\npath = "$MY_MAPS/y.osm"\n')
    assert load_scenario(f).city.path == str(tmp_path / "y.osm")  # type: ignore[union-attr]
    monkeypatch.delenv("MY_MAPS")
    with pytest.raises(ScenarioError, match="MY_MAPS, which is not set"):
        load_scenario(f)


def test_without_osmnx_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "osmnx", None)  # import osmnx now fails
    f = tmp_path / "a.osm"
    f.write_text("<osm version='0.6'></osm>")
    with pytest.raises(ScenarioError, match=r"survsim\[osm\]"):
        load_osm_city(OsmCity(kind="osm", path=str(f)))


# ---------------------------------------------------------------- the two real extracts
@needs_data
@pytest.mark.parametrize(
    ("name", "nodes", "edges", "km"), [(AGS, 855, 1208, 88.9), (HEL, 890, 1288, 61.0)]
)
def test_extracts_load_as_clean_walking_graphs(
    name: str, nodes: int, edges: int, km: float
) -> None:
    city, _ = _city(name)
    assert city.kind == "osm" and city.attribution == ATTRIBUTION
    assert city.crs in ("EPSG:32613", "EPSG:32635")  # the UTM zones osmnx picks for them
    # Expected sizes (osmnx 2.1 graph, walking filter, largest component, 5 m consolidation),
    # within 5% so that small upstream changes do not break the test.
    assert abs(city.n_nodes - nodes) <= 0.05 * nodes
    assert abs(city.n_edges - edges) <= 0.05 * edges
    assert abs(city.edge_length_m.sum() / 1000 - km) <= 0.05 * km
    g = city.to_networkx()
    assert nx.is_connected(g)  # largest component only, and walkable both ways (undirected)
    assert np.all(city.edge_u < city.edge_v)
    # Every street's shape runs from its u crossing to its v crossing and is as long as its
    # length; no street is shorter than the straight line between its ends.
    geoms = city.edge_geometry
    start = shapely.get_coordinates(shapely.get_point(geoms, 0))
    end = shapely.get_coordinates(shapely.get_point(geoms, -1))
    np.testing.assert_allclose(start, np.c_[city.node_x_m[city.edge_u], city.node_y_m[city.edge_u]])
    np.testing.assert_allclose(end, np.c_[city.node_x_m[city.edge_v], city.node_y_m[city.edge_v]])
    np.testing.assert_allclose(shapely.length(geoms), city.edge_length_m, rtol=1e-9, atol=0.5)
    straight = np.hypot(*(start - end).T)
    assert np.all(city.edge_length_m >= straight - 1e-6)
    assert (shapely.get_num_coordinates(geoms) > 2).sum() > 100  # real curved shapes kept
    # Districts: six clusters with distinct names, every crossing in one.
    assert len(city.district_names) == 6 and len(set(city.district_names)) == 6
    assert "Centre" in city.district_names
    assert city.node_district.min() == 0 and city.node_district.max() == 5
    assert city.home_weight is not None and np.all(city.home_weight > 0)


def test_map_files_are_filtered_by_osmnx_own_walking_filter(tmp_path: Path) -> None:
    import osmnx as ox
    from osmnx import _overpass

    from sim.osm import _osmnx, _walkable, walk_filter

    # The rules are osmnx's own query, clause by clause.
    query = _overpass._get_network_filter("walk")
    assert [f'["{k}"!~"{p.pattern}"]' for k, p in walk_filter()] == re.findall(
        r'\["[^"]+"!~"[^"]*"\]', query
    )
    # One way per rule it applies, along a row of crossings 0.001 degrees apart.
    ways = {
        "residential": {"highway": "residential"},
        "footway": {"highway": "footway"},
        "motorway": {"highway": "motorway"},
        "rest_area": {"highway": "rest_area"},
        "foot_no": {"highway": "primary", "foot": "no"},
        "sidewalk": {"highway": "secondary", "sidewalk": "separate"},
        "sidewalk_left": {"highway": "tertiary", "sidewalk:left": "separate"},
        "private": {"highway": "service", "access": "private"},
        "area": {"highway": "pedestrian", "area": "yes"},
    }
    nodes = "".join(
        f'<node id="{i + 1}" lat="60.0" lon="{24 + i / 1000:.3f}"/>' for i in range(len(ways) + 1)
    )
    body = "".join(
        f'<way id="{i + 1}"><nd ref="{i + 1}"/><nd ref="{i + 2}"/><tag k="name" v="{name}"/>'
        + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        + "</way>"
        for i, (name, tags) in enumerate(ways.items())
    )
    path = tmp_path / "rules.osm"
    path.write_text(f'<?xml version="1.0"?><osm version="0.6">{nodes}{body}</osm>')
    _osmnx()
    g = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    kept = {d["name"] for _, _, d in _walkable(g).edges(data=True)}
    assert kept == {"residential", "footway"}


@needs_data
def test_consolidation_agrees_with_osmnx() -> None:
    import osmnx as ox

    from sim.osm import _osmnx, _walkable

    _osmnx()
    g = ox.graph_from_xml(_extract(AGS), bidirectional=True, retain_all=True)
    g = ox.project_graph(ox.truncate.largest_component(_walkable(g)))
    theirs = ox.consolidate_intersections(g, tolerance=5, rebuild_graph=True, dead_ends=True)
    ours, _ = _city(AGS)
    assert abs(ours.n_nodes - theirs.number_of_nodes()) <= 0.02 * theirs.number_of_nodes()


@needs_data
def test_tagged_places() -> None:
    _ags, tagged = _city(AGS)
    _nodes, names = tagged["place_of_worship"]
    assert names == ["Iglesia del IV Centenario"]
    assert len(tagged["school"][0]) >= 15  # 14 schools, 11 kindergartens, 2 colleges tagged
    assert {"Oxxo", "Extra"} <= set(tagged["shop"][1])
    _hel, tagged_h = _city(HEL)
    assert {"Narinkkatori", "Paasikivenaukio"} & set(tagged_h["plaza"][1])
    # Metro entrances of one station make one hub, not one per entrance (33 entrances).
    assert 3 <= len(tagged_h["transit_hub"][0]) <= 10
    # Built into a city, tagged places are kept and the rest filled up to the minimum counts.
    spec = OsmCity(kind="osm", path=str(_extract(AGS)))
    city = build_city(spec)
    worship = city.places_of("place_of_worship")
    assert len(worship) == spec.places.places_of_worship
    assert "Iglesia del IV Centenario" in city.place_name
    assert city.place_name[list(city.place_type).index(3)] != ""  # plazas have names
    assert city.place_node[city.place_type == 3][0] == city.centre_node  # central plaza first


@needs_data
def test_routes_between_two_known_points_in_helsinki() -> None:
    """Railway Square to Senate Square: about 500 m apart as the crow flies."""
    import pyproj

    city, _ = _city(HEL)
    tf = pyproj.Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    ends = []
    for lon, lat in ((24.9440, 60.1710), (24.9522, 60.1694)):
        x, y = tf.transform(lon, lat)
        d = np.hypot(city.node_x_m - x, city.node_y_m - y)
        assert d.min() < 60  # both squares are on the walking graph
        ends.append(int(np.argmin(d)))
    router = Router(city, np.array(ends))
    ours = float(router.dist_m[router.row_of[ends[0]], ends[1]])
    straight = float(
        np.hypot(
            city.node_x_m[ends[0]] - city.node_x_m[ends[1]],
            city.node_y_m[ends[0]] - city.node_y_m[ends[1]],
        )
    )
    assert 450 < straight < 550
    assert straight < ours < 1.4 * straight
    assert ours == pytest.approx(
        nx.dijkstra_path_length(city.to_networkx(), ends[0], ends[1], weight="length_m")
    )
    # The same walk on osmnx's own, unconsolidated graph is within 5% of ours.
    import osmnx as ox

    from sim.osm import _osmnx, _walkable

    _osmnx()
    g = ox.graph_from_xml(_extract(HEL), bidirectional=True, retain_all=True)
    g = ox.project_graph(ox.truncate.largest_component(_walkable(g)), to_crs=city.crs)
    a, b = (
        ox.distance.nearest_nodes(g, float(city.node_x_m[e]), float(city.node_y_m[e])) for e in ends
    )
    theirs = nx.shortest_path_length(g, a, b, weight="length")
    assert ours == pytest.approx(theirs, rel=0.05)


@needs_data
def test_second_load_comes_from_the_cache_and_is_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVSIM_CACHE", str(tmp_path / "cache"))
    first, tag1 = _city(AGS)
    files = list((tmp_path / "cache" / "maps").glob("*.npz"))
    assert len(files) == 1
    t0 = time.perf_counter()
    second, tag2 = _city(AGS)
    assert time.perf_counter() - t0 < 1.0
    for attr in (
        "node_x_m",
        "node_y_m",
        "edge_u",
        "edge_v",
        "edge_length_m",
        "node_district",
        "home_weight",
    ):
        np.testing.assert_array_equal(getattr(first, attr), getattr(second, attr))
    assert first.district_names == second.district_names
    assert {k: (v[0].tolist(), v[1]) for k, v in tag1.items()} == {
        k: (v[0].tolist(), v[1]) for k, v in tag2.items()
    }
    assert shapely.equals_exact(first.edge_geometry, second.edge_geometry, 1e-9).all()
    # Another consolidation is another map; a damaged cache file is rebuilt.
    _city(AGS, consolidate_m=0)
    assert len(list((tmp_path / "cache" / "maps").glob("*.npz"))) == 2
    files[0].write_bytes(b"not a cache")
    again, _ = _city(AGS)
    assert again.n_nodes == first.n_nodes


@needs_data
def test_pbf_and_graphml_extracts(tmp_path: Path) -> None:
    import osmium
    import osmnx as ox

    xml = tmp_path / "ags.osm"
    xml.write_bytes(bz2.decompress(_extract(AGS).read_bytes()))
    pbf = tmp_path / "ags.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(xml)):
            w.add(obj)
    from_xml, _ = _city(AGS)
    from_pbf, tagged = load_osm_city(OsmCity(kind="osm", path=str(pbf)))
    assert from_pbf.n_nodes == from_xml.n_nodes and from_pbf.n_edges == from_xml.n_edges
    assert tagged["place_of_worship"][1] == ["Iglesia del IV Centenario"]
    graphml = tmp_path / "ags.graphml"
    ox.save_graphml(ox.graph_from_xml(xml, bidirectional=True), graphml)
    from_graphml, _ = load_osm_city(OsmCity(kind="osm", path=str(graphml)))
    assert abs(from_graphml.n_nodes - from_xml.n_nodes) <= 0.05 * from_xml.n_nodes


@needs_data
def test_short_scenario_end_to_end_with_report(tmp_path: Path) -> None:
    from analysis.report_many import build_report
    from sim.edge.api import run

    sc = load_scenario(
        ROOT / "scenarios" / "real_city_example.toml",
        [
            f"city.path={json.dumps(str(_extract(AGS)))}",
            "population.people=2000",
            "duration_h=24",
            "watchlist.size=300",
            "watchlist.present=5",
            "gathering.0.size=200",
        ],
    )
    res = run(sc, out=tmp_path / "run")
    t = res.tables
    assert t["nodes"].num_rows == 855 and t["edges"].num_rows == 1208
    assert t["captures"].num_rows > 1000 and t["trips"].num_rows > 2000
    md = t["nodes"].schema.metadata or {}
    assert md[b"map_attribution"].decode() == ATTRIBUTION
    # People live where the streets are and reach the church for the service.
    assert t["gatherings"].column("name").to_pylist() == ["evening service"]
    assert t["gathering_participants"].num_rows > 150
    assert res.summary["captures"] == t["captures"].num_rows
    edges = t["edges"]
    assert pa.types.is_list(edges.schema.field("x_m").type)
    report = build_report(tmp_path / "run")
    html = report.read_text("utf-8")
    assert "OpenStreetMap contributors" in html and "Open Database License" in html
    # The map in metres from the centre, not in UTM coordinates (hundreds of kilometres).
    assert "metres east of the centre" in html
    node_x = t["nodes"].column("x_m").to_numpy()
    assert abs(float(node_x.min())) > 10_000, "the extract's projected coordinates are large"
    first_x = re.search(r'"x":\[(-?[\d.]+)', html)  # the streets trace, first vertex
    assert first_x and abs(float(first_x.group(1))) < 10_000


# ---------------------------------------------------------------- bad input, from the CLI
def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _scenario(tmp_path: Path, city: str) -> Path:
    f = tmp_path / "s.toml"
    f.write_text(f'[city]\nkind = "osm"\n{city}\n[population]\npeople = 200\n')
    return f


@needs_data
@pytest.mark.parametrize("make", ["truncated", "not_osm", "not_bz2", "missing", "no_streets"])
def test_bad_extracts_exit_2_with_one_clear_message(tmp_path: Path, make: str) -> None:
    raw = bz2.decompress(_extract(AGS).read_bytes())
    if make == "truncated":
        (tmp_path / "m.osm.bz2").write_bytes(bz2.compress(raw[: len(raw) // 3]))
        want = "not a complete OpenStreetMap XML file"
    elif make == "not_osm":
        (tmp_path / "m.osm.bz2").write_bytes(bz2.compress(b"<html><body>hi</body></html>"))
        want = "not an OpenStreetMap XML file"
    elif make == "not_bz2":
        (tmp_path / "m.osm.bz2").write_bytes(b"BZh9 this is not bzip2 data at all")
        want = "not a complete OpenStreetMap XML file"
    elif make == "no_streets":
        (tmp_path / "m.osm.bz2").write_bytes(
            bz2.compress(
                b"<?xml version='1.0'?><osm version='0.6'><node id='1' lat='1' lon='1'/></osm>"
            )
        )
        want = "no streets"
    else:
        want = "no such file"
    f = _scenario(tmp_path, 'path = "m.osm.bz2"')
    out = tmp_path / "out"
    p = _cli("run", str(f), "--out", str(out), "-q")
    assert p.returncode == 2, p.stderr
    assert want in p.stderr and "city.path" in p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    assert not (out / "events").exists()


def test_place_while_offline_exits_2(tmp_path: Path) -> None:
    f = _scenario(tmp_path, 'place = "Cardiff, Wales"')
    dead = "http://127.0.0.1:9"  # nothing listens: every download fails at once, as offline
    p = _cli(
        "run",
        str(f),
        "--out",
        str(tmp_path / "out"),
        "-q",
        env={
            "HTTPS_PROXY": dead,
            "HTTP_PROXY": dead,
            "https_proxy": dead,
            "http_proxy": dead,
            "NO_PROXY": "",
            "no_proxy": "",
            "SURVSIM_CACHE": str(tmp_path / "cache"),
        },
    )
    assert p.returncode == 2, p.stderr
    assert "city.place" in p.stderr and "offline" in p.stderr
    assert "Traceback" not in p.stderr + p.stdout


# ---------------------------------------------------------------- boundaries and buildings
def _with_extra_elements(tmp_path: Path, elements: str) -> Path:
    raw = bz2.decompress(_extract(AGS).read_bytes()).decode("utf-8")
    out = tmp_path / "ags_extra.osm"
    out.write_text(raw.replace("</osm>", elements + "\n</osm>"), encoding="utf-8")
    return out


def _closed_way(
    way_id: int, first_node: int, corners: list[tuple[float, float]], tags: dict[str, str]
) -> str:
    nodes = "".join(
        f'<node id="{first_node + i}" lat="{lat}" lon="{lon}" version="1"/>'
        for i, (lon, lat) in enumerate(corners)
    )
    refs = "".join(f'<nd ref="{first_node + i}"/>' for i in range(len(corners)))
    tag = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'{nodes}<way id="{way_id}" version="1">{refs}<nd ref="{first_node}"/>{tag}</way>'


def two_districts() -> str:
    """Two administrative boundary polygons that split Aguascalientes at longitude -102.272."""
    south, north, west, east, cut = 21.84, 21.89, -102.30, -102.25, -102.272
    return _closed_way(
        -1,
        -100,
        [(west, south), (cut, south), (cut, north), (west, north)],
        {"boundary": "administrative", "admin_level": "10", "name": "Poniente"},
    ) + _closed_way(
        -2,
        -200,
        [(cut, south), (east, south), (east, north), (cut, north)],
        {"boundary": "administrative", "admin_level": "10", "name": "Oriente"},
    )


@needs_data
def test_districts_follow_administrative_boundaries(tmp_path: Path) -> None:
    """Two boundary polygons split the map at longitude -102.272: west and east districts."""
    cut = -102.272
    extra = two_districts()
    city, _ = load_osm_city(OsmCity(kind="osm", path=str(_with_extra_elements(tmp_path, extra))))
    assert sorted(city.district_names) == ["Oriente", "Poniente"]
    import pyproj

    lon, _lat = pyproj.Transformer.from_crs(city.crs, "EPSG:4326", always_xy=True).transform(
        city.node_x_m, city.node_y_m
    )
    names = np.array(city.district_names)[city.node_district]
    assert np.all(names[lon < cut - 0.0005] == "Poniente")
    assert np.all(names[lon > cut + 0.0005] == "Oriente")


@needs_data
def test_homes_follow_residential_buildings_when_the_map_has_them(tmp_path: Path) -> None:
    """150 apartment blocks in one corner: most homes go to the crossings next to them."""
    lon0, lat0 = -102.2770, 21.8700  # the north-west of the extract
    blocks = []
    for i in range(150):
        x = lon0 + 0.0002 * (i % 15)
        y = lat0 - 0.0002 * (i // 15)
        blocks.append(
            _closed_way(
                -1000 - i,
                -10_000 - 10 * i,
                [(x, y), (x + 0.0001, y), (x + 0.0001, y + 0.0001), (x, y + 0.0001)],
                {"building": "apartments", "building:levels": "5"},
            )
        )
    plain, _ = _city(AGS)
    built, _ = load_osm_city(
        OsmCity(kind="osm", path=str(_with_extra_elements(tmp_path, "".join(blocks))))
    )
    assert plain.home_weight is not None and built.home_weight is not None
    import pyproj

    x0, y0 = pyproj.Transformer.from_crs("EPSG:4326", built.crs, always_xy=True).transform(
        lon0 + 0.0015, lat0 - 0.001
    )
    near = np.hypot(built.node_x_m - x0, built.node_y_m - y0) < 300
    share_built = built.home_weight[near].sum() / built.home_weight.sum()
    near_plain = np.hypot(plain.node_x_m - x0, plain.node_y_m - y0) < 300
    share_plain = plain.home_weight[near_plain].sum() / plain.home_weight.sum()
    assert share_built > 0.7 > 0.2 > share_plain


# ---------------------------------------------------------------- one map, one answer
def _tables(run_dir: Path) -> dict[str, pa.Table]:
    out = {}
    for f in sorted((run_dir / "events").glob("*.arrow")):
        with pa.OSFile(str(f), "rb") as src:
            out[f.stem] = pa.ipc.open_stream(src).read_all().replace_schema_metadata(None)
    return out


@pytest.mark.slow
def test_real_city_is_the_same_whatever_the_hash_seed_and_the_cache(tmp_path: Path) -> None:
    """real_city_example: identical tables with the map cache cold, warm and off, each under
    another PYTHONHASHSEED (osmnx lists merged ways' tags in set order; survsim must not
    care)."""
    scenario = ROOT / "scenarios" / "real_city_example.toml"
    small = ["--set", "population.people=3000", "--set", "duration_h=24"]
    cache = tmp_path / "cache"
    runs = [("cold", "1", str(cache)), ("warm", "2", str(cache)), ("off", "3", "off")]
    tables = []
    for name, hash_seed, where in runs:
        p = _cli(
            "run",
            str(scenario),
            "--out",
            str(tmp_path / name),
            "-q",
            *small,
            env={"PYTHONHASHSEED": hash_seed, "SURVSIM_CACHE": where},
        )
        assert p.returncode == 0, p.stderr
        tables.append(_tables(tmp_path / name))
    for (name, _, _), got in zip(runs[1:], tables[1:], strict=True):
        assert got.keys() == tables[0].keys()
        for t in got:
            assert got[t].equals(tables[0][t]), f"{t} differs ({name} cache)"
    assert tables[0]["captures"].num_rows > 1000


def test_a_synthetic_whole_city_extract_reads_as_its_grid(tmp_path: Path, monkeypatch) -> None:
    """benchmarks/osm_synth.py (the whole-city benchmark's extract, small here) writes a .osm.pbf
    the OSM path reads as the grid it drew: every crossing but the four corners (two streets
    only: not crossings once the graph is simplified), the motorway dropped by the walking
    filter, and the tagged places found."""
    monkeypatch.setenv("SURVSIM_CACHE", "off")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import osm_synth

    side = 52  # row and column 50 are motorways
    path = tmp_path / "city.osm.pbf"
    counts = osm_synth.write_city(path, side)
    city = build_city(OsmCity(kind="osm", path=str(path)))
    # Every block of street but the motorway row's and column's (2 x 51 blocks), the four
    # corners' two blocks each joined into one street.
    assert city.n_edges == 2 * side * (side - 1) - 2 * (side - 1) - 4
    assert side * side - 4 - 2 * side <= city.n_nodes <= side * side - 4
    assert len(city.place_node) >= counts["places"] // 2
