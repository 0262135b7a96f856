"""Who lives in the city (``[population]``: its groups, age bands and day plan) and the
watchlists searched for them (``[watchlist]``, ``[watchlists]``)."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from sim.errors import shown
from sim.presets import AGE_BANDS_US2020, GROUP_PRESETS
from sim.scenario_base import GROUP_NAME, SHARE_TOLERANCE, _Strict


class GroupSpec(_Strict):
    """A demographic group of the population."""

    name: str = Field(pattern=GROUP_NAME, description="Identifier, e.g. 'black_female'.")
    share: float = Field(ge=0, le=1, description="Share of the city's population.")
    label: str | None = Field(None, description="Readable name for reports.")
    model_group: str | None = Field(
        None, description="Face-match model group whose error rates apply (default: name)."
    )
    district_shares: dict[str, float] = Field(
        default_factory=dict,
        description="Share of this group among the residents of named districts "
        "(segregated cities); other districts get the rest.",
    )

    @field_validator("district_shares")
    @classmethod
    def _shares_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, s in v.items() if not 0 <= s <= 1]
        if bad:
            raise ValueError(f"shares must lie in [0, 1] (districts {', '.join(bad)})")
        return v


class AgeBands(_Strict):
    """Shares of children, working-age adults and seniors (default: US Census 2020)."""

    child: float = Field(AGE_BANDS_US2020["child"], ge=0, le=1)
    adult: float = Field(AGE_BANDS_US2020["adult"], ge=0, le=1)
    senior: float = Field(AGE_BANDS_US2020["senior"], ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> AgeBands:
        total = self.child + self.adult + self.senior
        if abs(total - 1) > SHARE_TOLERANCE:
            raise ValueError(f"age band shares must sum to 1, they sum to {total:.6g}")
        return self


# Two numbers: a TOML array of two (a list) read as a pair.
Pair = Annotated[
    tuple[float, float], BeforeValidator(lambda v: tuple(v) if isinstance(v, list) else v)
]
_MEAN_SD = ("school_leave_h", "work_leave_h", "school_stay_h", "work_stay_h")  # normal draws


def _plan(
    default: Pair | float,
    description: str,
    pair: str = "",
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> Any:
    """A day-plan value: an assumption of survsim, with no source (said in its description)."""
    return Field(
        default,
        description=f"{description}{f' ({pair})' if pair else ''}; an "
        f"assumption of survsim, with no source.",
        ge=ge,
        gt=gt,
        le=le,
    )


class DayPlan(_Strict):
    """The day plan of an ordinary weekday (``sim.population.plan_trips``). Every value is an
    assumption of this model, with no source: round figures. ``(mean, sd)`` pairs are normal
    draws, ``(low, high)`` pairs uniform draws or clipping ranges; ``_h`` values are hours of
    the day unless they are a stay."""

    school_leave_h: Pair = _plan((7.75, 0.25), "When pupils leave home", "mean, sd")
    work_leave_h: Pair = _plan((8.0, 0.9), "When workers leave home", "mean, sd")
    leave_range_h: Pair = _plan(
        (5.0, 11.0), "Nobody leaves for work or school before or after these hours", "low, high"
    )
    school_stay_h: Pair = _plan((6.5, 0.5), "Hours at school", "mean, sd")
    work_stay_h: Pair = _plan((8.5, 1.0), "Hours at work", "mean, sd")
    stay_range_h: Pair = _plan(
        (3.0, 12.0), "Hours at work or school, at least and at most", "low, high"
    )
    shop_stop_share: float = _plan(
        0.3, "Share of adults stopping at a shop on the way home from work", ge=0, le=1
    )
    shop_stop_min: Pair = _plan((10, 30), "Minutes at that shop", "low, high")
    errands_factor_busy: float = _plan(
        0.6, "errands_per_day is multiplied by this for workers and pupils", ge=0, le=10
    )
    errands_factor_free: float = _plan(
        1.4, "errands_per_day is multiplied by this for everyone else", ge=0, le=10
    )
    tour_start_h: Pair = _plan(
        (9.0, 21.0), "Wished start of an errand or leisure tour", "low, high"
    )
    tour_gap_s: float = _plan(
        600.0, "Seconds at home, at least, before leaving again", ge=0, le=86_400
    )
    last_departure_h: float = _plan(23.0, "No tour leaves home at or after this hour", gt=0, le=24)
    leisure_min: Pair = _plan((30, 120), "Minutes of a leisure stay", "low, high")
    errand_min: Pair = _plan((10, 40), "Minutes of an errand", "low, high")
    airport_depart_h: Pair = _plan(
        (6.0, 20.0), "Wished start of a trip to the airport", "low, high"
    )
    airport_stay_h: Pair = _plan((1.0, 3.0), "Hours at the airport", "low, high")
    visit_depart_h: Pair = _plan((9.0, 17.0), "Wished start of a visit", "low, high")
    visit_stay_h: Pair = _plan((1.0, 2.0), "Hours of a visit", "low, high")

    @model_validator(mode="after")
    def _pairs(self) -> DayPlan:
        bad = []
        for name in type(self).model_fields:
            v = getattr(self, name)
            if not isinstance(v, tuple):
                continue
            if name in _MEAN_SD:
                if v[1] < 0 or v[0] < 0:
                    bad.append(f"{name}: expected [mean, sd], both at least 0")
            elif v[0] > v[1] or v[0] < 0:
                bad.append(f"{name}: expected [low, high] with 0 <= low <= high")
        if bad:
            raise ValueError("; ".join(bad))
        return self


class Population(_Strict):
    """Who lives in the city and how they move."""

    people: int = Field(50_000, gt=0, le=50_000_000)
    groups: list[GroupSpec] = Field(
        default_factory=lambda: [
            GroupSpec.model_validate(g) for g in GROUP_PRESETS["nist_sex_race"]
        ],
        description="A list of groups, or a preset name: " + ", ".join(GROUP_PRESETS),
    )
    age_bands: AgeBands = AgeBands()
    employment_rate: float = Field(
        0.72, ge=0, le=1, description="Share of adults who commute to a workplace."
    )
    walking_speed_mps: float = Field(
        1.34, gt=0.1, le=5, description="Mean walking speed (Bohannon 1997: 1.34 m/s)."
    )
    walking_speed_sd_mps: float = Field(0.2, ge=0, le=2)
    errands_per_day: float = Field(0.8, ge=0, le=10, description="Mean shop trips per day.")
    leisure_per_day: float = Field(
        0.4, ge=0, le=10, description="Mean visits to plazas, worship, hubs per day."
    )
    flights_per_day: float = Field(
        0.01,
        ge=0,
        le=2,
        description="Chance a person goes to the airport on a day (if the city has one).",
    )
    day_plan: DayPlan = DayPlan()

    @field_validator("groups", mode="before")
    @classmethod
    def _expand_preset(cls, v: Any) -> Any:
        if isinstance(v, str):
            if v not in GROUP_PRESETS:
                raise ValueError(
                    f"unknown group preset {shown(v)}; expected a list of groups "
                    f"or one of: {', '.join(GROUP_PRESETS)}"
                )
            return copy.deepcopy(GROUP_PRESETS[v])
        return v

    @model_validator(mode="after")
    def _groups_consistent(self) -> Population:
        if not self.groups:
            raise ValueError("groups: at least one group is needed")
        names = [g.name for g in self.groups]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"groups: names must be unique, repeated: {', '.join(dup)}")
        total = sum(g.share for g in self.groups)
        if abs(total - 1) > SHARE_TOLERANCE:
            raise ValueError(f"groups: shares must sum to 1, they sum to {total:.6g}")
        return self


class Watchlist(_Strict):
    """The list of people the system searches for (truth: who is on it and who is in town)."""

    size: int = Field(
        1000,
        ge=0,
        le=20_000_000,
        description="Identities on the list (at most "
        "20 million: the UK Police National Database, the largest list searched "
        "in practice, holds about 19 million custody images; an assumption of "
        "scale, not a limit of the model).",
    )
    composition: Literal[
        "proportional", "skewed", "arrests_us_2018", "custody_england_wales_2018"
    ] = Field(
        "proportional",
        description="'proportional' to the population's group shares; "
        "'skewed' with group_shares; or a custody proxy: "
        "'arrests_us_2018' (FBI UCR 2018) or "
        "'custody_england_wales_2018' (gov.uk arrests 2017/18), "
        "by the groups' model_group (sim/presets.py).",
    )
    group_shares: dict[str, float] = Field(
        default_factory=dict, description="Share of the list per group (skewed)."
    )
    present: int = Field(20, ge=0, description="Listed people who live in the city.")

    @model_validator(mode="after")
    def _consistent(self) -> Watchlist:
        if self.present > self.size:
            raise ValueError(f"present ({self.present}) cannot exceed size ({self.size})")
        if self.composition == "skewed":
            if not self.group_shares:
                raise ValueError("composition 'skewed' needs group_shares")
            total = sum(self.group_shares.values())
            if abs(total - 1) > SHARE_TOLERANCE or min(self.group_shares.values()) < 0:
                raise ValueError(
                    f"group_shares must be non-negative and sum to 1, they sum to {total:.6g}"
                )
        elif self.group_shares:
            raise ValueError("group_shares is only used with composition = 'skewed'")
        return self
