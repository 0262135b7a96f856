"""Is the model output unchanged? Every scenario of scenarios/ run by this checkout and by
another commit (a temporary git worktree), every event table and the summary compared.

For refactors that must not change what survsim produces (issue "The engine the design
describes": every table of the policy scenarios identical before and after):

    python benchmarks/same_output.py --against HEAD [--people 6000] [--hours 24] [--reports]
        [--ignore scenario_hash]

Each scenario runs shrunk (``population.people`` and ``duration_h`` set, as the tests do; a
real-map scenario needs ``SURVSIM_DATA``) with its own seed, in a fresh process per tree. Tables
are compared by content (Arrow ``Table.equals``); the
summary without its wall time and versions. Prints one line per scenario and exits 1 on any
difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_city import checkout  # noqa: E402

_VOLATILE = ("wall_s", "survsim_version", "library_versions")


def run_all(
    tree: Path, out: Path, scenarios: list[Path], sets: list[str], reports: bool = False
) -> None:
    """Run every scenario with the code of ``tree`` (one fresh process), into ``out``; with
    ``reports``, build each run's report too."""
    code = (
        "import sys\n"
        "from sim.edge.api import run\n"
        "from sim.scenario import load_scenario\n"
        "sets = sys.argv[2].split('\\x1f') if sys.argv[2] else []\n"
        "for p in sys.argv[3:]:\n"
        "    name = p.rsplit('/', 1)[1][:-5]\n"
        "    run(load_scenario(p, sets), out=sys.argv[1] + '/' + name, overwrite=True)\n"
        "    if REPORTS:\n"
        "        from analysis.report import build_run_report\n"
        "        build_run_report(__import__('pathlib').Path(sys.argv[1]) / name)\n"
    )
    code = f"REPORTS = {reports}\n" + code
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, "-c", code, str(out), "\x1f".join(sets), *map(str, scenarios)],
        cwd=tree,
        env=env,
        check=True,
    )


def compare(a: Path, b: Path, ignore: tuple[str, ...] = ()) -> list[str]:
    """What differs between two run directories (``ignore``: summary keys left out)."""
    import pyarrow as pa

    diffs = []
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    for k in (*_VOLATILE, *ignore):
        sa.pop(k, None)
        sb.pop(k, None)
    if json.dumps(sa, sort_keys=True) != json.dumps(sb, sort_keys=True):
        keys = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
        diffs.append(f"summary: {', '.join(keys[:8])}")
    names = sorted(
        {p.name for p in (a / "events").glob("*.arrow")}
        | {p.name for p in (b / "events").glob("*.arrow")}
    )
    for n in names:
        pa_, pb_ = a / "events" / n, b / "events" / n
        if not (pa_.exists() and pb_.exists()):
            diffs.append(f"{n}: only in one")
            continue
        ta = pa.ipc.open_stream(pa_).read_all()
        tb = pa.ipc.open_stream(pb_).read_all()
        if not ta.equals(tb):
            diffs.append(f"{n}: {ta.num_rows} vs {tb.num_rows} rows, contents differ")
    if (a / "report.html").exists() or (b / "report.html").exists():
        ra, rb = (_report_text(d) for d in (a, b))
        if ra != rb:
            diffs.append("report.html differs")
    return diffs


def _report_text(run_dir: Path) -> str:
    """The report without what differs from one run to the next of the same code (the wall
    time in the settings' provenance, the library versions)."""
    import re

    text = (
        (run_dir / "report.html").read_text("utf-8") if (run_dir / "report.html").exists() else ""
    )
    return re.sub(r"wall_s[^<,]*", "", text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--against", required=True, metavar="COMMIT")
    ap.add_argument("--people", type=int, default=6000)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="KEY",
        help="A summary key to leave out (scenario_hash, when the scenario format "
        "gained keys since COMMIT).",
    )
    ap.add_argument(
        "--reports",
        action="store_true",
        help="Also build every run's report.html and compare them.",
    )
    args = ap.parse_args(argv)
    # The metropolis is left out: its trees take minutes to compute (bench_metro.py runs it).
    scenarios = sorted(p for p in (ROOT / "scenarios").glob("*.toml") if p.stem != "metropolis")
    if not os.environ.get("SURVSIM_DATA"):
        scenarios = [p for p in scenarios if "osm" not in p.read_text()]
    sets = [f"population.people={args.people}", f"duration_h={args.hours:g}"]
    bad = 0
    with tempfile.TemporaryDirectory(prefix="survsim-same-") as tmp, checkout(args.against) as tree:
        here, there = Path(tmp) / "here", Path(tmp) / "there"
        run_all(ROOT, here, scenarios, sets, args.reports)
        run_all(tree, there, scenarios, sets, args.reports)
        for p in scenarios:
            diffs = compare(here / p.stem, there / p.stem, tuple(args.ignore))
            bad += bool(diffs)
            print(f"{p.stem:32s} {'identical' if not diffs else '; '.join(diffs)}")
    print(f"{len(scenarios) - bad} of {len(scenarios)} scenarios identical to {args.against}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
