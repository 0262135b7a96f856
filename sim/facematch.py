"""Face-match models: per-group error rates at a threshold, and one-to-many search.

The interface every model offers (:class:`FaceMatchModel`):

- ``fmr(threshold)`` and ``fnmr(threshold)``: one-to-one false match / false non-match rate per
  model group, for impostor pairs of the same group;
- ``fmr_matrix(threshold)``: false match rate of a probe of group g against an enrolled face of
  group h (impostors of another group resemble the probe less);
- ``fpir(threshold, enrolled)``: chance that a non-listed passer-by of each group is falsely
  matched to someone on a watchlist holding ``enrolled[h]`` people of group h, computed exactly as
  1 - prod_h (1 - FMR[g, h]) ** N_h (CALIBRATION.md section 7);
- ``tpir(threshold, quality)``: chance that a listed person is found, lowered by capture quality.

This module holds the rate model of the foundation; calibrated score-distribution models come
behind the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

NIST_GROUPS: tuple[str, ...] = (
    "white_male", "white_female", "black_male", "black_female",
    "asian_male", "asian_female", "amerindian_male", "amerindian_female",
)


class FaceMatchModel(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def groups(self) -> tuple[str, ...]: ...

    @property
    def caveats(self) -> tuple[str, ...]: ...

    def fmr(self, threshold: float) -> npt.NDArray[np.float64]: ...

    def fnmr(self, threshold: float) -> npt.NDArray[np.float64]: ...

    def fmr_matrix(self, threshold: float) -> npt.NDArray[np.float64]: ...

    def fpir(self, threshold: float,
             enrolled: npt.ArrayLike) -> npt.NDArray[np.float64]: ...

    def tpir(self, threshold: float, quality: npt.ArrayLike = 1.0) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class RateModel:
    """Per-group FMR and FNMR at a reference threshold, moved log-linearly with the threshold.

    Raising the threshold by ``d`` divides every FMR by ``10 ** (d * fmr_decades_per_unit)`` and
    multiplies every FNMR by ``10 ** (d * fnmr_decades_per_unit)``, so both error types move
    together as on a DET curve.
    """

    name: str
    groups: tuple[str, ...]
    fmr_ref: tuple[float, ...]
    fnmr_ref: tuple[float, ...]
    threshold_ref: float
    fmr_decades_per_unit: float
    fnmr_decades_per_unit: float
    cross_group_factor: float
    caveats: tuple[str, ...] = ()

    def fmr(self, threshold: float) -> npt.NDArray[np.float64]:
        shift = (threshold - self.threshold_ref) * self.fmr_decades_per_unit
        return np.clip(np.asarray(self.fmr_ref) * 10.0 ** (-shift), 0.0, 1.0)

    def fnmr(self, threshold: float) -> npt.NDArray[np.float64]:
        shift = (threshold - self.threshold_ref) * self.fnmr_decades_per_unit
        return np.clip(np.asarray(self.fnmr_ref) * 10.0 ** shift, 0.0, 1.0)

    def fmr_matrix(self, threshold: float) -> npt.NDArray[np.float64]:
        same = self.fmr(threshold)
        m = np.repeat(same[:, None], same.size, axis=1) * self.cross_group_factor
        np.fill_diagonal(m, same)
        return m

    def fpir(self, threshold: float, enrolled: npt.ArrayLike) -> npt.NDArray[np.float64]:
        n = np.asarray(enrolled, np.float64)
        log_miss = np.log1p(-np.minimum(self.fmr_matrix(threshold), 1 - 1e-15)) @ n
        return -np.expm1(log_miss)

    def tpir(self, threshold: float, quality: npt.ArrayLike = 1.0) -> npt.NDArray[np.float64]:
        q = np.asarray(quality, np.float64)
        return (1.0 - self.fnmr(threshold)) * q if q.ndim == 0 else \
            (1.0 - self.fnmr(threshold))[..., None] * q


# NIST FRVT Part 3: Demographic Effects (NISTIR 8280, Grother, Ngan & Hanaoka 2019), Annex 15:
# median over the 88 algorithms with White-male FNMR < 0.02 of each group's rate divided by the
# White-male rate; reference White-male FMR 1e-5 and FNMR 0.0103 (CALIBRATION.md section 1).
# The annex's FMR scale floors at 1e-5, so the FMR multipliers are lower bounds.
_NIST_FMR_MULT = (1.0, 1.0, 1.0, 7.9, 1.0, 4.0, 12.6, 50.0)
_NIST_FNMR_MULT = (1.0, 1.31, 0.39, 0.69, 0.94, 2.14, 1.97, 2.89)
_NIST_WM_FMR = 1e-5
_NIST_WM_FNMR = 0.0103

# Threshold slope of FMR: UK NPL 2023 (Mansfield; NEC NeoFace V4, CALIBRATION.md section 2)
# counted 7 false positives at 0.60, 1 at 0.62 and 0 at 0.64: about a factor 7 per 0.02, i.e.
# log10(7) / 0.02 = 42 decades per unit of threshold. The FNMR slope is an assumption (FNMR rises
# by a factor of 10**0.15 for each decade of FMR given up), pending the score-distribution models.
_FMR_DECADES_PER_UNIT = float(np.log10(7.0) / 0.02)
_FNMR_DECADES_PER_UNIT = 0.15 * _FMR_DECADES_PER_UNIT

# Impostor pairs of different sex or race give far lower FMR than same-demographic pairs
# (NISTIR 8280, section on cross-demographic comparisons). The factor 0.1 is an assumption.
_CROSS_GROUP_FACTOR = 0.1

_COMMON_CAVEATS = (
    "The threshold scale is survsim's own (0.60 = the NIST Annex 15 operating point); the FMR "
    "slope comes from NPL 2023's 0.60-0.64 counts and the FNMR slope is an assumption.",
    "Cross-group impostor FMR is set to 0.1 of the same-group FMR (an assumption).",
)

MODELS: dict[str, FaceMatchModel] = {
    "nist_frvt2019_median": RateModel(
        name="nist_frvt2019_median",
        groups=NIST_GROUPS,
        fmr_ref=tuple(_NIST_WM_FMR * m for m in _NIST_FMR_MULT),
        fnmr_ref=tuple(_NIST_WM_FNMR * m for m in _NIST_FNMR_MULT),
        threshold_ref=0.60,
        fmr_decades_per_unit=_FMR_DECADES_PER_UNIT,
        fnmr_decades_per_unit=_FNMR_DECADES_PER_UNIT,
        cross_group_factor=_CROSS_GROUP_FACTOR,
        caveats=("FMR multipliers are lower bounds: the NIST annex's FMR scale floors at 1e-5.",
                 *_COMMON_CAVEATS),
    ),
    # A control with no demographic differential: every group gets the White-male reference
    # rates of NISTIR 8280 Annex 15. Useful to separate base-rate effects from differentials.
    "equal_rates": RateModel(
        name="equal_rates",
        groups=NIST_GROUPS,
        fmr_ref=(_NIST_WM_FMR,) * len(NIST_GROUPS),
        fnmr_ref=(_NIST_WM_FNMR,) * len(NIST_GROUPS),
        threshold_ref=0.60,
        fmr_decades_per_unit=_FMR_DECADES_PER_UNIT,
        fnmr_decades_per_unit=_FNMR_DECADES_PER_UNIT,
        cross_group_factor=_CROSS_GROUP_FACTOR,
        caveats=("A counterfactual without demographic differentials, not a real algorithm.",
                 *_COMMON_CAVEATS),
    ),
}
