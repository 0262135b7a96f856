"""Arrow batches from the schema (``sim.schema.TABLES``): the column order and types of every
table are the schema's, and the tables that do not change during a run are built here."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely

from sim.kinds import kind_names
from sim.population import AGE_BANDS
from sim.schema import TABLES
from sim.world import World

_STATIC_CHUNK = 65_536


def dict_array(codes: npt.ArrayLike, names: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
    """A dictionary-encoded column: codes into ``names``."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, np.int16)),
                                          dictionary(tuple(names)))


@functools.lru_cache(maxsize=256)
def dictionary(names: tuple[str, ...]) -> pa.Array:
    """A dictionary column's values (built once per set of names; Arrow arrays are
    immutable, so batches can share them)."""
    return pa.array(list(names), pa.string())


def batch(table: str, columns: dict[str, object]) -> pa.RecordBatch:
    schema, names = schema_and_names(table)
    return pa.RecordBatch.from_arrays([columns[name] for name in names], schema=schema)


@functools.lru_cache(maxsize=64)
def schema_and_names(table: str) -> tuple[pa.Schema, tuple[str, ...]]:
    schema = TABLES[table].schema()
    return schema, tuple(schema.names)


def static_batches(w: World, entry_of_person: npt.NDArray[np.integer]
                   ) -> Iterator[tuple[str, pa.RecordBatch]]:
    """The tables that do not change during a run: groups, people, watchlists, gatherings,
    the street graph and the devices (people in chunks of ``_STATIC_CHUNK``)."""
    s = w.scenario
    pop = w.population
    yield "groups", batch("groups", {
        "group_id": pa.array(np.arange(len(pop.group_names), dtype=np.int16)),
        "group": pa.array(pop.group_names),
        "label": pa.array(pop.group_labels),
        "share": pa.array([g.share for g in s.population.groups], pa.float64()),
        "model_group": pa.array([g.model_group or g.name for g in s.population.groups]),
        "classifier_label": pa.array(
            [w.classifier.truth[int(m)] if w.classifier is not None else ""
             for m in w.classifier_row], pa.string()),
    })
    listed = np.asarray((entry_of_person >= 0).any(axis=0), bool)
    for a in range(0, pop.n, _STATIC_CHUNK):
        sl = slice(a, min(a + _STATIC_CHUNK, pop.n))
        yield "people", batch("people", {
            "person_id": pa.array(np.arange(sl.start, sl.stop, dtype=np.int32)),
            "group_id": pa.array(pop.group[sl]),
            "age_band": dict_array(pop.age_band[sl], AGE_BANDS),
            "home_node": pa.array(pop.home_node[sl]),
            "work_node": pa.array(pop.work_node[sl]),
            "speed_mps": pa.array(pop.speed_mps[sl]),
            "is_listed": pa.array(listed[sl]),
        })
    names = list(w.watchlists)
    for i, wl in enumerate(w.watchlists.values()):
        yield "watchlist", batch("watchlist", {
            "watchlist": dict_array(np.full(wl.size, i), names),
            "entry_id": pa.array(np.arange(wl.size, dtype=np.int32)),
            "group_id": pa.array(wl.group),
            "person_id": pa.array(wl.person_id),
        })
    g = w.gatherings
    yield "gatherings", batch("gatherings", {
        "gathering_id": pa.array(np.arange(g.n, dtype=np.int32)),
        "name": pa.array(g.name, pa.string()),
        "node": pa.array(g.node), "x_m": pa.array(w.city.node_x_m[g.node]),
        "y_m": pa.array(w.city.node_y_m[g.node]),
        "start_s": pa.array(g.start_s), "end_s": pa.array(g.end_s),
        "size": pa.array(np.bincount(g.participant_gathering, minlength=g.n)
                         .astype(np.int32)),
        "routine": pa.array(g.routine),
    })
    yield "gathering_participants", batch("gathering_participants", {
        "gathering_id": pa.array(g.participant_gathering),
        "person_id": pa.array(g.participant_person),
    })
    city = w.city
    yield "nodes", batch("nodes", {
        "node": pa.array(np.arange(city.n_nodes, dtype=np.int32)),
        "x_m": pa.array(city.node_x_m), "y_m": pa.array(city.node_y_m),
        "district": dict_array(city.node_district, city.district_names),
    })
    coords = shapely.get_coordinates(city.edge_geometry)
    offsets = np.concatenate([[0], np.cumsum(shapely.get_num_coordinates(
        city.edge_geometry))]).astype(np.int32)
    yield "edges", batch("edges", {
        "edge": pa.array(np.arange(city.n_edges, dtype=np.int32)),
        "u": pa.array(city.edge_u.astype(np.int32)),
        "v": pa.array(city.edge_v.astype(np.int32)),
        "length_m": pa.array(city.edge_length_m.astype(np.float64)),
        "x_m": pa.ListArray.from_arrays(pa.array(offsets), pa.array(coords[:, 0])),
        "y_m": pa.ListArray.from_arrays(pa.array(offsets), pa.array(coords[:, 1])),
    })
    c = w.cameras
    yield "cameras", batch("cameras", {
        "camera_id": pa.array(np.arange(c.n, dtype=np.int32)),
        "deployment": dict_array(c.deployment, c.deployment_names),
        "node": pa.array(c.node), "x_m": pa.array(c.x_m), "y_m": pa.array(c.y_m),
        "heading_deg": pa.array(c.heading_deg), "fov_deg": pa.array(c.fov_deg),
        "range_m": pa.array(c.range_m), "height_m": pa.array(c.height_m),
        "kind": dict_array(c.kind, kind_names()),
        "watchlist": dict_array(c.watchlist, list(w.watchlists)),
        "active_from_s": pa.array(c.active_from_s), "active_to_s": pa.array(c.active_to_s),
    })
