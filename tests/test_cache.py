"""The on-disk cache of routing tables and camera coverage: the same arrays as computing them,
misses when the city or the camera network changes, survives damage, keeps its size bound, and
can be turned off."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

import sim.cameras as cameras
import sim.routing as routing
from sim import cache
from sim.cameras import Cameras, coverage
from sim.city import City, build_city
from sim.routing import Router
from sim.scenario import GridCity, Places, RadialCity

ARRAYS = ("dist_m", "pred", "hops", "pred_edge")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SURVSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SURVSIM_ROUTE_CACHE_MB", raising=False)
    return tmp_path / "cache" / "routes"


def entries(folder: Path) -> set[Path]:
    return {p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}


def size_of(entry: Path) -> int:
    return sum(f.stat().st_size for f in entry.iterdir())


def grid(columns: int = 5, rows: int = 5, block_m: float = 100.0) -> City:
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


def no_dijkstra(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the trees were computed, not loaded")

    monkeypatch.setattr(routing, "dijkstra", fail)


def radial() -> tuple[object, np.ndarray]:
    city = build_city(RadialCity(kind="radial", rings=6))
    return city, np.concatenate([city.places_of("shop"), city.places_of("workplace")])


def test_cached_trees_are_the_computed_trees(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city, dest = radial()
    fresh = Router(city, dest)  # type: ignore[arg-type]
    assert not cache_dir.exists(), "a router built without cache=True writes nothing"
    first = Router(city, dest, cache=True)  # type: ignore[arg-type]
    assert len(entries(cache_dir)) == 1, "the first run stores the trees"
    no_dijkstra(monkeypatch)
    loaded = Router(city, dest, cache=True)  # type: ignore[arg-type]
    for name in ARRAYS:
        for r in (first, loaded):
            a, b = getattr(fresh, name), getattr(r, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name
    # The loaded trees route exactly like fresh ones (marked steps use every array).
    rng = np.random.default_rng(4)
    node = rng.integers(0, city.n_nodes, 300)  # type: ignore[attr-defined]
    root = rng.choice(fresh.destinations, 300)
    toward = rng.random(300) < 0.5  # toward the tree's root, or back from it
    origin, d = np.where(toward, node, root), np.where(toward, root, node)
    marked = rng.random(2 * city.n_edges) < 0.3  # type: ignore[attr-defined]
    s1 = fresh.marked_steps(fresh.skip_tables(marked), origin, d, toward)
    s2 = loaded.marked_steps(loaded.skip_tables(marked), origin, d, toward)
    for f in ("trip", "position", "edge", "along0_m", "along1_m"):
        assert np.array_equal(getattr(s1, f), getattr(s2, f)), f


def test_another_city_or_destination_set_misses(cache_dir: Path) -> None:
    city = grid(6, 6, 100.0)
    Router(city, [0, 35], cache=True)
    Router(city, [0, 34], cache=True)  # other destinations
    longer = grid(6, 6, 100.0)
    longer.edge_length_m[0] = 250.0  # one street longer
    r = Router(longer, [0, 35], cache=True)
    assert len(entries(cache_dir)) == 3, "one entry per (graph, destinations)"
    assert (longer.edge_u[0], longer.edge_v[0]) == (0, 1)
    assert r.distance_m([0], [1])[0] == pytest.approx(250.0), (
        "the longer street (250 m; around the block is 300 m), not the cached 100 m"
    )


def test_a_damaged_entry_is_computed_again(cache_dir: Path) -> None:
    city = grid(5, 5, 100.0)
    expected = Router(city, [12]).dist_m
    Router(city, [12], cache=True)
    (entry,) = entries(cache_dir)
    (entry / "dist_m.npy").write_bytes(b"not an npy file")
    r = Router(city, [12], cache=True)
    assert np.array_equal(r.dist_m, expected)
    (entry / "hops.npy").unlink()
    assert np.array_equal(Router(city, [12], cache=True).hops, Router(city, [12]).hops)


def test_loaded_trees_are_read_only(cache_dir: Path) -> None:
    city = grid(5, 5, 100.0)
    Router(city, [12], cache=True)
    r = Router(city, [12], cache=True)
    with pytest.raises(ValueError, match="read-only"):
        r.dist_m[0, 0] = 1.0  # a cached entry can never be changed by a run


def test_off_writes_nothing(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURVSIM_CACHE", "off")
    assert not cache.enabled()
    Router(grid(5, 5), [12], cache=True)
    assert not cache_dir.exists()


def test_the_size_bound_evicts_the_least_recently_used(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city = grid(20, 20, 50.0)
    dests = [np.arange(k, k + 5) for k in (0, 100, 200, 300)]  # same-sized entries
    Router(city, dests[0], cache=True)
    (first,) = entries(cache_dir)
    size = size_of(first)
    monkeypatch.setenv("SURVSIM_ROUTE_CACHE_MB", str(2.5 * size / 2**20))  # room for two
    Router(city, dests[1], cache=True)
    (second,) = entries(cache_dir) - {first}
    os.utime(first, (1000, 1000))  # clear ages (file clocks are coarse)
    os.utime(second, (2000, 2000))
    Router(city, dests[0], cache=True)  # a hit: the first entry becomes the most recent
    Router(city, dests[2], cache=True)  # three would not fit: the least recently used goes
    left = entries(cache_dir)
    assert first in left and second not in left and len(left) == 2
    assert sum(size_of(p) for p in left) <= 2.5 * size
    monkeypatch.setenv("SURVSIM_ROUTE_CACHE_MB", str(1.5 * size / 2**20))
    Router(city, dests[3], cache=True)  # larger than half the bound: not stored at all
    assert len(entries(cache_dir)) == 2


def test_skip_tables_are_kept_per_set_of_marked_edges(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city, dest = radial()
    rng = np.random.default_rng(5)
    marked = [rng.random(2 * city.n_edges) < p for p in (0.1, 0.3)]  # type: ignore[attr-defined]
    fresh = Router(city, dest)  # type: ignore[arg-type]
    expected = [fresh.skip_tables(m) for m in marked]
    Router(city, dest, cache=True).skip_tables(marked[0])  # type: ignore[arg-type]
    assert len(entries(cache_dir)) == 2, "the trees and one camera network's tables"
    loaded = Router(city, dest, cache=True)  # type: ignore[arg-type]
    calls = []
    monkeypatch.setattr(loaded, "_skip_tables", lambda m: calls.append(m) or fresh.skip_tables(m))
    got = loaded.skip_tables(marked[0])
    assert not calls, "the first network's tables are read, not computed"
    assert all(
        np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(got, expected[0], strict=True)
    )
    got = loaded.skip_tables(marked[1])
    assert len(calls) == 1, "another network is computed"
    assert all(np.array_equal(a, b) for a, b in zip(got, expected[1], strict=True))
    assert len(entries(cache_dir)) == 3


def test_coverage_is_kept_per_camera_network(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city, _ = radial()
    n = 12
    rng = np.random.default_rng(6)

    def network(heading: float) -> Cameras:
        return Cameras(
            node=np.zeros(n, np.int32),
            x_m=rng.uniform(-300, 300, n),
            y_m=rng.uniform(-300, 300, n),
            heading_deg=np.full(n, heading),
            fov_deg=np.full(n, 90.0),
            range_m=np.full(n, 60.0),
            p_capture=np.ones(n),
            deployment=np.zeros(n, np.int16),
            height_m=np.full(n, 4.0),
            deployment_names=["test"],
        )

    nets = [network(0.0), network(135.0)]
    zone = shapely.Point(0.0, 0.0).buffer(80.0)
    expected = [coverage(city, c, zone) for c in nets]  # type: ignore[arg-type]
    assert expected[0].n_pairs > 0, "the cameras see some streets"
    coverage(city, nets[0], zone, cache=True)  # type: ignore[arg-type]
    monkeypatch.setattr(cameras, "_coverage", lambda *a: pytest.fail("computed, not read"))
    for _ in range(2):
        got = coverage(city, nets[0], zone, cache=True)  # type: ignore[arg-type]
        for f in ("ptr", "camera", "frac0", "frac1", "x0_m", "y0_m", "x1_m", "y1_m"):
            a, b = getattr(got, f), getattr(expected[0], f)
            assert a.dtype == b.dtype and np.array_equal(a, b), f
    monkeypatch.undo()
    monkeypatch.setenv("SURVSIM_CACHE", str(cache_dir.parent))
    other = coverage(city, nets[1], zone, cache=True)  # type: ignore[arg-type]
    assert np.array_equal(other.camera, expected[1].camera), "another network is computed"
    no_zone = coverage(city, nets[0], None, cache=True)  # type: ignore[arg-type]
    assert no_zone.n_pairs >= expected[0].n_pairs, "without the zone: its own entry"
    assert len(entries(cache_dir)) == 3


def test_concurrent_runs_share_one_entry(cache_dir: Path) -> None:
    """Threads of one process (the classroom's sessions) building the same city at once."""
    from concurrent.futures import ThreadPoolExecutor

    city, dest = radial()
    expected = Router(city, dest)  # type: ignore[arg-type]
    with ThreadPoolExecutor(4) as pool:
        routers = list(
            pool.map(
                lambda _: Router(city, dest, cache=True),  # type: ignore[arg-type]
                range(8),
            )
        )
    for r in [*routers, Router(city, dest, cache=True)]:  # type: ignore[arg-type]
        for name in ARRAYS:
            assert np.array_equal(getattr(r, name), getattr(expected, name)), name
    assert len(entries(cache_dir)) == 1
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".")], "no temporary left"


def test_the_default_folder_is_the_platforms_cache_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without SURVSIM_CACHE, the cache lives in the platform's cache folder (platformdirs;
    on Linux $XDG_CACHE_HOME, else ~/.cache); SURVSIM_CACHE names another one."""
    import platformdirs

    from sim.cache import cache_dir

    monkeypatch.delenv("SURVSIM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == Path(platformdirs.user_cache_dir("survsim", appauthor=False))
    if sys.platform.startswith("linux"):
        assert cache_dir() == tmp_path / "xdg" / "survsim"
    monkeypatch.setenv("SURVSIM_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
