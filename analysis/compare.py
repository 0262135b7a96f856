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


_NOT_METRICS = ("seed", "replication", "wall_s", "scenario", "scenario_hash", "schema_version",
                "survsim_version", "group_labels")


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the finite values (NaN interval with fewer than two)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < 2:
        return m, math.nan, math.nan
    from scipy import stats  # imported here: workers that only run never pay for it

    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - half, m + half


def comparison_table(rows: Iterable[Mapping[str, Any]], scenarios: list[str]) -> pa.Table:
    """Per scenario and metric: mean and 95% interval, and the paired difference against the
    first scenario (replication r against replication r: common random numbers)."""
    by: dict[tuple[str, str], dict[int, float]] = {}
    for r in rows:
        by.setdefault((r["scenario"], r["metric"]), {})[int(r["replication"])] = r["value"]
    metrics = sorted({m for _, m in by})
    base = scenarios[0]
    cols: dict[str, list[Any]] = {k: [] for k in (
        "scenario", "metric", "group", "n", "mean", "ci_low", "ci_high", "diff_mean",
        "diff_ci_low", "diff_ci_high")}
    for s in scenarios:
        for m in metrics:
            vals = by.get((s, m), {})
            if not vals:
                continue
            reps = sorted(vals)
            v = np.array([vals[k] for k in reps], float)
            mean, lo, hi = interval(v)
            b = by.get((base, m), {})
            paired = [k for k in reps if k in b]
            d = np.array([vals[k] - b[k] for k in paired], float)
            dm, dlo, dhi = interval(d) if paired else (math.nan,) * 3
            name, _, group = m.partition("/")
            cols["scenario"].append(s)
            cols["metric"].append(name)
            cols["group"].append(group or None)
            cols["n"].append(int(np.isfinite(v).sum()))
            for k, x in (("mean", mean), ("ci_low", lo), ("ci_high", hi), ("diff_mean", dm),
                         ("diff_ci_low", dlo), ("diff_ci_high", dhi)):
                cols[k].append(x)
    return pa.table({
        "scenario": pa.array(cols["scenario"], pa.string()),
        "metric": pa.array(cols["metric"], pa.string()),
        "group": pa.array(cols["group"], pa.string()),
        "n": pa.array(cols["n"], pa.int32()),
        **{k: pa.array(cols[k], pa.float64()) for k in ("mean", "ci_low", "ci_high",
                                                         "diff_mean", "diff_ci_low",
                                                         "diff_ci_high")},
    })
