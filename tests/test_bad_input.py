"""Bad input: every mistake a user can make ends as readable lines on stderr and exit code 2.

The corpus in ``tests/bad_scenarios/*.toml`` holds one malformed scenario per file. Each file
starts with a comment saying what is wrong, then ``# expect: <substring>`` (a substring the error
message must contain) and, for problems that can only be found when the world is built,
``# mode: run``. Helper files (the other half of an ``extends`` cycle...) live in
``tests/bad_scenarios/support/`` so the glob below does not pick them up.

Most checks go through the command line as a subprocess (``python -m sim``), because the contract
is about what the user sees: exit code 2, no traceback, the file name and the key path. A few
message checks and the property-based tests run in-process.
"""

from __future__ import annotations

import math
import os
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import tomlio
from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
BAD = Path(__file__).resolve().parent / "bad_scenarios"
CLASSROOM = ROOT / "scenarios" / "classroom_small.toml"
QUICK = ["--set", "population.people=300", "--set", "duration_h=2"]


# ---------------------------------------------------------------- helpers
@dataclass(frozen=True)
class Case:
    path: Path
    expect: str
    mode: str  # "validate" or "run"
    problems: int | None


def _header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines of a corpus file's leading comment block."""
    out: dict[str, str] = {}
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(":")
        if sep and key in ("expect", "mode", "problems"):
            out[key] = value.strip()
    return out


def _corpus() -> list[Case]:
    cases = []
    for path in sorted(BAD.glob("*.toml")):
        h = _header(path)
        cases.append(
            Case(
                path,
                h.get("expect", ""),
                h.get("mode", "validate"),
                int(h["problems"]) if "problems" in h else None,
            )
        )
    return cases


CORPUS = _corpus()


def survsim(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sim ARGS`` and capture its output (never raises on a non-zero exit)."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        cwd=cwd or ROOT,
        env=env,
    )


def assert_user_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit code 2, no traceback, and every needle in stderr."""
    shown = f"exit code {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert "Traceback" not in proc.stderr + proc.stdout, f"a traceback reached the user\n{shown}"
    assert proc.returncode == 2, f"expected exit code 2\n{shown}"
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in stderr\n{shown}"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- the corpus itself
def test_corpus_is_complete() -> None:
    assert len(CORPUS) >= 24
    for case in CORPUS:
        first = case.path.read_bytes().splitlines()[0]
        assert first.startswith(b"# ") and b"expect:" not in first, (
            f"{case.path.name}: the first line says what is wrong"
        )
        assert case.expect, f"{case.path.name}: has an '# expect: <substring>' line"
        assert case.mode in ("validate", "run"), f"{case.path.name}: mode {case.mode!r}"
    assert sum(c.mode == "run" for c in CORPUS) >= 3


# ---------------------------------------------------------------- one subprocess per file
@pytest.mark.parametrize(
    "case", [c for c in CORPUS if c.mode == "validate"], ids=lambda c: c.path.stem
)
def test_validate_rejects(case: Case) -> None:
    proc = survsim("validate", case.path)
    assert_user_error(proc, case.expect, case.path.name)


@pytest.mark.parametrize("case", [c for c in CORPUS if c.mode == "run"], ids=lambda c: c.path.stem)
def test_run_rejects_and_writes_nothing(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = survsim("run", case.path, "--out", out)
    assert_user_error(proc, case.expect)
    assert not out.exists(), f"a failed run wrote {sorted(os.listdir(out))}"
    assert list(tmp_path.iterdir()) == [], "nothing at all was written beside --out"
    # House rule (sim/errors.py): messages name the file. Checked last so that the assertions
    # above still say whether the problem itself was caught.
    assert_user_error(proc, case.path.name)


def test_several_problems_are_reported_at_once() -> None:
    case = next(c for c in CORPUS if c.problems is not None)
    proc = survsim("validate", case.path)
    assert_user_error(
        proc,
        "duration_h",
        "city.ringz",
        "population.people",
        "facematch.threshold",
        "deployment.0.fov_deg",
    )
    lines = error_lines(proc.stderr)
    assert len(lines) == case.problems, proc.stderr
    assert all(case.path.name in line for line in lines), proc.stderr


# ---------------------------------------------------------------- --set
def test_set_bad_value() -> None:
    proc = survsim("validate", CLASSROOM, "--set", "population.people=-3")
    assert_user_error(proc, "population.people", "--set", CLASSROOM.name)


def test_set_bad_value_in_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = survsim("run", CLASSROOM, "--set", "facematch.threshold=7", "--out", out)
    assert_user_error(proc, "facematch.threshold")
    assert not out.exists()


@pytest.mark.parametrize(
    "raw", ["population.people", "=5", "population people=5", "population..people=5"]
)
def test_set_malformed(raw: str) -> None:
    proc = survsim("validate", CLASSROOM, "--set", raw)
    assert_user_error(proc, "expected key.path=value")


def test_set_index_out_of_range() -> None:
    proc = survsim("validate", CLASSROOM, "--set", "deployment.5.count=3")
    assert_user_error(proc, "deployment.5.count", "out of range")


def test_set_non_index_into_array() -> None:
    proc = survsim("validate", CLASSROOM, "--set", "deployment.first.count=3")
    assert_user_error(proc, "deployment.first.count", "expected an index")


def test_set_into_a_scalar_array_item() -> None:
    # deployment = [5]; --set deployment.0.count=3 walks into the number 5 and assigns an item:
    # _apply_override raises TypeError ("'int' object does not support item assignment").
    path = BAD / "support" / "deployment_scalar.toml"
    proc = survsim("validate", path, "--set", "deployment.0.count=3")
    assert_user_error(proc, "deployment.0", path.name)


# ---------------------------------------------------------------- paths and output directories
@pytest.mark.parametrize("command", ["validate", "run"])
def test_nonexistent_scenario(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_scenario.toml"
    proc = survsim(command, missing)
    assert_user_error(proc, "no_such_scenario.toml", "no such scenario file")
    assert list(tmp_path.iterdir()) == []


def test_scenario_is_a_directory(tmp_path: Path) -> None:
    proc = survsim("validate", tmp_path)
    assert_user_error(proc, str(tmp_path))


def test_out_is_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory\n")
    proc = survsim("run", CLASSROOM, *QUICK, "--out", blocker)
    assert_user_error(proc, "blocker", "--out must be a directory")
    assert blocker.read_text() == "not a directory\n"


def test_out_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory\n")
    proc = survsim("run", CLASSROOM, *QUICK, "--out", blocker / "run")
    assert_user_error(proc, str(blocker / "run"), "cannot write the run directory")
    assert blocker.read_text() == "not a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_existing_run_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = survsim("run", CLASSROOM, *QUICK, "--out", out, "--quiet")
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    assert "summary.json" in before and "scenario.resolved.toml" in before
    # A different scenario value, so an accidental overwrite would change the bytes.
    proc = survsim("run", CLASSROOM, *QUICK, "--set", "seed=99", "--out", out)
    assert_user_error(proc, str(out), "already holds a run", "--overwrite")
    assert snapshot(out) == before, "the earlier run was left byte for byte as it was"


@pytest.mark.parametrize("where", ["scenario", "extends", "out"])
def test_overlong_file_names(where: str, tmp_path: Path) -> None:
    # A name longer than NAME_MAX (255): Path.is_file() / Path.exists() raise OSError
    # ENAMETOOLONG on Python 3.11 (they only swallow ENOENT, ENOTDIR, EBADF, ELOOP), in
    # _Loader.load_file and in recorder.prepare_run_dir, and the CLI shows a traceback.
    long = "n" * 300
    if where == "scenario":
        proc = survsim("validate", tmp_path / f"{long}.toml")
    elif where == "extends":
        path = tmp_path / "long_extends.toml"
        path.write_text(f'# extends a file whose name is too long\nextends = "{long}.toml"\n')
        proc = survsim("validate", path)
        assert_user_error(proc, "long_extends.toml")
    else:
        proc = survsim("run", CLASSROOM, *QUICK, "--out", tmp_path / long)
    assert_user_error(proc, long[:40])
    assert [p.name for p in tmp_path.iterdir()] in ([], ["long_extends.toml"])


def test_nul_in_scenario_name_with_default_out(tmp_path: Path) -> None:
    # Without --out the run directory is runs/<scenario name>; a name holding NUL makes
    # prepare_run_dir's Path.exists() raise ValueError ("embedded null byte"): a traceback.
    path = tmp_path / "nul_name.toml"
    path.write_text(
        '# the scenario name holds a NUL character\nname = "run\\u0000name"\n'
        f'extends = "{CLASSROOM.as_posix()}"\n',
        encoding="utf-8",
    )
    proc = survsim("run", path, *QUICK, cwd=tmp_path)
    assert_user_error(proc, "name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nul_name.toml"]


# ---------------------------------------------------------------- pathological nesting
@pytest.mark.parametrize("kind", ["nested_arrays", "dotted_table"])
def test_deeply_nested_toml(kind: str, tmp_path: Path) -> None:
    # tomllib recurses once per nesting level of arrays / inline tables, and load_scenario walks
    # tables recursively (_leaf_paths, _merge): 1,000 levels raise RecursionError, not a
    # ScenarioError, and the CLI shows a traceback with exit code 1.
    depth = 1000
    text = (
        "x = " + "[" * depth + "]" * depth
        if kind == "nested_arrays"
        else "[" + ".".join(["a"] * depth) + "]\nb = 1"
    )
    path = tmp_path / f"{kind}.toml"
    path.write_text(f"# {depth} levels of nesting\n{text}\n")
    proc = survsim("validate", path)
    assert_user_error(proc, path.name)


# ---------------------------------------------------------------- message content (in-process)
def _problems(text: str) -> list[str]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "scenario.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
    return info.value.problems


def test_unknown_radial_city_key_lists_radial_keys() -> None:
    # _explain calls _model_at(loc) without the city's kind, so the 'allowed here' list of a
    # radial city is the grid city's (columns, rows, districts_x...).
    (problem,) = _problems('[city]\nkind = "radial"\nringz = 6\n')
    assert "city.ringz: unknown key" in problem
    allowed = problem.partition("allowed here:")[2]
    assert "rings" in allowed.split(", ") or "rings)" in allowed, problem
    assert "columns" not in allowed, problem


def test_unknown_grid_city_key_lists_grid_keys() -> None:
    (problem,) = _problems('[city]\nkind = "grid"\ncolumnz = 6\n')
    assert "city.columnz: unknown key" in problem
    assert "columns" in problem.partition("allowed here:")[2], problem


def test_missing_kind_names_the_kinds() -> None:
    # pydantic's union_tag_not_found context has 'discriminator', not 'expected_tags', so the
    # message reads "a 'kind' key is required (one of ?)".
    (problem,) = _problems("[[deployment]]\ncount = 3\n")
    assert "a 'kind' key is required" in problem
    assert "?" not in problem and "cctv" in problem, problem


def test_problems_carry_line_numbers() -> None:
    problems = _problems('name = "x"\n\n[facematch]\nthreshold = 3\n')
    assert any(":4: facematch.threshold" in p for p in problems), problems


# ---------------------------------------------------------------- property-based: garbage in
KNOWN_KEYS = [
    "name",
    "description",
    "seed",
    "duration_h",
    "extends",
    "city",
    "kind",
    "columns",
    "rows",
    "block_m",
    "districts_x",
    "districts_y",
    "places",
    "workplaces",
    "shops",
    "transit_hubs",
    "plazas",
    "places_of_worship",
    "schools",
    "hospitals",
    "rings",
    "ring_spacing_m",
    "spokes",
    "centre_rings",
    "districts",
    "population",
    "people",
    "groups",
    "share",
    "label",
    "model_group",
    "district_shares",
    "age_bands",
    "child",
    "adult",
    "senior",
    "employment_rate",
    "walking_speed_mps",
    "walking_speed_sd_mps",
    "errands_per_day",
    "leisure_per_day",
    "watchlist",
    "size",
    "composition",
    "group_shares",
    "present",
    "facematch",
    "model",
    "threshold",
    "latency_s",
    "deployment",
    "count",
    "placement",
    "range_m",
    "fov_deg",
    "p_capture",
    "governance",
    "ban",
    "engine",
    "batch_s",
]
KNOWN_WORDS = [
    "grid",
    "radial",
    "cctv",
    "bodycam",
    "random",
    "footfall",
    "centre",
    "skewed",
    "proportional",
    "nist_sex_race",
    "nist_frvt2019_median",
    "equal_rates",
    "white_male",
    "black_female",
    "Centre",
    "South-West",
    "",
    "classroom_small.toml",
    "../scenarios",
]
# Text without NUL: a NUL in 'extends' is a known crash with its own test (extends_nul_byte.toml).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), TEXT.filter(bool))
SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, 3, 8, 100, 3000, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, 1.5, -0.5, 1e-7, math.nan]),
    st.booleans(),
    st.sampled_from(KNOWN_WORDS),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)
SCENARIO_DICTS = st.dictionaries(KEYS, VALUES, max_size=8)

TOML_TOKENS = [
    "\n",
    " ",
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    ".",
    '"',
    "'",
    '"""',
    "#",
    "-",
    "+",
    "0",
    "1",
    "3000",
    "0.5",
    "1e3",
    "nan",
    "inf",
    "true",
    "false",
    "1979-05-27",
    "07:32:00",
    "0x1F",
    "\\u0041",
    "\\",
    *KNOWN_KEYS,
    *[f'"{w}"' for w in KNOWN_WORDS],
]
TOMLISH = st.lists(st.sampled_from(TOML_TOKENS), max_size=60).map("".join)
GARBAGE = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _load_text(text: str, directory: Path) -> None:
    path = directory / "garbage.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    _load_path(path)


def _load_path(path: Path, overrides: list[str] | None = None) -> None:
    try:
        result = load_scenario(path, overrides or [])
    except ScenarioError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    assert isinstance(result, Scenario)


@pytest.fixture(scope="module")
def garbage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("garbage")
    # Something for a random 'extends' to find.
    (d / "classroom_small.toml").write_bytes(CLASSROOM.read_bytes())
    return d


@GARBAGE
@given(data=st.binary(max_size=300), encoding=st.sampled_from(["utf-8", "latin-1"]))
def test_random_bytes(garbage_dir: Path, data: bytes, encoding: str) -> None:
    text = data.decode(encoding, errors="replace")
    _load_text(text, garbage_dir)


@GARBAGE
@given(text=TOMLISH)
def test_random_tomlish_text(garbage_dir: Path, text: str) -> None:
    _load_text(text, garbage_dir)


@GARBAGE
@given(data=SCENARIO_DICTS)
def test_random_nested_dicts(garbage_dir: Path, data: dict[str, Any]) -> None:
    try:
        text = tomlio.dumps(data)
    except TypeError:  # something the writer cannot express
        return
    _load_text(text, garbage_dir)


SET_KEYS = st.one_of(
    st.sampled_from(
        [
            "population.people",
            "duration_h",
            "city.kind",
            "city.rings",
            "deployment.0.count",
            "deployment.0.kind",
            "deployment.1.count",
            "watchlist.composition",
            "watchlist.group_shares",
            "population.groups",
            "population.groups.0.share",
            "facematch.model",
            "seed",
            "extends",
            "city.places.shops",
            "governance.ban",
        ]
    ),
    st.lists(st.sampled_from([*KNOWN_KEYS[:30], "0", "1", "x"]), min_size=1, max_size=4).map(
        ".".join
    ),
)
SET_VALUES = st.one_of(
    st.sampled_from(
        [
            "3",
            "-3",
            "0.5",
            "nan",
            "true",
            "grid",
            "radial",
            '"cctv"',
            "[]",
            "{}",
            "[1, 2]",
            "{white_male = 1.0}",
            "",
            "=",
            "[",
            "1979-05-27",
        ]
    ),
    TEXT,
)


@GARBAGE
@given(sets=st.lists(st.tuples(SET_KEYS, SET_VALUES).map("=".join), max_size=4))
def test_random_overrides(sets: list[str]) -> None:
    # Random key paths and values on top of a valid scenario. (A known crash, an override that
    # walks into an array item that is not a table, has its own test,
    # test_set_into_a_scalar_array_item.)
    _load_path(CLASSROOM, sets)


# A few of the same through the command line: exit code 0 or 2, never a traceback.
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        SCENARIO_DICTS.map(tomlio.dumps), TOMLISH, st.text(string.printable, max_size=200)
    )
)
def test_cli_never_shows_a_traceback(garbage_dir: Path, data: str) -> None:
    path = garbage_dir / "cli_garbage.toml"
    path.write_text(data, encoding="utf-8", errors="surrogateescape")
    proc = survsim("validate", path)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode in (0, 2), proc.stderr
    if proc.returncode == 2:
        assert error_lines(proc.stderr), proc.stderr
