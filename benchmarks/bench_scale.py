"""Benchmark: the capital scenario at 10,000, 100,000 and 1,000,000 people, full pipeline.

Target (issue "Scale: a million-person city-day in 30 seconds"): 1,000,000 people x 24 h in at
most 30 s wall and 2 GiB peak memory (output files excluded: they are on disk, not in memory),
and cost growing linearly with people (10x people at most 11x time).

What runs: ``scenarios/capital_cctv.toml`` (the radial capital, 14 rings, 1,233 crossings, 614
places) with ``population.people`` set to each size, for 24 simulated hours: movement, captures,
matching, alerts, summary, tracking and every Arrow table written to a temporary directory.
**Interpretation:** the street map stays the capital's (a denser city, not a larger one), and so
does its camera network (``--cameras``, default the scenario's 300; the map has too few
crossings for a network scaled with the population). Each run is a fresh process (see
``bench_city.py``, whose child mode this script uses) after one unmeasured warm-up run; sizes are
interleaved; medians. The runs use a private on-disk cache that the warm-up fills (routing trees,
as in every run of a city after its first); ``--cold-cache`` turns it off.

    python benchmarks/bench_scale.py [--repeats 3] [--sizes 10000 100000 1000000] [--json]
    python benchmarks/bench_scale.py --cold-cache      # every run computes its routing trees
    python benchmarks/bench_scale.py --sizes 1000000 --against d8f2250   # this code vs before

``--against COMMIT`` runs every size with the code of COMMIT too (a temporary git worktree),
interleaved with this checkout's runs (old and new alternate, the order flipped each round), and
reports the ratio new / old of the medians and of each round's pair.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_city  # the child-process machinery

TARGET_WALL_S = 30.0
TARGET_PEAK_MIB = 2048.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--cameras", type=int, default=300)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--cold-cache",
        action="store_true",
        help="no on-disk cache: every run computes its routing trees (default: a "
        "private cache folder, filled by the warm-up run)",
    )
    p.add_argument("--check", action="store_true")
    p.add_argument(
        "--against",
        metavar="COMMIT",
        help="also run the code of COMMIT, interleaved, and report new / old",
    )
    a = p.parse_args(argv)
    if a.against:
        return against(a)
    sizes = [bench_city.Size(f"{n:,}", n, a.cameras, a.hours) for n in sorted(a.sizes)]
    with bench_city.route_cache(a.cold_cache) as cache_mode:
        print(f"warm-up: {sizes[0].label} people (not measured) ...", file=sys.stderr)
        bench_city.measure(sizes[0])
        for k in range(a.repeats):
            for s in sizes:
                print(f"round {k + 1}/{a.repeats}: {s.label} people ...", file=sys.stderr)
                s.runs.append(bench_city.measure(s))
    report: dict[str, Any] = {
        "sizes": {s.people: s.stats() for s in sizes},
        "cameras": a.cameras,
        "hours": a.hours,
        "repeats": a.repeats,
        "route_cache": cache_mode,
        "git": bench_city.git_state(),
    }
    ratios = {}
    for lo, hi in itertools.pairwise(sizes):
        ratios[f"{hi.people}/{lo.people}"] = {
            "people": hi.people / lo.people,
            "wall": hi.median("wall_s") / lo.median("wall_s"),
        }
    report["scaling"] = ratios
    big = sizes[-1]
    ok = big.people < 1_000_000 or (
        big.median("wall_s") <= TARGET_WALL_S and big.median("peak_rss_mib") <= TARGET_PEAK_MIB
    )
    ok = ok and all(r["wall"] <= 1.1 * r["people"] for r in ratios.values())
    report["meets_targets"] = ok
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{'people':>10}  {'median wall s (min-max)':<24} {'peak MiB':>9} "
            f"{'people-days/s':>14} {'captures/s':>11}"
        )
        for s in sizes:
            st = s.stats()
            print(
                f"{s.people:>10,}  {st['median_wall_s']:7.2f} ({st['min_wall_s']:.2f}-"
                f"{st['max_wall_s']:.2f}){'':<6} {st['median_peak_rss_mib']:9.0f} "
                f"{st['people_days_per_s']:14,.0f} {st['captures_per_s']:11,.0f}"
            )
        for pair, r in ratios.items():
            print(
                f"{pair}: {r['people']:g}x people cost {r['wall']:.2f}x time (target at most "
                f"{1.1 * r['people']:g}x)"
            )
        verdict = (
            ("met" if ok else "MISSED")
            if big.people >= 1_000_000
            else "not measured (no 1,000,000-person size)"
        )
        print(
            f"targets at 1,000,000 people: wall <= {TARGET_WALL_S:g} s, peak <= "
            f"{TARGET_PEAK_MIB:.0f} MiB, linear scaling: {verdict}"
        )
        print(f"cache: {bench_city.CACHE_NOTE[cache_mode]}")
    return 0 if ok or not a.check else 1


def against(a: argparse.Namespace) -> int:
    """This checkout's code against ``a.against``'s, same sizes, interleaved, fresh processes."""
    new = [bench_city.Size(f"{n:,}", n, a.cameras, a.hours) for n in sorted(a.sizes)]
    old = [bench_city.Size(f"{n:,}", n, a.cameras, a.hours) for n in sorted(a.sizes)]
    with bench_city.checkout(a.against) as tree, bench_city.route_cache(a.cold_cache):
        print(f"warm-up: {new[0].label} people, both codes (not measured) ...", file=sys.stderr)
        bench_city.measure(new[0])
        bench_city.measure(old[0], tree)
        for k in range(a.repeats):
            for n, o in zip(new, old, strict=True):
                print(
                    f"round {k + 1}/{a.repeats}: {n.label} people, new and {a.against} ...",
                    file=sys.stderr,
                )
                pair = [(n, None), (o, tree)]
                for size, where in pair if k % 2 == 0 else pair[::-1]:
                    size.runs.append(bench_city.measure(size, where))
    report: dict[str, Any] = {
        "against": a.against,
        "git": bench_city.git_state(),
        "repeats": a.repeats,
        "sizes": {},
    }
    for n, o in zip(new, old, strict=True):
        pairs = [rn["wall_s"] / ro["wall_s"] for rn, ro in zip(n.runs, o.runs, strict=True)]
        report["sizes"][n.people] = {
            "new": n.stats(),
            "old": o.stats(),
            "ratio_of_medians": n.median("wall_s") / o.median("wall_s"),
            "ratio_per_round": pairs,
            "peak_ratio": n.median("peak_rss_mib") / o.median("peak_rss_mib"),
        }
    if a.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{'people':>10}  {'new median s':>12} {'old median s':>12} {'new/old':>8} "
        f"{'per round':<24} {'peak new/old MiB':>17}"
    )
    for people, r in report["sizes"].items():
        rounds = " ".join(f"x{x:.2f}" for x in r["ratio_per_round"])
        print(
            f"{people:>10,}  {r['new']['median_wall_s']:12.2f} "
            f"{r['old']['median_wall_s']:12.2f} {r['ratio_of_medians']:8.2f} {rounds:<24} "
            f"{r['new']['median_peak_rss_mib']:8.0f}/{r['old']['median_peak_rss_mib']:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
