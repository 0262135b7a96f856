"""People as numpy columns, and their day plans turned into trips.

No Python object per person (house rule 3): a :class:`Population` is a set of arrays indexed by
person id, and :func:`plan_trips` builds every trip of the run as arrays, one vectorised pass per
activity slot and day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sim.city import PLACE_TYPES, City
from sim.errors import ScenarioError
from sim.order import time_order
from sim.routing_compact import Routes, nearest
from sim.scenario import DayPlan
from sim.scenario import Gathering as GatheringSpec
from sim.scenario import Population as PopulationSpec
from sim.schema import AGE_BANDS as AGE_BANDS
from sim.schema import PURPOSES as PURPOSES
from sim.units import HOUR, MINUTE

# The day plan of plan_trips (when people leave, how long they stay, ...) is
# [population.day_plan] (sim.scenario.DayPlan): every value an assumption, with no source.


@dataclass
class Population:
    """The people of the city (truth), one array per attribute, indexed by person id."""

    group: npt.NDArray[np.int16]
    age_band: npt.NDArray[np.int8]
    home_node: npt.NDArray[np.int32]
    work_node: npt.NDArray[np.int32]  # workplace or school; -1 for none
    speed_mps: npt.NDArray[np.float32]
    group_names: list[str]
    group_labels: list[str]

    @property
    def n(self) -> int:
        return int(self.group.size)

    def group_counts(self) -> npt.NDArray[np.int64]:
        return np.bincount(self.group, minlength=len(self.group_names))


def build_population(
    spec: PopulationSpec, city: City, router: Routes, rng: np.random.Generator
) -> Population:
    """Draw groups, ages, homes, workplaces and walking speeds.

    Homes: every crossing holds homes; a group's chance of living in a district follows its
    ``district_shares`` relative to its city-wide share (segregated cities), so that the share of
    group g among a district's residents is close to the share given.
    """
    n = spec.people
    names = [g.name for g in spec.groups]
    n_d = len(city.district_names)
    nodes_in = [np.flatnonzero(city.node_district == d) for d in range(n_d)]
    hw = city.home_weight
    capacity = district_capacity(city)
    if hw is not None:  # real maps: homes where the buildings (or the residential streets) are
        cum_in = [np.cumsum(hw[a]) / max(hw[a].sum(), 1e-300) for a in nodes_in]
    composition = district_composition(spec, city.district_names, capacity)
    # Homes first (every crossing holds homes), then each resident's group from the make-up of
    # their district.
    district = rng.choice(n_d, size=n, p=capacity / capacity.sum())
    pick = rng.random(n)
    home_node = np.empty(n, np.int32)
    group = np.empty(n, np.int16)
    for d in range(n_d):
        sel = np.flatnonzero(district == d)
        if sel.size:
            if hw is None:
                home_node[sel] = nodes_in[d][(pick[sel] * nodes_in[d].size).astype(np.int64)]
            else:
                at = np.searchsorted(cum_in[d], pick[sel], side="right")
                home_node[sel] = nodes_in[d][np.minimum(at, nodes_in[d].size - 1)]
            group[sel] = rng.choice(len(names), size=sel.size, p=composition[:, d])
    ages = spec.age_bands
    age_p = np.array([ages.child, ages.adult, ages.senior])
    age_band = rng.choice(3, size=n, p=age_p / age_p.sum()).astype(np.int8)

    work_node = np.full(n, -1, np.int32)
    workplaces = city.places_of("workplace")
    attract = np.exp(-city.distance_from_centre_m()[workplaces] / 2000.0) + 0.1
    workers = (age_band == 1) & (rng.random(n) < spec.employment_rate)
    work_node[workers] = rng.choice(workplaces, size=int(workers.sum()), p=attract / attract.sum())
    # Children go to the school nearest home; schools are destinations so the router knows them.
    children = np.flatnonzero(age_band == 0)
    schools = city.places_of("school")
    if children.size:
        work_node[children] = schools[nearest(router, schools, home_node[children])]

    speed = rng.normal(spec.walking_speed_mps, spec.walking_speed_sd_mps, n)
    # Seniors walk more slowly (Bohannon 1997: ~1.2-1.3 m/s past 60 versus ~1.4 below).
    speed = np.where(age_band == 2, speed * 0.9, speed)
    speed_mps = np.clip(speed, 0.5, 2.5).astype(np.float32)
    return Population(
        group,
        age_band,
        home_node,
        work_node,
        speed_mps,
        names,
        [g.label or g.name.replace("_", " ") for g in spec.groups],
    )


def district_capacity(city: City) -> npt.NDArray[np.float64]:
    """How many homes each district holds (relative): its crossings, or on a real map the
    home weight of its crossings (buildings or residential streets)."""
    n_d = len(city.district_names)
    if city.home_weight is None:
        return np.bincount(city.node_district, minlength=n_d).astype(np.float64)
    return np.asarray(np.bincount(city.node_district, city.home_weight, minlength=n_d), np.float64)


def district_composition(
    spec: PopulationSpec, district_names: list[str], capacity: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Share of each group (rows) among each district's residents (columns).

    The shares a scenario names (``district_shares``) are kept; the rest is fitted by iterative
    proportional fitting so that every district sums to 1 and every group keeps its city-wide
    share (districts weighted by how many homes they hold).
    """
    shares = np.array([g.share for g in spec.groups], np.float64)
    n_g, n_d = shares.size, len(district_names)
    fixed = np.zeros((n_g, n_d), bool)
    c = np.repeat(shares[:, None], n_d, axis=1)
    problems = []
    for gi, g in enumerate(spec.groups):
        for dname, share in g.district_shares.items():
            if dname not in district_names:
                problems.append(
                    f"population.groups.{gi}.district_shares: unknown district {dname!r}; the "
                    f"city's districts are: {', '.join(district_names)}"
                )
                continue
            d = district_names.index(dname)
            fixed[gi, d] = True
            c[gi, d] = share
    w = capacity / capacity.sum()
    for dd in np.flatnonzero((c * fixed).sum(axis=0) > 1 + 1e-9).tolist():
        problems.append(
            f"population.groups: the district_shares given for "
            f"{district_names[dd]!r} add up to more than 1"
        )
    for gg in np.flatnonzero((c * fixed * w).sum(axis=1) > shares + 1e-9).tolist():
        problems.append(
            f"population.groups.{gg}.district_shares: these districts alone would "
            f"hold more of group {spec.groups[gg].name!r} than its city-wide share "
            f"{shares[gg]:g} allows"
        )
    for dd in range(n_d):
        total = float((c * fixed)[:, dd].sum())
        if fixed[:, dd].all() and abs(total - 1) > 1e-6:
            problems.append(
                f"population.groups: every group's district_shares name "
                f"{district_names[dd]!r}, and they add up to {total:g}; expected 1 "
                f"(no group is left to make up the rest of its residents)"
            )
    if problems:
        raise ScenarioError(problems)
    free = ~fixed
    for _ in range(200):
        col_room = 1.0 - (c * fixed).sum(axis=0)
        col_free = (c * free).sum(axis=0)
        c = np.where(
            free, c * np.divide(col_room, col_free, out=np.zeros(n_d), where=col_free > 0), c
        )
        row_room = shares - (c * fixed * w).sum(axis=1)
        row_free = (c * free * w).sum(axis=1)
        factor = np.divide(row_room, row_free, out=np.ones(n_g), where=row_free > 0)
        c = np.where(free, c * factor[:, None], c)
        if np.allclose(c.sum(axis=0), 1.0, atol=1e-9):
            break
    c = np.clip(c, 0.0, None)
    empty = [district_names[d] for d in np.flatnonzero(~(c.sum(axis=0) > 0)).tolist()]
    if empty:
        raise ScenarioError(
            f"population.groups: with these shares and district_shares no "
            f"group can live in {', '.join(map(repr, empty))}; every district "
            f"has homes, so some group needs a share above 0 there"
        )
    return c / c.sum(axis=0, keepdims=True)


@dataclass
class Trips:
    """Every trip of the run, sorted by departure time; trip id = row index."""

    person_id: npt.NDArray[np.int32]
    depart_s: npt.NDArray[np.float64]
    arrive_s: npt.NDArray[np.float64]
    origin_node: npt.NDArray[np.int32]
    dest_node: npt.NDArray[np.int32]
    toward_dest: npt.NDArray[np.bool_]  # routing: tree of dest (True) or of origin (False)
    purpose: npt.NDArray[np.int8]
    length_m: npt.NDArray[np.float64]

    @property
    def n(self) -> int:
        return int(self.person_id.size)

    def take(self, idx: npt.ArrayLike) -> Trips:
        return Trips(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def trip_destinations(city: City) -> npt.NDArray[np.int32]:
    """The nodes that every trip starts or ends at (besides homes)."""
    return np.unique(city.place_node)


def plan_trips(
    pop: Population,
    spec: PopulationSpec,
    city: City,
    router: Routes,
    duration_s: float,
    streams_for_day: list[np.random.Generator],
    visits: Sequence[tuple[int, float]] = (),
) -> Trips:
    """Turn each person's day plan into trips, day by day.

    A day: workers and pupils leave home in the morning, stay at work or school and come back,
    some stopping at a shop on the way; then errands (shops) and leisure (plazas, places of
    worship, stations) as home-based tours in the remaining hours. Tours of one person never
    overlap: each starts when the previous one has ended. ``visits`` adds, per (node, visitors
    per day), visits to a place such as a prison (1-2 hours, then home).
    """
    log = _TripLog(router, pop.speed_mps.astype(np.float64), pop.home_node)
    shops = city.places_of("shop")
    leisure_nodes = np.concatenate(
        [city.places_of("plaza"), city.places_of("place_of_worship"), city.places_of("transit_hub")]
    )
    airports = city.places_of("airport")
    for day, rng in enumerate(streams_for_day):
        t0 = day * 24 * HOUR
        today = _Day(rng, t0, np.full(pop.n, t0, np.float64), spec.day_plan)
        _commutes(log, today, pop, shops)
        _home_tours(log, today, pop, spec, shops, leisure_nodes)
        if airports.size and spec.flights_per_day > 0:
            _airport_trips(log, today, pop, spec, airports)
        for node, per_day in visits:
            _visits(log, today, pop, node, per_day)
    return _joined(log.parts, duration_s)


@dataclass
class _TripLog:
    """The trips planned so far, one dict of columns per call of :meth:`add`."""

    router: Routes
    speed: npt.NDArray[np.float64]  # walking speed per person
    home: npt.NDArray[np.int32]  # home node per person
    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(
        self,
        who: np.ndarray,
        depart: np.ndarray,
        origin: np.ndarray,
        dest: np.ndarray,
        toward: np.ndarray,
        purpose: int,
    ) -> np.ndarray:
        """Record one trip per person of ``who``; returns their arrival times."""
        root = np.where(toward, dest, origin)
        other = np.where(toward, origin, dest)
        length = self.router.distance_m(root, other)
        arrive = depart + length / self.speed[who]
        self.parts.append(
            {
                "person_id": who,
                "depart_s": depart,
                "arrive_s": arrive,
                "origin_node": origin,
                "dest_node": dest,
                "toward_dest": toward,
                "purpose": np.full(who.size, purpose, np.int8),
                "length_m": length,
            }
        )
        return arrive

    def there_and_home(
        self,
        who: np.ndarray,
        depart: np.ndarray,
        origin: np.ndarray,
        dest: np.ndarray,
        stay_s: np.ndarray,
        purpose: int,
    ) -> np.ndarray:
        """Trips from ``origin`` to ``dest``, a stay there, then home; returns the times home."""
        there = self.add(who, depart, origin, dest, np.ones(who.size, bool), purpose)
        return self.add(
            who,
            there + stay_s,
            dest,
            self.home[who],
            np.zeros(who.size, bool),
            PURPOSES.index("home"),
        )


@dataclass
class _Day:
    """One day of planning: its random stream, its start and when each person is home and free."""

    rng: np.random.Generator
    t0: float
    free_at: npt.NDArray[np.float64]
    plan: DayPlan

    def departures(self, who: np.ndarray, wish_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Those of ``who`` leaving before the last departure (at the hour wished, or once free)."""
        depart = np.maximum(self.t0 + wish_h * HOUR, self.free_at[who] + self.plan.tour_gap_s)
        ok = depart < self.t0 + self.plan.last_departure_h * HOUR
        return who[ok], depart[ok]


def _people(mask: np.ndarray) -> npt.NDArray[np.int32]:
    """The person ids where ``mask`` is true."""
    return np.flatnonzero(mask).astype(np.int32)


def _commutes(log: _TripLog, day: _Day, pop: Population, shops: np.ndarray) -> None:
    """Workers to work and children to school and back, some adults by a shop on the way home."""
    rng = day.rng
    commuters = _people(pop.work_node >= 0)
    is_child = pop.age_band[commuters] == 0
    leave = np.where(
        is_child,
        rng.normal(*day.plan.school_leave_h, commuters.size),
        rng.normal(*day.plan.work_leave_h, commuters.size),
    )
    leave = day.t0 + np.clip(leave, *day.plan.leave_range_h) * HOUR
    stay = np.where(
        is_child,
        rng.normal(*day.plan.school_stay_h, commuters.size),
        rng.normal(*day.plan.work_stay_h, commuters.size),
    )
    stay = np.clip(stay, *day.plan.stay_range_h) * HOUR
    home = pop.home_node[commuters]
    work = pop.work_node[commuters]
    purpose = np.where(is_child, PURPOSES.index("school"), PURPOSES.index("work"))
    for p in np.unique(purpose):
        sel = purpose == p
        arrive = log.add(
            commuters[sel], leave[sel], home[sel], work[sel], np.ones(sel.sum(), bool), int(p)
        )
        back = arrive + stay[sel]
        shop_stop = (~is_child[sel]) & (rng.random(sel.sum()) < day.plan.shop_stop_share)
        who = commuters[sel]
        direct = ~shop_stop
        day.free_at[who[direct]] = log.add(
            who[direct],
            back[direct],
            work[sel][direct],
            home[sel][direct],
            np.zeros(direct.sum(), bool),
            PURPOSES.index("home"),
        )
        if shop_stop.any():
            s_who = who[shop_stop]
            shop = rng.choice(shops, size=s_who.size)
            dwell = rng.uniform(*day.plan.shop_stop_min, s_who.size) * MINUTE
            day.free_at[s_who] = log.there_and_home(
                s_who, back[shop_stop], work[sel][shop_stop], shop, dwell, PURPOSES.index("errand")
            )


def _home_tours(
    log: _TripLog,
    day: _Day,
    pop: Population,
    spec: PopulationSpec,
    shops: np.ndarray,
    leisure_nodes: np.ndarray,
) -> None:
    """Errands and leisure as home-based tours, in the order of their wished start times."""
    rng = day.rng
    busy = pop.work_node >= 0
    n_err = rng.poisson(
        spec.errands_per_day
        * np.where(busy, day.plan.errands_factor_busy, day.plan.errands_factor_free)
    )
    n_lei = rng.poisson(spec.leisure_per_day, pop.n)
    max_tours = int(max(n_err.max(initial=0) + n_lei.max(initial=0), 0))
    if not max_tours:
        return
    wish = np.where(
        np.arange(max_tours) < (n_err + n_lei)[:, None],
        rng.uniform(*day.plan.tour_start_h, (pop.n, max_tours)),
        np.inf,
    )
    wish.sort(axis=1)  # in place: a million people's tours are large arrays
    # Which of a person's tours are leisure: a random subset of size n_lei.
    rank = np.argsort(rng.random((pop.n, max_tours)), axis=1)
    is_leisure = rank < n_lei[:, None]
    del rank
    for k in range(max_tours):
        _tours_of_rank(log, day, wish[:, k], is_leisure[:, k], shops, leisure_nodes)


def _tours_of_rank(
    log: _TripLog,
    day: _Day,
    wish_h: np.ndarray,
    is_leisure: np.ndarray,
    shops: np.ndarray,
    leisure_nodes: np.ndarray,
) -> None:
    """Everyone's k-th tour of the day (``wish_h``: its wished start, inf for none)."""
    rng = day.rng
    who = _people(np.isfinite(wish_h))
    if who.size == 0:
        return
    who, depart = day.departures(who, wish_h[who])
    lei = is_leisure[who]
    dest = np.where(
        lei, rng.choice(leisure_nodes, size=who.size), rng.choice(shops, size=who.size)
    ).astype(np.int32)
    purpose = np.where(lei, PURPOSES.index("leisure"), PURPOSES.index("errand"))
    dwell = (
        np.where(
            lei,
            rng.uniform(*day.plan.leisure_min, who.size),
            rng.uniform(*day.plan.errand_min, who.size),
        )
        * MINUTE
    )
    for p in (PURPOSES.index("errand"), PURPOSES.index("leisure")):
        sel = purpose == p
        if not sel.any():
            continue
        w = who[sel]
        day.free_at[w] = log.there_and_home(w, depart[sel], log.home[w], dest[sel], dwell[sel], p)


def _airport_trips(
    log: _TripLog, day: _Day, pop: Population, spec: PopulationSpec, airports: np.ndarray
) -> None:
    """A trip to the airport (a flight, or meeting one): out, a stay there, back home."""
    rng = day.rng
    fly = _people(rng.random(pop.n) < spec.flights_per_day)
    fly, depart = day.departures(fly, rng.uniform(*day.plan.airport_depart_h, fly.size))
    port = rng.choice(airports, size=fly.size).astype(np.int32)
    stay = rng.uniform(*day.plan.airport_stay_h, fly.size) * HOUR
    day.free_at[fly] = log.there_and_home(
        fly, depart, pop.home_node[fly], port, stay, PURPOSES.index("airport")
    )


def _visits(log: _TripLog, day: _Day, pop: Population, node: int, per_day: float) -> None:
    """Visits to ``node`` (such as a prison), ``per_day`` visitors a day: out, a stay, home."""
    rng = day.rng
    who = _people(rng.random(pop.n) < per_day / max(pop.n, 1))
    who, depart = day.departures(who, rng.uniform(*day.plan.visit_depart_h, who.size))
    dest = np.full(who.size, node, np.int32)
    stay = rng.uniform(*day.plan.visit_stay_h, who.size) * HOUR
    day.free_at[who] = log.there_and_home(
        who, depart, pop.home_node[who], dest, stay, PURPOSES.index("visit")
    )


def _joined(parts: list[dict[str, np.ndarray]], duration_s: float) -> Trips:
    """The planned trips in time order: those leaving before the end and going somewhere."""
    # Column by column, each part's arrays released as they are joined (a city of a million
    # people plans 3.6 million trips; holding every copy at once would triple the memory).
    dtypes = {
        "person_id": np.int32,
        "depart_s": np.float64,
        "arrive_s": np.float64,
        "origin_node": np.int32,
        "dest_node": np.int32,
        "toward_dest": np.bool_,
        "purpose": np.int8,
        "length_m": np.float64,
    }
    cols = {
        k: np.concatenate([p.pop(k) for p in parts]) if parts else np.zeros(0, dt)
        for k, dt in dtypes.items()
    }
    keep = np.flatnonzero(
        (cols["depart_s"] < duration_s) & (cols["origin_node"] != cols["dest_node"])
    )
    sel = keep[time_order(cols["depart_s"][keep], cols["person_id"][keep])]
    del keep
    return Trips(**{k: cols.pop(k)[sel].astype(dt, copy=False) for k, dt in dtypes.items()})


@dataclass
class Gatherings:
    """Gatherings that took place (truth) and who was there."""

    name: list[str]
    node: npt.NDArray[np.int32]
    start_s: npt.NDArray[np.float64]
    end_s: npt.NDArray[np.float64]
    routine: npt.NDArray[np.bool_]
    participant_gathering: npt.NDArray[np.int32]
    participant_person: npt.NDArray[np.int32]

    @property
    def n(self) -> int:
        return len(self.name)

    @classmethod
    def empty(cls) -> Gatherings:
        z = np.zeros(0)
        return cls(
            [],
            np.zeros(0, np.int32),
            z,
            z,
            np.zeros(0, bool),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
        )


def add_gatherings(
    trips: Trips,
    pop: Population,
    specs: Sequence[GatheringSpec],
    city: City,
    router: Routes,
    group_shares: npt.ArrayLike,
    rngs: Sequence[np.random.Generator],
    listed: npt.ArrayLike = (),
) -> tuple[Trips, Gatherings]:
    """Send participants to each gathering: residents free at the time, by group mix.

    A participant walks there to arrive around the start (``arrival_spread_min``), stays to
    about the end, and walks home. Returns all trips, sorted again by departure.
    """
    if not specs:
        return trips, Gatherings.empty()
    nodes = _gathering_nodes(specs, city)
    home = pop.home_node
    speed = pop.speed_mps.astype(np.float64)
    parts: list[Trips] = [trips]
    taken = np.zeros(pop.n, bool)
    p_gathering, p_person = [], []
    starts, ends = [], []
    shares = np.asarray(group_shares, np.float64)
    for i, (g, node, rng) in enumerate(zip(specs, nodes, rngs, strict=True)):
        start = (g.day * 24 + g.start_h) * HOUR
        end = start + g.duration_h * HOUR
        starts.append(start)
        ends.append(end)
        free = _free_during(trips, pop, start - HOUR, end + HOUR) & ~taken
        who = _participants(g, pop, free, shares, listed, rng)
        who = who[home[who] != node]
        taken[who] = True
        p_gathering.append(np.full(who.size, i, np.int32))
        p_person.append(who)
        parts.append(_gathering_trips(g, who, node, start, end, home, speed, router, rng))
    allt = Trips(
        *(np.concatenate([getattr(t, f) for t in parts]) for f in Trips.__dataclass_fields__)
    )
    keep = allt.depart_s >= 0
    order = np.flatnonzero(keep)[time_order(allt.depart_s[keep], allt.person_id[keep])]
    return allt.take(order), Gatherings(
        name=[g.name for g in specs],
        node=np.asarray(nodes, np.int32),
        start_s=np.asarray(starts),
        end_s=np.asarray(ends),
        routine=np.array([g.routine for g in specs], bool),
        participant_gathering=np.concatenate(p_gathering),
        participant_person=np.concatenate(p_person),
    )


def _gathering_nodes(specs: Sequence[GatheringSpec], city: City) -> list[int]:
    """Each gathering's node: the place it names, or the first place of the type it names;
    raises ScenarioError listing every gathering whose place the city does not have."""
    problems = []
    nodes = []
    for i, g in enumerate(specs):
        if g.place in city.place_name:
            nodes.append(int(city.place_node[city.place_name.index(g.place)]))
        elif g.place in PLACE_TYPES and city.places_of(g.place).size:
            nodes.append(int(city.places_of(g.place)[0]))
        else:
            problems.append(
                f"gathering.{i}.place: no place named or of type {g.place!r} in "
                f"the city; expected a place name (e.g. {city.place_name[0]!r}) or "
                f"a place type the city has"
            )
    if problems:
        raise ScenarioError(problems)
    return nodes


def _participants(
    g: GatheringSpec,
    pop: Population,
    free: npt.NDArray[np.bool_],
    shares: npt.NDArray[np.float64],
    listed: npt.ArrayLike,
    rng: np.random.Generator,
) -> npt.NDArray[np.int32]:
    """Who goes to ``g``, sorted: its watchlisted participants drawn first from the listed
    people who are free, then the rest by group mix from the free."""
    mix = np.array([g.group_mix.get(n, 0.0) for n in pop.group_names]) if g.group_mix else shares
    want = np.floor(mix / mix.sum() * g.size + 0.5).astype(np.int64)
    chosen = []
    listed_free = np.intersect1d(np.asarray(listed, np.int64), np.flatnonzero(free))
    if g.watchlisted and listed_free.size:
        k = min(g.watchlisted, listed_free.size)
        pick = rng.choice(listed_free, size=k, replace=False)
        chosen.append(pick)
        free = free.copy()
        free[pick] = False
        want = np.maximum(want - np.bincount(pop.group[pick], minlength=want.size), 0)
    for gi in range(len(pop.group_names)):
        pool = np.flatnonzero(free & (pop.group == gi))
        k = int(min(want[gi], pool.size))
        if k:
            chosen.append(rng.choice(pool, size=k, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int32) if chosen else np.zeros(0, np.int32)


def _gathering_trips(
    g: GatheringSpec,
    who: npt.NDArray[np.int32],
    node: int,
    start: float,
    end: float,
    home: npt.NDArray[np.int32],
    speed: npt.NDArray[np.float64],
    router: Routes,
    rng: np.random.Generator,
) -> Trips:
    """The participants' walks there (arriving around the start) and home (leaving around
    the end, at least ten minutes after arriving)."""
    dest = np.full(who.size, node, np.int32)
    length = router.distance_m(dest, home[who])
    arrive = start + rng.normal(0.0, g.arrival_spread_min * 60.0, who.size)
    depart = arrive - length / speed[who]
    leave = np.maximum(end + rng.normal(0.0, g.arrival_spread_min * 30.0, who.size), arrive + 600.0)
    back = leave + length / speed[who]
    n = who.size
    return Trips(
        person_id=np.concatenate([who, who]),
        depart_s=np.concatenate([depart, leave]),
        arrive_s=np.concatenate([arrive, back]),
        origin_node=np.concatenate([home[who], dest]),
        dest_node=np.concatenate([dest, home[who]]),
        toward_dest=np.concatenate([np.ones(n, bool), np.zeros(n, bool)]),
        purpose=np.concatenate(
            [
                np.full(n, PURPOSES.index("gathering"), np.int8),
                np.full(n, PURPOSES.index("home"), np.int8),
            ]
        ),
        length_m=np.concatenate([length, length]),
    )


def _free_during(trips: Trips, pop: Population, t0: float, t1: float) -> npt.NDArray[np.bool_]:
    """People at home and not travelling from t0 to t1."""
    busy = np.zeros(pop.n, bool)
    overlap = (trips.depart_s < t1) & (trips.arrive_s > t0)
    busy[trips.person_id[overlap]] = True
    # Away from home when the window opens: the last trip before it did not end at home.
    before = np.flatnonzero(trips.depart_s < t0)
    if before.size:
        p = trips.person_id[before]
        order = np.lexsort((trips.depart_s[before], p))
        last = np.ones(order.size, bool)
        last[:-1] = p[order][1:] != p[order][:-1]
        idx = before[order[last]]
        away = trips.dest_node[idx] != pop.home_node[trips.person_id[idx]]
        busy[trips.person_id[idx][away]] = True
    return ~busy
