"""The face-match presets' uncertain inputs, and the model a scenario asks for.

- Named assumptions: the inputs no measurement pins down, each with its plausible range and
  source (docs/face_match.md 2.9), settable in a scenario (``[facematch.assumptions]``);
- model uncertainty: ``facematch.uncertainty = "ensemble"`` draws every uncertain input per
  replication;
- user-defined models (``model = "custom"``), and :func:`model_for`, which turns a scenario's
  ``[facematch]`` table into the :class:`~sim.facematch.ScoreModel` a run uses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri

from sim.rng import Streams, declare

if TYPE_CHECKING:
    from sim.scenario import FaceMatch as FaceMatchSpec

from sim.facematch import (
    _NPL_PRIOR_SD,
    _UNFLOORED_RATIO,
    FMR_SLOPE,
    GENUINE_SD,
    IMPOSTOR_SD,
    LOOKALIKE_PERSISTENCE,
    MODELS,
    NIST_GROUPS,
    NPL_MINORITY_RATIO,
    Inputs,
    ScoreModel,
    Structure,
    _build_presets,
    _logit,
    _posterior_quantile,
    minority_ratio_posterior,
)


# ---------------------------------------------------------------- named assumptions
# The inputs no measurement pins down, each with its plausible range and its source (the table of
# docs/face_match.md section 2.9). A scenario sets them under [facematch.assumptions] (look-alike
# persistence: facematch.persistence), which `survsim sensitivity` varies; python -m
# sim.sensitivity shows what each moves in closed form; the ensemble draws within these ranges.
@dataclass(frozen=True)
class Assumption:
    """A named input of the presets with its plausible range and how to set it in
    :class:`Inputs`."""

    key: str  # the scenario key, under [facematch.assumptions] (or the path itself if dotted)
    name: str
    low: float
    high: float
    point: float
    apply: Callable[[Inputs, float], Inputs]
    source: str

    @property
    def path(self) -> str:
        """Where a scenario sets it."""
        return self.key if "." in self.key else f"facematch.assumptions.{self.key}"


def _structure(field: str) -> Callable[[Inputs, float], Inputs]:
    def apply(inputs: Inputs, v: float) -> Inputs:
        st = inputs.structure
        if field in ("child", "senior"):
            level = list(st.level)
            level[0 if field == "child" else 2] = v
            new = replace(st, level=(level[0], level[1], level[2]))
        else:
            changes: dict[str, Any] = {field: v}
            new = replace(st, **changes)
        return replace(inputs, structure=new)

    return apply


def _unfloored(group: str) -> Callable[[Inputs, float], Inputs]:
    def apply(inputs: Inputs, v: float) -> Inputs:
        ratios = dict(inputs.unfloored_ratio)
        ratios[group] = v
        return replace(inputs, unfloored_ratio=tuple(ratios.items()))

    return apply


def _field(name: str) -> Callable[[Inputs, float], Inputs]:
    def apply(inputs: Inputs, v: float) -> Inputs:
        changes: dict[str, Any] = {name: v}
        return replace(inputs, **changes)

    return apply


def _npl_interval() -> tuple[float, float]:
    return _posterior_quantile(0.05), _posterior_quantile(0.95)


_POINT = Inputs()
_st = _POINT.structure
ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "cross_sex_shift",
        "cross-sex shift (spreads)",
        0.25,
        0.6,
        _st.sex,
        _structure("sex"),
        "NIST visa report cards, same-sex vs any pairing (an inference)",
    ),
    Assumption(
        "cross_race_shift",
        "cross-race shift (spreads)",
        0.57,
        0.78,
        _st.race,
        _structure("race"),
        "NIST FRVT 1:1 mugshot matrices: men 0.57, women 0.78",
    ),
    Assumption(
        "cross_age_shift",
        "cross-age-band shift (spreads)",
        0.3,
        0.75,
        _st.age,
        _structure("age"),
        "NIST 3divi_005 age heatmap: 0.39-0.72 across bins",
    ),
    Assumption(
        "child_level",
        "children's level (spreads)",
        0.45,
        1.0,
        _st.level[0],
        _structure("child"),
        "3divi_005: ages 4-16",
    ),
    Assumption(
        "senior_level",
        "seniors' level (spreads)",
        0.2,
        0.45,
        _st.level[2],
        _structure("senior"),
        "3divi_005: ages 64+",
    ),
    Assumption(
        "white_female_unfloored_ratio",
        "White women's unfloored ratio",
        2.3,
        3.3,
        _UNFLOORED_RATIO["white_female"],
        _unfloored("white_female"),
        "FRVT 1:1 mugshot IQR over 240 algorithms",
    ),
    Assumption(
        "black_male_unfloored_ratio",
        "Black men's unfloored ratio",
        1.9,
        3.4,
        _UNFLOORED_RATIO["black_male"],
        _unfloored("black_male"),
        "FRVT 1:1 mugshot IQR over 240 algorithms",
    ),
    Assumption(
        "asian_male_ratio",
        "Asian men's ratio to White men",
        0.5,
        2.0,
        1.0,
        _unfloored("asian_male"),
        "no figure found: an assumption",
    ),
    Assumption(
        "fmr_fall_per_step",
        "FMR fall per +0.02",
        3.0,
        20.0,
        FMR_SLOPE,
        _field("fmr_slope"),
        "NPL 2023: 7 -> 1 false positives (Poisson counts)",
    ),
    Assumption(
        "facematch.persistence",
        "look-alike persistence",
        0.3,
        0.9,
        LOOKALIKE_PERSISTENCE,
        _field("persistence"),
        "no published figure; 0.82-0.87 measured on studio photographs",
    ),
    Assumption(
        "npl_minority_ratio",
        "NPL minority / White ratio",
        *_npl_interval(),
        NPL_MINORITY_RATIO,
        _field("npl_ratio"),
        f"posterior of 7 of 7 (prior sd {_NPL_PRIOR_SD:g}), 90%",
    ),
)
ASSUMPTION_BY_PATH: dict[str, Assumption] = {a.path: a for a in ASSUMPTIONS}


@functools.lru_cache(maxsize=64)
def _presets_assuming(
    draw: int | None, values: tuple[tuple[str, float], ...]
) -> dict[str, ScoreModel]:
    inputs = Inputs() if draw is None else draw_inputs(draw)
    for path, v in values:
        inputs = ASSUMPTION_BY_PATH[path].apply(inputs, v)
    return _build_presets(inputs)


# ---------------------------------------------------------------- model uncertainty
# facematch.uncertainty = "ensemble": replication r uses draw r of every uncertain input, so the
# intervals of `compare` and `sweep` include what the sources leave uncertain. The spreads
# (docs/face_match.md, "Model uncertainty"): NIST's interquartile ranges across algorithms
# (lognormal with that IQR), the ranges of the assumptions (uniform), and the posteriors of
# NPL's counts. Draws depend on the draw number alone (not the run seed): two scenarios
# compared at replication r share draw r, as they share their other random numbers.
declare("facematch.ensemble", "the inputs of the face-match presets in ensemble draw r")

# Annex 15 interquartile ranges of the groups above the floor (CALIBRATION.md section 1).
_FMR_IQR = {
    "black_female": (5.0, 10.0),
    "asian_female": (3.2, 6.3),
    "amerindian_male": (10.0, 20.0),
    "amerindian_female": (40.0, 63.0),
}
_FNMR_IQR = {
    "white_female": (1.18, 1.39),
    "black_male": (0.35, 0.43),
    "black_female": (0.58, 0.80),
    "asian_male": (0.85, 1.04),
    "asian_female": (1.81, 2.52),
    "amerindian_male": (1.72, 2.23),
    "amerindian_female": (2.50, 3.56),
}
# FRVT 1:1 mugshot ratios' interquartile ranges over 240 algorithms (Bruveris' transcription);
# Asian men's ratio (no figure) lognormal around 1 with a spread of 0.35 (a factor of 2 either
# way at 95%: an assumption).
_UNFLOORED_IQR = {"white_female": (2.3, 3.3), "black_male": (1.9, 3.4), "black_female": (8.1, 14.1)}
_ASIAN_MALE_SPREAD = 0.35
# The structure's and the look-alikes' plausible ranges (ASSUMPTIONS, uniform).
_STRUCTURE_RANGE = {
    part: (a.low, a.high)
    for part, a in zip(("sex", "race", "age", "child", "senior"), ASSUMPTIONS[:5], strict=True)
}
PERSISTENCE_RANGE = (
    ASSUMPTION_BY_PATH["facematch.persistence"].low,
    ASSUMPTION_BY_PATH["facematch.persistence"].high,
)


def _lognormal(rng: np.random.Generator, median: float, q1: float, q3: float) -> float:
    return float(median * np.exp(np.log(q3 / q1) / 1.349 * rng.standard_normal()))


def draw_inputs(draw: int) -> Inputs:
    """Draw ``draw`` of the ensemble (the same on every machine)."""
    rng = Streams(0, draw).generator("facematch.ensemble")
    base = Inputs()
    fmr = list(base.nist_fmr_mult)
    for g, (q1, q3) in _FMR_IQR.items():
        fmr[NIST_GROUPS.index(g)] = _lognormal(rng, fmr[NIST_GROUPS.index(g)], q1, q3)
    fnmr = list(base.nist_fnmr_mult)
    for g, (q1, q3) in _FNMR_IQR.items():
        fnmr[NIST_GROUPS.index(g)] = _lognormal(rng, fnmr[NIST_GROUPS.index(g)], q1, q3)
    unfloored = {g: _lognormal(rng, _UNFLOORED_RATIO[g], *iqr) for g, iqr in _UNFLOORED_IQR.items()}
    unfloored["asian_male"] = float(np.exp(_ASIAN_MALE_SPREAD * rng.standard_normal()))
    st = {k: float(rng.uniform(*r)) for k, r in _STRUCTURE_RANGE.items()}
    # FMR's fall per +0.02: the ratio of the two Poisson rates behind NPL's 7 and 1 false
    # positives (Jeffreys posteriors Gamma(k + 1/2)), kept to 2-30.
    slope = float(np.clip(rng.gamma(7.5) / rng.gamma(1.5), 2.0, 30.0))
    r_grid, post = minority_ratio_posterior()
    npl = float(np.interp(rng.random(), np.cumsum(post), r_grid))
    return Inputs(
        nist_fmr_mult=tuple(fmr),
        nist_fnmr_mult=tuple(fnmr),
        unfloored_ratio=tuple(unfloored.items()),
        structure=Structure(
            sex=st["sex"], race=st["race"], age=st["age"], level=(st["child"], 0.0, st["senior"])
        ),
        fmr_slope=slope,
        npl_ratio=npl,
        persistence=float(rng.uniform(*PERSISTENCE_RANGE)),
    )


@functools.lru_cache(maxsize=32)
def ensemble_models(draw: int) -> dict[str, ScoreModel]:
    """Every preset as built from draw ``draw`` of the ensemble."""
    return _build_presets(draw_inputs(draw))


# ---------------------------------------------------------------- user-defined models
@dataclass(frozen=True)
class GroupParams:
    """One group of a user-defined model: target rates, or distribution parameters."""

    fmr: float | None = None
    fnmr: float | None = None
    impostor_mean_logit: float | None = None
    impostor_sd_logit: float | None = None
    genuine_mean_logit: float | None = None
    genuine_sd_logit: float | None = None


def custom_model(
    name: str,
    threshold_ref: float,
    groups: Mapping[str, GroupParams],
    *,
    cross_shift: float,
    quality_shift: float,
    default_imp_sd: float = IMPOSTOR_SD,
    default_gen_sd: float = GENUINE_SD,
) -> ScoreModel:
    """Build a model from per-group targets (FMR/FNMR at ``threshold_ref``) or parameters."""
    names = tuple(groups)
    imp_mu, imp_sd, gen_mu, gen_sd = [], [], [], []
    lt = float(_logit(threshold_ref))
    for g in names:
        p = groups[g]
        isd = p.impostor_sd_logit if p.impostor_sd_logit is not None else default_imp_sd
        gsd = p.genuine_sd_logit if p.genuine_sd_logit is not None else default_gen_sd
        imp_mu.append(
            p.impostor_mean_logit
            if p.impostor_mean_logit is not None
            else lt - isd * float(ndtri(1.0 - float(p.fmr or 0.0)))
        )
        gen_mu.append(
            p.genuine_mean_logit
            if p.genuine_mean_logit is not None
            else lt - gsd * float(ndtri(float(p.fnmr or 0.0)))
        )
        imp_sd.append(isd)
        gen_sd.append(gsd)
    return ScoreModel(
        name=name,
        groups=names,
        imp_mu=tuple(imp_mu),
        imp_sd=tuple(imp_sd),
        gen_mu=tuple(gen_mu),
        gen_sd=tuple(gen_sd),
        cross_shift=cross_shift,
        quality_shift=quality_shift,
        threshold_ref=threshold_ref,
        description="Defined in the scenario file.",
        caveats=("A user-defined model: its values are the scenario author's.",),
        persistence=LOOKALIKE_PERSISTENCE,
    )


def model_for(spec: FaceMatchSpec, replication: int = 0) -> ScoreModel:
    """The model a scenario's ``[facematch]`` table asks for (a preset or ``custom``); with
    ``uncertainty = "ensemble"``, the preset of draw ``replication``."""
    if spec.custom is None:
        draw = replication if spec.uncertainty == "ensemble" else None
        assumed = spec.assumed()
        if assumed:  # the named assumptions the scenario fixes, over the point or the draw
            return _presets_assuming(draw, assumed)[spec.model]
        return MODELS[spec.model] if draw is None else ensemble_models(draw)[spec.model]
    c = spec.custom
    groups = {
        name: GroupParams(
            fmr=g.fmr,
            fnmr=g.fnmr,
            impostor_mean_logit=g.impostor_mean_logit,
            impostor_sd_logit=g.impostor_sd_logit,
            genuine_mean_logit=g.genuine_mean_logit,
            genuine_sd_logit=g.genuine_sd_logit,
        )
        for name, g in c.groups.items()
    }
    return custom_model(
        "custom",
        c.threshold_ref,
        groups,
        cross_shift=c.cross_shift_logit,
        quality_shift=c.quality_shift_logit,
    )
