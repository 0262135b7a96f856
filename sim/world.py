"""Assemble a world from a scenario: city, people, trips, watchlist, cameras and the match model.

Each part draws from its own named stream, in an order that does not matter: the people and their
trips do not depend on the cameras, so two policies run on one seed see the same city, people and
movements (common random numbers).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.budget import check_budget
from sim.cameras import Cameras, Coverage, coverage, place_cameras
from sim.city import City, build_city
from sim.classifier import Classifier, classifier_for
from sim.coins import Coins
from sim.facematch import FaceMatchModel, model_for
from sim.patrols import Patrols, build_patrols
from sim.places import check_references
from sim.policy import exclusion_area, stations, travel_time_s
from sim.population import (
    Gatherings,
    Population,
    Trips,
    add_gatherings,
    build_population,
    plan_trips,
    trip_destinations,
)
from sim.review import REVIEWERS, Reviewer
from sim.rng import Streams, declare
from sim.routing_compact import Routes, router_for
from sim.scenario import Deployment, Facility, Scenario
from sim.units import DAY, HOUR
from sim.watchlist import Watchlist, build_watchlist

_FOOTFALL_SAMPLE = 20_000

# The run's random purposes outside the keyed coins (sim.coins), each drawn once per run.
for _name, _what in {
    "population": "who lives where: districts, groups, age bands, homes, workplaces, speeds",
    "watchlist": "who is on the main list and which listed people live in the city",
    "watchlist.*": "the same for each extra list ([watchlists.NAME])",
    "facility.staff": "which residents work at a facility",
    "plans.day*": "each day's plans: departures, errands, leisure, flights, visits",
    "gathering.*": "each gathering's participants and their arrival and leaving times",
    "footfall": "the sample of trips that estimates footfall (camera placement, crowding)",
    "cameras": "camera nodes for random and sampled placements",
    "camera.heading": "the heading of each camera (keyed by camera)",
    "patrols": "officers' beats and patrol cars' loops",
    "facility.inmates": "inmates' groups, their door checks and impostor attempts",
}.items():
    declare(_name, _what)


@dataclass
class World:
    scenario: Scenario
    streams: Streams
    city: City
    router: Routes
    population: Population
    trips: Trips
    watchlists: dict[str, Watchlist]  # "main" first
    cameras: Cameras
    coverage: Coverage
    model: FaceMatchModel
    model_group: npt.NDArray[np.int16]  # population group -> model group index
    walkers_per_hour: npt.NDArray[np.float64]  # (node, hour of day) expected passers-by
    coins: Coins  # the keys of the run's keyed coins
    classifier: Classifier | None = None
    reviewer: Reviewer | None = None
    stations: npt.NDArray[np.int32] = dataclasses.field(
        default_factory=lambda: np.zeros(0, np.int32)
    )
    travel_s: npt.NDArray[np.float64] = dataclasses.field(  # per camera, nearest station
        default_factory=lambda: np.zeros(0)
    )
    patrols: Patrols = dataclasses.field(default_factory=Patrols.empty)
    # Inmates' door checks and impostor attempts at closed facilities (columns, sorted by t_s).
    facility_checks: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    # Population group -> the classifier's row (its confusion matrix is by these groups).
    classifier_row: npt.NDArray[np.int16] = dataclasses.field(
        default_factory=lambda: np.zeros(0, np.int16)
    )
    gatherings: Gatherings = dataclasses.field(default_factory=Gatherings.empty)
    excluded: Any = None  # the exclusion zones' union (shapely), or None

    @property
    def watchlist(self) -> Watchlist:
        """The main list ([watchlist])."""
        return self.watchlists["main"]

    @property
    def seed(self) -> int:
        return self.streams.seed

    @property
    def replication(self) -> int:
        return self.streams.replication


def checked_city(scenario: Scenario, built: dict[str, City] | None = None) -> City:
    """The scenario's city, once everything that needs no more than the city is checked:
    sizes that would exhaust memory or time (before building anything, then with the city),
    and every place, place type, district and count the scenario names.

    ``built`` (settings -> city) reuses cities already built for other scenarios.

    Raises
    ------
    ScenarioError
        Listing every problem found.
    """
    check_budget(scenario)
    key = json.dumps(scenario.city.model_dump(mode="json"), sort_keys=True)
    city = built.get(key) if built is not None else None
    if city is None:
        city = build_city(scenario.city)
        if built is not None:
            built[key] = city
    check_references(scenario, city)
    check_budget(scenario, city)
    return city


def build_world(scenario: Scenario, *, seed: int | None = None, replication: int = 0) -> World:
    """Build everything the engine needs; raises ScenarioError for impossible requests."""
    streams = Streams(scenario.seed if seed is None else seed, replication)
    city = checked_city(scenario)
    police = stations(city)
    router = router_for(
        city,
        np.concatenate([trip_destinations(city), police]),
        cache=True,
        paths=scenario.routing.paths,
    )
    pop = build_population(scenario.population, city, router, streams.generator("population"))
    shares = [g.share for g in scenario.population.groups]
    watchlists = _watchlists(scenario, pop, shares, streams)
    trips, gatherings = _trips_and_gatherings(
        scenario, city, router, pop, shares, watchlists["main"], streams
    )
    deployments = [] if scenario.governance.ban else list(scenario.deployment)
    hourly = (
        estimate_footfall(city, router, trips, pop, streams.generator("footfall"))
        if deployments
        else np.zeros((city.n_nodes, 24))
    )
    cams = place_cameras(
        deployments,
        city,
        hourly.sum(axis=1),
        streams.generator("cameras"),
        streams.key("camera.heading"),
        {name: i for i, name in enumerate(watchlists)},
    )
    model = model_for(scenario.facematch, replication)
    model_group = np.array(
        [model.groups.index(g.model_group or g.name) for g in scenario.population.groups], np.int16
    )
    classifier, classifier_row = _classifier(scenario, model, model_group)
    reviewer = _reviewer(scenario)
    gov = scenario.governance
    excluded = exclusion_area(city, gov.exclusion_zones)
    travel = travel_time_s(router.distance_rows(police), cams.node, gov.officer_speed_mps)
    patrols = build_patrols(
        cams, deployments, city, scenario.duration_s, streams.generator("patrols")
    )
    checks = _facility_checks(
        scenario, deployments, cams, pop, streams.generator("facility.inmates")
    )
    return World(
        scenario,
        streams,
        city,
        router,
        pop,
        trips,
        watchlists,
        cams,
        coverage(city, cams, excluded, cache=True),
        model,
        model_group,
        hourly,
        Coins.claim(streams),
        classifier=classifier,
        reviewer=reviewer,
        stations=police,
        travel_s=travel,
        patrols=patrols,
        facility_checks=checks,
        classifier_row=classifier_row,
        gatherings=gatherings,
        excluded=excluded,
    )


def _watchlists(
    scenario: Scenario, pop: Population, shares: list[float], streams: Streams
) -> dict[str, Watchlist]:
    """The main list ([watchlist]) first, then each extra list ([watchlists.NAME])."""
    keys = [g.model_group or g.name for g in scenario.population.groups]
    watchlists = {
        "main": build_watchlist(
            scenario.watchlist, pop, shares, streams.generator("watchlist"), keys
        )
    }
    for name, spec in scenario.watchlists.items():
        watchlists[name] = build_watchlist(
            spec, pop, shares, streams.generator(f"watchlist.{name}"), keys
        )
    return watchlists


def _trips_and_gatherings(
    scenario: Scenario,
    city: City,
    router: Routes,
    pop: Population,
    shares: list[float],
    main: Watchlist,
    streams: Streams,
) -> tuple[Trips, Gatherings]:
    """Everyone's trips: facility staff and visitors picked, each day's plans, then the
    gatherings (a gathering's ``watchlisted`` participants are people on the main list)."""
    n_days = int(np.ceil(scenario.duration_h / 24.0))
    visits = _facility_staff_and_visits(scenario, city, pop, streams.generator("facility.staff"))
    trips = plan_trips(
        pop,
        scenario.population,
        city,
        router,
        scenario.duration_s,
        [streams.generator(f"plans.day{d}") for d in range(n_days)],
        visits,
    )
    trips, gatherings = add_gatherings(
        trips,
        pop,
        scenario.gathering,
        city,
        router,
        shares,
        [streams.generator(f"gathering.{i}") for i in range(len(scenario.gathering))],
        listed=main.person_id[main.person_id >= 0],
    )
    if gatherings.n:
        keep = trips.depart_s < scenario.duration_s
        trips = trips.take(np.flatnonzero(keep))
    return trips, gatherings


def _classifier(
    scenario: Scenario, model: FaceMatchModel, model_group: npt.NDArray[np.int16]
) -> tuple[Classifier | None, npt.NDArray[np.int16]]:
    """The scenario's group classifier (or None) and each population group's row in it."""
    clf = scenario.classifier
    # Presets label NIST's groups (by face-match group); the configurable ethnicity classifier
    # labels the scenario's own groups (so a minority the model has no rates for can be named).
    by_population = clf is not None and clf.model == "ethnicity"
    group_names = [g.name for g in scenario.population.groups]
    classifier = (
        None
        if clf is None
        else classifier_for(
            clf.model,
            group_names if by_population else model.groups,
            accuracy=clf.accuracy,
            accuracy_by_group=clf.accuracy_by_group,
        )
    )
    classifier_row = np.arange(len(group_names), dtype=np.int16) if by_population else model_group
    return classifier, classifier_row


def _reviewer(scenario: Scenario) -> Reviewer | None:
    """The human reviewer of alerts, if review is on: a preset, with any rate overridden."""
    rv = scenario.governance.review
    if not rv.enabled:
        return None
    base = REVIEWERS[rv.reviewer]
    return dataclasses.replace(
        base,
        **{
            k: getattr(rv, k)
            for k in (
                "p_reject_false_same_group",
                "p_reject_false_other_group",
                "p_reject_true",
            )
            if getattr(rv, k) is not None
        },
    )


def _facility_staff_and_visits(
    scenario: Scenario, city: City, pop: Population, rng: np.random.Generator
) -> list[tuple[int, float]]:
    """Facilities employ residents (their workplace becomes the site) and receive visitors.

    Done whether or not face recognition is allowed: a ban changes the checks, not who works
    or visits there.
    """
    visits: list[tuple[int, float]] = []
    sites = city.places_of("prison")
    for spec in scenario.deployment:
        if not isinstance(spec, Facility) or sites.size == 0:
            continue
        site = int(sites[0])
        workers = np.flatnonzero((pop.work_node >= 0) & (pop.age_band == 1))
        chosen = rng.choice(workers, size=min(spec.staff, workers.size), replace=False)
        pop.work_node[chosen] = site
        visits.append((site, spec.visitors_per_day))
    return visits


def _facility_checks(
    scenario: Scenario,
    deployments: list[Deployment],
    cams: Cameras,
    pop: Population,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Every inmate door check and impostor attempt of the run (inmates live inside)."""
    parts: list[dict[str, np.ndarray]] = []
    n_days = int(np.ceil(scenario.duration_h / 24.0))
    shares_city = pop.group_counts() / max(pop.n, 1)
    for cam in np.flatnonzero(cams.is_kind("facility")):
        spec = deployments[int(cams.deployment[cam])]
        assert isinstance(spec, Facility)
        shares = (
            np.array([spec.inmate_group_shares.get(g, 0.0) for g in pop.group_names])
            if spec.inmate_group_shares
            else shares_city
        )
        group = rng.choice(len(shares), size=spec.inmates, p=shares / shares.sum())
        for day in range(n_days):
            per = rng.poisson(spec.checks_per_inmate_per_day, spec.inmates)
            inmate = np.repeat(np.arange(spec.inmates), per)
            n_imp = rng.poisson(spec.impostor_attempts_per_day)
            impostor = (
                rng.integers(0, max(spec.inmates, 1), n_imp)
                if spec.inmates
                else np.zeros(0, np.int64)
            )
            who = np.concatenate([inmate, impostor])
            t = day * DAY + rng.uniform(7.0, 21.0, who.size) * HOUR
            parts.append(
                {
                    "t_s": t,
                    "camera_id": np.full(who.size, cam),
                    "inmate_id": who,
                    "group_id": group[who] if who.size else who,
                    "genuine": np.arange(who.size) < inmate.size,
                }
            )
    if not parts:
        return {}
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    keep = out["t_s"] < scenario.duration_s
    order = np.argsort(out["t_s"][keep], kind="stable")
    return {k: v[keep][order] for k, v in out.items()}


def estimate_footfall(
    city: City, router: Routes, trips: Trips, pop: Population, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Expected walkers through each node in each hour of the day, from a sample of the trips.

    Averaged over the days of the run; used to place cameras by footfall and for crowding at a
    camera (occlusion lowers capture quality).
    """
    if trips.n == 0:
        return np.zeros((city.n_nodes, 24))
    k = min(trips.n, _FOOTFALL_SAMPLE)
    sample = np.sort(rng.choice(trips.n, size=k, replace=False))
    # A walker reaches each node of the path at depart + along / speed. Only the counts matter,
    # so the paths are walked up their trees all at once (Router.climb), not in path order.
    order, steps = router.climb(
        trips.origin_node[sample], trips.dest_node[sample], trips.toward_dest[sample]
    )
    depart = trips.depart_s[sample][order]
    speed = pop.speed_mps[trips.person_id[sample]][order]
    keys = []
    for m, node, along in steps:
        hour = ((depart[:m] + along / speed[:m]) // HOUR).astype(np.int64) % 24
        keys.append(node.astype(np.int64) * 24 + hour)
    n_keys = city.n_nodes * 24
    counts = np.bincount(np.concatenate(keys), minlength=n_keys)
    n_days = max(1.0, float(np.ceil(trips.depart_s.max() / DAY)))
    return np.asarray(counts.reshape(city.n_nodes, 24) * (trips.n / k / n_days), np.float64)
