"""Golden summaries: the shipped scenarios, shrunk to run in seconds, and what they produced.

``python -m tests.golden`` (``make golden``) refreshes ``tests/golden/*.json`` after a deliberate
change of model output; note the change in CHANGELOG.md. ``tests/test_golden.py`` compares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.scenario import load_scenario

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
SCENARIOS = HERE.parent / "scenarios"

# Shrunk so the whole set runs in a few seconds; the structure of each scenario is kept.
CASES: dict[str, tuple[str, list[str]]] = {
    "capital_cctv_small": (
        "capital_cctv.toml",
        ["population.people=8000", "duration_h=24", "deployment.0.count=120"],
    ),
    "ban_small": ("ban.toml", ["population.people=3000", "duration_h=12"]),
    "classroom_small": ("classroom_small.toml", []),
}


def compute(name: str) -> dict[str, Any]:
    import sim

    file, overrides = CASES[name]
    result = sim.run(load_scenario(SCENARIOS / file, overrides))
    summary = {
        k: v
        for k, v in result.summary.items()
        if k not in ("wall_s", "survsim_version", "scenario_hash", "library_versions")
    }
    rows = {t: tab.num_rows for t, tab in sorted(result.tables.items())}
    return {"summary": _round(summary), "rows": rows}


def _round(v: Any) -> Any:
    # Floats to 9 significant digits: exact on one machine, robust to last-bit differences
    # of vectorised maths between processors.
    if isinstance(v, float):
        return float(f"{v:.9g}")
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in CASES:
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(compute(name), indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
