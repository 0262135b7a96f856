"""Benchmark: loading and preparing a real OpenStreetMap extract, cold and from the cache.

Target (issue "Real cities from OpenStreetMap"): preparing the Helsinki extract (about 7,000 raw
nodes) takes at most 5 s; the prepared graph is cached, so a second run loads it in under 1 s.

Each measured load runs in a fresh Python process (so imports, osmnx included, are paid as a
user pays them) with its own empty cache directory for the cold runs; the cached runs reuse the
cache the cold run left. Timed: ``sim.city.build_city`` on the scenario's ``[city]`` (reading,
cleaning, consolidating, placing places; or reading the cache), plus, reported separately, the
import of survsim. Medians of ``--repeats`` runs, interleaved cold and cached.

    SURVSIM_DATA=../shared/data python benchmarks/bench_osm.py [--repeats 5] [--json] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
EXTRACTS = {
    "helsinki": "helsinki_center_highways.osm.bz2",
    "aguascalientes": "aguascalientes.osm.bz2",
}

CHILD = r"""
import json, sys, time, resource
t0 = time.perf_counter()
import numpy as np
from sim.city import build_city
from sim.scenario import OsmCity
if len(sys.argv) > 2 and sys.argv[2] == "osmnx":  # the reader before sim.osm_stream
    import sim.osm
    sim.osm._streaming = lambda path: False
t1 = time.perf_counter()
city = build_city(OsmCity(kind="osm", path=sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "nodes": city.n_nodes,
                  "edges": city.n_edges, "places": int(city.place_node.size),
                  "osmnx_imported": "osmnx" in sys.modules,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def raw_nodes(path: Path) -> int:
    import bz2

    with bz2.open(path, "rb") as f:
        return f.read().count(b"<node ")


def one(path: Path, cache: Path, reader: str = "default") -> dict[str, float]:
    env = {**os.environ, "SURVSIM_CACHE": str(cache)}
    p = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), reader],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE.parent,
        check=True,
    )
    return json.loads(p.stdout.strip().splitlines()[-1])


def synthetic(side: int, as_json: bool, repeats: int, osmnx: bool) -> int:
    """Prepare a synthetic whole-city extract cold (fresh processes, each with an empty cache:
    medians of ``repeats``), then from the cache; with ``osmnx``, also once through osmnx's
    graph (the reader before ``sim.osm_stream``), which must give the same city."""
    import statistics

    import osm_synth

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.osm.pbf"
        counts = osm_synth.write_city(path, side)
        colds = [one(path, Path(tmp) / f"cache{k}") for k in range(repeats)]
        cached = one(path, Path(tmp) / "cache0")
        by_osmnx = one(path, Path(tmp) / "cache-osmnx", "osmnx") if osmnx else None
    cold = {
        **colds[0],
        "load_s": statistics.median(c["load_s"] for c in colds),
        "peak_mib": statistics.median(c["peak_mib"] for c in colds),
        "rounds_s": [c["load_s"] for c in colds],
    }
    report = {"extract": counts, "cold": cold, "cached": cached, "osmnx": by_osmnx}
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"synthetic city: {counts['nodes']:,} OSM nodes, {counts['ways']:,} ways -> "
        f"{cold['nodes']:,} crossings, {cold['edges']:,} streets, {cold['places']:,} places"
    )
    rounds = ", ".join(f"{x:.1f}" for x in cold["rounds_s"])
    print(f"  prepare (cold): {cold['load_s']:.1f} s ({rounds}), peak {cold['peak_mib']:.0f} MiB")
    print(f"  from the cache: {cached['load_s']:.2f} s, peak {cached['peak_mib']:.0f} MiB")
    if by_osmnx is not None:
        same = all(by_osmnx[k] == cold[k] for k in ("nodes", "edges", "places"))
        print(
            f"  through osmnx's graph: {by_osmnx['load_s']:.1f} s, peak "
            f"{by_osmnx['peak_mib']:.0f} MiB (same crossings, streets, places: {same})"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--check", action="store_true")
    p.add_argument(
        "--data",
        default=os.environ.get("SURVSIM_DATA"),
        help="folder with the extracts (default: $SURVSIM_DATA)",
    )
    p.add_argument(
        "--synthetic",
        type=int,
        metavar="SIDE",
        help="instead: a synthetic whole city of SIDE x SIDE crossings (benchmarks/osm_synth.py;"
        " 330 gives about 109,000), prepared cold and then loaded from the cache",
    )
    p.add_argument(
        "--osmnx",
        action="store_true",
        help="with --synthetic: also prepare it once through osmnx's graph, for comparison",
    )
    a = p.parse_args(argv)
    if a.synthetic:
        return synthetic(a.synthetic, a.json, a.repeats, a.osmnx)
    if not a.data:
        print(
            "bench_osm: set SURVSIM_DATA (or --data) to the folder with the OSM extracts",
            file=sys.stderr,
        )
        return 2
    report: dict[str, dict[str, object]] = {}
    for name, file in EXTRACTS.items():
        path = Path(a.data) / file
        cold, warm = [], []
        with tempfile.TemporaryDirectory() as tmp:
            one(path, Path(tmp) / "warm-up")  # disk cache of the files, pyc files
            for k in range(a.repeats):
                print(f"{name}: round {k + 1} of {a.repeats}", file=sys.stderr)
                cache = Path(tmp) / f"cache{k}"
                cold.append(one(path, cache))
                warm.append(one(path, cache))
        report[name] = {
            "raw_nodes": raw_nodes(path),
            "nodes": cold[0]["nodes"],
            "edges": cold[0]["edges"],
            "places": cold[0]["places"],
            "cold_load_s": float(np.median([r["load_s"] for r in cold])),
            "cold_load_range_s": [min(r["load_s"] for r in cold), max(r["load_s"] for r in cold)],
            "cached_load_s": float(np.median([r["load_s"] for r in warm])),
            "cached_load_range_s": [min(r["load_s"] for r in warm), max(r["load_s"] for r in warm)],
            "import_s": float(np.median([r["import_s"] for r in cold])),
            "cached_run_imports_osmnx": any(r["osmnx_imported"] for r in warm),
            "cold_peak_mib": float(np.median([r["peak_mib"] for r in cold])),
        }
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        for name, r in report.items():
            print(
                f"{name}: {r['raw_nodes']:,} raw OSM nodes -> {r['nodes']:,} crossings, "
                f"{r['edges']:,} streets, {r['places']} places"
            )
            print(
                f"  prepare (cold): {r['cold_load_s']:.2f} s median "
                f"({r['cold_load_range_s'][0]:.2f}-{r['cold_load_range_s'][1]:.2f}), "
                f"peak {r['cold_peak_mib']:.0f} MiB"
            )
            print(
                f"  from the cache: {r['cached_load_s']:.3f} s median "
                f"({r['cached_load_range_s'][0]:.3f}-{r['cached_load_range_s'][1]:.3f}); "
                f"osmnx imported: {r['cached_run_imports_osmnx']}"
            )
            print(f"  import of survsim: {r['import_s']:.2f} s (not counted)")
        h = report["helsinki"]
        print(
            f"targets (Helsinki): prepare <= 5 s: {h['cold_load_s']:.2f} s; cached < 1 s: "
            f"{h['cached_load_s']:.3f} s"
        )
    h = report["helsinki"]
    ok = float(h["cold_load_s"]) <= 5.0 and float(h["cached_load_s"]) < 1.0  # type: ignore[arg-type]
    return 0 if ok or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
