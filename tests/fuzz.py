"""A fuzzer of everything a user can hand survsim: scenario files, ``--set``, ``--grid`` and
``--scheduler`` values, file names.

Each case is generated from a seeded generator (the same ``--seed`` and case number give the
same input on every machine) by mutating the shipped scenarios: a value replaced by a hostile
one (wrong types, 5,000-digit integers, 1e300, NaN, a megabyte string, control and non-BMP
characters, nesting 600 deep), a key removed or invented, a table where a value goes, the file
cut short or replaced by bytes, a symlink loop, a chain of 500 ``extends``. The oracle is the
contract: the command ends with exit code 0 or 2 (130 never happens here), never a traceback,
every message is at most a few thousand characters, and a scenario that validates writes a
``scenario.resolved.toml`` that loads back to the same scenario.

``tests/test_fuzz.py`` runs a sample of the cases in the default suite; the whole campaign is

    python -m tests.fuzz --cases 10000              # validate (and sweep) every case
    python -m tests.fuzz --cases 10000 --run 200    # ... and run 200 of the valid ones

Cases run in this process (``sim.edge.cli.main`` with the arguments), so 10,000 take minutes; runs
go to a child process with a memory cap, so one that would exhaust memory is seen as such.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
MAX_MESSAGE = 4000  # characters of stderr per problem line the contract allows

# Small enough to validate fast, but every shipped structure is here.
BASES = sorted(p for p in [*SCENARIOS.glob("*.toml"), *SCENARIOS.glob("validation/*.toml")])

_RAW = "__raw__"  # a string value replaced by raw TOML text after writing


def _raw(text: str) -> str:
    return f"{_RAW}{text}{_RAW}"


HOSTILE_VALUES: list[Any] = [
    0,
    -1,
    1,
    2,
    7,
    10**6,
    10**18,
    2**63,
    2**64,
    -(2**63),
    10**30,
    _raw("9" * 5000),
    _raw("-" + "1" * 4400),
    0.0,
    -0.0,
    1e-9,
    5e-324,
    0.5,
    1.5,
    1e300,
    -1e300,
    _raw("nan"),
    _raw("inf"),
    _raw("-inf"),
    True,
    False,
    "",
    " ",
    "x" * 1_000_000,
    "\x00",
    "a\x7fb",
    "tab\there",
    "\U0001f600",
    "line\nbreak",
    "../../etc/passwd",
    "$HOME/x",
    "${SURVSIM_NO_SUCH_VARIABLE}/m.osm",
    "Central Plaza",
    "plaza",
    "grid",
    "osm",
    "footfall",
    "North-East",
    "white_male",
    [],
    [1, "a"],
    [[]],
    {},
    {"x": 1},
    {"": 0},
    {"\U0001f600": 1.0},
    _raw("[" * 600 + "]" * 600),
    _raw("1979-05-27T07:32:00Z"),
    _raw("07:32:00"),
    _raw("{ a = { b = { c = 1 } } }"),
]
SET_TEXTS = [
    "",
    "=",
    "1",
    "-1",
    "0",
    "1e999",
    "nan",
    "inf",
    "1_000",
    "0x10",
    "grid",
    "true",
    "yes",
    '"unterminated',
    "{a=1",
    "[1,2",
    "[" * 600 + "]" * 600,
    "9" * 5000,
    "x" * 100_000,
    "\x00",
    '"\\u0000"',
    '"\U0001f600"',
    "1979-05-27",
    "{}",
    "[]",
    "[[1]]",
    '"a","b"',
    "0.62",
    "3",
    "100000000",
    "1e300",
    "-1e300",
    "5e-324",
]
SCHEDULERS = [
    "foo",
    "tcp://",
    "http://example",
    "tcp://127.0.0.1:1",
    "tcp://:",
    "tcp://[::1",
    "inproc://",
    "",
    " ",
    "tcp://256.256.256.256:99999",
    "\x00",
    "ucx://a:b",
    "tcp://127.0.0.1:-5",
    "tls://127.0.0.1:1",
    "x" * 5000,
]


@dataclass
class Case:
    """One input: the command's arguments, and the files it needs (written to a folder)."""

    number: int
    kind: str
    argv: list[str]
    files: dict[str, bytes | str] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    base: str = ""


# ---------------------------------------------------------------- generating cases
def _leaf_paths(d: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            out.append((*prefix, k))
            out.extend(_leaf_paths(v, (*prefix, k)))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.append((*prefix, i))
            out.extend(_leaf_paths(v, (*prefix, i)))
    return out


def _set_at(d: Any, path: tuple[Any, ...], value: Any) -> None:
    node = d
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _delete_at(d: Any, path: tuple[Any, ...]) -> None:
    node = d
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]


def _dumps(data: dict[str, Any]) -> str:
    """TOML text of ``data``, with raw placeholders replaced by their raw text."""
    text = tomli_w.dumps(data)
    while _RAW in text:
        start = text.index('"' + _RAW)
        end = text.index(_RAW + '"', start + 1) + len(_RAW) + 1
        text = text[:start] + text[start + 1 + len(_RAW) : end - 1 - len(_RAW)] + text[end:]
    return text


def _resolved(path: Path) -> dict[str, Any]:
    from sim.scenario import load_scenario

    return load_scenario(path).to_dict()


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_clean(x) for x in v if x is not None]
    return v


_RESOLVED: dict[Path, dict[str, Any]] = {}


def base_dict(path: Path) -> dict[str, Any]:
    """A shipped scenario with every key filled in (a map path kept relative to the copy)."""
    if path not in _RESOLVED:
        d = _clean(_resolved(path))
        d["population"]["people"] = min(d["population"]["people"], 2000)
        if d["city"]["kind"] == "osm":
            d["city"]["path"] = "maps/aguascalientes.osm.bz2"
        _RESOLVED[path] = d
    return json.loads(json.dumps(_RESOLVED[path]))


def _map_files() -> dict[str, bytes]:
    return {
        "maps/aguascalientes.osm.bz2": (SCENARIOS / "maps" / "aguascalientes.osm.bz2").read_bytes()
    }


def generate(number: int, seed: int = 0) -> Case:
    """Case ``number`` of the campaign of ``seed`` (the same on every machine)."""
    rng = random.Random(f"{seed}:{number}")
    kinds: list[tuple[str, Callable[[random.Random, int], Case], float]] = [
        ("value", _case_value, 40),
        ("structure", _case_structure, 12),
        ("set", _case_set, 18),
        ("grid", _case_grid, 8),
        ("bytes", _case_bytes, 6),
        ("paths", _case_paths, 8),
        ("scheduler", _case_scheduler, 2),
        ("extends", _case_extends, 6),
    ]
    kind = rng.choices([k for k, _, _ in kinds], weights=[w for _, _, w in kinds])[0]
    make = dict((k, f) for k, f, _ in kinds)[kind]
    case = make(rng, number)
    case.kind = kind
    return case


def _pick_base(rng: random.Random) -> Path:
    return rng.choice(BASES)


def _scenario_case(
    rng: random.Random,
    number: int,
    data: dict[str, Any],
    base: Path,
    extra: list[str] | None = None,
) -> Case:
    files: dict[str, bytes | str] = {"s.toml": _dumps(data)}
    city = data.get("city")
    if isinstance(city, dict) and city.get("kind") == "osm":
        files.update(_map_files())
    return Case(number, "", ["validate", "s.toml", *(extra or [])], files, base=base.name)


def _case_value(rng: random.Random, number: int) -> Case:
    base = _pick_base(rng)
    data = base_dict(base)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        paths = _leaf_paths(data)
        path = rng.choice(paths)
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _set_at(data, path, rng.choice(HOSTILE_VALUES))
    return _scenario_case(rng, number, data, base)


def _case_structure(rng: random.Random, number: int) -> Case:
    base = _pick_base(rng)
    data = base_dict(base)
    paths = _leaf_paths(data)
    path = rng.choice(paths)
    op = rng.choice(["delete", "unknown", "table", "array", "deep", "empty"])
    with contextlib.suppress(KeyError, IndexError, TypeError):
        if op == "delete":
            _delete_at(data, path)
        elif op == "unknown":
            node = data
            for p in path[:-1]:
                node = node[p]
            if isinstance(node, dict):
                node[rng.choice(["ringz", "x" * 300, "\U0001f600", "kind", "seed2"])] = 1
        elif op == "table":
            _set_at(data, path, {"value": 1})
        elif op == "array":
            _set_at(data, path, [{"kind": "cctv"}] * rng.choice([1, 3]))
        elif op == "deep":
            depth = rng.choice([50, 300, 600])
            _set_at(data, path, _raw("{ a = " * depth + "1" + " }" * depth))
        else:
            _set_at(data, path, {})
    return _scenario_case(rng, number, data, base)


def _set_key(rng: random.Random, data: dict[str, Any]) -> str:
    if rng.random() < 0.8:
        path = rng.choice(_leaf_paths(data))
        return ".".join(str(p) for p in path)
    return rng.choice(
        [
            "a..b",
            "x" * 1000,
            "deployment.99.count",
            "population.people.x",
            "city.kind.x",
            ".",
            "city",
            "deployment.-1.count",
            "seed.0",
            "\U0001f600",
            "population.groups.0.name",
            "engine.batch_s",
            "city.path",
        ]
    )


def _case_set(rng: random.Random, number: int) -> Case:
    base = _pick_base(rng)
    data = base_dict(base)
    sets = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        sets += ["--set", f"{_set_key(rng, data)}={rng.choice(SET_TEXTS)}"]
    case = _scenario_case(rng, number, data, base, sets)
    return case


def _case_grid(rng: random.Random, number: int) -> Case:
    base = SCENARIOS / "classroom_small.toml"
    data = base_dict(base)
    grid = []
    for _ in range(rng.choice([1, 2, 2, 3])):
        key = (
            _set_key(rng, data)
            if rng.random() < 0.7
            else rng.choice(["facematch.threshold", "facematch.threshold"])
        )  # a key given twice
        values = ",".join(rng.choice(SET_TEXTS) for _ in range(rng.choice([1, 2, 3])))
        grid += ["--grid", f"{key}={values}"]
    case = _scenario_case(rng, number, data, base)
    case.argv = [
        "sweep",
        "s.toml",
        *grid,
        "--replications",
        "1",
        "--out",
        "sweep",
        "--workers",
        "1",
        "-q",
        "--dry-run",
    ]
    return case


def _case_bytes(rng: random.Random, number: int) -> Case:
    base = _pick_base(rng)
    text = _dumps(base_dict(base)).encode()
    op = rng.choice(["truncate", "garbage", "bom", "latin1", "huge", "nul", "dotted"])
    if op == "truncate":
        data = text[: rng.randrange(len(text))]
    elif op == "garbage":
        data = bytes(rng.randrange(256) for _ in range(rng.choice([10, 200, 2000])))
    elif op == "bom":
        data = b"\xef\xbb\xbf" + text
    elif op == "latin1":
        data = text.replace(b"people", "p\xe9ople".encode("latin-1"))
    elif op == "huge":
        data = text + b"\n# " + b"x" * 11_000_000
    elif op == "dotted":  # keys nested hundreds deep
        data = text + ("\nz" + ".z" * rng.choice([20, 500, 5000]) + " = 1\n").encode()
    else:
        i = rng.randrange(len(text))
        data = text[:i] + b"\x00" + text[i:]
    files: dict[str, bytes | str] = {"s.toml": data, **_map_files()}
    return Case(number, "", ["validate", "s.toml"], files, base=base.name)


def _case_paths(rng: random.Random, number: int) -> Case:
    base = SCENARIOS / "real_city_example.toml"
    data = base_dict(base)
    op = rng.choice(
        [
            "loop_scenario",
            "loop_map",
            "dir_map",
            "nul_map",
            "missing_map",
            "garbage_map",
            "truncated_map",
            "empty_map",
            "long_name",
            "var_map",
        ]
    )
    files: dict[str, bytes | str] = {}
    links: dict[str, str] = {}
    target = "s.toml"
    if op == "loop_scenario":
        links["loop.toml"] = "loop.toml"
        target = "loop.toml"
    elif op == "loop_map":
        links["maps/loop.osm"] = "loop.osm"
        data["city"]["path"] = "maps/loop.osm"
    elif op == "dir_map":
        files["maps/adir/x"] = "x"
        data["city"]["path"] = "maps/adir"
    elif op == "nul_map":
        data["city"]["path"] = "maps/a\x00b.osm"
    elif op == "missing_map":
        data["city"]["path"] = "maps/nowhere.osm.bz2"
    elif op == "garbage_map":
        files["maps/g.osm"] = bytes(rng.randrange(256) for _ in range(500))
        data["city"]["path"] = "maps/g.osm"
    elif op == "truncated_map":
        whole = (SCENARIOS / "maps" / "aguascalientes.osm.bz2").read_bytes()
        files["maps/t.osm.bz2"] = whole[: rng.randrange(100, len(whole) // 2)]
        data["city"]["path"] = "maps/t.osm.bz2"
    elif op == "empty_map":
        files["maps/e.osm"] = b""
        data["city"]["path"] = "maps/e.osm"
    elif op == "long_name":
        data["city"]["path"] = "maps/" + "n" * 5000 + ".osm"
    else:
        data["city"]["path"] = "$SURVSIM_NO_SUCH_VARIABLE/m.osm"
    files["s.toml"] = _dumps(data)
    return Case(number, "", ["validate", target], files, links, base=base.name)


def _case_extends(rng: random.Random, number: int) -> Case:
    base = SCENARIOS / "classroom_small.toml"
    text = _dumps(base_dict(base))
    files: dict[str, bytes | str] = {"base.toml": text}
    links: dict[str, str] = {}
    op = rng.choice(["chain", "self", "dir", "nul", "loop_link", "kind_change", "missing"])
    if op == "chain":
        n = rng.choice([30, 33, 500])
        for i in range(n):
            files[f"e{i}.toml"] = (
                f'extends = "e{i + 1}.toml"\n' if i + 1 < n else 'extends = "base.toml"\n'
            )
        files["s.toml"] = 'extends = "e0.toml"\n'
    elif op == "self":
        files["s.toml"] = 'extends = "s.toml"\n'
    elif op == "dir":
        files["d/x"] = "x"
        files["s.toml"] = 'extends = "d"\n'
    elif op == "nul":
        files["s.toml"] = 'extends = "a\\u0000b.toml"\n'
    elif op == "loop_link":
        links["l.toml"] = "l.toml"
        files["s.toml"] = 'extends = "l.toml"\n'
    elif op == "kind_change":
        kind = rng.choice(["grid", "osm", "radial"])
        extra = '\npath = "maps/aguascalientes.osm.bz2"' if kind == "osm" else ""
        files["s.toml"] = f'extends = "base.toml"\n[city]\nkind = "{kind}"{extra}\n'
        files.update(_map_files())
    else:
        files["s.toml"] = 'extends = "nowhere/else.toml"\n'
    return Case(number, "", ["validate", "s.toml"], files, links, base=base.name)


def _case_scheduler(rng: random.Random, number: int) -> Case:
    base = SCENARIOS / "classroom_small.toml"
    data = base_dict(base)
    case = _scenario_case(rng, number, data, base)
    case.argv = [
        "sweep",
        "s.toml",
        "--grid",
        "facematch.threshold=0.6",
        "--replications",
        "1",
        "--out",
        "sweep",
        "-q",
        "--scheduler",
        rng.choice(SCHEDULERS),
    ]
    return case


# ---------------------------------------------------------------- running cases
@dataclass
class Outcome:
    code: int
    stderr: str
    traceback: str | None
    seconds: float


def materialise(case: Case, folder: Path) -> None:
    for name, content in case.files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            p.write_text(content, encoding="utf-8")
        else:
            p.write_bytes(content)
    for name, target in case.symlinks.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)


def run_in_process(argv: list[str], cwd: Path) -> Outcome:
    """``survsim ARGV`` through ``sim.edge.cli.main`` in this process."""
    from sim.edge import cli

    err, out = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code: int = 0
    tb = None
    here = os.getcwd()
    os.chdir(cwd)
    saved_argv = sys.argv
    sys.argv = ["survsim", *argv]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            cli.err_console.file = err
            cli.out_console.file = out
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                tb = traceback.format_exc()
                code = 1
    finally:
        cli.err_console.file = sys.stderr
        cli.out_console.file = sys.stdout
        sys.argv = saved_argv
        os.chdir(here)
    return Outcome(code, err.getvalue(), tb, time.perf_counter() - started)


def failures_of(case: Case, outcome: Outcome, folder: Path) -> list[str]:
    """What in the outcome breaks the contract (empty: it kept it)."""
    bad = []
    if outcome.traceback:
        lines = outcome.traceback.strip().splitlines()
        ours = [
            ln.strip()
            for ln in lines
            if ln.strip().startswith("File") and ("/sim/" in ln or "/analysis/" in ln)
        ]
        where = (
            ours[-1].replace('File "', "").replace('", line ', ":").split(",")[0] if ours else "?"
        )
        kind = lines[-1].split(":")[0]
        bad.append(f"traceback: {kind} at {where.split(str(ROOT) + '/')[-1]}")
    elif outcome.code not in (0, 2):
        bad.append(f"exit code {outcome.code}")
    if "Traceback (most recent call last)" in outcome.stderr:
        bad.append("a traceback on stderr")
    long = [line for line in outcome.stderr.splitlines() if len(line) > MAX_MESSAGE]
    if long:
        bad.append(f"a message of {len(long[0]):,} characters")
    if outcome.code == 2 and not outcome.stderr.strip():
        bad.append("exit 2 without a message")
    if outcome.code == 0 and case.argv[0] == "validate":
        bad.extend(_round_trip(folder / case.argv[1]))
    return bad


def _round_trip(path: Path) -> list[str]:
    """A valid scenario's resolved TOML loads back to the same scenario."""
    from sim.scenario import load_scenario

    try:
        sc = load_scenario(path)
        with tempfile.TemporaryDirectory() as tmp:
            resolved = Path(tmp) / "scenario.resolved.toml"
            resolved.write_text(sc.to_toml(), encoding="utf-8")
            again = load_scenario(resolved)
    except Exception as exc:
        return [f"resolved TOML does not load back: {type(exc).__name__}: {str(exc)[:200]}"]
    if again.to_dict() != sc.to_dict():
        return ["resolved TOML loads back to another scenario"]
    return []


def run_case(case: Case) -> tuple[Outcome, list[str]]:
    with tempfile.TemporaryDirectory(prefix="survsim-fuzz-") as tmp:
        folder = Path(tmp)
        materialise(case, folder)
        outcome = run_in_process(case.argv, folder)
        return outcome, failures_of(case, outcome, folder)


def run_valid(case: Case, memory_gb: float, timeout_s: float) -> list[str]:
    """Run a case that validated, in a child process capped at ``memory_gb``: it must finish
    (exit 0) or be refused (exit 2), never crash or exhaust memory."""
    with tempfile.TemporaryDirectory(prefix="survsim-fuzz-run-") as tmp:
        folder = Path(tmp)
        materialise(case, folder)
        cap = int(memory_gb * 2**30)

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

        env = {**os.environ, "SURVSIM_MAX_MEMORY_GB": f"{memory_gb * 0.5:g}"}
        try:
            p = subprocess.run(
                [sys.executable, "-m", "sim", "run", case.argv[1], "--out", "run", "-q"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                preexec_fn=limit,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return [f"run took more than {timeout_s:g} s"]
        if "Traceback" in p.stderr or p.returncode not in (0, 2):
            tail = p.stderr.strip().splitlines()[-1:] or [""]
            return [f"run exit {p.returncode}: {tail[0][:300]}"]
        return []


def campaign(
    cases: int,
    seed: int = 0,
    start: int = 0,
    runs: int = 0,
    memory_gb: float = 6,
    timeout_s: float = 300,
    show: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``cases`` cases; returns counts and every failure with the case that made it."""
    counts: Counter[str] = Counter()
    exits: Counter[int] = Counter()
    failures: list[dict[str, Any]] = []
    valid: list[Case] = []
    started = time.perf_counter()
    for n in range(start, start + cases):
        case = generate(n, seed)
        outcome, bad = run_case(case)
        counts[case.kind] += 1
        exits[outcome.code] += 1
        if outcome.code == 0 and case.argv[0] == "validate":
            valid.append(case)
        if bad:
            failures.append(
                {
                    "case": n,
                    "kind": case.kind,
                    "base": case.base,
                    "argv": [a[:200] for a in case.argv],
                    "problems": bad,
                    "detail": (outcome.traceback or outcome.stderr)[-2000:],
                }
            )
            show(f"case {n} ({case.kind}, {case.base}): {'; '.join(bad)}")
        if (n - start + 1) % 500 == 0:
            show(
                f"{n - start + 1:,} cases, {len(failures)} failures, "
                f"{time.perf_counter() - started:.0f} s"
            )
    ran = 0
    for case in random.Random(seed).sample(valid, min(runs, len(valid))):
        bad = run_valid(case, memory_gb, timeout_s)
        ran += 1
        if bad:
            failures.append(
                {
                    "case": case.number,
                    "kind": case.kind + "+run",
                    "base": case.base,
                    "argv": case.argv,
                    "problems": bad,
                }
            )
            show(f"case {case.number} run: {'; '.join(bad)}")
    return {
        "cases": cases,
        "seed": seed,
        "by_kind": dict(counts),
        "exit_codes": {str(k): v for k, v in sorted(exits.items())},
        "valid": len(valid),
        "runs": ran,
        "failures": failures,
        "seconds": round(time.perf_counter() - started),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first case number")
    ap.add_argument("--run", type=int, default=0, help="also run this many valid cases")
    ap.add_argument("--memory-gb", type=float, default=6.0, help="memory cap of a run")
    ap.add_argument("--json", type=Path, help="write the result here")
    args = ap.parse_args(argv)
    result = campaign(args.cases, args.seed, args.start, args.run, args.memory_gb)
    sigs = Counter(p for f in result["failures"] for p in f["problems"])
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=2))
    print(f"{len(result['failures'])} failing cases, {len(sigs)} distinct problems")
    for sig, n in sigs.most_common(30):
        print(f"  {n:5d}  {sig}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
