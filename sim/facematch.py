"""Face-match models: per-group genuine and impostor similarity distributions.

Every model is a :class:`ScoreModel`. For each group g, similarity scores in (0, 1) are
*logit-normal*: ``logit(score)`` is normal, with mean ``imp_mu[g]`` and spread ``imp_sd[g]`` for
impostor pairs (two different people of group g) and ``gen_mu[g]``, ``gen_sd[g]`` for genuine
pairs (two images of one person of group g). A threshold T turns them into

    FMR_g(T)  = P(impostor score > T) = 1 - Phi((logit T - imp_mu_g) / imp_sd_g)
    FNMR_g(T) = P(genuine score <= T) = Phi((logit T - gen_mu_g(q)) / gen_sd_g)

so sweeping T trades one error for the other as a DET curve does. Impostors of two different
groups g, h resemble each other less: their mean is the average of the two groups' means lowered by
``cross_shift`` (logit units). One-to-many search against a watchlist holding N_h people of group h
falsely matches a non-listed probe of group g with the exact probability

    FPIR_g = 1 - prod_h (1 - FMR_gh(T)) ** N_h      (docs/calibration.md section 7)

and finds a listed person of group g with TPIR_g = 1 - FNMR_g(T, q). Capture quality q in [0, 1]
(1 = a custody portrait) lowers the genuine mean: gen_mu_g(q) = gen_mu_g - quality_shift * (1 - q).

Presets are fitted to published figures (docs/calibration.md; sources next to each value): the
per-group means are solved so that FMR and FNMR equal the published rates at the preset's
reference threshold, with spreads pinned by the published threshold behaviour. The fit and its
limits are documented in docs/face_match.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr, logit, ndtr, ndtri

if TYPE_CHECKING:
    from sim.scenario import FaceMatch as FaceMatchSpec

Array = npt.NDArray[np.float64]

NIST_GROUPS: tuple[str, ...] = (
    "white_male", "white_female", "black_male", "black_female",
    "asian_male", "asian_female", "amerindian_male", "amerindian_female",
)

_EPS = 1e-12


def _logit(t: npt.ArrayLike) -> Array:
    return np.asarray(logit(np.clip(np.asarray(t, np.float64), _EPS, 1 - _EPS)), np.float64)


def _sf(z: npt.ArrayLike) -> Array:
    """Upper tail of the standard normal, accurate far into the tail."""
    return np.asarray(ndtr(-np.asarray(z, np.float64)), np.float64)


@dataclass(frozen=True)
class ScoreModel:
    """Logit-normal genuine and impostor score distributions per group.

    Attributes
    ----------
    imp_mu, imp_sd, gen_mu, gen_sd
        Per-group means and spreads of logit(score), impostor and genuine pairs (portrait quality).
    cross_shift
        How much lower (logit units) the impostor mean is for two people of different groups.
    quality_shift
        Lowering of the genuine mean (logit units) per unit of lost capture quality.
    threshold_ref
        The threshold at which the preset was fitted to published rates.
    """

    name: str
    groups: tuple[str, ...]
    imp_mu: tuple[float, ...]
    imp_sd: tuple[float, ...]
    gen_mu: tuple[float, ...]
    gen_sd: tuple[float, ...]
    cross_shift: float
    quality_shift: float
    threshold_ref: float
    description: str = ""
    caveats: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    pair_from_probe: bool = False  # impostor pairs take the probe's distribution (see below)

    # ---------------------------------------------------------------- one-to-one
    def fmr(self, threshold: float) -> Array:
        """False match rate per group (impostor pairs of the same group)."""
        return _sf((_logit(threshold) - np.asarray(self.imp_mu)) / np.asarray(self.imp_sd))

    def fmr_at(self, threshold: npt.ArrayLike, group: npt.ArrayLike) -> Array:
        """Same-group FMR of many comparisons at once, each at its own threshold."""
        g = np.asarray(group, np.int64)
        return _sf((_logit(threshold) - np.asarray(self.imp_mu)[g]) / np.asarray(self.imp_sd)[g])

    def fnmr(self, threshold: float, quality: npt.ArrayLike = 1.0) -> Array:
        """False non-match rate per group; broadcasts over ``quality`` (last axis)."""
        q = np.asarray(quality, np.float64)
        mu = np.asarray(self.gen_mu)
        sd = np.asarray(self.gen_sd)
        if q.ndim:
            mu, sd = mu[:, None], sd[:, None]
        shifted = mu - self.quality_shift * (1.0 - q)
        return np.asarray(ndtr((_logit(threshold) - shifted) / sd), np.float64)

    def pair_params(self) -> tuple[Array, Array]:
        """Impostor logit mean and spread for every (probe group, enrolled group) pair.

        By default a pair of two groups averages their means (and root-mean-squares their
        spreads), lowered by ``cross_shift``. Presets fitted to *aggregate* one-to-many figures
        (``pair_from_probe``) give every pair the probe group's own distribution, so the
        published FPIR holds whatever the watchlist's make-up.
        """
        mu = np.asarray(self.imp_mu)
        sd = np.asarray(self.imp_sd)
        other = 1 - np.eye(mu.size)
        if self.pair_from_probe:
            pmu = np.repeat(mu[:, None], mu.size, axis=1) - self.cross_shift * other
            psd = np.repeat(sd[:, None], sd.size, axis=1)
            return pmu, psd
        pmu = (mu[:, None] + mu[None, :]) / 2.0 - self.cross_shift * other
        psd = np.sqrt((sd[:, None] ** 2 + sd[None, :] ** 2) / 2.0)
        return pmu, psd

    def fmr_matrix(self, threshold: float) -> Array:
        """FMR of a probe of group g (rows) against an enrolled face of group h (columns)."""
        pmu, psd = self.pair_params()
        return _sf((_logit(threshold) - pmu) / psd)

    # ---------------------------------------------------------------- one-to-many
    def fpir(self, threshold: float, enrolled: npt.ArrayLike) -> Array:
        """Chance that a non-listed probe of each group is matched to someone on the list.

        Exact for independent comparisons: 1 - prod_h (1 - FMR_gh) ** N_h, computed in log
        space so that tiny rates and huge lists stay accurate.
        """
        n = np.asarray(enrolled, np.float64)
        log_miss = np.log1p(-np.minimum(self.fmr_matrix(threshold), 1 - 1e-16)) @ n
        return np.asarray(-np.expm1(log_miss), np.float64)

    def fnir(self, threshold: float, quality: npt.ArrayLike = 1.0) -> Array:
        return self.fnmr(threshold, quality)

    def tpir(self, threshold: float, quality: npt.ArrayLike = 1.0) -> Array:
        """Chance that a listed person of each group is found (their genuine score passes)."""
        return 1.0 - self.fnmr(threshold, quality)

    def p_hit(self, threshold: npt.ArrayLike, group: npt.ArrayLike,
              quality: npt.ArrayLike) -> Array:
        """TPIR of many captures at once (vectorised over captures, and over thresholds)."""
        g = np.asarray(group, np.int64)
        q = np.asarray(quality, np.float64)
        mu = np.asarray(self.gen_mu)[g] - self.quality_shift * (1.0 - q)
        return np.asarray(_sf((_logit(threshold) - mu) / np.asarray(self.gen_sd)[g]), np.float64)

    # ---------------------------------------------------------------- scores of alerts
    def genuine_score_above(self, threshold: float, group: npt.ArrayLike,
                            quality: npt.ArrayLike, u: npt.ArrayLike) -> Array:
        """A genuine score drawn given that it passed the threshold (inverse CDF with ``u``)."""
        g = np.asarray(group, np.int64)
        mu = np.asarray(self.gen_mu)[g] - self.quality_shift * (1.0 - np.asarray(quality))
        return _above(threshold, mu, np.asarray(self.gen_sd)[g], u)

    def impostor_score_above(self, threshold: float, probe: npt.ArrayLike,
                             enrolled: npt.ArrayLike, u: npt.ArrayLike) -> Array:
        """An impostor score drawn given that it passed the threshold."""
        pmu, psd = self.pair_params()
        p = np.asarray(probe, np.int64)
        e = np.asarray(enrolled, np.int64)
        return _above(threshold, pmu[p, e], psd[p, e], u)

    def summary(self, threshold: float, enrolled: npt.ArrayLike | None = None,
                quality: float = 1.0) -> dict[str, dict[str, float]]:
        """Per-group FMR, FNMR, FPIR and TPIR (the shape of ``survsim errors --json``)."""
        n = np.zeros(len(self.groups)) if enrolled is None else np.asarray(enrolled, float)
        fmr, fnmr = self.fmr(threshold), self.fnmr(threshold, quality)
        fpir = self.fpir(threshold, n)
        return {g: {"fmr": float(fmr[i]), "fnmr": float(fnmr[i]), "fpir": float(fpir[i]),
                    "tpir": float(1.0 - fnmr[i])} for i, g in enumerate(self.groups)}


def _above(threshold: float, mu: Array, sd: Array, u: npt.ArrayLike) -> Array:
    """Inverse CDF of logit-normal scores truncated to (threshold, 1)."""
    z0 = (_logit(threshold) - mu) / sd
    # Work in the upper tail: P(Z > z) = exp(log_ndtr(-z)); draw a tail mass below the start's.
    tail = np.exp(log_ndtr(-z0)) * (1.0 - np.asarray(u, np.float64))
    z = -ndtri(np.clip(tail, 1e-300, 1.0))
    z = np.maximum(z, z0)
    return np.asarray(1.0 / (1.0 + np.exp(-(mu + sd * z))), np.float64)


# ---------------------------------------------------------------- fitting
def fit_means(threshold: float, fmr: Sequence[float], fnmr: Sequence[float],
              imp_sd: Sequence[float], gen_sd: Sequence[float], *, quality: float = 1.0,
              quality_shift: float = 0.0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Logit means that give exactly the rates ``fmr`` and ``fnmr`` at ``threshold``.

    ``quality`` is the capture quality at which ``fnmr`` was measured (1 for portraits); the
    returned genuine means are for portrait quality.
    """
    lt = float(_logit(threshold))
    f = np.asarray(fmr, np.float64)
    n = np.asarray(fnmr, np.float64)
    imp = lt - np.asarray(imp_sd) * ndtri(1.0 - f)
    gen = lt - np.asarray(gen_sd) * ndtri(n) + quality_shift * (1.0 - quality)
    return tuple(float(x) for x in imp), tuple(float(x) for x in gen)


def from_rates(name: str, groups: Sequence[str], threshold: float, fmr: Sequence[float],
               fnmr: Sequence[float], *, imp_sd: float | Sequence[float] | None = None,
               gen_sd: float | Sequence[float] | None = None, quality: float = 1.0,
               cross_shift: float | None = None, quality_shift: float | None = None,
               description: str = "", caveats: Sequence[str] = (),
               sources: Sequence[str] = (), pair_from_probe: bool = False) -> ScoreModel:
    """A model whose groups have the given FMR and FNMR at ``threshold``."""
    k = len(groups)
    isd = _per_group(IMPOSTOR_SD if imp_sd is None else imp_sd, k)
    gsd = _per_group(GENUINE_SD if gen_sd is None else gen_sd, k)
    qs = QUALITY_SHIFT if quality_shift is None else quality_shift
    imp, gen = fit_means(threshold, fmr, fnmr, isd, gsd, quality=quality, quality_shift=qs)
    return ScoreModel(name=name, groups=tuple(groups), imp_mu=imp, imp_sd=isd, gen_mu=gen,
                      gen_sd=gsd, cross_shift=CROSS_SHIFT if cross_shift is None else cross_shift,
                      quality_shift=qs, threshold_ref=threshold, description=description,
                      caveats=tuple(caveats), sources=tuple(sources),
                      pair_from_probe=pair_from_probe)


def _per_group(v: float | Sequence[float], k: int) -> tuple[float, ...]:
    if isinstance(v, int | float):
        return (float(v),) * k
    if len(v) != k:
        raise ValueError(f"expected {k} values, got {len(v)}")
    return tuple(float(x) for x in v)


# ---------------------------------------------------------------- shared parameters
# Threshold scale: survsim's own similarity in [0, 1], with T = 0.60 the operating point at which
# presets are fitted (NEC NeoFace's default threshold in NPL 2023; NIST's per-algorithm Annex 15
# thresholds are mapped to it).
T_REF = 0.60

# Impostor spread, pinned by the UK NPL 2023 test of NEC NeoFace V4 (Mansfield 2023; The Register
# 2023-04-06; ComputerWeekly 2023-04-12): 7 false positives at 0.60, 1 at 0.62, 0 at 0.64, i.e.
# FMR falls about 7-fold per +0.02. At the NIST reference FMR of 1e-5 that needs a logit spread of
# (logit 0.62 - logit 0.60) / (Phi^-1(1 - 1e-5/7) - Phi^-1(1 - 1e-5)) = 0.202.
IMPOSTOR_SD = float((logit(0.62) - logit(0.60)) / (ndtri(1 - 1e-5 / 7) - ndtri(1 - 1e-5)))

# Genuine spread: an assumption (no published genuine-score spread on this scale). 0.5 logit units
# makes the NIST White-male FNMR grow about 2.9-fold from threshold 0.60 to 0.65, a slope of the
# kind published DET curves show, but not fitted to them.
GENUINE_SD = 0.5

# Impostor pairs of different sex or race score lower than same-demographic pairs (NISTIR 8280,
# section 5 "cross-demographic false matches": FMR for cross-race and cross-sex impostors is far
# lower). 0.1 logit units makes a cross-group FMR about 10x lower near FMR 1e-5: an assumption of
# the order of magnitude, not a fit.
CROSS_SHIFT = 0.1

# Capture quality: portraits (q = 1) give NIST's FNMR; live video is worse (docs/calibration.md
# section 5: TPIR 0.89 in NPL's controlled test, > 0.76 with hats and glasses, about 0.70 for the
# Met in 2020; NISTIR 8173 60% to > 99% by video quality). Fitted so that the White-male NIST
# median (FNMR 0.0103 at 0.60 on portraits) gives TPIR 0.89 at q = 0.8; then q = 0.7 gives 0.75
# and q = 0.67 gives 0.70.
LIVE_QUALITY_NPL = 0.8
QUALITY_SHIFT = float((GENUINE_SD * (ndtri(0.11) - ndtri(0.0103))) / (1.0 - LIVE_QUALITY_NPL))


def _nist(name: str, fmr: Sequence[float], fnmr: Sequence[float], description: str,
          extra_caveats: Sequence[str] = ()) -> ScoreModel:
    return from_rates(
        name, NIST_GROUPS, T_REF, fmr, fnmr, description=description,
        caveats=(
            "NIST's Annex 15 FMR scale floors at 1e-5, so FMRs reported at 1e-5 (and the "
            "multipliers built on them) are upper bounds for those groups and lower bounds for "
            "the differentials.",
            "The threshold scale is survsim's own: 0.60 stands for each algorithm's Annex 15 "
            "threshold; the FMR slope comes from NPL 2023 (NEC), the genuine spread is assumed.",
            "Cross-group impostor scores are lowered by 0.1 logit units (an assumption).",
            *extra_caveats),
        sources=("NIST FRVT Part 3: Demographic Effects, NISTIR 8280 (Grother, Ngan, Hanaoka "
                 "2019), Annex 15",))


# NISTIR 8280 Annex 15: median over the 88 algorithms with White-male FNMR < 0.02 of each group's
# rate divided by the White-male rate; White-male reference FMR 1e-5 and FNMR 0.0103.
_NIST_FMR_MULT = (1.0, 1.0, 1.0, 7.9, 1.0, 4.0, 12.6, 50.0)
_NIST_FNMR_MULT = (1.0, 1.31, 0.39, 0.69, 0.94, 2.14, 1.97, 2.89)

# NISTIR 8280 Annex 15, named algorithms: FMR and FNMR per group at each algorithm's threshold,
# groups in NIST_GROUPS order (White M, White F, Black M, Black F, Asian M, Asian F, Am.Ind. M,
# Am.Ind. F).
_NAMED: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "visionlabs_007": ((1e-5, 1e-5, 1e-5, 6.3e-5, 1e-5, 3.2e-5, 2.0e-4, 5.0e-4),
                       (.0046, .0033, .0014, .0017, .0036, .0047, .0067, .0080)),
    "idemia_005": ((1e-5, 1.3e-5, 1.6e-5, 2.0e-4, 1e-5, 6.3e-5, 7.9e-5, 5.0e-4),
                   (.0089, .0123, .0031, .0068, .0075, .0220, .0229, .0371)),
    "cognitec_001": ((1e-5, 1.3e-5, 1e-5, 1.0e-4, 1.6e-5, 7.9e-5, 1.3e-4, 5.0e-4),
                     (.0111, .0145, .0058, .0108, .0128, .0345, .0311, .0514)),
    "rankone_007": ((1e-5, 1e-5, 1e-5, 3.2e-5, 4.0e-5, 1.3e-4, 1.6e-4, 5.0e-4),
                    (.0114, .0169, .0048, .0096, .0132, .0347, .0321, .0536)),
    "yitu_003": ((1e-5, 1.6e-5, 1.3e-5, 3.2e-5, 1.6e-5, 2.5e-5, 3.2e-4, 4.0e-4),
                 (.0085, .0107, .0029, .0045, .0099, .0304, .0250, .0396)),
}

# UK NPL 2023 (Mansfield), NEC NeoFace V4 live facial recognition: at 0.60, FPIR 1 in 6,000 with
# a 10,000-person watchlist and 1 in 60,000 with 1,000 (linear in N), i.e. a per-comparison FMR
# of 1/6,000/10,000 = 1.67e-8; TPIR 0.89; no significant demographic difference at >= 0.60.
# Sources: The Register 2023-04-06; ComputerWeekly 2023-04-12; science.police.uk.
_NPL_FMR = -np.log1p(-1.0 / 6000.0) / 10_000
_NPL_FNMR_LIVE = 1.0 - 0.89
# The impostor spread pinned at NPL's own FMR level: 7 -> 1 false positives from 0.60 to 0.62.
_NPL_IMPOSTOR_SD = float((logit(0.62) - logit(0.60))
                         / (ndtri(1 - _NPL_FMR / 7) - ndtri(1 - _NPL_FMR)))
# "At 0.58 and 0.56 false positives rise, with more Black subjects falsely matched" (NPL 2023):
# Black groups get a 13% narrower impostor spread with the same FMR at 0.60, so their FMR grows
# faster as the threshold is lowered (and stays negligible above 0.60). The factor is an
# assumption chosen to show the reported direction, not its size.
_NPL_BLACK_SD_FACTOR = 0.87

# UK Police National Database retrospective search, NPL 2025 (Cognitec FaceVACS-DBScan ID 5.5),
# gallery > 19 million, at a "lower setting": FPIR White 0.04%, Asian 4.0%, Black 5.5%; Black men
# 0.4%, Black women 9.9%. Source: NPL report as reported by the Guardian, December 2025; UK
# Parliament written answer HL12797. Per-sex figures exist only for Black subjects: White and
# Asian men and women get their group's figure; American Indian subjects are not reported and get
# the Asian figures (assumptions). The per-comparison FMR is solved as if every comparison were
# at the same-group rate (the gallery's make-up is not published).
_PND_N = 19_000_000
_PND_FPIR = (0.0004, 0.0004, 0.004, 0.099, 0.040, 0.040, 0.040, 0.040)


def _pnd_fmr() -> tuple[float, ...]:
    return tuple(float(-np.log1p(-p) / _PND_N) for p in _PND_FPIR)


def _build_presets() -> dict[str, ScoreModel]:
    wm_fmr, wm_fnmr = 1e-5, 0.0103
    presets: dict[str, ScoreModel] = {
        "nist_frvt2019_median": _nist(
            "nist_frvt2019_median", [wm_fmr * m for m in _NIST_FMR_MULT],
            [wm_fnmr * m for m in _NIST_FNMR_MULT],
            "Median demographic differentials of 88 one-to-one algorithms (NIST FRVT 2019)."),
        "equal_rates": from_rates(
            "equal_rates", NIST_GROUPS, T_REF, [wm_fmr] * 8, [wm_fnmr] * 8,
            description="Counterfactual: every group gets NIST's White-male reference rates.",
            caveats=("Not a real algorithm: a control that separates base-rate effects from "
                     "demographic differentials.",),
            sources=("NISTIR 8280 Annex 15 (White-male reference rates)",)),
    }
    for name, (fmr, fnmr) in _NAMED.items():
        presets[name] = _nist(name, fmr, fnmr,
                              f"{name.replace('_', '-')} as measured in NISTIR 8280 Annex 15.")
    npl_sd = [_NPL_IMPOSTOR_SD * (_NPL_BLACK_SD_FACTOR if g.startswith("black") else 1.0)
              for g in NIST_GROUPS]
    presets["uk_lfr_npl2023"] = from_rates(
        "uk_lfr_npl2023", NIST_GROUPS, T_REF, [_NPL_FMR] * 8, [_NPL_FNMR_LIVE] * 8,
        imp_sd=npl_sd, quality=LIVE_QUALITY_NPL,
        # NPL's FPIR is an aggregate over all passers-by and a watchlist of unknown make-up, and
        # NPL found no demographic difference at >= 0.60: every impostor pair takes the probe's
        # distribution, so the published 1 in 6,000 (N = 10,000) and 1 in 60,000 (N = 1,000)
        # hold for any composition.
        cross_shift=0.0, pair_from_probe=True,
        description="NEC NeoFace V4 live facial recognition as tested by the UK NPL in 2023.",
        caveats=("NPL found no significant demographic difference at >= 0.60; the narrower "
                 "impostor spread of Black groups, which raises their FMR below 0.60, is an "
                 "assumption that reproduces the reported direction, not its size.",
                 "TPIR 0.89 was measured on live video; it is taken to hold at capture quality "
                 "0.8."),
        sources=("UK NPL 2023 (Mansfield), as reported by The Register 2023-04-06 and "
                 "ComputerWeekly 2023-04-12",))
    presets["uk_pnd_retrospective2025"] = from_rates(
        "uk_pnd_retrospective2025", NIST_GROUPS, T_REF, _pnd_fmr(), [wm_fnmr] * 8,
        # The published FPIRs are against the real custody gallery, whose make-up is not
        # published; impostor pairs take the probe's distribution, so they hold for a gallery
        # of any make-up.
        cross_shift=0.0, pair_from_probe=True,
        description="Retrospective search of the UK Police National Database (Cognitec, "
                    "NPL 2025) at its lower setting.",
        caveats=("Only FPIR was published; FNMR is set to NIST's White-male reference "
                 "(an assumption).",
                 "Per-sex figures exist only for Black subjects; American Indian subjects get "
                 "the Asian figures (assumptions).",
                 "The per-comparison FMR is solved from FPIR at a 19-million gallery, and every "
                 "impostor pair takes the probe's distribution, so the published FPIRs hold for "
                 "any gallery make-up but the same-group effect of a watchlist's make-up is not "
                 "modelled."),
        sources=("NPL 2025 report as reported by the Guardian (December 2025); UK Parliament "
                 "written answer HL12797",))
    return presets


MODELS: dict[str, ScoreModel] = _build_presets()


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


def custom_model(name: str, threshold_ref: float, groups: Mapping[str, GroupParams], *,
                 cross_shift: float, quality_shift: float,
                 default_imp_sd: float = IMPOSTOR_SD,
                 default_gen_sd: float = GENUINE_SD) -> ScoreModel:
    """Build a model from per-group targets (FMR/FNMR at ``threshold_ref``) or parameters."""
    names = tuple(groups)
    imp_mu, imp_sd, gen_mu, gen_sd = [], [], [], []
    lt = float(_logit(threshold_ref))
    for g in names:
        p = groups[g]
        isd = p.impostor_sd_logit if p.impostor_sd_logit is not None else default_imp_sd
        gsd = p.genuine_sd_logit if p.genuine_sd_logit is not None else default_gen_sd
        imp_mu.append(p.impostor_mean_logit if p.impostor_mean_logit is not None
                      else lt - isd * float(ndtri(1.0 - float(p.fmr or 0.0))))
        gen_mu.append(p.genuine_mean_logit if p.genuine_mean_logit is not None
                      else lt - gsd * float(ndtri(float(p.fnmr or 0.0))))
        imp_sd.append(isd)
        gen_sd.append(gsd)
    return ScoreModel(name=name, groups=names, imp_mu=tuple(imp_mu), imp_sd=tuple(imp_sd),
                      gen_mu=tuple(gen_mu), gen_sd=tuple(gen_sd), cross_shift=cross_shift,
                      quality_shift=quality_shift, threshold_ref=threshold_ref,
                      description="Defined in the scenario file.",
                      caveats=("A user-defined model: its values are the scenario author's.",))


def model_for(spec: FaceMatchSpec) -> ScoreModel:
    """The model a scenario's ``[facematch]`` table asks for (a preset or ``custom``)."""
    if spec.custom is None:
        return MODELS[spec.model]
    c = spec.custom
    groups = {name: GroupParams(fmr=g.fmr, fnmr=g.fnmr,
                                impostor_mean_logit=g.impostor_mean_logit,
                                impostor_sd_logit=g.impostor_sd_logit,
                                genuine_mean_logit=g.genuine_mean_logit,
                                genuine_sd_logit=g.genuine_sd_logit)
              for name, g in c.groups.items()}
    return custom_model("custom", c.threshold_ref, groups, cross_shift=c.cross_shift_logit,
                        quality_shift=c.quality_shift_logit)


# Every model is a ScoreModel; the name the engine and world use for the interface.
FaceMatchModel = ScoreModel
