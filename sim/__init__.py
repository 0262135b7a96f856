"""survsim: a streaming discrete-event simulator of face-recognition surveillance in a city."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from sim.errors import ScenarioError, UserError
from sim.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from sim.edge.api import RunResult, run, stream


def __getattr__(name: str) -> Any:
    # run/stream live in the edge layer (sim.edge.api); imported lazily: `import sim` stays light.
    if name in ("run", "stream", "RunResult"):
        from sim.edge import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "UserError",
    "__version__",
    "load_scenario",
    "run",
    "stream",
]
