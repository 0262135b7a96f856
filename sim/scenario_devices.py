"""The deployment kinds a scenario can declare (``[[deployment]]``, one model per kind, told
apart by ``kind``) and the governance rules they operate under (``[governance]``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from sim.errors import shown
from sim.scenario_base import SHARE_TOLERANCE, _Strict

PlaceType = Literal[
    "workplace",
    "shop",
    "transit_hub",
    "plaza",
    "place_of_worship",
    "school",
    "hospital",
    "airport",
    "prison",
]


class Device(_Strict):
    """What every deployment may set besides its own keys. A kind's model subclasses it and
    declares ``kind: Literal["..."]``, ``name`` (its label in the output) and ``watchlist`` (the
    list searched); see :mod:`sim.kinds`."""

    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="This deployment's similarity threshold (forces set "
        "them per deployment); default facematch.threshold. A "
        "governance.threshold is a floor it cannot go below.",
    )

    def scenario_problems(self, index: int, groups: set[str], city: Any) -> list[str]:
        """What this deployment asks of the rest of the scenario that it lacks (the population
        ``groups`` it names, the ``city`` model), as ``deployment.<index>...: ...`` lines."""
        return []


class Cctv(Device):
    """Fixed cameras with live face recognition."""

    kind: Literal["cctv"]
    name: str = Field("cctv", description="Label in the output tables.")
    watchlist: str = Field(
        "main", description="The list searched: 'main' ([watchlist]) or a name from [watchlists]."
    )
    count: int = Field(100, ge=0, le=1_000_000)
    placement: Literal["random", "footfall", "centre", "districts", "entry_points"] = Field(
        "footfall",
        description="'random' nodes, 'footfall' (busiest crossings), 'centre' "
        "(nearest the central plaza), 'districts' (busiest crossings "
        "of the named districts) or 'entry_points' (the roads into "
        "the city, at its edge).",
    )
    districts: list[str] = Field(
        default_factory=list, description="With placement 'districts': which districts."
    )
    range_m: float = Field(25.0, gt=0, le=500, description="Distance at which faces are usable.")
    fov_deg: float = Field(90.0, gt=0, le=360, description="Horizontal field of view.")
    height_m: float = Field(4.0, ge=0, le=100, description="Mounting height above the street.")
    p_capture: float = Field(
        0.7, ge=0, le=1, description="Chance a face passing in view is detected and usable."
    )

    @model_validator(mode="after")
    def _districts(self) -> Cctv:
        if self.placement == "districts" and not self.districts:
            raise ValueError("placement 'districts' needs districts = [names]")
        if self.districts and self.placement != "districts":
            raise ValueError("districts are only used with placement = 'districts'")
        return self


class Van(Device):
    """Live-recognition vans parked at given places during given hours (events)."""

    kind: Literal["van"]
    name: str = Field("van", description="Label in the output tables.")
    watchlist: str = Field("main", description="The list searched (often an event's own).")
    places: list[str] = Field(
        default_factory=list, description="Place names where vans park, e.g. 'Central Plaza'."
    )
    place_type: PlaceType | None = Field(None, description="Or: park at places of this type.")
    count: int = Field(1, ge=1, le=10_000, description="With place_type: how many vans.")
    start_h: float = Field(10.0, ge=0, lt=24, description="Daily start of operation (hour).")
    end_h: float = Field(18.0, gt=0, le=24, description="Daily end of operation (hour).")
    range_m: float = Field(30.0, gt=0, le=500)
    fov_deg: float = Field(360.0, gt=0, le=360, description="Cameras all round the van.")
    height_m: float = Field(3.0, ge=0, le=100, description="Camera mast height.")
    p_capture: float = Field(0.8, ge=0, le=1)

    @model_validator(mode="after")
    def _where_and_when(self) -> Van:
        if bool(self.places) == (self.place_type is not None):
            raise ValueError("give either places (names) or place_type")
        if self.end_h <= self.start_h:
            raise ValueError(f"end_h ({self.end_h}) must be after start_h ({self.start_h})")
        return self


class EntryPoint(Device):
    """Cameras at the doors of places (an airport, schools, shops) checking everyone who enters
    against the place's own list (e.g. a shop's banned customers)."""

    kind: Literal["entry_point"]
    name: str = Field("doors", description="Label in the output tables.")
    watchlist: str = Field("main", description="The list searched at the doors.")
    place_type: PlaceType = Field(description="Which places have door cameras.")
    count: int | None = Field(None, ge=1, description="How many of those places (default: all).")
    p_capture: float = Field(
        0.95, ge=0, le=1, description="Chance a person entering is captured (doors funnel faces)."
    )
    quality: float = Field(
        0.9, gt=0, le=1, description="Capture quality at a door: close and frontal (an assumption)."
    )


class Bodycam(Device):
    """Patrol officers with body-worn cameras who walk beats and stop people.

    Who is stopped depends on who passes the officer and on a per-group stop propensity (the
    documented disparities in stop rates are a scenario parameter). ``scan`` decides which stops
    include a face scan: 'all' (a face scan at every stop), 'suspicion_only' or 'none'.
    """

    kind: Literal["bodycam"]
    name: str = Field("bodycams", description="Label in the output tables.")
    watchlist: str = Field("main", description="The list searched at a scan.")
    officers: int = Field(20, ge=1, le=100_000, description="Officers on patrol.")
    beat_nodes: int = Field(12, ge=1, le=1000, description="Crossings in each officer's beat.")
    dwell_s: float = Field(
        300.0, gt=0, le=86_400, description="Time spent at each crossing of the beat."
    )
    start_h: float = Field(8.0, ge=0, lt=24, description="Daily start of the shift (hour).")
    end_h: float = Field(20.0, gt=0, le=24, description="Daily end of the shift (hour).")
    stops_per_officer_hour: float = Field(
        0.5,
        ge=0,
        le=60,
        description="Stops an officer makes per hour on patrol (an "
        "assumption to be set per force).",
    )
    stop_propensity: dict[str, float] = Field(
        default_factory=dict,
        description="Relative chance of being stopped, per population group (default 1).",
    )
    scan: Literal["all", "suspicion_only", "none"] = Field(
        "all", description="Which stops include a face scan."
    )
    p_suspicion: float = Field(
        0.2, ge=0, le=1, description="With 'suspicion_only': share of stops where a scan is made."
    )
    quality: float = Field(0.85, gt=0, le=1, description="Scan quality at arm's length.")
    placement: Literal["random", "footfall", "centre"] = Field(
        "footfall", description="Where beats start."
    )

    @model_validator(mode="after")
    def _shift(self) -> Bodycam:
        if self.end_h <= self.start_h:
            raise ValueError(f"end_h ({self.end_h}) must be after start_h ({self.start_h})")
        bad = [k for k, v in self.stop_propensity.items() if v < 0]
        if bad:
            raise ValueError(f"stop_propensity must be non-negative ({', '.join(bad)})")
        return self

    def scenario_problems(self, index: int, groups: set[str], city: Any) -> list[str]:
        unknown = sorted(set(self.stop_propensity) - groups)
        return (
            [f"deployment.{index}.stop_propensity names unknown groups: {', '.join(unknown)}"]
            if unknown
            else []
        )


class Carcam(Device):
    """Patrol cars whose cameras scan the faces of people they pass."""

    kind: Literal["carcam"]
    name: str = Field("carcams", description="Label in the output tables.")
    watchlist: str = Field("main", description="The list searched.")
    cars: int = Field(5, ge=1, le=100_000)
    speed_mps: float = Field(8.0, gt=0, le=40, description="Patrol speed.")
    route_nodes: int = Field(40, ge=2, le=10_000, description="Crossings in each car's loop.")
    start_h: float = Field(0.0, ge=0, lt=24)
    end_h: float = Field(24.0, gt=0, le=24)
    p_capture: float = Field(
        0.4, ge=0, le=1, description="Chance a passer-by's face is caught from a moving car."
    )
    quality: float = Field(
        0.6, gt=0, le=1, description="Capture quality from a moving car (an assumption)."
    )
    placement: Literal["random", "footfall", "centre"] = Field("random")

    @model_validator(mode="after")
    def _shift(self) -> Carcam:
        if self.end_h <= self.start_h:
            raise ValueError(f"end_h ({self.end_h}) must be after start_h ({self.start_h})")
        return self


class Facility(Device):
    """A closed site (a prison) with an enrolled population: one-to-one face checks at its doors
    for inmates moving inside, staff arriving for work and visitors."""

    kind: Literal["facility"]
    name: str = Field("prison", description="Label in the output tables.")
    watchlist: str = Field("main", description="Unused by one-to-one checks; kept for uniformity.")
    place_type: Literal["prison"] = "prison"
    inmates: int = Field(800, ge=0, le=1_000_000, description="Enrolled inmates.")
    inmate_group_shares: dict[str, float] = Field(
        default_factory=dict,
        description="Make-up of the inmates by group (default: the city's shares).",
    )
    checks_per_inmate_per_day: float = Field(
        6.0, ge=0, le=200, description="Door checks per inmate per day (an assumption)."
    )
    staff: int = Field(150, ge=0, description="Residents who work at the facility.")
    visitors_per_day: float = Field(100.0, ge=0, description="Residents visiting per day.")
    impostor_attempts_per_day: float = Field(
        0.2,
        ge=0,
        description="Attempts per day to pass a door as someone else (an inmate "
        "posing as a visitor, say); an assumption.",
    )
    quality: float = Field(0.9, gt=0, le=1, description="Capture quality at a controlled door.")

    @field_validator("inmate_group_shares")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if v and (abs(sum(v.values()) - 1) > SHARE_TOLERANCE or min(v.values()) < 0):
            raise ValueError("inmate_group_shares must be non-negative and sum to 1")
        return v

    def scenario_problems(self, index: int, groups: set[str], city: Any) -> list[str]:
        out = []
        unknown = sorted(set(self.inmate_group_shares) - groups)
        if unknown:
            out.append(
                f"deployment.{index}.inmate_group_shares names unknown groups: {', '.join(unknown)}"
            )
        # A real map may have its prison tagged; a generated city has the ones asked for.
        if city.kind != "osm" and city.places.prisons < 1:
            out.append(
                f"deployment.{index}: a facility needs a prison in the city; set "
                f"city.places.prisons = 1"
            )
        return out


# The built-in kinds, in the order of sim.schema.CAMERA_KINDS (sim.kinds registers more).
DEVICE_MODELS: tuple[type[Device], ...] = (Cctv, Van, EntryPoint, Bodycam, Carcam, Facility)


def deployment_type(models: tuple[type[Device], ...]) -> Any:
    """The type of one ``[[deployment]]`` entry: one of ``models``, told apart by ``kind``."""
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007


Deployment = deployment_type(DEVICE_MODELS)


class Review(_Strict):
    """Human review of alerts: a reviewer confirms or rejects each one."""

    enabled: bool = Field(False, description="Every alert is reviewed before anyone acts on it.")
    reviewer: str = Field("passport_officers_2014", description="A reviewer preset.")
    p_reject_false_same_group: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Override: chance of rejecting a false alert whose two "
        "faces are of the same group.",
    )
    p_reject_false_other_group: float | None = Field(
        None, ge=0, le=1, description="Override: the same for faces of different groups."
    )
    p_reject_true: float | None = Field(
        None, ge=0, le=1, description="Override: chance of wrongly rejecting a true alert."
    )
    reviewers: int = Field(2, ge=1, le=10_000, description="Reviewers on duty at any time.")
    review_time_s: float = Field(
        90.0, gt=0, le=86_400, description="Time one review takes (an assumption)."
    )
    max_queue: int = Field(
        20, ge=0, description="Alerts waiting beyond which the overflow rule applies."
    )
    overflow: Literal["wait", "drop", "auto_act"] = Field(
        "wait",
        description="When the queue is full: 'wait' (queue anyway), 'drop' (discard the "
        "alert unreviewed) or 'auto_act' (act on it unreviewed).",
    )

    @field_validator("reviewer")
    @classmethod
    def _known(cls, v: str) -> str:
        from sim.review import REVIEWERS

        if v not in REVIEWERS:
            raise ValueError(
                f"unknown reviewer {shown(v)}; expected one of: {', '.join(REVIEWERS)}"
            )
        return v


class ExclusionZone(_Strict):
    """No face is captured within ``buffer_m`` of any place of the given types."""

    place_types: list[
        Literal[
            "workplace", "shop", "transit_hub", "plaza", "place_of_worship", "school", "hospital"
        ]
    ] = Field(min_length=1)
    buffer_m: float = Field(100.0, gt=0, le=10_000)


class Governance(_Strict):
    """The rules the system runs under."""

    ban: bool = Field(False, description="Face recognition banned: no face is captured.")
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="The threshold the regulator sets; overrides facematch.threshold when given.",
    )
    scan_scope: Literal["everyone", "watchlist_only", "warrant"] = Field(
        "everyone",
        description="'everyone': every face is searched against the whole list "
        "and unmatched captures are kept for retention_days; "
        "'watchlist_only': only matches are logged, other captures "
        "are discarded at once; 'warrant': only the warrant targets "
        "are searched for.",
    )
    warrant_targets: list[int] = Field(
        default_factory=list, description="Watchlist entry ids named in warrants (scope 'warrant')."
    )
    review: Review = Review()
    alert_action: Literal["log", "dispatch", "stop"] = Field(
        "log",
        description="What a (confirmed) alert triggers: 'log' it, 'dispatch' an officer "
        "from the nearest station, or 'stop' the person on the spot.",
    )
    officers: int = Field(20, ge=1, le=1_000_000, description="Officers available to act.")
    officer_speed_mps: float = Field(
        8.0, gt=0, le=50, description="Travel speed to an intercept (car in town)."
    )
    intercept_window_s: float = Field(
        600.0,
        gt=0,
        description="An officer arriving later than this after the alert finds the person gone.",
    )
    stop_duration_s: float = Field(1200.0, gt=0, description="Length of a stop (an assumption).")
    exclusion_zones: list[ExclusionZone] = Field(
        default_factory=list, description="Places around which no face may be captured."
    )
    retention_days: float = Field(
        30.0,
        ge=0,
        le=3650,
        description="How long unmatched captures are kept, searchable "
        "retrospectively (0 = discarded at once).",
    )
    assembly_analytics: bool = Field(
        False, description="Run the assembly detector over captures and alerts."
    )

    @model_validator(mode="after")
    def _warrant(self) -> Governance:
        if self.scan_scope == "warrant" and not self.warrant_targets:
            raise ValueError("scan_scope 'warrant' needs warrant_targets (watchlist entry ids)")
        if self.warrant_targets and self.scan_scope != "warrant":
            raise ValueError("warrant_targets are only used with scan_scope = 'warrant'")
        return self
