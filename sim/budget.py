"""Runs too large for this machine, refused up front with the estimate and the limit.

A scenario can be valid and still ask for more than a machine has: fifty million people, a
watchlist of a hundred million, a patrol that moves every nanosecond. Rather than grow until the
kernel kills it (or take a week), survsim estimates what the run will hold in memory, and the
number of steps it will take, before it builds anything, and refuses with the figures. The
estimates are deliberately simple (bytes per row of the big tables, measured on runs of the
shipped scenarios; they err on the high side) and say what dominates, so a user knows what to
shrink.

The memory limit is ``SURVSIM_MAX_MEMORY_GB`` if set, else 80% of this machine's physical memory.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from sim.city import City
from sim.errors import ScenarioError
from sim.kinds import street_view_kinds
from sim.routing_compact import (
    BLOCK_ENTRIES,
    COMPACT_BYTES_PER_ENTRY,
    FULL_BYTES_PER_ENTRY,
    routing_kind,
)
from sim.routing_zoned import zoned_entries
from sim.scenario import Bodycam, Carcam, Facility, GridCity, OsmCity, RadialCity, Scenario
from sim.units import HOUR

# Bytes per row, from the peak memory of runs of the shipped scenarios (10,000 to 1,000,000
# people; a watchlist of 100,000,000), rounded up: a resident (population columns, tables,
# tracking), a trip (its columns, its route in the engine, the trips table read back), a tree
# entry (distance, parent, hops, edge, the parent and level-order tables), a capture, a
# watchlist entry, a patrol interval, a door check.
_PER_PERSON = 120
_PER_TRIP = 200
_PER_TREE_ENTRY = FULL_BYTES_PER_ENTRY
_PER_ZONED_ENTRY = 13  # a zone-tree entry (slot, distance, entry) or a last-leg entry
_PER_BLOCK_ENTRY = 48  # a block of compact trees as it is computed (Dijkstra, ties, sums)
_PER_CAPTURE = 40
_PER_ENTRY = 110
_PER_INTERVAL = 40
_PER_CHECK = 56
_BASE = 400 * 2**20  # the interpreter, numpy, scipy, pyarrow, shapely, simpy

MAX_CROSSINGS = 20_000_000  # a generated city (the largest real metropolis has ~1M)
MAX_BATCHES = 100_000  # micro-batches of a run: each costs a few Arrow writes
MAX_LOOP_STEPS = 20_000_000  # beats and car loops are drawn step by step


@dataclass(frozen=True)
class Part:
    """One contribution to a run's memory: what, which setting drives it, and bytes."""

    what: str
    key: str
    bytes: float


def memory_limit_bytes() -> float:
    """``SURVSIM_MAX_MEMORY_GB`` (GiB) if set and positive, else 80% of physical memory."""
    raw = os.environ.get("SURVSIM_MAX_MEMORY_GB", "").strip()
    if raw:
        try:
            gb = float(raw)
        except ValueError:
            gb = -1.0
        if gb > 0 and math.isfinite(gb):
            return gb * 2**30
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux/macOS
        total = 16 * 2**30
    return 0.8 * float(total)


def crossings(spec: GridCity | RadialCity | OsmCity) -> int | None:
    """Street crossings a generated city will have (None for a real map: known once read)."""
    if isinstance(spec, GridCity):
        return spec.columns * spec.rows
    if isinstance(spec, RadialCity):
        total, doubling = 1, 0
        for k in range(1, spec.rings + 1):  # as sim.city._radial lays out its rings
            r = k * spec.ring_spacing_m
            ratio = max(2 * math.pi * r / (spec.block_m * spec.spokes), 1.0)
            doubling = max(doubling, max(0, round(math.log2(ratio))))
            if doubling > 40:
                return 2**62
            total += spec.spokes * 2**doubling
        return total
    return None


def _days(sc: Scenario) -> int:
    return max(1, math.ceil(sc.duration_h / 24.0))


def trips_per_person_day(sc: Scenario) -> float:
    """Expected trips per resident and day (commutes, errands, leisure, flights: out and back)."""
    p = sc.population
    commuting = p.age_bands.adult * p.employment_rate + p.age_bands.child
    return 2.0 * (commuting + p.errands_per_day + p.leisure_per_day + p.flights_per_day)


def memory_parts(sc: Scenario, city: City | None = None) -> list[Part]:
    """The run's memory, part by part (bytes; estimates)."""
    people = sc.population.people
    days = _days(sc)
    n = city.n_nodes if city is not None else crossings(sc.city)
    trips = people * days * trips_per_person_day(sc) + sum(g.size * 2 for g in sc.gathering)
    parts = [
        Part("residents", "population.people", people * _PER_PERSON),
        Part("trips", "population.people", trips * _PER_TRIP),
    ]
    if n is not None:
        if city is not None:
            dest = len(set(city.place_node.tolist())) + len(city.district_names)
        else:
            places = sc.city.places
            dest = sum(int(getattr(places, f)) for f in type(places).model_fields) + 33
        dest = min(dest, n)
        kind = routing_kind(dest, n, sc.routing.paths)
        if kind == "whole":
            trees = float(dest) * n * _PER_TREE_ENTRY
        elif kind == "compact":  # compact trees, and the block being computed
            trees = float(dest) * n * COMPACT_BYTES_PER_ENTRY + BLOCK_ENTRIES * _PER_BLOCK_ENTRY
        else:  # zone trees and last legs, and the block of zone trees being computed
            zone, legs = zoned_entries(dest, n)
            trees = (zone + legs) * _PER_ZONED_ENTRY + BLOCK_ENTRIES * _PER_BLOCK_ENTRY
        what = "destinations x crossings" if kind != "zones" else "zones x crossings"
        parts.append(Part(f"routing trees ({what})", "city", trees))
    deployments = [] if sc.governance.ban else sc.deployment
    street = sum(getattr(d, "count", 0) for d in deployments if d.kind in street_view_kinds())
    if n and street:
        per_trip = min(3.0, 8.0 * street / n)  # captures per trip, saturating in dense networks
        parts.append(Part("captures", "deployment.count", trips * per_trip * _PER_CAPTURE))
    entries = sc.watchlist.size + sum(w.size for w in sc.watchlists.values())
    lists = 1 + len(sc.watchlists)
    parts.append(
        Part("watchlist entries", "watchlist.size", entries * _PER_ENTRY + lists * people * 4.0)
    )
    mean_edge = (
        float(city.edge_length_m.mean()) if city is not None and city.n_edges else _block_m(sc)
    )
    for i, d in enumerate(deployments):
        if isinstance(d, Bodycam | Carcam):
            shift_s = (d.end_h - d.start_h) * HOUR
            step_s = d.dwell_s if isinstance(d, Bodycam) else max(mean_edge / d.speed_mps, 1.0)
            devices = d.officers if isinstance(d, Bodycam) else d.cars
            parts.append(
                Part(
                    "patrol schedule",
                    f"deployment.{i}",
                    devices * days * (shift_s / step_s + 1) * _PER_INTERVAL,
                )
            )
        elif isinstance(d, Facility):
            checks = (
                d.inmates * d.checks_per_inmate_per_day
                + d.impostor_attempts_per_day
                + d.visitors_per_day
            ) * days
            parts.append(Part("door checks", f"deployment.{i}", checks * _PER_CHECK))
    return parts


def _block_m(sc: Scenario) -> float:
    c = sc.city
    return float(c.block_m) if isinstance(c, GridCity | RadialCity) else 50.0


def budget_problems(sc: Scenario, city: City | None = None) -> list[str]:
    """What in ``sc`` would exhaust this machine's memory or take far too long (empty: fine).

    Without ``city`` only what the settings alone tell is checked (the city is not built yet).
    """
    problems: list[str] = []
    n = crossings(sc.city) if city is None else city.n_nodes
    if n is not None and n > MAX_CROSSINGS:
        problems.append(
            f"city: these settings make a city of {_count(n)} street crossings; "
            f"expected at most {MAX_CROSSINGS:,} (fewer rings or columns, or a "
            f"longer block_m)"
        )
        return problems  # nothing else can be estimated for such a city
    batches = sc.duration_s / sc.engine.batch_s
    if batches > MAX_BATCHES:
        problems.append(
            f"engine.batch_s: {sc.engine.batch_s:g} s makes {_count(batches)} "
            f"micro-batches over {sc.duration_h:g} h; expected at most "
            f"{MAX_BATCHES:,} (batch_s at least {sc.duration_s / MAX_BATCHES:.3g} s)"
        )
    for i, d in enumerate([] if sc.governance.ban else sc.deployment):
        if isinstance(d, Bodycam | Carcam):
            devices = d.officers if isinstance(d, Bodycam) else d.cars
            loop = 2 * (d.beat_nodes if isinstance(d, Bodycam) else d.route_nodes)
            if devices * loop > MAX_LOOP_STEPS:
                problems.append(
                    f"deployment.{i}: {devices:,} devices x {loop:,} crossings per "
                    f"round is {_count(devices * loop)} steps to draw; expected at "
                    f"most {MAX_LOOP_STEPS:,}"
                )
    parts = memory_parts(sc, city)
    need = _BASE + sum(p.bytes for p in parts)
    limit = memory_limit_bytes()
    if need > limit:
        top = sorted(parts, key=lambda p: -p.bytes)[:3]
        detail = ", ".join(f"{p.what} {gib(p.bytes)} ({p.key})" for p in top if p.bytes > 0)
        problems.append(
            f"this run would need about {gib(need)} of memory, more than the "
            f"{gib(limit)} allowed here (80% of this machine's memory, or "
            f"SURVSIM_MAX_MEMORY_GB); most of it: {detail}. Make the run smaller"
            + (
                ', or route by zones (routing.paths = "zones": approximate, see its description)'
                if top[0].what.startswith("routing trees (destinations") and top[0].bytes > need / 2
                else ""
            )
        )
    return problems


def check_budget(sc: Scenario, city: City | None = None) -> None:
    """Raise :class:`ScenarioError` with every problem of :func:`budget_problems`."""
    problems = budget_problems(sc, city)
    if problems:
        raise ScenarioError(problems)


def gib(b: float) -> str:
    """Bytes, readably: GiB from 1 GiB up, else MiB."""
    if not math.isfinite(b) or b > 2**80:
        return "an unbounded amount"
    return f"{b / 2**30:,.1f} GiB" if b >= 2**30 else f"{b / 2**20:,.0f} MiB"


def _count(x: float) -> str:
    if not math.isfinite(x):
        return "unboundedly many"
    return f"{x:,.0f}" if x < 1e15 else f"{x:.2g}"
