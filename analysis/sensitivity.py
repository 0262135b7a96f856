"""Which inputs drive a conclusion: Morris screening and Sobol indices over survsim's runs.

The designs and the estimators are SALib's (Morris 1991 with Campolongo et al. 2007's mu*;
Saltelli 2010 / Jansen for Sobol's first-order and total indices, with bootstrap intervals).
``sim.edge.experiments.sensitivity`` runs the scenario at every point of the design; this module is
pure: from the inputs' ranges and the runs' metrics to indices, to whether each input matters,
and to whether a conclusion holds over the whole range ("robust") or turns on some inputs
("depends on X").

When an input "matters" (a rule of ours, stated in every report):

- Morris: its mu* is at least a tenth of the largest mu* for that metric, and above what chance
  alone gives. Chance: an input with no effect still gets elementary effects from run-to-run
  variation. With sd the metric's run-to-run spread (replications of the scenario as given),
  one elementary effect of a null input is at worst N(0, s) with s = sqrt(2) sd / delta (two
  independent runs, delta the design's step, 2/3 for four levels), so its mu* over r
  trajectories averages s sqrt(2/pi) with a standard error s sqrt(1 - 2/pi) / sqrt(r); the
  floor is that mean plus two standard errors. Common random numbers make the real noise
  smaller, so the floor errs towards "does not matter".
- Sobol: the lower end of its total index's 95% interval is above 0.05.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.compare import is_level

METHODS = ("morris", "sobol")
NUM_LEVELS = 4  # Morris grid levels
MORRIS_DELTA = NUM_LEVELS / (2 * (NUM_LEVELS - 1))  # SALib's step, in the unit range
RESAMPLES = 1000  # bootstrap resamples behind the indices' intervals
SHARE_OF_TOP = 0.1  # an input matters at a tenth of the strongest (Morris)
SOBOL_FLOOR = 0.05  # ... or when its total index is surely above 5% (Sobol)
NOISE_REPLICATIONS = 5  # runs of the scenario as given, for the run-to-run spread

# The headline metrics screened unless the user names others, with plain names.
METRICS: dict[str, str] = {
    "false_alerts": "false alerts",
    "false_alert_share": "share of alerts that were wrong",
    "false_alert_disparity/ratio": "false-alert disparity (most burdened group / reference)",
    "people_falsely_flagged": "people falsely flagged",
    "wrongful_stops": "wrongful stops",
    "watchlist_detected_share": "share of listed people found",
    "tracking_reach_mean": "tracking reach",
    "gatherings_detected": "gatherings detected",
    "false_rejects": "people wrongly refused at checks",
}


@dataclass(frozen=True)
class Factor:
    """One varied input: a scenario key and its range."""

    key: str
    low: float
    high: float
    integer: bool = False
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.key


def problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """SALib's problem description."""
    return {
        "num_vars": len(factors),
        "names": [f.key for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }


@contextlib.contextmanager
def _own_global_state() -> Iterator[None]:
    """SALib releases before 1.6 seed numpy's global generator; ours is never used, but it is
    left as it was so nothing else can depend on SALib having run."""
    state = np.random.get_state()  # noqa: NPY002 - saved, not drawn from
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def design(factors: Sequence[Factor], method: str, samples: int, seed: int) -> np.ndarray:
    """The points to run (one row per point): ``samples`` Morris trajectories of len(factors)+1
    points each, or a Sobol design of samples * (len(factors) + 2) points (samples a power of
    two). Integer inputs are rounded; the same seed gives the same design on every machine."""
    from SALib.sample import morris, sobol

    prob = problem(factors)
    with _own_global_state():
        if method == "morris":
            x = morris.sample(prob, N=samples, num_levels=NUM_LEVELS, seed=seed)
        elif method == "sobol":
            x = sobol.sample(prob, samples, calc_second_order=False, seed=seed)
        else:
            raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    x = np.asarray(x, np.float64)
    for j, f in enumerate(factors):
        if f.integer:
            x[:, j] = np.rint(x[:, j])
    return x


def runs_in(method: str, samples: int, k: int) -> int:
    """Points in a design of ``samples`` for ``k`` inputs."""
    return samples * (k + 1) if method == "morris" else samples * (k + 2)


def noise_floor(sd: float, trajectories: int) -> float:
    """The mu* an input with no effect reaches by chance (module docstring)."""
    s = math.sqrt(2.0) * sd / MORRIS_DELTA
    return s * (
        math.sqrt(2 / math.pi) + 2 * math.sqrt(1 - 2 / math.pi) / math.sqrt(max(trajectories, 1))
    )


def indices(
    factors: Sequence[Factor],
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    sd: float | None,
) -> dict[str, Any]:
    """The indices of one metric, and which inputs matter.

    Morris drops the trajectories where the metric is undefined (too few events); Sobol needs
    every point. ``sd`` is the metric's run-to-run spread (None: unknown). Returns
    ``{"used": points used, "rows": [per input], "note": why there are none}``."""
    from SALib.analyze import morris, sobol

    k = len(factors)
    y = np.asarray(y, np.float64)
    prob = problem(factors)
    size = k + 1 if method == "morris" else k + 2
    n = len(y) // size
    ok = np.isfinite(y).reshape(n, size).all(axis=1)
    if method == "sobol" and not ok.all():
        return {
            "used": 0,
            "rows": [],
            "note": f"undefined at {int((~ok).sum())} of {n} sample blocks (too few events)",
        }
    if method == "morris" and ok.sum() < 2:
        bad = int((~np.isfinite(y)).sum())
        return {
            "used": 0,
            "rows": [],
            "note": f"too few events to tell at {bad} of {len(y)} "
            f"points, on {int((~ok).sum())} of {n} "
            f"trajectories (two whole ones are needed)",
        }
    keep = np.repeat(ok, size)
    xs, ys = x[keep], y[keep]
    if np.ptp(ys) == 0:
        return {"used": int(keep.sum()), "rows": [], "note": "the same at every point"}
    rows: list[dict[str, Any]] = []
    with _own_global_state():
        if method == "morris":
            si = morris.analyze(
                prob, xs, ys, num_resamples=RESAMPLES, num_levels=NUM_LEVELS, seed=seed
            )
            top = float(np.max(si["mu_star"]))
            floor = None if sd is None else noise_floor(sd, int(ok.sum()))
            for j, f in enumerate(factors):
                ms = float(si["mu_star"][j])
                rows.append(
                    {
                        "input": f.key,
                        "mu_star": ms,
                        "mu_star_conf": float(si["mu_star_conf"][j]),
                        "mu": float(si["mu"][j]),
                        "sigma": float(si["sigma"][j]),
                        "strength": ms / top if top > 0 else 0.0,
                        "floor": floor,
                        "matters": bool(
                            ms >= SHARE_OF_TOP * top and ms > 0 and (floor is None or ms > floor)
                        ),
                    }
                )
        else:
            si = sobol.analyze(
                prob, ys, calc_second_order=False, num_resamples=RESAMPLES, seed=seed
            )
            for j, f in enumerate(factors):
                st, conf = float(si["ST"][j]), float(si["ST_conf"][j])
                rows.append(
                    {
                        "input": f.key,
                        "S1": float(si["S1"][j]),
                        "S1_conf": float(si["S1_conf"][j]),
                        "ST": st,
                        "ST_conf": conf,
                        "strength": st,
                        "floor": None,
                        "matters": bool(st - conf > SOBOL_FLOOR),
                    }
                )
    rows.sort(key=lambda r: -r["strength"])
    return {"used": int(keep.sum()), "rows": rows, "note": ""}


def direction(row: Mapping[str, Any]) -> str:
    """Which way an input moves the metric, from Morris's signed mean effect."""
    mu, ms = row.get("mu"), row.get("mu_star")
    if mu is None or ms is None or ms == 0:
        return ""
    if abs(mu) < 0.5 * ms:
        return "either way, by where the others are"
    return "up" if mu > 0 else "down"


@dataclass(frozen=True)
class Verdict:
    """Whether a conclusion holds over the whole range of the inputs."""

    statement: str
    holds: int  # points where it holds
    fails: int  # points where the opposite holds
    ties: int  # points with no difference either way
    undefined: int  # points where it cannot be told (too few events)
    drivers: tuple[str, ...]  # inputs that matter to the quantity behind it
    chance: bool = False  # the design's mean difference is within run-to-run chance
    # Where it fails, when one input separates it: the opposite (or no difference) only where
    # ``split_input`` is at least (``split_above``) or at most ``split_value``.
    split_input: str | None = None
    split_above: bool = True
    split_value: float | None = None

    @property
    def robust(self) -> bool:
        return not self.chance and self.holds > 0 and self.fails == 0 and self.ties == 0

    def text(self, labels: Mapping[str, str] | None = None) -> str:
        labels = labels or {}
        total = self.holds + self.fails + self.ties + self.undefined
        who = ", ".join(labels.get(d, d) for d in self.drivers[:3])
        if self.chance:
            return (
                f"{self.statement}? No conclusion: over the design the difference cannot "
                f"be told from run-to-run chance."
            )
        if self.robust:
            out = f"{self.statement}: robust, it holds at all {self.holds} points"
            if self.undefined:
                out += f" where it can be told ({self.undefined} of {total} had too few events)"
            return out + "."
        if self.holds == 0 and self.fails == 0 and self.ties == 0:
            return f"{self.statement}: cannot be told, too few events at every point."
        parts = [f"it holds at {self.holds} of {total} points"]
        if self.ties:
            parts.append(f"no difference at {self.ties}")
        parts.append(f"the opposite at {self.fails}" if self.fails else "never the opposite")
        if self.undefined:
            parts.append(f"too few events to tell at {self.undefined}")
        out = (
            f"{self.statement}: depends on {who or 'several inputs at once, none alone'}; "
            + ", ".join(parts)
        )
        if self.split_input is not None and self.split_value is not None:
            name = labels.get(self.split_input, self.split_input)
            side = "at least" if self.split_above else "at most"
            out += f"; it fails only where {name} is {side} {self.split_value:.4g}"
        return out + "."


VERDICT_FIELDS = (
    "statement",
    "holds",
    "fails",
    "ties",
    "undefined",
    "drivers",
    "chance",
    "split_input",
    "split_above",
    "split_value",
)


def verdict(
    statement: str,
    values: np.ndarray,
    drivers: Sequence[str],
    *,
    chance: bool = False,
    factors: Sequence[Factor] = (),
    x: np.ndarray | None = None,
) -> Verdict:
    """A conclusion of the form "value > 0" checked at every point (NaN: cannot be told).
    Given the design ``x``, finds the input (drivers first) whose values alone separate the
    points where it holds from those where it fails, if one does."""
    v = np.asarray(values, np.float64)
    fin = v[np.isfinite(v)]
    split: tuple[str | None, bool, float | None] = (None, True, None)
    holds, fails = np.isfinite(v) & (v > 0), np.isfinite(v) & (v <= 0)
    if x is not None and holds.any() and fails.any():
        order = sorted(range(len(factors)), key=lambda j: factors[j].key not in drivers)
        for j in order:
            col = x[:, j]
            if col[holds].max() < col[fails].min():
                split = (factors[j].key, True, float(col[fails].min()))
                break
            if col[holds].min() > col[fails].max():
                split = (factors[j].key, False, float(col[fails].max()))
                break
    return Verdict(
        statement,
        int((fin > 0).sum()),
        int((fin < 0).sum()),
        int((fin == 0).sum()),
        int(len(v) - len(fin)),
        tuple(drivers),
        chance,
        *split,
    )


def metric_words(m: str, group_labels: Mapping[str, str] | None = None) -> str:
    """A metric in plain words."""
    group_labels = group_labels or {}
    key, _, g = m.partition("/")
    who = group_labels.get(g, g)
    if key == "false_alert_rate_ratio_by_group":
        return f"{who}'s false-alert rate ratio to the reference group"
    if key == "false_alert_rate_by_group":
        return f"false-alert rate of {who} (per 1,000 captures)"
    return METRICS.get(m, m.replace("_", " "))


# ---------------------------------------------------------------- from the runs to findings
@dataclass
class Runs:
    """The runs of a sensitivity design as arrays: ``values[role][metric]`` has one row per
    point and one column per replication; ``noise[role][metric]`` the runs of the scenario as
    given."""

    values: dict[str, dict[str, np.ndarray]]
    noise: dict[str, dict[str, np.ndarray]]


def collect(rows: Sequence[Mapping[str, Any]], n_points: int, replications: int) -> Runs:
    """Rows (point, role, replication, metric, value; point -1 for the scenario as given) to
    arrays."""
    values: dict[str, dict[str, np.ndarray]] = {}
    noise: dict[str, dict[str, np.ndarray]] = {}
    for r in rows:
        p, role, rep, m = int(r["point"]), str(r["role"]), int(r["replication"]), r["metric"]
        if p < 0:
            arr = noise.setdefault(role, {}).setdefault(m, np.full(NOISE_REPLICATIONS, np.nan))
            arr[rep] = r["value"]
        else:
            arr = values.setdefault(role, {}).setdefault(
                m, np.full((n_points, replications), np.nan)
            )
            arr[p, rep] = r["value"]
    return Runs(values, noise)


def _mean(a: np.ndarray) -> np.ndarray:
    """Mean over replications; NaN where any replication is undefined."""
    return np.asarray(a, np.float64).mean(axis=-1)


def _sd(a: np.ndarray | None) -> float | None:
    if a is None:
        return None
    v = np.asarray(a, np.float64)
    v = v[np.isfinite(v)]
    return float(np.std(v, ddof=1)) if len(v) >= 2 else None


def burdened_group(noise: Mapping[str, np.ndarray], reference: str, few: int) -> str | None:
    """The group with the highest false-alert rate ratio to the reference in the runs of the
    scenario as given, among groups (and a reference) with enough false alerts to tell."""
    prefix = "false_alert_rate_ratio_by_group/"
    counts = "false_alerts_unlisted_by_group/"

    def enough(g: str) -> bool:
        c = noise.get(counts + g)
        return c is not None and bool(np.nanmean(c) >= few)

    if not enough(reference):
        return None
    best: tuple[float, str] | None = None
    for m, v in sorted(noise.items()):
        if not m.startswith(prefix):
            continue
        g = m[len(prefix) :]
        if g == reference or not enough(g) or not np.isfinite(v).any():
            continue
        mean = float(np.nanmean(v))
        if best is None or mean > best[0]:
            best = (mean, g)
    return None if best is None else best[1]


def findings(
    factors: Sequence[Factor],
    method: str,
    x: np.ndarray,
    runs: Runs,
    metrics: Sequence[str],
    seed: int,
    *,
    reference: str | None = None,
    few: int = 10,
    labels: Mapping[str, str] | None = None,
    names: tuple[str, str] = ("the scenario", "the other scenario"),
) -> dict[str, Any]:
    """Indices per metric (and per policy difference), and verdicts on the conclusions.

    Returns {"indices": [rows: target, metric, input, ...], "metrics": [{target, metric, low,
    high, given, sd, note, drivers}], "verdicts": [Verdict]}."""
    labels = labels or {}
    burdened = (
        None if reference is None else burdened_group(runs.noise.get("base", {}), reference, few)
    )
    if burdened is not None:  # the rates behind the disparity, defined wherever it is not
        metrics = [
            *metrics,
            *(
                f"false_alert_rate_by_group/{g}"
                for g in (burdened, reference)
                if f"false_alert_rate_by_group/{g}" not in metrics
            ),
        ]
    index_rows: list[dict[str, Any]] = []
    per_metric: list[dict[str, Any]] = []
    verdicts: list[Verdict] = []
    for target, m, y, noise in _targets(runs, metrics):
        res = indices(factors, method, x, y, seed, _sd(noise))
        for r in res["rows"]:
            index_rows.append({"target": target, "metric": m, "method": method, **r})
        drivers = tuple(r["input"] for r in res["rows"] if r["matters"])
        fin = y[np.isfinite(y)]
        given = float(np.nanmean(noise)) if noise is not None and np.isfinite(noise).any() else None
        per_metric.append(
            {
                "target": target,
                "metric": m,
                "low": float(fin.min()) if len(fin) else None,
                "high": float(fin.max()) if len(fin) else None,
                "given": given,
                "sd": _sd(noise),
                "used": res["used"],
                "note": res["note"],
                "drivers": drivers,
            }
        )
        overall = float(fin.mean()) if len(fin) else 0.0
        if target == "difference" and overall != 0:
            # The direction the design as a whole shows; "chance" when its mean difference is
            # within two standard errors of zero (the run-to-run spread of the difference).
            word = metric_words(m, labels)
            more = overall > 0
            verdicts.append(
                verdict(
                    f"{names[1]} has {'more' if more else 'fewer'} {word} than {names[0]}"
                    if not is_level(m)
                    else f"{names[1]} has a {'higher' if more else 'lower'} {word} than {names[0]}",
                    y if more else -y,
                    drivers,
                    chance=within_chance(overall, _sd(noise), len(fin)),
                    factors=factors,
                    x=x,
                )
            )
    if reference is not None and burdened is not None:
        got = _disparity(factors, method, x, runs, seed, burdened, reference, few, labels)
        if got is not None:
            index_rows += got[0]
            verdicts.insert(0, got[1])
    return {"indices": index_rows, "metrics": per_metric, "verdicts": verdicts}


def _targets(
    runs: Runs, metrics: Sequence[str]
) -> list[tuple[str, str, np.ndarray, np.ndarray | None]]:
    """What the indices are computed for: each metric of the scenario (its mean at every point,
    and its runs as given), then each policy difference (against minus base) when there is one.
    """
    base = runs.values.get("base", {})
    targets: list[tuple[str, str, np.ndarray, np.ndarray | None]] = []
    for m in metrics:
        if m in base:
            targets.append(("scenario", m, _mean(base[m]), runs.noise.get("base", {}).get(m)))
    other = runs.values.get("against")
    if other is not None:
        for m in metrics:
            if m in base and m in other:
                nb, na = runs.noise.get("base", {}).get(m), runs.noise.get("against", {}).get(m)
                diff_noise = None if nb is None or na is None else na - nb
                targets.append(("difference", m, _mean(other[m] - base[m]), diff_noise))
    return targets


def _disparity(
    factors: Sequence[Factor],
    method: str,
    x: np.ndarray,
    runs: Runs,
    seed: int,
    g: str,
    reference: str,
    few: int,
    labels: Mapping[str, str],
) -> tuple[list[dict[str, Any]], Verdict] | None:
    """The indices of the most burdened group's false-alert rate ratio to the reference (where
    both have enough false alerts to tell), and the verdict on "falsely flagged more often"."""
    base = runs.values.get("base", {})
    ratio = base.get(f"false_alert_rate_ratio_by_group/{g}")
    cg = base.get(f"false_alerts_unlisted_by_group/{g}")
    cr = base.get(f"false_alerts_unlisted_by_group/{reference}")
    if ratio is None or cg is None or cr is None:
        return None
    told = (_mean(cg) >= few) & (_mean(cr) >= few)
    v = np.where(told, _mean(ratio) - 1.0, np.nan)
    res = indices(
        factors,
        method,
        x,
        np.where(told, _mean(ratio), np.nan),
        seed,
        _sd(runs.noise["base"].get(f"false_alert_rate_ratio_by_group/{g}")),
    )
    rows = [
        {
            "target": "scenario",
            "metric": f"false_alert_rate_ratio_by_group/{g}",
            "method": method,
            **r,
        }
        for r in res["rows"]
    ]
    return rows, verdict(
        f"{labels.get(g, g)} are falsely flagged more often than "
        f"{labels.get(reference, reference)} (false-alert rate ratio above 1)",
        v,
        tuple(r["input"] for r in res["rows"] if r["matters"]),
        factors=factors,
        x=x,
    )


def within_chance(mean: float, sd: float | None, n: int = NOISE_REPLICATIONS) -> bool:
    """A mean difference over ``n`` paired runs within two standard errors of zero."""
    return sd is not None and abs(mean) <= 2 * sd / math.sqrt(n)
