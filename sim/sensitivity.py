"""How much each assumption of the face-match model moves what survsim reports.

For every named assumption (docs/face_match.md, "Assumptions"), the presets are rebuilt with the
assumption at the low and the high end of its plausible range, everything else at its point
estimate, and the model's closed-form answers are compared for the default deployment
(``scenarios/capital_cctv.toml``: a 1,000-entry custody list made up like US arrests, threshold
0.62, the population's group and age shares, about six captures a resident a day):

- false alerts per million captures of unlisted people (the expected total);
- each group's false-alert rate relative to White men's (who bears them);
- the share of falsely flagged people flagged more than once in a day (repeat flagging).

The UK preset (``uk_lfr_npl2023``) is shown a second time, with a custody list made up like
England and Wales's 2017/18 arrests, for the assumptions it depends on.

``python -m sim.sensitivity`` prints the table (Markdown) that docs/face_match.md quotes;
``python -m sim.sensitivity --presets`` the per-preset error tables of its section 2.7.
Closed-form and exact for the model (no simulation noise); a run adds chance around it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from sim.facematch import ASSUMPTIONS, NIST_GROUPS, Assumption, Inputs, _build_presets
from sim.lookalikes import Lookalikes
from sim.presets import AGE_BANDS_US2020, GROUP_PRESETS, WATCHLIST_PRESETS
from sim.watchlist import quotas

THRESHOLD = 0.62  # capital_cctv's
NIST, UK = "nist_frvt2019_median", "uk_lfr_npl2023"
UK_ONLY = frozenset({"NPL minority / White ratio"})  # only the UK preset uses it
UK_ALSO = frozenset({"FMR fall per +0.02", "cross-race shift (spreads)"})  # shown for both
LIST_SIZE = 1000
CAPTURES_A_DAY = 6  # a resident of the capital is captured about 6 times a day
GROUPS_SHOWN = (
    "white_female",
    "black_male",
    "black_female",
    "asian_male",
    "asian_female",
    "amerindian_female",
)


POINT = Inputs()


def _population() -> tuple[np.ndarray, np.ndarray]:
    groups = {str(g["name"]): float(str(g["share"])) for g in GROUP_PRESETS["nist_sex_race"]}
    shares = np.array([groups[g] for g in NIST_GROUPS])
    ages = np.array([AGE_BANDS_US2020[b] for b in ("child", "adult", "senior")])
    return shares / shares.sum(), ages / ages.sum()


def outcome(
    inputs: Inputs, model_name: str = "nist_frvt2019_median", composition: str = "arrests_us_2018"
) -> dict[str, float]:
    """The closed-form outcome of the default deployment under ``inputs``."""
    model = _build_presets(inputs)[model_name]
    shares, ages = _population()
    listed = quotas(LIST_SIZE, [WATCHLIST_PRESETS[composition][g] for g in NIST_GROUPS])
    fpir = model.fpir_by_age(THRESHOLD, listed)  # (age, group)
    rate = ages @ fpir  # per capture, by group (ages captured in proportion: an approximation)
    out = {"false_per_million": float(shares @ rate * 1e6)}
    wm = rate[NIST_GROUPS.index("white_male")]
    for g in GROUPS_SHOWN:
        out[f"{g}/white_male"] = float(rate[NIST_GROUPS.index(g)] / wm)
    out["repeat_share"] = repeat_share(model, listed, inputs.persistence, shares, ages)
    return out


def repeat_share(
    model: object,
    listed: np.ndarray,
    rho: float,
    shares: np.ndarray,
    ages: np.ndarray,
    n: int = CAPTURES_A_DAY,
) -> float:
    """Of the people falsely flagged in a day, the share flagged more than once."""
    look = Lookalikes(model, THRESHOLD, listed, rho, np.uint64(0), np.uint64(0))  # type: ignore[arg-type]
    once = twice = 0.0
    for a, wa in enumerate(ages):
        for g, wg in enumerate(shares):
            p = look.virtual(a, g).p
            none = (1 - p) ** n
            one = n * p * (1 - p) ** (n - 1)
            once += wa * wg * float(np.mean(1 - none))
            twice += wa * wg * float(np.mean(1 - none - one))
    return twice / once if once > 0 else 0.0


def table(assumptions: Sequence[Assumption] = ASSUMPTIONS) -> list[dict[str, object]]:
    """Per assumption: its range, and the outcome at its low and high end."""
    rows: list[dict[str, object]] = []
    for model, composition in ((NIST, "arrests_us_2018"), (UK, "custody_england_wales_2018")):
        base = outcome(POINT, model, composition)
        rows.append(
            {
                "assumption": f"point estimates: {model}, {composition} list",
                "range": "",
                "low": base,
                "high": base,
                "source": "",
                "model": model,
            }
        )
        for a in assumptions:
            shown = a.name in UK_ONLY | UK_ALSO if model == UK else a.name not in UK_ONLY
            if not shown:
                continue
            lo, hi = (outcome(a.apply(POINT, v), model, composition) for v in (a.low, a.high))
            rows.append(
                {
                    "assumption": a.name,
                    "range": f"{a.low:.3g}-{a.high:.3g} (point {a.point:.3g})",
                    "low": lo,
                    "high": hi,
                    "source": a.source,
                    "model": model,
                }
            )
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    cols = ["false_per_million", *(f"{g}/white_male" for g in GROUPS_SHOWN), "repeat_share"]
    heads = [
        "false alerts / 1M captures",
        "White F / WM",
        "Black M / WM",
        "Black F / WM",
        "Asian M / WM",
        "Asian F / WM",
        "Am.Ind. F / WM",
        "flagged twice+ (share)",
    ]
    lines = [
        "| assumption (range) | " + " | ".join(heads) + " | source |",
        "|---|" + "---:|" * len(heads) + "---|",
    ]
    for r in rows:
        lo, hi = r["low"], r["high"]
        assert isinstance(lo, dict) and isinstance(hi, dict)
        cells = []
        for c in cols:
            a, b = lo[c], hi[c]
            fmt = "{:.1f}" if c == "false_per_million" else "{:.2f}"
            cells.append(
                fmt.format(a) if abs(a - b) < 1e-12 else f"{fmt.format(a)} to {fmt.format(b)}"
            )
        name = r["assumption"] if not r["range"] else f"{r['assumption']} ({r['range']})"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['source']} |")
    return "\n".join(lines) + "\n"


TABLE_GROUPS = (
    "White men",
    "White women",
    "Black men",
    "Black women",
    "Asian men",
    "Asian women",
    "American Indian men",
    "American Indian women",
)


def preset_tables(
    composition: str = "arrests_us_2018",
    size: int = LIST_SIZE,
    thresholds: tuple[float, float] = (0.60, 0.64),
) -> str:
    """docs/face_match.md section 2.7: every preset's FMR, FNMR, FPIR (adults, against a list of
    ``size`` entries made up like ``composition``, exact quotas) and TPIR, at two thresholds."""
    from sim.facematch import MODELS

    listed = quotas(size, [WATCHLIST_PRESETS[composition][g] for g in NIST_GROUPS])
    head = (
        "| group | "
        + " | ".join(["FMR", "FNMR", "FPIR", "TPIR q=1", "TPIR q=0.8"] * 2)
        + " |\n|---|"
        + "---:|" * 10
        + "\n"
    )
    out = []
    for name, model in MODELS.items():
        cols = []
        for t in thresholds:
            cols.append(
                (
                    model.fmr(t),
                    model.fnmr(t),
                    model.fpir(t, listed),
                    model.tpir(t),
                    model.tpir(t, 0.8),
                )
            )
        lines = [f"#### `{name}`\n\n", head]
        for i, g in enumerate(TABLE_GROUPS):
            cells = []
            for fmr, fnmr, fpir, t1, t8 in cols:
                cells += [
                    f"{fmr[i]:.2e}",
                    f"{fnmr[i]:.4f}",
                    f"{fpir[i]:.2e}",
                    f"{t1[i]:.3f}",
                    f"{t8[i]:.3f}",
                ]
            lines.append(f"| {g} | " + " | ".join(cells) + " |\n")
        out.append("".join(lines))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--presets"]:
        sys.stdout.write(preset_tables())
    elif not args:
        sys.stdout.write(markdown(table()))
    else:
        sys.stderr.write("usage: python -m sim.sensitivity [--presets]\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
