"""Benchmark: `survsim sensitivity` on the capital (issue "Numbers that mean what they say":
Morris on a few inputs "in minutes on 2 cores").

The design: capital_cctv against capital_cctv_regulated, four inputs (the face-match threshold
0.58-0.66 and three of the model's named assumptions over their declared ranges), 10 Morris
trajectories: 50 points x 2 scenarios + 2 x 5 runs of the scenarios as given = 110 runs on 2
local worker processes. Each repeat runs in a fresh output directory; the figure is the median
wall time, with the peak memory of the parent and its workers (RUSAGE_CHILDREN: the largest
worker). Every repeat must give the same runs.

    python benchmarks/bench_sensitivity.py [--repeats 3] [--samples 10] [--json]

The on-disk cache is as the machine has it (warm: the capital's routing trees are reused; each
point's face-match model is new, so its look-alike tables are computed and stored).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent / "scenarios"
VARY = [
    "facematch.threshold=0.58,0.66",
    "facematch.assumptions.cross_race_shift",
    "facematch.persistence",
    "facematch.assumptions.black_male_unfloored_ratio",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sys.path[:0] = [str(HERE.parent), str(HERE)]
    import pyarrow.parquet as pq
    from bench_sweep import same as same_table

    from sim.edge.experiments import parse_vary, sensitivity

    factors = parse_vary(VARY)
    times, tables, result = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            out = Path(tmp) / f"s{i}"
            t0 = time.perf_counter()
            result = sensitivity(
                SCENARIOS / "capital_cctv.toml",
                factors,
                samples=args.samples,
                against=SCENARIOS / "capital_cctv_regulated.toml",
                out=out,
                workers=2,
            )
            times.append(time.perf_counter() - t0)
            tables.append(pq.read_table(out / "sensitivity.parquet"))
    same = all(same_table(t, tables[0]) for t in tables[1:])  # NaN equal to NaN
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    runs = (result["points"] + 5) * 2
    out = {
        "points": result["points"],
        "runs": runs,
        "wall_s": times,
        "median_s": statistics.median(times),
        "s_per_run": statistics.median(times) / runs,
        "peak_parent_gib": round(peak_self, 2),
        "peak_worker_gib": round(peak_children, 2),
        "identical": same,
        "verdicts": [v["text"] for v in result["verdicts"]],
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"{out['points']} points, {runs} runs: median {out['median_s']:.1f} s "
            f"({out['s_per_run']:.2f} s a run) over {args.repeats} repeats "
            f"{[round(t, 1) for t in times]}; peak {out['peak_parent_gib']} GiB (parent), "
            f"{out['peak_worker_gib']} GiB (largest worker); identical: {same}"
        )
        for v in out["verdicts"]:
            print(" -", v)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
