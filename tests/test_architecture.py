"""The one-way data flow of DESIGN.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_sim_does_not_import_analysis_or_plotting() -> None:
    """Only the edge layer (sim/edge: the API, CLI and experiments) reads results through
    analysis; the model below it never does, and nothing in sim draws."""
    edge = ROOT / "sim" / "edge"
    assert {p.stem for p in edge.glob("*.py")} >= {"api", "cli", "experiments"}
    for path in sorted((ROOT / "sim").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found = imports(path)
        assert not found & {"plotly", "dash"}, f"{rel} imports plotting or web code"
        if edge not in path.parents:
            assert "analysis" not in found, f"{rel} imports analysis (only sim/edge may)"


def test_only_the_engine_touches_simpy() -> None:
    users = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "sim").rglob("*.py")
        if "simpy" in imports(p)
    }
    assert users == {"sim/engine.py"}, users


def test_analysis_imports_only_the_schema_from_sim() -> None:
    """analysis reads the files: from sim it takes their schema, the units of time and the
    helper that writes a file atomically, nothing of the model."""
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
                assert node.module in ("sim.schema", "sim.files", "sim.units"), (
                    f"{path.name} imports {node.module}"
                )


def test_no_global_random_state_in_the_code() -> None:
    for folder in ("sim", "analysis"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            assert "import random" not in text, f"{path.name} uses the random module"
            assert "np.random.seed" not in text and "np.random.rand(" not in text, path.name
            assert "default_rng()" not in text, f"{path.name} seeds from entropy"


def test_sensors_are_numpy_modules_behind_one_protocol() -> None:
    """Every capture source is a module of sim/sensors, registered once, simpy-free, and
    implementing the protocol's hooks (sim.sensors.base)."""
    import inspect

    from sim.sensors import SENSORS
    from sim.sensors.base import BaseSensor

    modules = {p.stem for p in (ROOT / "sim" / "sensors").glob("*.py")} - {"__init__", "base"}
    assert {inspect.getmodule(s).__name__.rsplit(".", 1)[1] for s in SENSORS} == modules
    for s in SENSORS:
        assert issubclass(s, BaseSensor) and callable(getattr(s, "create", None))
        assert "simpy" not in imports(Path(inspect.getfile(s)))


def test_the_system_view_reads_no_truth() -> None:
    """sim/system acts on what its instruments return (sim.observe), never on whose face a
    capture was: no truth column read, no truth object imported or touched."""
    from sim.observe import TRUTH_COLUMNS

    truth_objects = {"population", "trips", "entry_of_person", "gatherings", "person_id_of"}
    for path in sorted((ROOT / "sim" / "system").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                assert node.slice.value not in TRUTH_COLUMNS, (
                    f"{rel}:{node.lineno} reads the truth column {node.slice.value!r}"
                )
            if isinstance(node, ast.Attribute):
                assert node.attr not in truth_objects, f"{rel}:{node.lineno} reads {node.attr}"
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module not in (
                    "sim.world",
                    "sim.population",
                    "sim.observe",
                    "sim.engine",
                ), f"{rel} imports {node.module}"


def test_the_engine_hands_the_system_no_truth_column(monkeypatch) -> None:
    """At run time: every release the system view gets lacks the truth columns."""
    from sim.edge.api import run
    from sim.observe import TRUTH_COLUMNS
    from sim.scenario import load_scenario
    from sim.system.view import SystemView
    from tests.conftest import SCENARIOS

    seen: list[set[str]] = []
    real = SystemView.release

    def spy(self, ids, cap):  # type: ignore[no-untyped-def]
        seen.append(set(cap))
        return real(self, ids, cap)

    monkeypatch.setattr(SystemView, "release", spy)
    run(
        load_scenario(SCENARIOS / "classroom_small.toml", ["population.people=800", "duration_h=6"])
    )
    assert seen and all(not (cols & set(TRUTH_COLUMNS)) for cols in seen)
    assert all({"claimed", "score", "confirms", "finds_listed"} <= cols for cols in seen)


def test_a_run_does_not_import_networkx() -> None:
    """networkx is a view for users and tests (City.to_networkx), not on the runtime path."""
    code = (
        "import sys\nfrom sim.edge.api import run\nfrom sim.scenario import load_scenario\n"
        "run(load_scenario('scenarios/classroom_small.toml', ['population.people=300', "
        "'duration_h=2']))\nassert 'networkx' not in sys.modules, 'networkx imported'\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_enumerated_columns_hold_only_their_declared_values() -> None:
    """Each enumerated column's values are declared once (sim.schema); the runs of the policy
    scenarios write no other value (stops, reviews, door checks, assembly flags, sources...)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from sim.edge.api import run
    from sim.scenario import load_scenario
    from sim.schema import TABLES
    from tests.conftest import SCENARIOS

    seen: set[tuple[str, str]] = set()
    for name in (
        "bodycam_stops",
        "capital_cctv_regulated",
        "prison",
        "minority_alarm",
        "capital_protest",
    ):
        res = run(load_scenario(SCENARIOS / f"{name}.toml", ["population.people=4000"]))
        for table, t in res.tables.items():
            for col in TABLES[table].columns:
                if not (col.values and t.num_rows):
                    continue
                used = set(
                    pc.unique(t.column(col.name).combine_chunks()).cast(pa.string()).to_pylist()
                )
                assert used <= set(col.values), (table, col.name, used - set(col.values))
                seen.add((table, col.name))
    # The runs exercised the enumerations (a test that saw none could not fail).
    assert {
        ("stops", "outcome"),
        ("reviews", "verdict"),
        ("verifications", "subject"),
        ("identity_log", "source"),
        ("assembly_alerts", "flag"),
        ("trips", "purpose"),
        ("cameras", "kind"),
    } <= seen, seen


MAX_MODULE_LINES = 700  # issue 19: rooms a newcomer can change safely
MAX_FUNCTION_LINES = 100


def test_no_module_or_function_too_big_to_change() -> None:
    too_big = []
    for package in ("sim", "analysis", "classroom"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text("utf-8")
            name = path.relative_to(ROOT)
            if text.count("\n") > MAX_MODULE_LINES:
                too_big.append(f"{name}: {text.count(chr(10))} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    n = (node.end_lineno or node.lineno) - node.lineno + 1
                    if n > MAX_FUNCTION_LINES:
                        too_big.append(f"{name}: {node.name} is {n} lines")
    assert not too_big, too_big


def test_the_house_is_formatted_and_lint_clean() -> None:
    import shutil
    import subprocess
    import sys

    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        found = shutil.which("ruff")
        if found is None:
            import pytest

            pytest.skip("ruff is a dev tool (make test installs it)")
        ruff = Path(found)
    paths = ["sim", "analysis", "classroom", "tests", "benchmarks"]
    for args in (["check", "--quiet"], ["format", "--check", "--quiet"]):
        p = subprocess.run([str(ruff), *args, *paths], cwd=ROOT, capture_output=True, text=True)
        assert p.returncode == 0, f"ruff {' '.join(args)}:\n{p.stdout}{p.stderr}"


def test_the_scenario_format_names_the_declared_place_types() -> None:
    from typing import get_args

    from sim.scenario import PlaceType
    from sim.schema import PLACE_TYPES

    assert get_args(PlaceType) == PLACE_TYPES
