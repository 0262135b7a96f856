"""Field validation: the scenarios of scenarios/validation/ reproduce published deployments.

Each file there models one published deployment (docs/calibration.md section 4) and states, on
lines of the form

    # tolerance: METRIC: published P, accepted LO to HI (why)

the figure it reproduces and the range the run with the file's own seed must fall in. This test
reads those lines, so a file's header and its check cannot drift apart. The figures are rates and
shares computed from the run's summary (METRICS below); what each one means, how the free
parameters were tuned and what the comparison does not show: docs/validation.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import sim
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.slow  # each file is one full run of about 5 s

VALIDATION = SCENARIOS / "validation"
FILES = tuple(sorted(p.name for p in VALIDATION.glob("*.toml")))  # every file there is checked

_NUMBER = r"([0-9][0-9.]*(?:[eE][+-]?[0-9]+)?)"
_TOLERANCE = re.compile(
    rf"^# tolerance: (\w+): published {_NUMBER}, accepted {_NUMBER} to "
    rf"{_NUMBER}\b"
)

# Simulated figures, from the summary of a run (its keys: README.md, "summary.json keys").
METRICS: dict[str, Callable[[dict[str, Any]], float]] = {
    "false_alert_share": lambda s: s["false_alerts"] / s["alerts"],
    "true_alert_share": lambda s: s["true_alerts"] / s["alerts"],
    "alerts_per_person": lambda s: s["alerts"] / s["people"],
    "false_alerts_per_capture": lambda s: s["false_alerts"] / s["captures"],
}


@dataclass(frozen=True)
class Tolerance:
    metric: str
    published: float
    low: float
    high: float


def tolerances(path: Path) -> list[Tolerance]:
    """The ``# tolerance:`` lines of a validation file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _TOLERANCE.match(line)
        if m:
            out.append(Tolerance(m.group(1), *(float(m.group(i)) for i in (2, 3, 4))))
    return out


@functools.cache
def summary(name: str) -> dict[str, Any]:
    """The summary of a validation file's run with its own seed (run once per session)."""
    return sim.run(load_scenario(VALIDATION / name)).summary


def test_the_published_deployments_are_covered() -> None:
    assert {"cardiff_ucl_final_2017.toml", "met_trials_2016_2019.toml"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_each_file_states_its_case_assumptions_and_tolerance(name: str) -> None:
    path = VALIDATION / name
    text = path.read_text(encoding="utf-8")
    header = text.split("\nname = ", 1)[0]
    for part in ("PUBLISHED", "COMPARED", "ASSUMPTIONS", "docs/calibration.md section 4"):
        assert part in header, f"{name}: the header should state {part!r}"
    assert header.count("TUNED") + header.count("SOLVED") >= 2, (
        f"{name}: the header should name every parameter fitted to the published figures"
    )
    tols = tolerances(path)
    assert len(tols) >= 2, f"{name}: expected '# tolerance:' lines for the figures compared"
    for t in tols:
        assert t.metric in METRICS, f"{name}: unknown metric {t.metric!r}"
        assert t.low < t.published < t.high, (
            f"{name}: {t.metric}: the range must hold the published figure"
        )
    load_scenario(path)  # a valid scenario (as `survsim validate` checks it)


@pytest.mark.parametrize("name", FILES)
def test_simulated_figures_lie_within_the_stated_tolerance(name: str) -> None:
    s = summary(name)
    failed = []
    for t in tolerances(VALIDATION / name):
        value = METRICS[t.metric](s)
        line = (
            f"{t.metric}: simulated {value:.5g}, published {t.published:g}, "
            f"ratio {value / t.published:.3f}, accepted {t.low:g} to {t.high:g}"
        )
        if not t.low <= value <= t.high:
            failed.append(line)
    assert not failed, f"{name} (seed {s['seed']}) outside its tolerance:\n" + "\n".join(failed)
