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
from sim.schema import TABLES, Column
from sim.world import World

_STATIC_CHUNK = 65_536


def dict_array(codes: npt.ArrayLike, names: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
    """A dictionary-encoded column: codes into ``names``."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, np.int16)), dictionary(tuple(names))
    )


@functools.lru_cache(maxsize=256)
def dictionary(names: tuple[str, ...]) -> pa.Array:
    """A dictionary column's values (built once per set of names; Arrow arrays are
    immutable, so batches can share them)."""
    return pa.array(list(names), pa.string())


def batch(table: str, columns: dict[str, object]) -> pa.RecordBatch:
    """One batch of ``table``, its columns in the schema's order and of the schema's types.

    A column may be an Arrow array, or values (a numpy array, a list) converted to the
    schema's type; an enumerated column's values are its codes into the values the schema
    declares (``Column.values``). A column missing from ``columns`` is an error.
    """
    schema, names = schema_and_names(table)
    spec = _column_specs(table)
    return pa.RecordBatch.from_arrays(
        [_arrow(columns[name], spec[name]) for name in names], schema=schema
    )


def _arrow(values: object, col: Column) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    if pa.types.is_dictionary(col.type):
        if not col.values:
            raise TypeError(f"column {col.name}: its values are the run's own; give a dict_array")
        return dict_array(values, col.values)  # type: ignore[arg-type]
    return pa.array(values, type=col.type)


@functools.lru_cache(maxsize=64)
def schema_and_names(table: str) -> tuple[pa.Schema, tuple[str, ...]]:
    schema = TABLES[table].schema()
    return schema, tuple(schema.names)


@functools.lru_cache(maxsize=64)
def _column_specs(table: str) -> dict[str, Column]:
    return {c.name: c for c in TABLES[table].columns}


def static_batches(
    w: World, entry_of_person: npt.NDArray[np.integer]
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """The tables that do not change during a run: groups, people, watchlists, gatherings,
    the street graph and the devices (people in chunks of ``_STATIC_CHUNK``)."""
    yield "groups", _groups(w)
    yield from _people(w, entry_of_person)
    yield from _watchlists(w)
    yield from _gatherings(w)
    yield from _streets(w)
    yield "cameras", _cameras(w)


def _groups(w: World) -> pa.RecordBatch:
    s = w.scenario
    pop = w.population
    return batch(
        "groups",
        {
            "group_id": np.arange(len(pop.group_names)),
            "group": pop.group_names,
            "label": pop.group_labels,
            "share": [g.share for g in s.population.groups],
            "model_group": [g.model_group or g.name for g in s.population.groups],
            "classifier_label": [
                w.classifier.truth[int(m)] if w.classifier is not None else ""
                for m in w.classifier_row
            ],
        },
    )


def _people(
    w: World, entry_of_person: npt.NDArray[np.integer]
) -> Iterator[tuple[str, pa.RecordBatch]]:
    pop = w.population
    listed = np.asarray((entry_of_person >= 0).any(axis=0), bool)
    for a in range(0, pop.n, _STATIC_CHUNK):
        sl = slice(a, min(a + _STATIC_CHUNK, pop.n))
        yield (
            "people",
            batch(
                "people",
                {
                    "person_id": np.arange(sl.start, sl.stop),
                    "group_id": pop.group[sl],
                    "age_band": pop.age_band[sl],
                    "home_node": pop.home_node[sl],
                    "work_node": pop.work_node[sl],
                    "speed_mps": pop.speed_mps[sl],
                    "is_listed": listed[sl],
                },
            ),
        )


def _watchlists(w: World) -> Iterator[tuple[str, pa.RecordBatch]]:
    names = list(w.watchlists)
    for i, wl in enumerate(w.watchlists.values()):
        yield (
            "watchlist",
            batch(
                "watchlist",
                {
                    "watchlist": dict_array(np.full(wl.size, i), names),
                    "entry_id": np.arange(wl.size),
                    "group_id": wl.group,
                    "person_id": wl.person_id,
                },
            ),
        )


def _gatherings(w: World) -> Iterator[tuple[str, pa.RecordBatch]]:
    g = w.gatherings
    yield (
        "gatherings",
        batch(
            "gatherings",
            {
                "gathering_id": np.arange(g.n),
                "name": g.name,
                "node": g.node,
                "x_m": w.city.node_x_m[g.node],
                "y_m": w.city.node_y_m[g.node],
                "start_s": g.start_s,
                "end_s": g.end_s,
                "size": np.bincount(g.participant_gathering, minlength=g.n),
                "routine": g.routine,
            },
        ),
    )
    yield (
        "gathering_participants",
        batch(
            "gathering_participants",
            {"gathering_id": g.participant_gathering, "person_id": g.participant_person},
        ),
    )


def _streets(w: World) -> Iterator[tuple[str, pa.RecordBatch]]:
    """The street graph: its nodes, then its edges (each with its geometry's points)."""
    city = w.city
    yield (
        "nodes",
        batch(
            "nodes",
            {
                "node": np.arange(city.n_nodes),
                "x_m": city.node_x_m,
                "y_m": city.node_y_m,
                "district": dict_array(city.node_district, city.district_names),
            },
        ),
    )
    coords = shapely.get_coordinates(city.edge_geometry)
    offsets = np.concatenate(
        [[0], np.cumsum(shapely.get_num_coordinates(city.edge_geometry))]
    ).astype(np.int32)
    yield (
        "edges",
        batch(
            "edges",
            {
                "edge": np.arange(city.n_edges),
                "u": city.edge_u,
                "v": city.edge_v,
                "length_m": city.edge_length_m,
                "x_m": pa.ListArray.from_arrays(pa.array(offsets), pa.array(coords[:, 0])),
                "y_m": pa.ListArray.from_arrays(pa.array(offsets), pa.array(coords[:, 1])),
            },
        ),
    )


def _cameras(w: World) -> pa.RecordBatch:
    c = w.cameras
    return batch(
        "cameras",
        {
            "camera_id": np.arange(c.n),
            "deployment": dict_array(c.deployment, c.deployment_names),
            "node": c.node,
            "x_m": c.x_m,
            "y_m": c.y_m,
            "heading_deg": c.heading_deg,
            "fov_deg": c.fov_deg,
            "range_m": c.range_m,
            "height_m": c.height_m,
            "kind": dict_array(c.kind, kind_names()),
            "watchlist": dict_array(c.watchlist, list(w.watchlists)),
            "active_from_s": c.active_from_s,
            "active_to_s": c.active_to_s,
        },
    )
