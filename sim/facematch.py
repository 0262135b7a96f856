"""Face-match models: per-group genuine and impostor similarity distributions.

Every model is a :class:`ScoreModel`. For each group g, similarity scores in (0, 1) are
*logit-normal*: ``logit(score)`` is normal, with mean ``imp_mu[g]`` and spread ``imp_sd[g]`` for
impostor pairs of two different people of group g (same sex, same race, both adults: the pairs
NIST's per-group false match rates are measured on) and ``gen_mu[g]``, ``gen_sd[g]`` for genuine
pairs (two images of one person). A threshold T turns them into

    FMR_g(T)  = P(impostor score > T) = 1 - Phi((logit T - imp_mu_g) / imp_sd_g)
    FNMR_g(T) = P(genuine score <= T) = Phi((logit T - gen_mu_g(q)) / gen_sd_g)

so sweeping T trades one error for the other as a DET curve does.

**Who resembles whom** (:class:`Structure`). An impostor pair of a probe of group g and age band
a against an enrolled face of group h (watchlist entries are adults: custody lists hold adults)
has the mean

    mu(a, g, h) = (imp_mu_g + imp_mu_h) / 2 + sd_gh * (level_a / 2 - sex * [sex differs]
                  - race * [race differs] - age * [a is not adult])

with sd_gh the root mean square of the two spreads. The shifts are in units of the pair's spread
and each comes from NIST's own cross-demographic measurements (values and sources in
``NIST_STRUCTURE``): pairs of different sex and of different race resemble each other much less
than same-demographic pairs, pairs of different ages less again, and children's and the elderly's
faces more among themselves. So the make-up of a watchlist decides whom a false match falls on:
a passer-by is falsely matched mostly against the listed people of their own sex and race.
Models whose groups carry no sex and race (a user's own groups) use ``cross_shift`` (logit units)
for every pair of different groups instead.

One-to-many search against a watchlist holding N_h adults of group h falsely matches a non-listed
probe of group g and age band a with the exact probability

    FPIR_ga = 1 - prod_h (1 - FMR_agh(T)) ** N_h      (docs/calibration.md section 7)

and finds a listed person of group g with TPIR_g = 1 - FNMR_g(T, q). Capture quality q in [0, 1]
(1 = a custody portrait) lowers the genuine mean: gen_mu_g(q) = gen_mu_g - quality_shift * (1 - q).

Presets (:mod:`sim.facematch_presets`) are fitted to published figures at each evaluation's own
gallery (docs/calibration.md; sources next to each value): NIST's per-group rates are
same-demographic pairs, fitted directly; NPL's and the PND's rates are one-to-many against their
galleries, so the fit includes the galleries' make-up. The fits, the assumptions and how much each
moves the results: docs/face_match.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr, logit, ndtr, ndtri

from sim.schema import AGE_BANDS as AGE_BANDS

Array = npt.NDArray[np.float64]

NIST_GROUPS: tuple[str, ...] = (
    "white_male",
    "white_female",
    "black_male",
    "black_female",
    "asian_male",
    "asian_female",
    "amerindian_male",
    "amerindian_female",
)
SEXES: tuple[str, ...] = ("male", "female")
RACES: tuple[str, ...] = ("white", "black", "asian", "amerindian")
ADULT = AGE_BANDS.index("adult")

_EPS = 1e-12


def _logit(t: npt.ArrayLike) -> Array:
    return np.asarray(logit(np.clip(np.asarray(t, np.float64), _EPS, 1 - _EPS)), np.float64)


def _sf(z: npt.ArrayLike) -> Array:
    """Upper tail of the standard normal, accurate far into the tail."""
    return np.asarray(ndtr(-np.asarray(z, np.float64)), np.float64)


def sex_and_race(groups: Sequence[str]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Each group's sex and race (indices into SEXES, RACES) from names like 'black_female';
    None when a group's name does not say (the model then uses a single cross shift)."""
    sex, race = [], []
    for g in groups:
        r, _, s = g.rpartition("_")
        if r not in RACES or s not in SEXES:
            return None
        sex.append(SEXES.index(s))
        race.append(RACES.index(r))
    return tuple(sex), tuple(race)


@dataclass(frozen=True)
class Structure:
    """How an impostor pair's demographics move its score, in units of the pair's spread.

    Attributes
    ----------
    sex, race
        Lowering for a pair of different sex, of different race (the two add up).
    age
        Lowering for a probe whose age band is not the entries' (adults).
    level
        Raising of each age band's same-band impostor mean over adults' (child, adult, senior);
        a probe carries half its band's level into a pair with an adult.
    """

    sex: float = 0.0
    race: float = 0.0
    age: float = 0.0
    level: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class ScoreModel:
    """Logit-normal genuine and impostor score distributions per group.

    Attributes
    ----------
    imp_mu, imp_sd, gen_mu, gen_sd
        Per-group means and spreads of logit(score): impostor pairs of two adults of the group,
        and genuine pairs (portrait quality).
    structure
        The cross-demographic shifts, used when the groups have a sex and race (None: use
        ``cross_shift`` instead).
    cross_shift
        Without a structure (or for groups without sex and race): how much lower (logit units)
        the impostor mean is for two people of different groups, whatever their ages.
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
    structure: Structure | None = None  # None: cross_shift for every pair of other groups
    # The make-up (shares per group) of the gallery the preset's published one-to-many figures
    # were measured against (None: published as one-to-one rates).
    gallery: tuple[float, ...] | None = None
    # The persistent share of impostor-score variance (sim.lookalikes); LOOKALIKE_PERSISTENCE.
    persistence: float = 0.0

    @property
    def demographics(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """Each group's (sex, race) indices, or None (groups without them, or no structure)."""
        return None if self.structure is None else sex_and_race(self.groups)

    # ---------------------------------------------------------------- one-to-one
    def fmr(self, threshold: float) -> Array:
        """False match rate per group (impostor pairs of two adults of the same group)."""
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

    def pair_params_by_age(self) -> tuple[Array, Array]:
        """Impostor logit mean and spread of every (probe age band, probe group, enrolled
        group), shapes (3, G, G): the enrolled faces are adults (see the module docstring)."""
        mu = np.asarray(self.imp_mu)
        sd = np.asarray(self.imp_sd)
        k = mu.size
        psd = np.sqrt((sd[:, None] ** 2 + sd[None, :] ** 2) / 2.0)
        base = (mu[:, None] + mu[None, :]) / 2.0
        demo = self.demographics
        if demo is None:
            shift = np.broadcast_to(self.cross_shift * (1 - np.eye(k)), (3, k, k))
            return np.broadcast_to(base, (3, k, k)) - shift, np.broadcast_to(psd, (3, k, k))
        sex, race = (np.asarray(x) for x in demo)
        st = self.structure
        assert st is not None
        units = st.sex * (sex[:, None] != sex[None, :]) + st.race * (race[:, None] != race[None, :])
        out = np.empty((3, k, k))
        for a in range(3):
            across = st.age if a != ADULT else 0.0
            out[a] = base + psd * (st.level[a] / 2.0 - units - across)
        return out, np.broadcast_to(psd, (3, k, k))

    def pair_params(self, age: int = ADULT) -> tuple[Array, Array]:
        """Impostor logit mean and spread for every (probe group, enrolled group) pair, for
        probes of one age band (default adults)."""
        mu, sd = self.pair_params_by_age()
        return np.asarray(mu[age]), np.asarray(sd[age])

    def fmr_matrix(self, threshold: float, age: int = ADULT) -> Array:
        """FMR of a probe of group g (rows) against an enrolled face of group h (columns)."""
        pmu, psd = self.pair_params(age)
        return _sf((_logit(threshold) - pmu) / psd)

    def fmr_matrix_by_age(self, threshold: float) -> Array:
        """FMR of every (probe age band, probe group, enrolled group), shape (3, G, G)."""
        pmu, psd = self.pair_params_by_age()
        return _sf((_logit(threshold) - pmu) / psd)

    # ---------------------------------------------------------------- one-to-many
    def fpir(self, threshold: float, enrolled: npt.ArrayLike, age: int = ADULT) -> Array:
        """Chance that a non-listed probe of each group (of one age band, default adults) is
        matched to someone on the list.

        Exact for independent comparisons: 1 - prod_h (1 - FMR_gh) ** N_h, computed in log
        space so that tiny rates and huge lists stay accurate.
        """
        return np.asarray(self.fpir_by_age(threshold, enrolled)[age], np.float64)

    def fpir_by_age(self, threshold: float, enrolled: npt.ArrayLike) -> Array:
        """FPIR of every (probe age band, probe group), shape (3, G)."""
        n = np.asarray(enrolled, np.float64)
        f = np.minimum(self.fmr_matrix_by_age(threshold), 1 - 1e-16)
        return np.asarray(-np.expm1(np.log1p(-f) @ n), np.float64)

    def tpir(self, threshold: float, quality: npt.ArrayLike = 1.0) -> Array:
        """Chance that a listed person of each group is found (their genuine score passes)."""
        return 1.0 - self.fnmr(threshold, quality)

    def p_hit(
        self, threshold: npt.ArrayLike, group: npt.ArrayLike, quality: npt.ArrayLike
    ) -> Array:
        """TPIR of many captures at once (vectorised over captures, and over thresholds)."""
        g = np.asarray(group, np.int64)
        q = np.asarray(quality, np.float64)
        mu = np.asarray(self.gen_mu)[g] - self.quality_shift * (1.0 - q)
        return np.asarray(_sf((_logit(threshold) - mu) / np.asarray(self.gen_sd)[g]), np.float64)

    # ---------------------------------------------------------------- scores of alerts
    def genuine_score_above(
        self, threshold: float, group: npt.ArrayLike, quality: npt.ArrayLike, u: npt.ArrayLike
    ) -> Array:
        """A genuine score drawn given that it passed the threshold (inverse CDF with ``u``)."""
        g = np.asarray(group, np.int64)
        mu = np.asarray(self.gen_mu)[g] - self.quality_shift * (1.0 - np.asarray(quality))
        return _above(threshold, mu, np.asarray(self.gen_sd)[g], u)

    def impostor_score_above(
        self,
        threshold: float,
        probe: npt.ArrayLike,
        enrolled: npt.ArrayLike,
        u: npt.ArrayLike,
        age: npt.ArrayLike = ADULT,
    ) -> Array:
        """An impostor score drawn given that it passed the threshold."""
        pmu, psd = self.pair_params_by_age()
        a = np.asarray(age, np.int64)
        p = np.asarray(probe, np.int64)
        e = np.asarray(enrolled, np.int64)
        return _above(threshold, pmu[a, p, e], psd[a, p, e], u)

    def summary(
        self, threshold: float, enrolled: npt.ArrayLike | None = None, quality: float = 1.0
    ) -> dict[str, dict[str, float]]:
        """Per-group FMR, FNMR, FPIR (adult probes) and TPIR (``survsim errors --json``)."""
        n = np.zeros(len(self.groups)) if enrolled is None else np.asarray(enrolled, float)
        fmr, fnmr = self.fmr(threshold), self.fnmr(threshold, quality)
        fpir = self.fpir(threshold, n)
        return {
            g: {
                "fmr": float(fmr[i]),
                "fnmr": float(fnmr[i]),
                "fpir": float(fpir[i]),
                "tpir": float(1.0 - fnmr[i]),
            }
            for i, g in enumerate(self.groups)
        }


def _above(threshold: float, mu: Array, sd: Array, u: npt.ArrayLike) -> Array:
    """Inverse CDF of logit-normal scores truncated to (threshold, 1)."""
    z0 = (_logit(threshold) - mu) / sd
    # Work in the upper tail: P(Z > z) = exp(log_ndtr(-z)); draw a tail mass below the start's.
    tail = np.exp(log_ndtr(-z0)) * (1.0 - np.asarray(u, np.float64))
    z = -ndtri(np.clip(tail, 1e-300, 1.0))
    z = np.maximum(z, z0)
    return np.asarray(1.0 / (1.0 + np.exp(-(mu + sd * z))), np.float64)


# ---------------------------------------------------------------- fitting
def fit_means(
    threshold: float,
    fmr: Sequence[float],
    fnmr: Sequence[float],
    imp_sd: Sequence[float],
    gen_sd: Sequence[float],
    *,
    quality: float = 1.0,
    quality_shift: float = 0.0,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
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


def from_rates(
    name: str,
    groups: Sequence[str],
    threshold: float,
    fmr: Sequence[float],
    fnmr: Sequence[float],
    *,
    imp_sd: float | Sequence[float] | None = None,
    gen_sd: float | Sequence[float] | None = None,
    quality: float = 1.0,
    cross_shift: float | None = None,
    quality_shift: float | None = None,
    structure: Structure | None = None,
    persistence: float | None = None,
    description: str = "",
    caveats: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> ScoreModel:
    """A model whose groups have the given same-group FMR and FNMR at ``threshold``."""
    k = len(groups)
    isd = _per_group(IMPOSTOR_SD if imp_sd is None else imp_sd, k)
    gsd = _per_group(GENUINE_SD if gen_sd is None else gen_sd, k)
    qs = QUALITY_SHIFT if quality_shift is None else quality_shift
    imp, gen = fit_means(threshold, fmr, fnmr, isd, gsd, quality=quality, quality_shift=qs)
    return ScoreModel(
        name=name,
        groups=tuple(groups),
        imp_mu=imp,
        imp_sd=isd,
        gen_mu=gen,
        gen_sd=gsd,
        cross_shift=CROSS_SHIFT if cross_shift is None else cross_shift,
        quality_shift=qs,
        threshold_ref=threshold,
        description=description,
        caveats=tuple(caveats),
        sources=tuple(sources),
        structure=NIST_STRUCTURE if structure is None else structure,
        persistence=LOOKALIKE_PERSISTENCE if persistence is None else persistence,
    )


def fit_to_gallery(
    model: ScoreModel,
    threshold: float,
    gallery: npt.ArrayLike,
    target_fpir: npt.ArrayLike,
    probes: npt.ArrayLike | None = None,
) -> ScoreModel:
    """The model with its impostor means moved so that one-to-many search of adult probes
    against ``gallery`` (enrolled faces per group) gives ``target_fpir``.

    With ``probes`` (the probe mix, shares per group) the target is one aggregate FPIR and
    every group moves by the same logit amount (the model's differentials are kept); without,
    the target is per group and each group's mean is solved (jointly, by fixed-point
    iteration: a group's FPIR depends on every group it can be mistaken for).
    """
    n = np.asarray(gallery, np.float64)
    base = np.asarray(model.imp_mu)

    def with_mu(mu: Array) -> ScoreModel:
        return replace(model, imp_mu=tuple(float(x) for x in mu))

    if probes is not None:
        w = np.asarray(probes, np.float64) / np.sum(probes)
        aggregate = float(np.asarray(target_fpir))
        lo, hi = -20.0, 20.0
        for _ in range(200):
            mid = (lo + hi) / 2
            if float(w @ with_mu(base + mid).fpir(threshold, n)) > aggregate:
                hi = mid
            else:
                lo = mid
        return with_mu(base + (lo + hi) / 2)
    target = np.log(np.asarray(target_fpir, np.float64))
    mu = base.copy()
    step = 1e-4
    for _ in range(200):
        # Newton on log FPIR, each group by its own mean (the cross terms are small and are
        # caught by the next round).
        now = np.log(with_mu(mu).fpir(threshold, n))
        slope = (np.log(with_mu(mu + step).fpir(threshold, n)) - now) / step
        move = (target - now) / slope
        mu = mu + np.clip(move, -2.0, 2.0)
        if np.max(np.abs(move)) < 1e-10:
            break
    return with_mu(mu)


def _per_group(v: float | Sequence[float], k: int) -> tuple[float, ...]:
    if isinstance(v, int | float):
        return (float(v),) * k
    if len(v) != k:
        raise ValueError(f"expected {k} values, got {len(v)}")
    return tuple(float(x) for x in v)


def shift_units(cross: float, a: float, b: float | None = None) -> float:
    """How far (in impostor spreads) a pair's mean sits below the mean of two reference means,
    from FMRs at one threshold: the cross pair's ``cross`` and the references' ``a``, ``b``."""
    za = float(ndtri(1 - a))
    zb = za if b is None else float(ndtri(1 - b))
    return float(ndtri(1 - cross)) - (za + zb) / 2


def ratio_at(fmr_level: float, ratio: float, measured_at: float) -> float:
    """An FMR ratio measured at ``measured_at`` (reference group's FMR), carried to a reference
    FMR of ``fmr_level`` through the model's normal tails (a fixed shift of the mean)."""
    dz = float(ndtri(1 - measured_at) - ndtri(1 - measured_at * ratio))
    return float(_sf(float(ndtri(1 - fmr_level)) - dz)) / fmr_level


# ---------------------------------------------------------------- shared parameters
# Threshold scale: survsim's own similarity in [0, 1], with T = 0.60 the operating point at which
# presets are fitted (NEC NeoFace's default threshold in NPL 2023; NIST's per-algorithm Annex 15
# thresholds are mapped to it).
T_REF = 0.60

# Impostor spread, pinned by the UK NPL 2023 test of NEC NeoFace V4 (Mansfield 2023; The Register
# 2023-04-06; ComputerWeekly 2023-04-12): 7 false positives at 0.60, 1 at 0.62, 0 at 0.64, i.e.
# FMR falls about 7-fold per +0.02. At the NIST reference FMR of 1e-5 that needs a logit spread of
# (logit 0.62 - logit 0.60) / (Phi^-1(1 - 1e-5/7) - Phi^-1(1 - 1e-5)) = 0.202.
FMR_SLOPE = 7.0  # FMR falls this many times per +0.02 of threshold near 0.60 (NPL: 7 -> 1)


def impostor_sd(slope: float = FMR_SLOPE, level: float = 1e-5) -> float:
    """The logit spread that makes FMR fall ``slope``-fold from 0.60 to 0.62 at ``level``."""
    return float((logit(0.62) - logit(0.60)) / (ndtri(1 - level / slope) - ndtri(1 - level)))


IMPOSTOR_SD: float = impostor_sd()

# Genuine spread: an assumption (no published genuine-score spread on this scale). 0.5 logit units
# makes the NIST White-male FNMR grow about 2.9-fold from threshold 0.60 to 0.65, a slope of the
# kind published DET curves show, but not fitted to them.
GENUINE_SD = 0.5

# For a model's own groups without sex and race (a user-defined model): impostor pairs of two
# different groups score this much lower (logit units), about 10x fewer false matches near FMR
# 1e-5. An assumption of the order of NIST's cross-sex and cross-race drops (NIST_STRUCTURE).
CROSS_SHIFT = 0.1

# Who resembles whom, from NIST's own cross-demographic measurements (shifts in impostor spreads;
# `shift_units` converts a published FMR ratio into one; docs/face_match.md has the derivation and
# each range, and tests/test_facematch.py checks the conversions):
# - different race, same sex: NIST FRVT 1:1 per-algorithm mugshot FMR matrices, medians over 240
#   algorithms at the threshold giving White men FMR 1e-3 (transcribed by M. Bruveris,
#   github.com/martinsbruveris/nist-frvt-analysis, data/frvt_11_gender_race.csv, 2020): White
#   men 1.0e-3, Black men 2.25e-3, White man - Black man pairs 2.0e-4 (0.57 spreads); White
#   women 2.9e-3, Black women 1.17e-2, cross pairs 5.0e-4 (0.78). NIST's visa report cards
#   (usnistgov/frvt reportcards/11: 3divi_005, idemia_008) put pairs born in different world
#   regions about 1.1-1.2 log10 below the two same-region rates near FMR 1e-4 (0.62-0.71).
#   The mean of the two mugshot figures: 0.68 (plausible range 0.57-0.78).
# - different sex, same race: the visa report cards' "any pairing" versus "same sex" panels
#   (+0.22 log10 for same-sex pairs) imply, for a sex-balanced set, cross-sex pairs at about
#   0.2 of same-sex FMR near 1e-4 to 1e-3 (0.39-0.45 spreads): 0.42 (range 0.25-0.6; the sex
#   mix is not published, an inference).
# - age: the 3divi_005 report card's age-pair heatmap (visa, same sex and region, FMR 1e-4
#   overall): pairs from different age bins 5-22x below same-bin pairs (0.39-0.72 spreads; 0.5
#   for survsim's broad bands, range 0.3-0.75); same-bin pairs of children 5.6x (ages 10-16) to
#   18x (4-10) and of people over 64 3.7-4.6x above ages 24-48 (levels 0.46-0.81 and 0.37:
#   0.7 for the under-18 band, range 0.45-1.0, and 0.37 for seniors, range 0.2-0.45). One
#   algorithm's figures; the direction matches NISTIR 8280's summary ("higher error rates for
#   ... the youngest and oldest", AP 2019-12-19).
_RACE_UNITS = (shift_units(2.0e-4, 1.0e-3, 2.25e-3) + shift_units(5.0e-4, 2.9e-3, 1.17e-2)) / 2
NIST_STRUCTURE: Structure = Structure(
    sex=0.42, race=round(_RACE_UNITS, 3), age=0.5, level=(0.7, 0.0, 0.37)
)

# Persistent look-alikes (sim.lookalikes): the share of an impostor score's variance that belongs
# to the pair of people rather than to the capture. No published figure pins it (an assumption).
# A measurement for this project (not published; docs/face_match.md, "Persistent look-alikes"):
# dlib's ResNet face model (2017) on the ORL (40 people x 10 images) and Yale (15 x 11) sets, the
# covariance of two comparisons of the same pair sharing no image over the impostor variance:
# 0.82 [0.73, 0.86] and 0.87 [0.76, 0.93] for studio photographs; a street capture against a
# custody photograph varies far more from capture to capture (more image-to-image variance with
# the pair part fixed gives 0.5-0.7), and studies of the "biometric menagerie" find subjects'
# impostor behaviour weakly consistent when conditions change (Paone et al., IJCB 2011). The
# pair's demographics are in its mean already (NIST_STRUCTURE), not in this share.
LOOKALIKE_PERSISTENCE = 0.6

# Capture quality: portraits (q = 1) give NIST's FNMR; live video is worse (docs/calibration.md
# section 5: TPIR 0.89 in NPL's controlled test, > 0.76 with hats and glasses, about 0.70 for the
# Met in 2020; NISTIR 8173 60% to > 99% by video quality). Fitted so that the White-male NIST
# median (FNMR 0.0103 at 0.60 on portraits) gives TPIR 0.89 at q = 0.8; then q = 0.7 gives 0.75
# and q = 0.67 gives 0.70.
LIVE_QUALITY_NPL = 0.8
QUALITY_SHIFT = float((GENUINE_SD * (ndtri(0.11) - ndtri(0.0103))) / (1.0 - LIVE_QUALITY_NPL))

# The presets: the published figures they are fitted to (NIST's Annex 15, UK NPL 2023, the
# Police National Database) and how they are built from their uncertain inputs, in
# sim.facematch_presets (importable from here).
from sim.facematch_presets import _NAMED as _NAMED  # noqa: E402
from sim.facematch_presets import _NPL_GALLERY as _NPL_GALLERY  # noqa: E402
from sim.facematch_presets import _NPL_PRIOR_SD as _NPL_PRIOR_SD  # noqa: E402
from sim.facematch_presets import _NPL_PROBES as _NPL_PROBES  # noqa: E402
from sim.facematch_presets import _UNFLOORED_RATIO as _UNFLOORED_RATIO  # noqa: E402
from sim.facematch_presets import NPL_MINORITY_RATIO as NPL_MINORITY_RATIO  # noqa: E402
from sim.facematch_presets import Inputs as Inputs  # noqa: E402
from sim.facematch_presets import _build_presets as _build_presets  # noqa: E402
from sim.facematch_presets import _pnd_gallery as _pnd_gallery  # noqa: E402
from sim.facematch_presets import _posterior_quantile as _posterior_quantile  # noqa: E402
from sim.facematch_presets import censored_floor as censored_floor  # noqa: E402
from sim.facematch_presets import minority_ratio_posterior as minority_ratio_posterior  # noqa: E402

MODELS: dict[str, ScoreModel] = _build_presets()


# The named assumptions, the ensemble, user-defined models and model_for: in
# sim.facematch_uncertainty (importable from here).
# Every model is a ScoreModel; the name the engine and world use for the interface.
FaceMatchModel = ScoreModel

from sim.facematch_uncertainty import ASSUMPTION_BY_PATH as ASSUMPTION_BY_PATH  # noqa: E402
from sim.facematch_uncertainty import ASSUMPTIONS as ASSUMPTIONS  # noqa: E402
from sim.facematch_uncertainty import PERSISTENCE_RANGE as PERSISTENCE_RANGE  # noqa: E402
from sim.facematch_uncertainty import Assumption as Assumption  # noqa: E402
from sim.facematch_uncertainty import GroupParams as GroupParams  # noqa: E402
from sim.facematch_uncertainty import custom_model as custom_model  # noqa: E402
from sim.facematch_uncertainty import draw_inputs as draw_inputs  # noqa: E402
from sim.facematch_uncertainty import ensemble_models as ensemble_models  # noqa: E402
from sim.facematch_uncertainty import model_for as model_for  # noqa: E402
