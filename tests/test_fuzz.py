"""The fuzzer (tests/fuzz.py): a sample of its cases, and every input that once gave a
traceback, a crash or a memory blow-up, each with the answer it must get now.

The whole campaign (10,000 cases and more) is ``python -m tests.fuzz --cases 10000``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz import Case, campaign, materialise, run_in_process
from tests.fuzz import generate as fuzz_case

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def test_a_sample_of_the_campaign_keeps_the_contract() -> None:
    result = campaign(160, seed=20261201, show=lambda _: None)
    assert result["failures"] == [], result["failures"][:3]
    assert set(result["by_kind"]) >= {"value", "set", "structure", "paths"}, "every kind ran"
    assert result["exit_codes"].get("2", 0) > 100, "most hostile inputs are refused"


def test_the_cases_are_the_same_on_every_machine() -> None:
    a, b = fuzz_case(17, seed=3), fuzz_case(17, seed=3)
    assert (a.argv, a.files, a.kind) == (b.argv, b.files, b.kind)
    assert fuzz_case(18, seed=3).argv != a.argv or fuzz_case(18, seed=3).files != a.files


def _answer(
    tmp_path: Path,
    argv: list[str],
    files: dict[str, str | bytes] | None = None,
    links: dict[str, str] | None = None,
) -> tuple[int, str]:
    materialise(Case(0, "explicit", argv, files or {}, links or {}), tmp_path)
    out = run_in_process(argv, tmp_path)
    assert out.traceback is None, out.traceback
    assert "Traceback" not in out.stderr
    assert all(len(line) < 4000 for line in out.stderr.splitlines()), "messages are short"
    return out.code, " ".join(out.stderr.split())


SMALL = str(SCENARIOS / "classroom_small.toml")
REAL = str(SCENARIOS / "real_city_example.toml")
BODYCAM = str(SCENARIOS / "bodycam_stops.toml")
PRISON = str(SCENARIOS / "prison.toml")


# Inputs of the kinds that once gave a traceback (exit 1), each must now be refused with a
# message naming the problem (exit 2).
REFUSED = [
    (
        "scenario is a symlink loop",
        ["validate", "loop.toml"],
        {},
        {"loop.toml": "loop.toml"},
        "not a usable file name",
    ),
    (
        "extends a symlink loop",
        ["validate", "s.toml"],
        {"s.toml": 'extends = "l.toml"\n'},
        {"l.toml": "l.toml"},
        "not a usable file name",
    ),
    (
        "city.path a symlink loop",
        ["validate", REAL, "--set", "city.path=loop.osm"],
        {},
        {"loop.osm": "loop.osm"},
        "city.path",
    ),
    (
        "5,000 digits in --set",
        ["validate", SMALL, "--set", "population.people=" + "9" * 5000],
        {},
        {},
        "cannot read the value",
    ),
    (
        "keys nested 500 deep",
        ["validate", "s.toml"],
        {"s.toml": "a" + ".a" * 500 + " = 1\n"},
        {},
        "s.toml",
    ),
    (
        "600 brackets in --set",
        ["validate", SMALL, "--set", "seed=" + "[" * 600 + "]" * 600],
        {},
        {},
        "--set seed",
    ),
    (
        "a chain of 500 extends",
        ["validate", "e0.toml"],
        {f"e{i}.toml": f'extends = "e{i + 1}.toml"\n' for i in range(500)},
        {},
        "'extends' chains more than",
    ),
    (
        "a NUL byte in city.path",
        ["validate", REAL, "--set", 'city.path="a\\u0000b.osm"'],
        {},
        {},
        "city.path",
    ),
    (
        "a NUL byte in --grid",
        ["sweep", SMALL, "--grid", 'city.path="a\\u0000b"', "--out", "s", "--dry-run"],
        {},
        {},
        "city",
    ),
    (
        "--scheduler foo",
        [
            "sweep",
            SMALL,
            "--grid",
            "facematch.threshold=0.6",
            "--out",
            "s",
            "-q",
            "--scheduler",
            "foo",
        ],
        {},
        {},
        "--scheduler",
    ),
    (
        "--scheduler tcp://",
        [
            "sweep",
            SMALL,
            "--grid",
            "facematch.threshold=0.6",
            "--out",
            "s",
            "-q",
            "--scheduler",
            "tcp://",
        ],
        {},
        {},
        "--scheduler",
    ),
    (
        "--scheduler http://",
        [
            "sweep",
            SMALL,
            "--grid",
            "facematch.threshold=0.6",
            "--out",
            "s",
            "-q",
            "--scheduler",
            "http://example.org",
        ],
        {},
        {},
        "--scheduler",
    ),
    # Valid by the format, impossible to run: refused up front, with the estimate.
    (
        "a district share of 0 on the only group",
        ["validate", "s.toml"],
        {
            "s.toml": f'extends = "{SMALL}"\n[[population.groups]]\nname = "everyone"\n'
            f'share = 1.0\nmodel_group = "white_male"\ndistrict_shares = {{ North-East = 0.0 }}\n'
        },
        {},
        "North-East",
    ),
    (
        "1e300 impostor attempts",
        ["validate", PRISON, "--set", "deployment.0.impostor_attempts_per_day=1e300"],
        {},
        {},
        "of memory",
    ),
    (
        "a dwell of a nanosecond",
        ["validate", BODYCAM, "--set", "deployment.0.dwell_s=1e-9"],
        {},
        {},
        "of memory",
    ),
    (
        "a batch of a nanosecond",
        ["validate", SMALL, "--set", "engine.batch_s=1e-9"],
        {},
        {},
        "micro-batches",
    ),
    (
        "100,000 patrol cars",
        ["validate", SMALL, "--set", "deployment.0={kind='carcam', cars=100000}"],
        {},
        {},
        "of memory",
    ),
    (
        "fifty million people",
        ["validate", SMALL, "--set", "population.people=50000000"],
        {},
        {},
        "of memory",
    ),
    (
        "a watchlist of a hundred million",
        ["validate", SMALL, "--set", "watchlist.size=100000000"],
        {},
        {},
        "at most",
    ),
    ("a seed beyond 63 bits", ["run", SMALL, "--seed", str(2**64), "--out", "r"], {}, {}, "--seed"),
]


@pytest.mark.parametrize(
    ("argv", "files", "links", "expect"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_inputs_that_once_crashed_are_refused(
    tmp_path: Path, argv: list[str], files: dict[str, str], links: dict[str, str], expect: str
) -> None:
    code, err = _answer(tmp_path, argv, files, links)
    assert code == 2, err
    assert expect in err, err


def test_a_megabyte_value_is_not_echoed_back(tmp_path: Path) -> None:
    code, err = _answer(tmp_path, ["validate", SMALL, "--set", "name=" + "x" * 1_000_000])
    assert code == 2 and len(err) < 2000 and "characters" in err, err[:300]


def test_the_memory_limit_can_be_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURVSIM_MAX_MEMORY_GB", "0.3")
    code, err = _answer(tmp_path, ["validate", SMALL])
    assert code == 2 and "the 307 MiB allowed here" in err, err
    monkeypatch.delenv("SURVSIM_MAX_MEMORY_GB")
    assert _answer(tmp_path, ["validate", SMALL])[0] == 0


def test_validate_and_run_agree_on_what_is_too_large(tmp_path: Path) -> None:
    args = ["--set", "population.people=50000000"]
    v = _answer(tmp_path, ["validate", SMALL, *args])
    r = _answer(tmp_path, ["run", SMALL, *args, "--out", "r", "-q"])
    assert v[0] == r[0] == 2 and "of memory" in r[1]
    assert not (tmp_path / "r").exists(), "refused before writing anything"


@pytest.mark.skipif(
    os.environ.get("SURVSIM_FUZZ_RUNS") is None,
    reason="set SURVSIM_FUZZ_RUNS=N to also run N valid fuzz cases",
)
def test_valid_fuzz_cases_run() -> None:  # pragma: no cover - opt-in, minutes
    result = campaign(400, seed=5, runs=int(os.environ["SURVSIM_FUZZ_RUNS"]), show=lambda _: None)
    assert result["failures"] == []
