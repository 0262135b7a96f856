"""How often survsim's 95% intervals cover the truth, measured on a small scenario.

Runs ``scenarios/classroom_small.toml`` (3,000 people, a day) for ``--replications`` replications
(default 200) and takes the mean over all of them as the truth (its own error is a fraction of
one block's interval). Then:

- **compare's intervals** (:func:`analysis.compare.comparison_table`, the table ``survsim
  compare`` writes): the replications are cut into blocks of n (2, 5 and 10), each block's 95%
  interval is formed, and the share of blocks whose interval holds the truth is the coverage,
  per metric (false alerts, the share of alerts that were wrong, each group's rate, which
  compare pools over the replications with an exact interval);
- **the per-run exact intervals** (``false_alert_rate_ci_by_group``, Clopper-Pearson): the share
  of single runs whose interval holds the group's pooled rate (all false alerts over all
  captures of people not listed, over the replications).

A 95% interval should cover about 95% of the time; Clopper-Pearson is conservative (at least
95%); t-intervals of small blocks of skewed counts can fall short.

    python benchmarks/coverage.py [--replications 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.compare import comparison_table, flatten  # noqa: E402

SCENARIO = ROOT / "scenarios" / "classroom_small.toml"
BLOCKS = (2, 5, 10)


def run_all(replications: int) -> list[dict[str, Any]]:
    import sim

    sc = sim.load_scenario(SCENARIO)
    out = []
    for r in range(replications):
        out.append(sim.run(sc, replication=r).summary)
        if (r + 1) % 25 == 0:
            print(f"{r + 1}/{replications} replications", file=sys.stderr)
    return out


def block_coverage(
    flat: list[dict[str, float]], truth: dict[str, float], n: int
) -> dict[str, float | None]:
    """Per metric: the share of blocks of ``n`` replications whose compare interval (the very
    table ``survsim compare`` writes) holds the truth."""
    hits: dict[str, list[bool]] = {m: [] for m in truth}
    for k in range(len(flat) // n):
        rows = [
            {"scenario": "x", "replication": r, "metric": m, "value": v}
            for r in range(k * n, (k + 1) * n)
            for m, v in flat[r].items()
        ]
        for row in comparison_table(rows, ["x"]).to_pylist():
            m = row["metric"] + (f"/{row['group']}" if row["group"] else "")
            if m in hits and not math.isnan(row["ci_low"]):
                hits[m].append(row["ci_low"] <= truth[m] <= row["ci_high"])
    return {m: (float(np.mean(h)) if h else None) for m, h in hits.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--replications", type=int, default=200)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    started = time.perf_counter()
    summaries = run_all(a.replications)
    flat = [flatten(s) for s in summaries]
    groups = list(summaries[0]["false_alert_rate_by_group"])
    metrics = [
        "false_alerts",
        "false_alert_share",
        *(f"false_alert_rate_by_group/{g}" for g in groups),
    ]
    report: dict[str, Any] = {
        "scenario": SCENARIO.name,
        "replications": a.replications,
        "compare_intervals": {},
        "exact_per_run": {},
    }
    truth: dict[str, float] = {}
    for m in metrics:
        v = np.array([f.get(m, math.nan) for f in flat], float)
        truth[m] = float(v[np.isfinite(v)].mean())
    # A group's rate: the pooled rate over all replications (what compare estimates).
    for g in groups:
        k = sum(s["false_alerts_unlisted_by_group"][g] for s in summaries)
        n = sum(s["unlisted_captures_by_group"][g] for s in summaries)
        truth[f"false_alert_rate_by_group/{g}"] = k / n * 1000 if n else math.nan
    cover = {n: block_coverage(flat, truth, n) for n in BLOCKS}
    for m in metrics:
        report["compare_intervals"][m] = {
            "truth": truth[m],
            **{f"n={n}": cover[n][m] for n in BLOCKS},
        }
    for g in groups:
        k = sum(s["false_alerts_unlisted_by_group"][g] for s in summaries)
        n = sum(s["unlisted_captures_by_group"][g] for s in summaries)
        if not n:
            continue
        pooled = k / n * 1000
        cis = [s["false_alert_rate_ci_by_group"][g] for s in summaries]
        held = [ci[0] <= pooled <= ci[1] for ci in cis if ci]
        report["exact_per_run"][g] = {
            "pooled_rate": pooled,
            "false_alerts_per_run": k / len(summaries),
            "coverage": float(np.mean(held)),
        }
    report["wall_s"] = time.perf_counter() - started
    if a.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"coverage of 95% intervals, {SCENARIO.name}, {a.replications} replications "
        f"({report['wall_s']:.0f} s)"
    )
    print(f"{'metric':<42} {'truth':>9} " + " ".join(f"{'n=' + str(n):>7}" for n in BLOCKS))
    for m, r in report["compare_intervals"].items():
        cells = " ".join(
            f"{r[f'n={n}']:7.2f}" if r[f"n={n}"] is not None else f"{'n/a':>7}" for n in BLOCKS
        )
        print(f"{m:<42} {r['truth']:9.4g} {cells}")
    print(
        f"\n{'group (exact per-run interval)':<32} {'pooled rate':>11} {'false/run':>9} "
        f"{'coverage':>8}"
    )
    for g, r in report["exact_per_run"].items():
        print(
            f"{g:<32} {r['pooled_rate']:11.4g} {r['false_alerts_per_run']:9.2f} "
            f"{r['coverage']:8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
