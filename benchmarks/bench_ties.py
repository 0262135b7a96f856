"""How much the tie rule between equally short routes moves a run's figures (an assumption of
the exact routes, named and measured here).

Where several routes are equally short (on a grid, most are), survsim's exact trees take at each
crossing the lowest-numbered neighbour on a shortest route (``sim.routing.canonical_slots``): a
rule for reproducibility, not an observation of how people walk. This benchmark runs a scenario
with that rule, with the opposite one (the highest-numbered neighbour), and with the next seed
(the yardstick of noise), and prints captures and alerts. It swaps the rule for its own runs only
(the routing cache is off, so no tree made by the other rule is read back).

    python benchmarks/bench_ties.py [--scenario F | --grid SIDE] [--people N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

FIGURES = ("captures", "alerts", "false_alerts", "true_alerts")


def highest_first(canonical: Any) -> Any:
    """The tie rule reversed: each node's neighbour list read backwards, so the rule's
    lowest-numbered neighbour is the highest-numbered one."""
    from sim.routing import Adjacency

    def rule(adj: Adjacency, dist: Any, fallback: Any) -> Any:
        degree = np.diff(adj.ptr)
        node = np.repeat(np.arange(degree.size), degree)
        rev = adj.ptr[node] + adj.ptr[node + 1] - 1 - np.arange(node.size)
        flipped = Adjacency(adj.ptr, adj.nbr[rev], adj.edge[rev], adj.length_m[rev])
        slot = canonical(flipped, dist, fallback)
        return np.where(slot >= 0, degree[None, :] - 1 - slot, slot).astype(np.int32)

    return rule


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    here = Path(__file__).resolve().parent
    p.add_argument("--scenario", type=Path, default=here.parent / "scenarios" / "capital_cctv.toml")
    p.add_argument("--people", type=int, default=50_000)
    p.add_argument("--grid", type=int, help="bench_metro.py's metropolis scaled to SIDE x SIDE")
    args = p.parse_args(argv)
    os.environ["SURVSIM_CACHE"] = "off"
    import sim.routing
    from sim.edge.api import run
    from sim.scenario import load_scenario

    sys.path.insert(0, str(here))
    from bench_zoned import source

    sc = load_scenario(
        source(args.scenario, args.grid, args.people), {"population.people": args.people}
    )
    lowest = sim.routing.canonical_slots
    out: dict[str, Any] = {"scenario": sc.name, "people": args.people}
    with tempfile.TemporaryDirectory() as tmp:
        for name, rule, seed in (
            ("lowest-numbered neighbour (survsim's rule)", lowest, None),
            ("highest-numbered neighbour", highest_first(lowest), None),
            ("lowest, next seed", lowest, sc.seed + 1),
        ):
            sim.routing.canonical_slots = rule
            try:
                got = run(sc, seed=seed, out=Path(tmp) / str(len(out)))
            finally:
                sim.routing.canonical_slots = lowest
            out[name] = {k: got.summary.get(k) for k in FIGURES}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
