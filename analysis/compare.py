"""Replications to estimates: means, 95% intervals and paired differences.

Everything here works on plain rows (scenario or sweep point, replication, metric, value), the
flattened summaries of many runs, so it is independent of how the runs were executed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from analysis.summary import SUMMARY_KEYS, measure


def flatten(summary: Mapping[str, Any]) -> dict[str, float]:
    """Numeric summary values, with per-group (and per-deployment) entries as 'key/group'."""
    out: dict[str, float] = {}
    for k, v in summary.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, int | float):
            out[k] = float(v)
        elif v is None and k not in _NOT_METRICS:
            out[k] = math.nan
        elif isinstance(v, Mapping):
            for g, x in v.items():
                if isinstance(x, int | float) and not isinstance(x, bool):
                    out[f"{k}/{g}"] = float(x)
                elif x is None:
                    out[f"{k}/{g}"] = math.nan
    for skip in _NOT_METRICS:
        out.pop(skip, None)
    return out


# Keys that describe how a run was made or name things, not figures to estimate.
_NOT_METRICS = tuple(k for k in SUMMARY_KEYS if measure(k) in ("provenance", "label"))


def is_share(metric: str) -> bool:
    """Whether a metric (a summary key, or ``key/group``) is a share, shown as a percentage:
    as the summary declares it (:mod:`analysis.summary`); a metric it does not declare is one
    when its name says so."""
    kind = measure(metric)
    return kind == "share" if kind is not None else "share" in metric


def is_level(metric: str) -> bool:
    """Whether a metric is a level (a share, rate, ratio or mean: "higher" or "lower") rather
    than a count ("more" or "fewer")."""
    kind = measure(metric)
    if kind is None:
        return "share" in metric or "rate" in metric
    return kind in ("share", "rate", "ratio", "mean", "interval")


FEW_REPLICATIONS = 5  # below this, compare warns that its intervals are rough


def bounds(metric: str, values: np.ndarray) -> tuple[float, float]:
    """The range a metric's mean can take: shares in [0, 1], counts, rates and ratios at least
    0 (every value non-negative), else unbounded."""
    v = values[np.isfinite(values)]
    if is_share(metric) and v.size and v.min() >= 0 and v.max() <= 1:
        return 0.0, 1.0
    if v.size and v.min() >= 0:
        return 0.0, math.inf
    return -math.inf, math.inf


def interval(
    values: np.ndarray, lo_bound: float = -math.inf, hi_bound: float = math.inf, log: bool = False
) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the finite values (NaN interval with fewer than two),
    kept inside [lo_bound, hi_bound]. ``log``: a ratio, with all values positive: the interval
    is taken on the log scale (a geometric one around the geometric mean's), so it never
    crosses 0; the mean reported is still the arithmetic one."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < 2:
        return m, math.nan, math.nan
    from scipy import stats  # imported here: workers that only run never pay for it

    t = float(stats.t.ppf(0.975, v.size - 1))
    if log and v.min() > 0:
        lv = np.log(v)
        half = t * float(lv.std(ddof=1)) / math.sqrt(v.size)
        lo, hi = math.exp(float(lv.mean()) - half), math.exp(float(lv.mean()) + half)
    else:
        half = t * float(v.std(ddof=1)) / math.sqrt(v.size)
        lo, hi = m - half, m + half
    return m, max(lo, lo_bound), min(hi, hi_bound)


# A group's false-alert rate is pooled over the replications: all its false alerts on people not
# listed over all captures of such people, with the exact (Clopper-Pearson) interval of the
# pooled count. Per-replication t-intervals of a handful of events each cover the truth far
# less than 95% (benchmarks/coverage.py).
POOLED = {
    "false_alert_rate_by_group": ("false_alerts_unlisted_by_group", "unlisted_captures_by_group")
}


def pooled_rate(
    by: Mapping[tuple[str, str], Mapping[int, float]], scenario: str, metric: str
) -> tuple[float, float, float] | None:
    """The pooled rate and its exact interval of a POOLED metric ('name/group'), or None when
    the counts behind it are not in the rows (summaries of an older survsim)."""
    name, _, group = metric.partition("/")
    if name not in POOLED or not group:
        return None
    k_name, n_name = POOLED[name]
    ks = by.get((scenario, f"{k_name}/{group}"))
    ns = by.get((scenario, f"{n_name}/{group}"))
    if not ks or not ns:
        return None
    reps = [r for r in ks if r in ns and math.isfinite(ks[r]) and math.isfinite(ns[r])]
    k, n = int(sum(ks[r] for r in reps)), int(sum(ns[r] for r in reps))
    if n <= 0:
        return None
    from analysis.rates import rate_interval

    ci = rate_interval(k, n)
    assert ci is not None
    return k / n * 1000.0, ci[0], ci[1]


def comparison_table(rows: Iterable[Mapping[str, Any]], scenarios: list[str]) -> pa.Table:
    """Per scenario and metric: mean and 95% interval, and the paired difference against the
    first scenario (replication r against replication r: common random numbers). A group's
    false-alert rate is pooled over the replications, with its exact interval (POOLED)."""
    by: dict[tuple[str, str], dict[int, float]] = {}
    for r in rows:
        by.setdefault((r["scenario"], r["metric"]), {})[int(r["replication"])] = r["value"]
    metrics = sorted({m for _, m in by})
    base = scenarios[0]
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "scenario",
            "metric",
            "group",
            "n",
            "mean",
            "ci_low",
            "ci_high",
            "diff_mean",
            "diff_ci_low",
            "diff_ci_high",
        )
    }
    for s in scenarios:
        for m in metrics:
            vals = by.get((s, m), {})
            if not vals:
                continue
            reps = sorted(vals)
            v = np.array([vals[k] for k in reps], float)
            lo_b, hi_b = bounds(m, v)
            name0 = m.partition("/")[0]
            mean, lo, hi = pooled_rate(by, s, m) or interval(
                v, lo_b, hi_b, log="ratio" in name0 or name0 == "false_alert_disparity"
            )
            b = by.get((base, m), {})
            paired = [k for k in reps if k in b]
            d = np.array([vals[k] - b[k] for k in paired], float)
            # A difference of two shares lies in [-1, 1]; of two counts, anywhere.
            span = hi_b - lo_b
            dm, dlo, dhi = interval(d, -span, span) if paired else (math.nan,) * 3
            name, _, group = m.partition("/")
            cols["scenario"].append(s)
            cols["metric"].append(name)
            cols["group"].append(group or None)
            cols["n"].append(int(np.isfinite(v).sum()))
            for k, x in (
                ("mean", mean),
                ("ci_low", lo),
                ("ci_high", hi),
                ("diff_mean", dm),
                ("diff_ci_low", dlo),
                ("diff_ci_high", dhi),
            ):
                cols[k].append(x)
    return pa.table(
        {
            "scenario": pa.array(cols["scenario"], pa.string()),
            "metric": pa.array(cols["metric"], pa.string()),
            "group": pa.array(cols["group"], pa.string()),
            "n": pa.array(cols["n"], pa.int32()),
            **{
                k: pa.array(cols[k], pa.float64())
                for k in ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high")
            },
        }
    )
