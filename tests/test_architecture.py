"""The one-way data flow of DESIGN.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

EDGE = {"sim/api.py", "sim/cli.py", "sim/experiments.py"}  # where sim meets analysis


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
    for path in sorted((ROOT / "sim").glob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found = imports(path)
        assert not found & {"plotly", "dash"}, f"{rel} imports plotting or web code"
        if rel not in EDGE:
            assert "analysis" not in found, f"{rel} imports analysis (only {EDGE} may)"


def test_only_the_engine_touches_simpy() -> None:
    users = {p.relative_to(ROOT).as_posix() for p in (ROOT / "sim").glob("*.py")
             if "simpy" in imports(p)}
    assert users == {"sim/engine.py"}, users


def test_analysis_imports_only_the_schema_from_sim() -> None:
    for path in sorted((ROOT / "analysis").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("sim"):
                assert node.module == "sim.schema", f"{path.name} imports {node.module}"


def test_no_global_random_state_in_the_code() -> None:
    for folder in ("sim", "analysis"):
        for path in sorted((ROOT / folder).glob("*.py")):
            text = path.read_text()
            assert "import random" not in text, f"{path.name} uses the random module"
            assert "np.random.seed" not in text and "np.random.rand(" not in text, path.name
            assert "default_rng()" not in text, f"{path.name} seeds from entropy"
