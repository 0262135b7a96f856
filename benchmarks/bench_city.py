"""City-scale benchmark: 100,000 people, 24 h, the radial capital, 500 cameras.

Target on the 2-core reference machine: at most 10 s wall and 1 GiB peak memory for the whole
pipeline (world building, engine, Arrow output, summary). Reported: people-days/s and captures/s,
median of the repetitions, with a 10,000-person baseline measured in the same run so that the
scaling ratio (wall 100k / wall 10k) compares like with like.

Each measured repetition runs in a fresh subprocess, so its peak RSS is its own. The child times
``sim.load_scenario`` + ``sim.run(..., out=tmpdir)`` with ``time.perf_counter`` (imports are
timed separately and not counted) and reports ``ru_maxrss`` as JSON on stdout. Baseline and target
runs are interleaved so that drift on the machine affects both alike.

Usage::

    python benchmarks/bench_city.py                 # 5 repeats, table
    python benchmarks/bench_city.py --repeats 3 --json
    python benchmarks/bench_city.py --check         # exit 1 if the median misses the targets
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "capital_cctv.toml"

TARGET_WALL_S = 10.0
TARGET_PEAK_MIB = 1024.0
DEFAULT_PEOPLE = 100_000
DEFAULT_CAMERAS = 500
DEFAULT_HOURS = 24.0
BASELINE_PEOPLE = 10_000
CHILD_TIMEOUT_S = 900.0


# ---------------------------------------------------------------- the child: one measured run
def overrides(people: int, cameras: int, hours: float) -> list[str]:
    """``--set`` style overrides of the capital scenario (the radial city is kept as it is)."""
    return [f"population.people={people}", f"deployment.0.count={cameras}", f"duration_h={hours!r}"]


def text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A plain-text table: columns padded to their widest cell, a dashed rule under the header."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    print(line(header))
    print(line(tuple("-" * w for w in widths)))
    for r in rows:
        print(line(r))


CACHE_NOTE = {
    "warm": "routing tables (the city's trees, the camera network's skip tables) read from "
    "the on-disk cache (a private folder the warm-up run fills), as in every run of a "
    "city and camera layout after its first",
    "cold": "no on-disk cache (SURVSIM_CACHE=off): every run computes its routing tables, as "
    "the first run of a city does",
}


def child_result(args: list[str], timeout_s: float, prefix: str) -> dict[str, Any]:
    """Run ``python args... --out TMP`` in a fresh process (a private temporary folder for its
    output) and return the JSON of its last line of stdout, or ``{"failed": "exit N: ..."}``
    with the last line of its stderr."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        cmd = [sys.executable, *args, "--out", str(Path(tmp) / "run")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        return {"failed": f"exit {proc.returncode}: {tail[0]}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def route_cache(cold: bool) -> Iterator[str]:
    """The on-disk cache (``sim.cache``) the measured children use: a private temporary folder,
    filled by the unmeasured warm-up run ("warm"), or none at all ("cold"). Never the user's
    own cache. Yields the mode's name."""
    old = os.environ.get("SURVSIM_CACHE")
    with tempfile.TemporaryDirectory(prefix="survsim-bench-cache-") as tmp:
        os.environ["SURVSIM_CACHE"] = "off" if cold else tmp
        try:
            yield "cold" if cold else "warm"
        finally:
            if old is None:
                os.environ.pop("SURVSIM_CACHE", None)
            else:
                os.environ["SURVSIM_CACHE"] = old


def warm_imports() -> None:
    """Import, before the clock starts, what a run would otherwise import on first use: the
    analysis modules ``sim.edge.api.run`` imports when it is called, and pandas, which pyarrow
    imports the first time it converts a Python list or a chunked column (about 0.4 s on the
    development machine). Imports are timed separately (``import_s``), never in ``wall_s``."""
    import pyarrow as pa

    import analysis.metrics
    import analysis.tracking  # noqa: F401

    pa.chunked_array([pa.array(["warm-up"]), pa.array(["imports"])]).to_numpy()


def child(people: int, cameras: int, hours: float, out: Path) -> dict[str, Any]:
    """One full run in this process; returns its measurements (call in a fresh process)."""
    import resource

    t_import = time.perf_counter()
    import sim
    from sim.edge.api import run

    warm_imports()
    import_s = time.perf_counter() - t_import
    rss_import_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    scenario = sim.load_scenario(SCENARIO, overrides=overrides(people, cameras, hours))
    result = run(scenario, out=out, overwrite=True)
    wall_s = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    summary = result.summary
    if summary["people"] != people:
        raise RuntimeError(f"ran {summary['people']} people, expected {people}")
    return {
        "wall_s": wall_s,
        "peak_rss_mib": peak_kib / 1024.0,
        "import_s": import_s,
        "rss_after_import_mib": rss_import_kib / 1024.0,
        "people": int(summary["people"]),
        "duration_s": float(summary["duration_s"]),
        "captures": int(summary["captures"]),
        "alerts": int(summary["alerts"]),
        "trips": int(result.tables["trips"].num_rows),
    }


# ---------------------------------------------------------------- the parent
@dataclass
class Size:
    """One problem size and the runs measured at it."""

    label: str
    people: int
    cameras: int
    hours: float
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(r[key] for r in self.runs))

    def stats(self) -> dict[str, Any]:
        walls = [r["wall_s"] for r in self.runs]
        people_days = self.people * self.hours / 24.0
        return {
            "median_wall_s": self.median("wall_s"),
            "min_wall_s": min(walls),
            "max_wall_s": max(walls),
            "median_peak_rss_mib": self.median("peak_rss_mib"),
            "max_peak_rss_mib": max(r["peak_rss_mib"] for r in self.runs),
            "people_days_per_s": float(statistics.median(people_days / w for w in walls)),
            "captures_per_s": float(
                statistics.median(r["captures"] / r["wall_s"] for r in self.runs)
            ),
            "captures": self.runs[0]["captures"],
            "alerts": self.runs[0]["alerts"],
            "trips": self.runs[0]["trips"],
            "median_import_s": self.median("import_s"),
            # Same seed, same code: every run must produce the same events.
            "identical_runs": len({(r["captures"], r["alerts"], r["trips"]) for r in self.runs})
            == 1,
        }


def run_child(
    script: str | Path,
    args: list[str],
    label: str,
    timeout_s: float = CHILD_TIMEOUT_S,
    tree: Path | None = None,
) -> dict[str, Any]:
    """Run ``script --child ARGS --out TMP/run`` in a fresh interpreter (its output goes to a
    temporary directory) and return the JSON it prints last; exit with the child's stderr if
    it fails. With ``tree`` (a checkout of another commit, see :func:`checkout`), the child is
    that checkout's copy of the script, importing that checkout's ``sim``."""
    name = Path(script).stem
    env = None
    if tree is not None:
        script = tree / "benchmarks" / Path(script).name
        env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory(prefix=f"survsim-{name}-") as tmp:
        cmd = [
            sys.executable,
            str(Path(script).resolve()),
            "--child",
            *args,
            "--out",
            str(Path(tmp) / "run"),
        ]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, check=False, env=env
        )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{name}: the {label} run failed (exit {proc.returncode})")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise SystemExit(f"{name}: the {label} run reported nothing")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def measure(size: Size, tree: Path | None = None) -> dict[str, Any]:
    """Run one repetition of ``size`` in a fresh interpreter; its output goes to a temp dir.
    ``tree``: run another commit's code instead (:func:`checkout`)."""
    return run_child(
        __file__,
        ["--people", str(size.people), "--cameras", str(size.cameras), "--hours", repr(size.hours)],
        size.label,
        tree=tree,
    )


@contextlib.contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """A temporary git worktree of ``commit`` (removed afterwards), for runs of the code before
    a change in the same invocation as the code after it."""
    root = SCENARIO.parent.parent
    with tempfile.TemporaryDirectory(prefix="survsim-bench-tree-") as tmp:
        tree = Path(tmp) / "tree"
        try:
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), commit],
                cwd=root,
                check=True,
                capture_output=True,
                text=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise SystemExit(
                f"--against {commit}: cannot check it out ({detail.strip()})"
            ) from None
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)],
                cwd=root,
                check=False,
                capture_output=True,
            )


def git_state() -> dict[str, Any] | None:
    """Commit and dirty flag of the checkout (best effort: None outside a git clone)."""
    root = SCENARIO.parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sim", "analysis"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": bool(dirty.strip())}


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def fmt_size(s: Size) -> str:
    return f"{s.people:,} people, {s.cameras} cams, {s.hours:g} h"


def print_table(target: Size, baseline: Size | None, report: dict[str, Any]) -> None:
    header = (
        "size",
        "median wall s (min-max)",
        "peak RSS MiB",
        "people-days/s",
        "captures/s",
        "targets",
    )
    rows: list[tuple[str, ...]] = []
    for s in (baseline, target):
        if s is None:
            continue
        st = s.stats()
        met = "met" if report["meets_targets"] else "MISSED"
        verdict = met if s is target else "(baseline)"
        rows.append(
            (
                fmt_size(s),
                f"{st['median_wall_s']:.2f} ({st['min_wall_s']:.2f}-{st['max_wall_s']:.2f})",
                f"{st['median_peak_rss_mib']:.0f}",
                f"{st['people_days_per_s']:,.0f}",
                f"{st['captures_per_s']:,.0f}",
                verdict,
            )
        )
    print(
        f"bench_city: radial capital ({SCENARIO.name}), {report['repeats']} repeats, "
        f"nproc={report['machine']['nproc']}, {report['date']}"
    )
    text_table(header, rows)
    print(
        f"targets for {fmt_size(target)}: wall <= {TARGET_WALL_S:g} s, "
        f"peak RSS <= {TARGET_PEAK_MIB:.0f} MiB (1 GiB), median of runs"
    )
    sc = report.get("scaling")
    if sc:
        caps = sc["captures_ratio"]
        print(
            f"scaling {sc['people_ratio']:g}x people: wall x{sc['wall_ratio']:.2f}, "
            f"peak RSS x{sc['peak_rss_ratio']:.2f}, "
            f"captures x{'-' if caps is None else format(caps, '.2f')} "
            f"(linear would be x{sc['people_ratio']:g})"
        )
    t = target.stats()
    print(
        f"{fmt_size(target)}: {t['trips']:,} trips, {t['captures']:,} captures, "
        f"{t['alerts']:,} alerts per run; imports (not timed) {t['median_import_s']:.2f} s"
    )
    print(f"cache: {CACHE_NOTE[report['route_cache']]}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--people",
        type=int,
        default=DEFAULT_PEOPLE,
        help=f"people in the city (default {DEFAULT_PEOPLE:,})",
    )
    p.add_argument(
        "--cameras",
        type=int,
        default=DEFAULT_CAMERAS,
        help=f"cameras of the city network (default {DEFAULT_CAMERAS})",
    )
    p.add_argument(
        "--hours",
        type=float,
        default=DEFAULT_HOURS,
        help=f"simulated hours (default {DEFAULT_HOURS:g})",
    )
    p.add_argument("--repeats", type=int, default=5, help="measured runs per size (default 5)")
    p.add_argument(
        "--baseline-people",
        type=int,
        default=BASELINE_PEOPLE,
        help=f"people of the baseline size (default {BASELINE_PEOPLE:,}; 0: none)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable results")
    p.add_argument(
        "--cold-cache",
        action="store_true",
        help="no on-disk cache: every run computes its routing trees (default: a "
        "private cache folder, filled by the warm-up run)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 if the median misses {TARGET_WALL_S:g} s or 1 GiB",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.people <= 0 or args.cameras < 0 or args.hours <= 0 or args.repeats < 1:
        p.error("--people, --hours and --repeats must be positive, --cameras non-negative")
    if args.baseline_people < 0:
        p.error("--baseline-people must be non-negative")
    if args.child and args.out is None:
        p.error("--child needs --out")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.people, args.cameras, args.hours, args.out)))
        return 0

    target = Size("target", args.people, args.cameras, args.hours)
    baseline = (
        Size("baseline", args.baseline_people, args.cameras, args.hours)
        if args.baseline_people
        else None
    )
    sizes = [s for s in (baseline, target) if s is not None]
    # One unmeasured warm-up (bytecode, page cache, the run cache) at the smallest size.
    log = sys.stderr
    with route_cache(args.cold_cache) as cache_mode:
        print("bench_city: warm-up run ...", file=log, flush=True)
        measure(min(sizes, key=lambda s: s.people))
        for i in range(args.repeats):
            for s in sizes:  # interleaved: drift hits baseline and target alike
                r = measure(s)
                s.runs.append(r)
                print(
                    f"bench_city: [{i + 1}/{args.repeats}] {fmt_size(s)}: "
                    f"{r['wall_s']:.2f} s, {r['peak_rss_mib']:.0f} MiB",
                    file=log,
                    flush=True,
                )

    for s in sizes:
        if not s.stats()["identical_runs"]:
            print(
                f"bench_city: warning: the {fmt_size(s)} runs differ in their events "
                "(was the code edited during the benchmark?)",
                file=log,
            )
    t = target.stats()
    meets = t["median_wall_s"] <= TARGET_WALL_S and t["median_peak_rss_mib"] <= TARGET_PEAK_MIB
    report: dict[str, Any] = {
        "benchmark": "bench_city",
        "scenario": SCENARIO.name,
        "date": dt.date.today().isoformat(),
        "machine": {
            "nproc": cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor(),
        },
        "git": git_state(),
        "repeats": args.repeats,
        "route_cache": cache_mode,
        "targets": {"wall_s": TARGET_WALL_S, "peak_rss_mib": TARGET_PEAK_MIB},
        "sizes": {
            s.label: {
                **{k: v for k, v in asdict(s).items() if k != "runs"},
                **s.stats(),
                "runs": s.runs,
            }
            for s in sizes
        },
        "meets_targets": meets,
    }
    if baseline is not None:
        b = baseline.stats()
        report["scaling"] = {
            "people_ratio": target.people / baseline.people,
            "wall_ratio": t["median_wall_s"] / b["median_wall_s"],
            "peak_rss_ratio": t["median_peak_rss_mib"] / b["median_peak_rss_mib"],
            "captures_ratio": t["captures"] / b["captures"] if b["captures"] else None,
        }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(target, baseline, report)
    return 1 if args.check and not meets else 0


if __name__ == "__main__":
    sys.exit(main())
