"""Scenario files: TOML in, one validated :class:`Scenario` out.

This is the border (house rule 2): everything a user writes is checked here, every problem is
reported at once with its file, line where known, key path and what was expected, and the rest of
survsim trusts the typed result. Files may ``extends = "other.toml"`` (tables merge key by key,
arrays are replaced) and the command line may ``--set key.path=value``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim import tomlio
from sim.errors import ScenarioError, shown
from sim.scenario_base import GROUP_NAME as GROUP_NAME
from sim.scenario_base import SHARE_TOLERANCE as SHARE_TOLERANCE
from sim.scenario_base import _Strict
from sim.scenario_city import City as City
from sim.scenario_city import GridCity as GridCity
from sim.scenario_city import OsmCity as OsmCity
from sim.scenario_city import Places as Places
from sim.scenario_city import RadialCity as RadialCity
from sim.scenario_devices import DEVICE_MODELS, Device, deployment_type
from sim.scenario_devices import Bodycam as Bodycam
from sim.scenario_devices import Carcam as Carcam
from sim.scenario_devices import Cctv as Cctv
from sim.scenario_devices import Deployment as Deployment
from sim.scenario_devices import EntryPoint as EntryPoint
from sim.scenario_devices import ExclusionZone as ExclusionZone
from sim.scenario_devices import Facility as Facility
from sim.scenario_devices import Governance as Governance
from sim.scenario_devices import PlaceType as PlaceType
from sim.scenario_devices import Review as Review
from sim.scenario_devices import Van as Van
from sim.scenario_people import AgeBands as AgeBands
from sim.scenario_people import DayPlan as DayPlan
from sim.scenario_people import GroupSpec as GroupSpec
from sim.scenario_people import Pair as Pair
from sim.scenario_people import Population as Population
from sim.scenario_people import Watchlist as Watchlist


# ---------------------------------------------------------------- face match
class CustomGroup(_Strict):
    """One group of a user-defined face-match model.

    Give target rates at the model's ``threshold_ref`` (``fmr`` and ``fnmr``), or the logit-normal
    parameters directly (``impostor_mean_logit``, ``genuine_mean_logit``); spreads are optional.
    """

    fmr: float | None = Field(None, gt=0, lt=1, description="False match rate at threshold_ref.")
    fnmr: float | None = Field(
        None, gt=0, lt=1, description="False non-match rate at threshold_ref."
    )
    impostor_mean_logit: float | None = Field(None, ge=-20, le=20)
    impostor_sd_logit: float | None = Field(None, gt=0, le=10)
    genuine_mean_logit: float | None = Field(None, ge=-20, le=20)
    genuine_sd_logit: float | None = Field(None, gt=0, le=10)

    @model_validator(mode="after")
    def _one_form(self) -> CustomGroup:
        for rate, mean in (("fmr", "impostor_mean_logit"), ("fnmr", "genuine_mean_logit")):
            given = [k for k in (rate, mean) if getattr(self, k) is not None]
            if len(given) != 1:
                raise ValueError(
                    f"give exactly one of {rate} or {mean}"
                    + (" (both given)" if len(given) == 2 else "")
                )
        return self


class CustomModel(_Strict):
    """A face-match model defined in the scenario (use with ``model = "custom"``)."""

    threshold_ref: float = Field(
        0.6, gt=0, lt=1, description="Threshold at which fmr and fnmr are given."
    )
    cross_shift_logit: float = Field(
        0.1,
        ge=0,
        le=10,
        description="How much lower cross-group impostor scores are (logit units).",
    )
    quality_shift_logit: float = Field(
        2.7218,
        ge=0,
        le=50,
        description="Genuine-score loss per unit of lost capture quality (logit units).",
    )
    groups: dict[str, CustomGroup] = Field(min_length=1, description="One table per group.")

    @field_validator("groups")
    @classmethod
    def _names(cls, v: dict[str, CustomGroup]) -> dict[str, CustomGroup]:
        bad = [k for k in v if not re.fullmatch(GROUP_NAME, k)]
        if bad:
            raise ValueError(f"group names must be lower-case identifiers: {', '.join(bad)}")
        return v


def _assumed(low: float, high: float, what: str, *, above: float | None = 0.0) -> Any:
    """A ratio (above 0, or ``above``), or a shift (``above=None``: 0 or more)."""
    return Field(
        None,
        gt=above,
        ge=0 if above is None else None,
        le=1000,
        description=f"{what} Default: the point estimate; plausible range "
        f"{low:.3g}-{high:.3g} (docs/face_match.md 2.9).",
    )


class Assumptions(_Strict):
    """The face-match presets' named assumptions (docs/face_match.md 2.9, sim.facematch
    ASSUMPTIONS), each at its point estimate unless set here; ``survsim sensitivity`` varies
    them. Look-alike persistence is ``facematch.persistence``."""

    cross_sex_shift: float | None = _assumed(
        0.25,
        0.6,
        "How much less a pair of different sex resembles each other (in spreads).",
        above=None,
    )
    cross_race_shift: float | None = _assumed(
        0.57,
        0.78,
        "How much less a pair of different race resembles each other (in spreads).",
        above=None,
    )
    cross_age_shift: float | None = _assumed(
        0.3,
        0.75,
        "How much less a probe of another age band resembles a listed adult (in spreads).",
        above=None,
    )
    child_level: float | None = _assumed(
        0.45, 1.0, "How much more children resemble each other (in spreads).", above=None
    )
    senior_level: float | None = _assumed(
        0.2, 0.45, "How much more seniors resemble each other (in spreads).", above=None
    )
    white_female_unfloored_ratio: float | None = _assumed(
        2.3, 3.3, "White women's false-match rate over White men's where NIST's floor hides it."
    )
    black_male_unfloored_ratio: float | None = _assumed(
        1.9, 3.4, "Black men's false-match rate over White men's where NIST's floor hides it."
    )
    asian_male_ratio: float | None = _assumed(
        0.5, 2.0, "Asian men's false-match rate over White men's (no published figure)."
    )
    fmr_fall_per_step: float | None = _assumed(
        3.0, 20.0, "How many times the false-match rate falls per +0.02 of threshold.", above=1.0
    )
    npl_minority_ratio: float | None = _assumed(
        1.42,
        14.2,
        "uk_lfr_npl2023: minority subjects' false-match rate over White "
        "subjects' (90% posterior range).",
    )


class FaceMatch(_Strict):
    """Which face-match model decides who is flagged, and at what similarity threshold."""

    model: str = Field(
        "nist_frvt2019_median",
        description="A preset name, or 'custom' with a [facematch.custom] table.",
    )
    threshold: float = Field(0.62, ge=0, le=1, description="Similarity threshold in [0, 1].")
    latency_s: float = Field(
        2.0, ge=0, le=3600, description="Time from capture to alert (search and transmission)."
    )
    persistence: float | None = Field(
        None,
        ge=0,
        le=0.99,
        description="Share of an impostor score's variance that belongs "
        "to the pair of people, the same at every capture: "
        "a look-alike of a listed person is flagged again and "
        "again (0: independent at every capture; default: the "
        "model's, docs/face_match.md).",
    )
    custom: CustomModel | None = Field(None, description="A user-defined model.")
    assumptions: Assumptions = Field(
        default_factory=Assumptions,
        description="The presets' named assumptions, if not at their point estimates.",
    )
    uncertainty: Literal["none", "ensemble"] = Field(
        "none",
        description="'ensemble': replication r uses draw r of the preset's uncertain "
        "inputs (NIST's interquartile ranges, the assumptions' ranges, "
        "NPL's counts), so compare and sweep intervals include model "
        "uncertainty; 'none': the point estimates in every replication.",
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        from sim.facematch import MODELS  # local: facematch depends on nothing here

        if v != "custom" and v not in MODELS:
            raise ValueError(
                f"unknown model {shown(v)}; expected 'custom' or one of: {', '.join(MODELS)}"
            )
        return v

    @model_validator(mode="after")
    def _custom_given(self) -> FaceMatch:
        if self.model == "custom" and self.custom is None:
            raise ValueError("model 'custom' needs a [facematch.custom] table")
        if self.model != "custom" and self.custom is not None:
            raise ValueError("[facematch.custom] is only used with model = 'custom'")
        if self.model == "custom" and self.uncertainty == "ensemble":
            raise ValueError(
                "uncertainty 'ensemble' needs a preset model: a custom model's "
                "values are the scenario author's, with no ensemble of them"
            )
        if self.model == "custom" and self.assumed():
            raise ValueError(
                "[facematch.assumptions] are the presets' inputs; a custom "
                "model's values are given in [facematch.custom]"
            )
        return self

    def assumed(self) -> tuple[tuple[str, float], ...]:
        """The named assumptions set, as (scenario path, value), in declaration order."""
        return tuple(
            (f"facematch.assumptions.{k}", float(v))
            for k, v in self.assumptions.model_dump().items()
            if v is not None
        )

    def model_groups(self) -> tuple[str, ...]:
        from sim.facematch import MODELS

        if self.custom is not None:
            return tuple(self.custom.groups)
        return MODELS[self.model].groups


class DemographicClassifier(_Strict):
    """A classifier that labels every captured face with a sex or an ethnicity (system view)."""

    model: str = Field(description="A preset (e.g. 'gender_shades_ibm') or 'ethnicity'.")
    accuracy: float = Field(
        0.9, gt=0, le=1, description="With model 'ethnicity': chance of the right label."
    )
    accuracy_by_group: dict[str, float] = Field(
        default_factory=dict,
        description="With model 'ethnicity': accuracy per population "
        "group or per ethnicity (the part of the group name "
        "before its last '_', e.g. 'black').",
    )

    @field_validator("model")
    @classmethod
    def _known(cls, v: str) -> str:
        from sim.classifier import CLASSIFIERS

        if v != "ethnicity" and v not in CLASSIFIERS:
            raise ValueError(
                f"unknown classifier {shown(v)}; expected 'ethnicity' or one of: "
                f"{', '.join(CLASSIFIERS)}"
            )
        return v

    @field_validator("accuracy_by_group")
    @classmethod
    def _in_range(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, a in v.items() if not 0 < a <= 1]
        if bad:
            raise ValueError(f"accuracies must lie in (0, 1] ({', '.join(bad)})")
        return v


class Gathering(_Strict):
    """People who gather (truth): a protest, a religious service, a market.

    Participants are drawn from residents free at the time, by ``group_mix``; they walk there,
    arrive spread around the start, stay, and go home. ``routine`` crowds (markets, rush hour)
    are not assemblies to detect: alarms there are false alarms.
    """

    name: str = Field("gathering", description="Label in the output tables.")
    place: str = Field(
        description="A place name (e.g. 'Central Plaza') or a place type "
        "(e.g. 'plaza', 'place_of_worship': the first of it)."
    )
    day: int = Field(0, ge=0, description="Day of the run (0 = the first).")
    start_h: float = Field(ge=0, lt=24, description="Time of day it starts (hour).")
    duration_h: float = Field(2.0, gt=0, le=24)
    size: int = Field(gt=0, le=10_000_000, description="Participants.")
    group_mix: dict[str, float] = Field(
        default_factory=dict,
        description="Share of participants per group (default: like the city).",
    )
    arrival_spread_min: float = Field(
        20.0, ge=0, le=600, description="Spread of arrivals around the start."
    )
    routine: bool = Field(False, description="An everyday crowd, not an assembly.")
    watchlisted: int = Field(
        0,
        ge=0,
        description="How many of the participants are people on "
        "the main watchlist who live in the city "
        "(e.g. known activists); the rest by mix.",
    )

    @field_validator("group_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        if v and (abs(sum(v.values()) - 1) > SHARE_TOLERANCE or min(v.values()) < 0):
            raise ValueError(
                f"group_mix must be non-negative and sum to 1, it sums to {sum(v.values()):.6g}"
            )
        return v


class Assembly(_Strict):
    """The system's assembly detector (runs when governance.assembly_analytics = true)."""

    flag: Literal["listed", "label"] = Field(
        "listed",
        description="Who counts: people matched to a watchlist ('listed'), or faces "
        "the demographic classifier labels target_label ('label').",
    )
    target_label: str | None = Field(
        None, description="With flag 'label': the label, e.g. an ethnicity."
    )
    k: int = Field(3, ge=1, le=100_000, description="Flagged people that make an assembly.")
    radius_m: float = Field(150.0, gt=0, le=10_000)
    window_min: float = Field(30.0, gt=0, le=1440)

    @model_validator(mode="after")
    def _label(self) -> Assembly:
        if self.flag == "label" and not self.target_label:
            raise ValueError("flag 'label' needs target_label")
        return self


class Engine(_Strict):
    """Engine settings that change batching, never results."""

    batch_s: float = Field(
        900.0,
        gt=0,
        le=86_400,
        description="Micro-batch length of the event stream, simulated "
        "seconds. Results do not depend on it; shorter batches reach a "
        "reader sooner, and each batch has a fixed cost (a few Arrow "
        "writes), which short batches multiply in a small city.",
    )


class Routing(_Strict):
    """How people's routes through the streets are found."""

    paths: Literal["exact", "zones"] = Field(
        "exact",
        description="'exact': every trip takes a shortest path (one tree per destination: "
        "destinations x crossings in memory). 'zones': a shortest path to the destination's "
        "zone, then a shortest path within it (never shorter than the shortest path, longer "
        "by at most the zone's width; as short on a uniform grid), for cities whose exact "
        "trees would not fit. Routes by zones crowd onto fewer streets: cameras placed by "
        "footfall see more people (twice the captures on a test grid), so the summary says "
        "'routing: zones' and the report warns. A city whose exact trees would not fit in "
        "memory is refused with a message that suggests 'zones'.",
    )


class Scenario(_Strict):
    """A whole scenario: the city, its people, the watchlist, the model and the deployments."""

    name: str = Field(
        "scenario",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="Short name used in reports and as the default run directory "
        "(letters, digits, '_', '-', '.').",
    )
    description: str = ""
    seed: int = Field(1, ge=0, lt=2**63)
    duration_h: float = Field(24.0, gt=0, le=24 * 28)
    city: City = RadialCity(kind="radial")
    population: Population = Population()
    watchlist: Watchlist = Watchlist()
    watchlists: dict[str, Watchlist] = Field(
        default_factory=dict,
        description="More watchlists by name (a van's event list, a "
        "shop's banned customers); [watchlist] is 'main'.",
    )
    facematch: FaceMatch = FaceMatch()
    deployment: list[Deployment] = Field(default_factory=list)
    governance: Governance = Governance()
    classifier: DemographicClassifier | None = Field(
        None, description="Label captured faces with a demographic classifier."
    )
    gathering: list[Gathering] = Field(
        default_factory=list, description="Gatherings (protests, services, markets)."
    )
    assembly: Assembly = Assembly()
    engine: Engine = Engine()
    routing: Routing = Routing()

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        names = {g.name for g in self.population.groups}
        problems = [
            *_deployment_problems(self, names),
            *_gathering_problems(self, names),
            *_watchlist_problems(self, names),
        ]
        model_groups = self.facematch.model_groups()
        problems += _classifier_problems(self, model_groups)
        for i, g in enumerate(self.population.groups):
            target = g.model_group or g.name
            if target not in model_groups:
                problems.append(
                    f"population.groups.{i}.model_group: model {shown(self.facematch.model)} has "
                    f"no rates for group {shown(target)}; set model_group to one of: "
                    f"{', '.join(model_groups)}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def duration_s(self) -> float:
        return self.duration_h * 3600.0

    @property
    def threshold(self) -> float:
        """The threshold in force: the regulator's if set, else the face-match setting."""
        g = self.governance.threshold
        return self.facematch.threshold if g is None else g

    def threshold_of(self, deployment: int) -> float:
        """The threshold deployment ``deployment`` searches at: its own if set (but never below
        the regulator's ``governance.threshold``), else :attr:`threshold`."""
        own = self.deployment[deployment].threshold
        if own is None:
            return self.threshold
        g = self.governance.threshold
        return own if g is None else max(own, g)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_toml(self) -> str:
        """Every value used, defaults filled in; loading it gives back the same scenario."""
        header = (
            f"Resolved scenario '{self.name}' (survsim): every value used, defaults filled "
            f"in.\n{self.description}".rstrip()
        )
        return tomlio.dumps(self.to_dict(), header=header)

    def content_hash(self) -> str:
        """Hash of everything but the seed: replications of one scenario share it. A real map
        counts by its content, not by where the file sits (the same scenario in another
        checkout has the same hash)."""
        d = self.to_dict()
        d.pop("seed", None)
        if self.routing == Routing():  # added later: the default keeps earlier scenarios' hash
            d.pop("routing", None)
        if isinstance(self.city, OsmCity) and self.city.path is not None:
            from sim.city import file_digest  # local: city depends on this module

            d["city"]["path"] = file_digest(expand_map_path(self.city.path, "scenario"))
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- cross-checks
# What one part of a scenario asks of another (Scenario._cross_checks), by topic, each as
# "key.path: ..." lines in the order they are reported.
def _deployment_problems(s: Scenario, names: set[str]) -> list[str]:
    """The watchlists the deployments search, and what each deployment needs (its kind's
    :meth:`Device.scenario_problems`)."""
    problems: list[str] = []
    if "main" in s.watchlists:
        problems.append("watchlists.main: the name 'main' is taken by [watchlist]")
    lists = {"main", *s.watchlists}
    for i, d in enumerate(s.deployment):
        if d.watchlist not in lists:
            problems.append(
                f"deployment.{i}.watchlist: no watchlist named "
                f"{shown(d.watchlist)}; expected one of: "
                f"{', '.join(sorted(lists))}"
            )
    for i, d in enumerate(s.deployment):
        problems.extend(d.scenario_problems(i, names, s.city))
    return problems


def _gathering_problems(s: Scenario, names: set[str]) -> list[str]:
    """The gatherings against the population and the run, and what the assembly detector
    needs."""
    problems: list[str] = []
    for i, gth in enumerate(s.gathering):
        unknown_m = sorted(set(gth.group_mix) - names)
        if unknown_m:
            problems.append(f"gathering.{i}.group_mix names unknown groups: {', '.join(unknown_m)}")
        if gth.size > s.population.people:
            problems.append(f"gathering.{i}.size ({gth.size}) exceeds population.people")
        if gth.day * 24 + gth.start_h >= s.duration_h:
            problems.append(
                f"gathering.{i}: starts after the end of the run (duration_h = {s.duration_h:g})"
            )
    if s.governance.assembly_analytics and s.assembly.flag == "label" and s.classifier is None:
        problems.append("assembly.flag: 'label' needs a [classifier]")
    return problems


def _watchlist_problems(s: Scenario, names: set[str]) -> list[str]:
    """The watchlists against the population, and the warrant targets against the main list."""
    from sim.presets import WATCHLIST_PRESETS

    problems: list[str] = []
    for name, wl in s.watchlists.items():
        if wl.present > s.population.people:
            problems.append(
                f"watchlists.{name}.present ({wl.present}) exceeds "
                f"population.people ({s.population.people})"
            )
        unknown_g = sorted(set(wl.group_shares) - names)
        if unknown_g:
            problems.append(
                f"watchlists.{name}.group_shares names unknown groups: {', '.join(unknown_g)}"
            )
    bad = [t for t in s.governance.warrant_targets if not 0 <= t < s.watchlist.size]
    if bad:
        problems.append(
            f"governance.warrant_targets: entries {bad} are not on the "
            f"watchlist (ids 0 to {s.watchlist.size - 1})"
        )
    if s.watchlist.present > s.population.people:
        problems.append(
            f"watchlist.present ({s.watchlist.present}) exceeds "
            f"population.people ({s.population.people})"
        )
    unknown = sorted(set(s.watchlist.group_shares) - names)
    if unknown:
        problems.append(f"watchlist.group_shares names unknown groups: {', '.join(unknown)}")
    keys = [g.model_group or g.name for g in s.population.groups]
    for where, wl in (
        ("watchlist", s.watchlist),
        *((f"watchlists.{n}", w) for n, w in s.watchlists.items()),
    ):
        preset = WATCHLIST_PRESETS.get(wl.composition)
        if preset is not None and not any(preset.get(k, 0.0) > 0 for k in keys):
            problems.append(
                f"{where}.composition: {wl.composition!r} gives shares to "
                f"the groups {', '.join(k for k, v in preset.items() if v)}, "
                f"and no population group is (or has model_group) one of "
                f"them; use composition = 'skewed' with group_shares"
            )
    return problems


def _classifier_problems(s: Scenario, model_groups: tuple[str, ...]) -> list[str]:
    """The demographic classifier's groups against the population and the face-match model."""
    problems: list[str] = []
    if s.classifier is not None and s.classifier.accuracy_by_group:
        labelled = (
            [g.name for g in s.population.groups]
            if s.classifier.model == "ethnicity"
            else list(model_groups)
        )
        known = set(labelled) | {g.rsplit("_", 1)[0] for g in labelled}
        unknown = sorted(set(s.classifier.accuracy_by_group) - known)
        if unknown:
            problems.append(
                f"classifier.accuracy_by_group: unknown groups "
                f"{', '.join(unknown)}; expected face-match groups or "
                f"ethnicities: {', '.join(sorted(known))}"
            )
    if s.classifier is not None and s.classifier.model != "ethnicity":
        from sim.classifier import CLASSIFIERS

        missing = sorted(set(model_groups) - set(CLASSIFIERS[s.classifier.model].groups))
        if missing:
            problems.append(
                f"classifier.model: {shown(s.classifier.model)} has no "
                f"labels for face-match groups {', '.join(missing)}; use model = "
                f"'ethnicity' with a custom face-match model"
            )
    return problems


# ---------------------------------------------------------------- helpers
def unique_names(names: list[str], sep: str = " ") -> list[str]:
    """The names, with a repeated one numbered: ["a", "a", "b"] -> ["a", "a{sep}2", "b"]."""
    out: list[str] = []
    for n in names:
        k, base = 2, n
        while n in out:
            n = f"{base}{sep}{k}"
            k += 1
        out.append(n)
    return out


def expand_map_path(raw: str, label: str) -> Path:
    """``city.path`` with ``~`` and ``$VARIABLES`` expanded; an unset variable is an error."""
    expanded = os.path.expandvars(os.path.expanduser(raw))
    missing = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expanded)
    if missing:
        raise ScenarioError(
            f"{label}: city.path: {shown(raw)} names the environment variable "
            f"{missing[0]}, which is not set"
        )
    return Path(expanded)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario format, generated from the models."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "survsim scenario"
    schema.setdefault("properties", {})["extends"] = {
        "type": "string",
        "description": "A scenario file this one is based on (relative path).",
    }
    return schema


# Loading (extends, --set, line numbers) lives in sim.scenario_loading, which validates against
# the models above; its entry points are importable from here.
def accept_deployments(extra: list[type[Device]]) -> None:
    """Let ``[[deployment]]`` declare the built-in kinds and ``extra`` ones (registered in
    :mod:`sim.kinds`), by rebuilding the scenario model."""
    from pydantic.fields import FieldInfo

    fields = Scenario.model_fields
    fields["deployment"] = FieldInfo.merge_field_infos(
        fields["deployment"],
        annotation=list[deployment_type((*DEVICE_MODELS, *extra))],  # type: ignore[misc]
    )
    Scenario.model_rebuild(force=True)


from sim.scenario_loading import load_scenario as load_scenario  # noqa: E402
