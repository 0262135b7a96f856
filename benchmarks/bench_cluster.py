"""Benchmark: one run across a Dask cluster (issue "A metropolis on one machine, a country on a
cluster", deliverable 5).

What runs: the capital (``scenarios/capital_cctv.toml``, 300 cameras, 24 h), full pipeline with
Arrow output, summary and tracking:

- 1,000,000 people in one process (the baseline: ``bench_scale.py``'s run);
- 1,000,000 people with ``sim.run(scheduler=)`` on a LocalCluster of 2 worker processes (one
  thread each), whose files must be the single-process run's byte for byte (compared by digest);
- 10,000,000 people on the same cluster;
- with ``--single-10m``, 10,000,000 people in one process too.

Every run is a fresh process (``--child``) that starts its own cluster before the clock starts
(workers started and ``sim`` imported on them: a running cluster, as a user's would be); the
wall is ``sim.run``'s. Memory is sampled every 0.2 s over the whole process tree (this process,
the scheduler in it, the nannies and the workers): the peak of the summed resident sets (an
upper bound: pages shared between processes count twice) and the peak of this process alone.
Medians of ``--repeats``; the on-disk cache is warm (a private folder filled by an unmeasured
first run).

    python benchmarks/bench_cluster.py [--repeats 3] [--single-10m] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

import bench_city  # the shared child-process helpers

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "capital_cctv.toml"
CHILD_TIMEOUT_S = 3600.0
WORKERS = 2


class TreeMemory:
    """The peak resident memory of this process and of its whole process tree, sampled."""

    def __init__(self, every_s: float = 0.2) -> None:
        import psutil

        self.me = psutil.Process()
        self.every_s = every_s
        self.peak_tree = self.peak_me = self.peak_worker = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                me = self.me.memory_info().rss
                others = []
                for p in self.me.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        others.append(p.memory_info().rss)
                self.peak_me = max(self.peak_me, me)
                self.peak_worker = max([self.peak_worker, *others])
                self.peak_tree = max(self.peak_tree, me + sum(others))
            except psutil.Error:
                pass
            self._stop.wait(self.every_s)


def digest(run_dir: Path) -> str:
    """A digest of every event file and the tracking table (what must not depend on where the
    run executed)."""
    h = hashlib.sha256()
    for p in [*sorted((run_dir / "events").glob("*.arrow")), run_dir / "tracking.arrow"]:
        h.update(p.name.encode())
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                h.update(block)
    return h.hexdigest()


def child(people: int, cluster: bool, out: Path) -> dict[str, Any]:
    """One full run in this process (a fresh one), on a new LocalCluster with ``cluster``."""
    import contextlib

    from sim.edge.api import run
    from sim.scenario import load_scenario

    bench_city.warm_imports()
    sc = load_scenario(SCENARIO, [f"population.people={people}"])
    with contextlib.ExitStack() as stack:
        scheduler = None
        if cluster:
            import distributed

            c = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=WORKERS,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            )
            with distributed.Client(c.scheduler_address) as client:
                client.run(lambda: __import__("sim.edge.cluster"))
            scheduler = c.scheduler_address
        with TreeMemory() as mem:
            started = time.perf_counter()
            result = run(sc, out=out, overwrite=True, scheduler=scheduler)
            wall_s = time.perf_counter() - started
    s = result.summary
    return {
        "wall_s": wall_s,
        "peak_tree_mib": mem.peak_tree / 2**20,
        "peak_client_mib": mem.peak_me / 2**20,
        "peak_worker_mib": mem.peak_worker / 2**20,
        "trips": int(result.tables["trips"].num_rows),
        "captures": int(s["captures"]),
        "alerts": int(s["alerts"]),
        "digest": digest(out),
    }


def measure(people: int, cluster: bool) -> dict[str, Any]:
    args = [__file__, "--child", "--people", str(people), *(["--cluster"] if cluster else [])]
    return bench_city.child_result(args, CHILD_TIMEOUT_S, "survsim-cluster-")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--people", type=int, default=1_000_000, help="the baseline's people")
    p.add_argument("--large", type=int, default=10_000_000, help="the cluster run's people")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--single-10m", action="store_true", help="also the large run in one process")
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cluster", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.people, args.cluster, args.out)))
        return 0
    plan = [(args.people, False), (args.people, True), (args.large, True)]
    if args.single_10m:
        plan.append((args.large, False))
    rows = []
    with bench_city.route_cache(False):
        measure(10_000, False)  # fills the private cache; not measured
        for people, cluster in plan:
            runs = [measure(people, cluster) for _ in range(args.repeats)]
            done = [r for r in runs if "wall_s" in r]
            row: dict[str, Any] = {"people": people, "cluster": cluster, "runs": runs}
            if done:
                for key in ("wall_s", "peak_tree_mib", "peak_client_mib", "peak_worker_mib"):
                    row[f"median_{key}"] = statistics.median(r[key] for r in done)
                row["identical_runs"] = len({r["digest"] for r in done}) == 1
            rows.append(row)
            print(f"{_where(row)}, {people:,} people: {_cell(row)}", file=sys.stderr)
    same = _digest(rows[0]) is not None and _digest(rows[0]) == _digest(rows[1])
    if args.json:
        print(json.dumps({"rows": rows, "cluster_equals_single": same}, indent=2))
        return 0
    bench_city.text_table(
        ("where", "people", "median wall / peak (tree, this process, a worker)", "captures",
         "rounds"),
        [
            (_where(r), f"{r['people']:,}", _cell(r), f"{r['runs'][0].get('captures', 0):,}",
             " / ".join(f"{x['wall_s']:.1f}" for x in r["runs"] if "wall_s" in x))
            for r in rows
        ],
    )  # fmt: skip
    print(f"\ncluster files = single-process files at {args.people:,}: {same}")
    if "median_wall_s" in rows[0] and "median_wall_s" in rows[2]:
        ratio = rows[2]["median_wall_s"] / rows[0]["median_wall_s"]
        print(f"{args.large:,} on the cluster / {args.people:,} in one process: x{ratio:.2f} wall")
    return 0


def _digest(row: dict[str, Any]) -> str | None:
    return row["runs"][0].get("digest") if row.get("identical_runs") else None


def _where(row: dict[str, Any]) -> str:
    return f"LocalCluster({WORKERS})" if row["cluster"] else "one process"


def _cell(row: dict[str, Any]) -> str:
    if "median_wall_s" not in row:
        return f"not run: {row['runs'][0].get('failed')}"
    gib = [row[f"median_peak_{k}_mib"] / 1024 for k in ("tree", "client", "worker")]
    return f"{row['median_wall_s']:.1f} s, {gib[0]:.2f} / {gib[1]:.2f} / {gib[2]:.2f} GiB"


if __name__ == "__main__":
    raise SystemExit(main())
