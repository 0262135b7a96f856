"""What a scenario says about its city, checked against the city itself.

A scenario names places ("Central Plaza", "Plaza 2 (West)"), place types and districts that only
exist once the city is built. Their names are fixed by the city's own seed (``city.seed``, see
:func:`sim.city.city_seed`), not by the run seed, so a file that is right is right at every seed
and replication. ``survsim validate`` builds the city and runs :func:`reference_problems`, and so
does every run, before any work; ``survsim places FILE`` lists the names (:func:`place_rows`).

Place names: ``"<Type> <n> (<district>)"``, numbered from 1 within each type in the order the
city chose them (a larger count keeps the earlier ones), e.g. "Shop 3 (North-East)"; the central
plaza is "Central Plaza"; on a real map, places tagged with a name keep their name.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.city import PLACE_TYPES, City
from sim.errors import ScenarioError, shown
from sim.kinds import Placing, kinds
from sim.population import district_capacity, district_composition
from sim.scenario import Scenario


def place_rows(city: City) -> list[dict[str, Any]]:
    """One row per place: name, type, district, node and position (metres)."""
    return [
        {
            "name": name,
            "type": PLACE_TYPES[int(t)],
            "district": city.district_names[int(city.node_district[node])],
            "node": int(node),
            "x_m": round(float(city.node_x_m[node]), 1),
            "y_m": round(float(city.node_y_m[node]), 1),
        }
        for name, t, node in zip(city.place_name, city.place_type, city.place_node, strict=True)
    ]


def suggest_places(name: str, city: City, of_type: str | None = None) -> str:
    """The places a wrong name most likely meant, and some of the type it looks like."""
    names = list(city.place_name)
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    if of_type is None:
        label = name.split(" ")[0].lower()
        of_type = next((t for t in PLACE_TYPES if t.startswith(label)), None)
    same = (
        [n for n, t in zip(names, city.place_type, strict=True) if PLACE_TYPES[int(t)] == of_type]
        if of_type
        else []
    )
    if not same:  # no type to go by: the first two of every type
        same = [
            n
            for t in range(len(PLACE_TYPES))
            for n in [m for m, ty in zip(names, city.place_type, strict=True) if ty == t][:2]
        ]
    picked = list(dict.fromkeys([*close, *same]))[:14]
    more = len(city.place_name) - len(picked)
    listing = ", ".join(map(repr, picked)) + (f" and {more:,} more" if more > 0 else "")
    return f"places that exist include: {listing}; `survsim places FILE` lists them all"


def reference_problems(scenario: Scenario, city: City) -> list[str]:
    """Every place, place type, district and count in ``scenario`` the city cannot honour."""
    problems: list[str] = []
    names = set(city.place_name)
    counts = {t: int(np.count_nonzero(city.place_type == i)) for i, t in enumerate(PLACE_TYPES)}
    for i, g in enumerate(scenario.gathering):
        if g.place in names:
            continue
        if g.place in PLACE_TYPES:
            if counts[g.place] == 0:
                problems.append(
                    f"gathering.{i}.place: the city has no place of type "
                    f"{shown(g.place)}; set city.places to include one, or name a "
                    f"place"
                )
            continue
        problems.append(
            f"gathering.{i}.place: no place named {shown(g.place)} and no such place "
            f"type; {suggest_places(g.place, city)}"
        )
    try:
        district_composition(scenario.population, city.district_names, district_capacity(city))
    except ScenarioError as exc:
        problems.extend(exc.problems)
    registry = kinds()
    for i, d in enumerate([] if scenario.governance.ban else scenario.deployment):
        problems.extend(registry[d.kind].check(d, i, city))
    return problems


def place_type_problems(spec: Any, index: int, city: City, count: int | None) -> list[str]:
    """Whether the city has ``count`` places (None: at least one) of ``spec.place_type``."""
    ptype = spec.place_type
    have = int(np.unique(city.places_of(ptype)).size)
    want = count or have
    if have == 0:
        return [
            f"deployment.{index}.place_type: the city has no place of type {shown(ptype)}; "
            f"set city.places to include some"
        ]
    if want > have:
        return [
            f"deployment.{index}.count: {want} {spec.kind}s at places of type "
            f"{shown(ptype)} but the city has {have}; expected at most {have}"
        ]
    return []


def place_type_sites(spec: Any, at: Placing, count: int | None) -> npt.NDArray[np.integer[Any]]:
    """The crossings of ``count`` places (None: all) of ``spec.place_type``, drawn at random."""
    nodes = np.unique(at.city.places_of(spec.place_type))
    want = count or nodes.size
    if want < nodes.size:
        nodes = np.sort(at.rng.choice(nodes, size=want, replace=False))
    return nodes


def check_references(scenario: Scenario, city: City) -> None:
    """Raise :class:`ScenarioError` listing every problem of :func:`reference_problems`."""
    problems = reference_problems(scenario, city)
    if problems:
        raise ScenarioError(problems)
