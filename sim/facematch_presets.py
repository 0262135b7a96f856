"""The face-match presets: the published figures they are fitted to and how they are built.

NIST's per-algorithm and median rates (NISTIR 8280 Annex 15, floored values imputed), the UK
NPL 2023 live facial recognition test and the UK Police National Database retrospective search
(NPL 2025), each fitted with :func:`~sim.facematch.from_rates` (and, for the one-to-many figures,
:func:`~sim.facematch.fit_to_gallery`). :func:`_build_presets` builds every preset from the
:class:`Inputs` (the point estimates, or one draw of the ensemble); ``sim.facematch.MODELS`` holds
the point presets. Everything here is importable from :mod:`sim.facematch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sim.facematch import (
    FMR_SLOPE,
    LIVE_QUALITY_NPL,
    LOOKALIKE_PERSISTENCE,
    NIST_GROUPS,
    NIST_STRUCTURE,
    T_REF,
    Array,
    ScoreModel,
    Structure,
    fit_to_gallery,
    from_rates,
    impostor_sd,
    ratio_at,
)

# NIST's Annex 15 FMR scale floors at 1e-5: a group reported at 1e-5 has an FMR of *at most*
# 1e-5 (85 of the 88 algorithms' White-male FMR, 54-60 of their White-female, Black-male and
# Asian-male FMRs sit exactly there; TheMdTF/mdtf-public, nist-frvt-annex15-data-flat.csv). So a
# floored value is censored, not equal to White men's. Where the floor hides a differential, the
# unfloored FRVT 1:1 mugshot medians (sim.facematch, NIST_STRUCTURE; threshold at White-male
# FMR 1e-3) give it: White women 2.9x, Black men 2.25x, Black women 11.7x White men's FMR,
# carried to the 1e-5 level by `ratio_at` (4.2x, 3.0x and 29x). No unfloored figure for Asian or
# American Indian men was found: their ratio to White men is taken as 1 (an assumption). Within
# each algorithm the floored groups keep these ratios and the highest of them sits at the floor
# (all stay "at most 1e-5").
_FLOOR = 1e-5
_UNFLOORED_RATIO: dict[str, float] = {"white_female": 2.9, "black_male": 2.25, "black_female": 11.7}
_UNFLOORED_AT = 1e-3


def censored_floor(
    fmr: Sequence[float], floor: float = _FLOOR, unfloored: Mapping[str, float] | None = None
) -> tuple[float, ...]:
    """NIST groups' FMRs with the floored ones imputed (see the comment above); ``unfloored``:
    the groups' FMR ratios to White men at FMR 1e-3 (default the FRVT 1:1 medians)."""
    f = np.asarray(fmr, np.float64)
    on_floor = np.isclose(f, floor, rtol=1e-9)
    if not on_floor.any():
        return tuple(float(x) for x in f)
    known = _UNFLOORED_RATIO if unfloored is None else unfloored
    ratio = np.array([ratio_at(floor, known.get(g, 1.0), _UNFLOORED_AT) for g in NIST_GROUPS])
    top = float(ratio[on_floor].max())
    return tuple(
        float(floor * ratio[i] / top) if on_floor[i] else float(f[i]) for i in range(f.size)
    )


def _nist(
    name: str,
    fmr: Sequence[float],
    fnmr: Sequence[float],
    description: str,
    inputs: Inputs,
    extra_caveats: Sequence[str] = (),
) -> ScoreModel:
    return from_rates(
        name,
        NIST_GROUPS,
        T_REF,
        censored_floor(fmr, unfloored=dict(inputs.unfloored_ratio)),
        fnmr,
        imp_sd=impostor_sd(inputs.fmr_slope),
        structure=inputs.structure,
        persistence=inputs.persistence,
        description=description,
        caveats=(
            "NIST's Annex 15 FMR scale floors at 1e-5; floored values are at most 1e-5, and are "
            "imputed from NIST's unfloored FRVT 1:1 mugshot ratios (White women, Black men; "
            "Asian and American Indian men are taken equal to White men, an assumption).",
            "The threshold scale is survsim's own: 0.60 stands for each algorithm's Annex 15 "
            "threshold; the FMR slope comes from NPL 2023 (NEC), the genuine spread is assumed.",
            "Cross-demographic structure (different sex, race, age band) from NIST's FRVT 1:1 "
            "measurements of other algorithms, applied to this one.",
            *extra_caveats,
        ),
        sources=(
            "NIST FRVT Part 3: Demographic Effects, NISTIR 8280 (Grother, Ngan, Hanaoka "
            "2019), Annex 15",
            "NIST FRVT 1:1 report cards (usnistgov/frvt) and per-algorithm mugshot FMR "
            "matrices (M. Bruveris' transcription, 2020)",
        ),
    )


# NISTIR 8280 Annex 15: median over the 88 algorithms with White-male FNMR < 0.02 of each group's
# rate divided by the White-male rate; White-male reference FMR 1e-5 and FNMR 0.0103. Medians of
# 1.0 are floored values (above).
_NIST_FMR_MULT = (1.0, 1.0, 1.0, 7.9, 1.0, 4.0, 12.6, 50.0)
_NIST_FNMR_MULT = (1.0, 1.31, 0.39, 0.69, 0.94, 2.14, 1.97, 2.89)

# NISTIR 8280 Annex 15, named algorithms: FMR and FNMR per group at each algorithm's threshold,
# groups in NIST_GROUPS order (White M, White F, Black M, Black F, Asian M, Asian F, Am.Ind. M,
# Am.Ind. F).
_NAMED: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "visionlabs_007": (
        (1e-5, 1e-5, 1e-5, 6.3e-5, 1e-5, 3.2e-5, 2.0e-4, 5.0e-4),
        (0.0046, 0.0033, 0.0014, 0.0017, 0.0036, 0.0047, 0.0067, 0.0080),
    ),
    "idemia_005": (
        (1e-5, 1.3e-5, 1.6e-5, 2.0e-4, 1e-5, 6.3e-5, 7.9e-5, 5.0e-4),
        (0.0089, 0.0123, 0.0031, 0.0068, 0.0075, 0.0220, 0.0229, 0.0371),
    ),
    "cognitec_001": (
        (1e-5, 1.3e-5, 1e-5, 1.0e-4, 1.6e-5, 7.9e-5, 1.3e-4, 5.0e-4),
        (0.0111, 0.0145, 0.0058, 0.0108, 0.0128, 0.0345, 0.0311, 0.0514),
    ),
    "rankone_007": (
        (1e-5, 1e-5, 1e-5, 3.2e-5, 4.0e-5, 1.3e-4, 1.6e-4, 5.0e-4),
        (0.0114, 0.0169, 0.0048, 0.0096, 0.0132, 0.0347, 0.0321, 0.0536),
    ),
    "yitu_003": (
        (1e-5, 1.6e-5, 1.3e-5, 3.2e-5, 1.6e-5, 2.5e-5, 3.2e-4, 4.0e-4),
        (0.0085, 0.0107, 0.0029, 0.0045, 0.0099, 0.0304, 0.0250, 0.0396),
    ),
}

# UK NPL 2023 (Mansfield), NEC NeoFace V4 live facial recognition: at 0.60, FPIR 1 in 6,000 with
# a 10,000-person watchlist and 1 in 60,000 with 1,000 (linear in N); TPIR 0.89; no
# statistically significant demographic difference at >= 0.60, yet all 7 false positives at 0.60
# were of ethnic-minority subjects. The watchlists were drawn from a filler set "demographically
# balanced ... with equal numbers in each demographic category" (178,000 images); 400 volunteers
# walked past about 10 times each among crowds of more than 130,000. Sources: The Register
# 2023-04-06; ComputerWeekly 2023-04-12; science.police.uk; the report's method as quoted in
# press and forum coverage. Gallery and probe mix are assumptions: the gallery balanced over
# White, Black and Asian men and women; the probes (the faces false positives could come from)
# half White, a quarter Black, a quarter Asian, half men.
_NPL_FPIR = 1.0 / 6000.0
_NPL_N = 10_000
_NPL_FNMR_LIVE = 1.0 - 0.89
_NPL_GALLERY = np.array([1, 1, 1, 1, 1, 1, 0, 0], np.float64) * _NPL_N / 6
_NPL_PROBES = np.array([0.25, 0.25, 0.125, 0.125, 0.125, 0.125, 0.0, 0.0])
_NPL_FMR = -np.log1p(-_NPL_FPIR) / _NPL_N  # the per-comparison level, 1.67e-8
# The impostor spread pinned at NPL's own FMR level: 7 -> 1 false positives from 0.60 to 0.62.
_NPL_IMPOSTOR_SD = impostor_sd(FMR_SLOPE, _NPL_FMR)
# The minority differential at 0.60, estimated from the 7 of 7 (minority_ratio_posterior).
_NPL_WHITE_SHARE = float(_NPL_PROBES[:2].sum())
_NPL_PRIOR_SD = 1.0  # lognormal prior on the ratio, centred on 1 (no differential): an assumption


def minority_ratio_posterior(
    k: int = 7, n: int = 7, white_share: float = _NPL_WHITE_SHARE, prior_sd: float = _NPL_PRIOR_SD
) -> tuple[Array, Array]:
    """Posterior of the minority / White FMR ratio R given that ``k`` of ``n`` false positives
    were of minority subjects, among probes ``white_share`` White: each false positive is
    minority with probability R (1 - w) / (R (1 - w) + w); prior log R ~ N(0, prior_sd).
    Returns a grid of R and its posterior probabilities."""
    log_r = np.linspace(-6 * prior_sd, 6 * prior_sd + 4, 4001)
    r = np.exp(log_r)
    p = r * (1 - white_share) / (r * (1 - white_share) + white_share)
    post = np.exp(-0.5 * (log_r / prior_sd) ** 2) * p**k * (1 - p) ** (n - k)
    return r, post / post.sum()


def _posterior_quantile(q: float) -> float:
    r, w = minority_ratio_posterior()
    return float(np.interp(q, np.cumsum(w), r))


NPL_MINORITY_RATIO: float = _posterior_quantile(0.5)

# UK Police National Database retrospective search, NPL 2025 (Cognitec FaceVACS-DBScan ID 5.5),
# gallery > 19 million, at a "lower setting": FPIR White 0.04%, Asian 4.0%, Black 5.5%; Black men
# 0.4%, Black women 9.9%. Source: NPL report as reported by the Guardian, December 2025; UK
# Parliament written answer HL12797. Per-sex figures exist only for Black subjects: White and
# Asian men and women get their group's figure; American Indian subjects are not reported and get
# the Asian figures (assumptions). The gallery is custody images, its make-up not published:
# taken as England and Wales arrests (sim.presets, custody_england_wales_2018; an assumption).
_PND_N = 19_000_000
_PND_FPIR = (0.0004, 0.0004, 0.004, 0.099, 0.040, 0.040, 0.040, 0.040)


def _pnd_gallery() -> Array:
    from sim.presets import WATCHLIST_PRESETS

    shares = WATCHLIST_PRESETS["custody_england_wales_2018"]
    return np.array([shares[g] for g in NIST_GROUPS]) * _PND_N


@dataclass(frozen=True)
class Inputs:
    """The uncertain inputs the presets are built from: the point estimates (the default), or
    one draw of the ensemble (:func:`draw_inputs`)."""

    nist_fmr_mult: tuple[float, ...] = _NIST_FMR_MULT
    nist_fnmr_mult: tuple[float, ...] = _NIST_FNMR_MULT
    unfloored_ratio: tuple[tuple[str, float], ...] = tuple(_UNFLOORED_RATIO.items())
    structure: Structure = NIST_STRUCTURE
    fmr_slope: float = FMR_SLOPE
    npl_ratio: float = NPL_MINORITY_RATIO
    persistence: float = LOOKALIKE_PERSISTENCE


_WM_FNMR = 0.0103  # NISTIR 8280 Annex 15: the White-male reference FNMR (see _NIST_FNMR_MULT)


def _build_presets(inputs: Inputs | None = None) -> dict[str, ScoreModel]:
    inputs = Inputs() if inputs is None else inputs
    presets = _nist_presets(inputs)
    presets["uk_lfr_npl2023"] = _npl_preset(inputs)
    presets["uk_pnd_retrospective2025"] = _pnd_preset(inputs)
    return presets


def _nist_presets(inputs: Inputs) -> dict[str, ScoreModel]:
    """NIST's median algorithm, the equal-rates control and the named Annex 15 algorithms."""
    median_fmr = censored_floor(
        [_FLOOR * m for m in inputs.nist_fmr_mult], unfloored=dict(inputs.unfloored_ratio)
    )
    presets: dict[str, ScoreModel] = {
        "nist_frvt2019_median": _nist(
            "nist_frvt2019_median",
            [_FLOOR * m for m in inputs.nist_fmr_mult],
            [_WM_FNMR * m for m in inputs.nist_fnmr_mult],
            "Median demographic differentials of 88 one-to-one algorithms (NIST FRVT 2019).",
            inputs,
        ),
        "equal_rates": from_rates(
            "equal_rates",
            NIST_GROUPS,
            T_REF,
            [median_fmr[0]] * 8,
            [_WM_FNMR] * 8,
            imp_sd=impostor_sd(inputs.fmr_slope),
            structure=inputs.structure,
            persistence=inputs.persistence,
            description="Counterfactual: every group gets the NIST median's White-male rates.",
            caveats=(
                "Not a real algorithm: a control that separates base-rate effects "
                "(who is on the list, who is captured) from demographic differentials; "
                "the cross-demographic structure is kept.",
            ),
            sources=("NISTIR 8280 Annex 15 (White-male reference rates)",),
        ),
    }
    for name, (fmr, fnmr) in _NAMED.items():
        presets[name] = _nist(
            name,
            fmr,
            fnmr,
            f"{name.replace('_', '-')} as measured in NISTIR 8280 Annex 15.",
            inputs,
        )
    return presets


def _npl_preset(inputs: Inputs) -> ScoreModel:
    """NEC NeoFace V4 as NPL tested it in 2023, fitted to its balanced 10,000-person gallery."""
    ratio = [1.0 if g.startswith("white") else inputs.npl_ratio for g in NIST_GROUPS]
    npl = from_rates(
        "uk_lfr_npl2023",
        NIST_GROUPS,
        T_REF,
        [_NPL_FMR * r for r in ratio],
        [_NPL_FNMR_LIVE] * 8,
        imp_sd=impostor_sd(inputs.fmr_slope, _NPL_FMR),
        quality=LIVE_QUALITY_NPL,
        structure=inputs.structure,
        persistence=inputs.persistence,
        description="NEC NeoFace V4 live facial recognition as tested by the UK NPL in 2023.",
        caveats=(
            f"All 7 false positives at 0.60 were of ethnic-minority subjects: the minority "
            f"/ White FMR ratio is the posterior median {NPL_MINORITY_RATIO:.2g} given "
            f"7 of 7 with half the probes White and a lognormal prior on the ratio "
            f"(sd {_NPL_PRIOR_SD:g}); NPL found no statistically significant difference, "
            f"which 7 events cannot show either way.",
            "Fitted so that FPIR is 1 in 6,000 against NPL's balanced 10,000-person "
            "gallery for the assumed probe mix; another list make-up gives other rates.",
            "TPIR 0.89 was measured on live video; it is taken to hold at capture quality 0.8.",
        ),
        sources=(
            "UK NPL 2023 (Mansfield), as reported by The Register 2023-04-06 and "
            "ComputerWeekly 2023-04-12",
        ),
    )
    return replace(
        fit_to_gallery(npl, T_REF, _NPL_GALLERY, _NPL_FPIR, probes=_NPL_PROBES),
        gallery=tuple(float(x) for x in _NPL_GALLERY / _NPL_GALLERY.sum()),
    )


def _pnd_preset(inputs: Inputs) -> ScoreModel:
    """The Police National Database search (NPL 2025), fitted per group to a custody gallery."""
    pnd = from_rates(
        "uk_pnd_retrospective2025",
        NIST_GROUPS,
        T_REF,
        [-np.log1p(-p) / _PND_N for p in _PND_FPIR],
        [_WM_FNMR] * 8,
        imp_sd=impostor_sd(inputs.fmr_slope),
        structure=inputs.structure,
        persistence=inputs.persistence,
        description="Retrospective search of the UK Police National Database (Cognitec, "
        "NPL 2025) at its lower setting.",
        caveats=(
            "Only FPIR was published; FNMR is set to NIST's White-male reference (an assumption).",
            "Per-sex figures exist only for Black subjects; American Indian subjects get "
            "the Asian figures (assumptions).",
            "Fitted so that each group's FPIR is the published one against a 19-million "
            "custody gallery made up like England and Wales arrests (an assumption: the "
            "PND's make-up is not published).",
        ),
        sources=(
            "NPL 2025 report as reported by the Guardian (December 2025); UK Parliament "
            "written answer HL12797",
        ),
    )
    gallery = _pnd_gallery()
    return replace(
        fit_to_gallery(pnd, T_REF, gallery, _PND_FPIR),
        gallery=tuple(float(x) for x in gallery / gallery.sum()),
    )
