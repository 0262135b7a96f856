"""Every shipped scenario runs at any seed and replication, and its summary is plausible.

The city is fixed by its own seed, so a place a scenario names exists at every seed; the
scenarios are shrunk (fewer residents, where that keeps them valid) so the set runs in about a
minute. ``compare`` and ``sweep`` over the protest scenario run end to end through the CLI.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sim
from sim.scenario import Scenario, load_scenario
from tests.conftest import SCALE_SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
FILES = sorted(
    p
    for p in [*SCENARIOS.glob("*.toml"), *SCENARIOS.glob("validation/*.toml")]
    if p.name not in SCALE_SCENARIOS
)
SEEDS = (1, 2, 7)


def shrunk(path: Path) -> Scenario:
    """The scenario with at most 4,000 residents, or enough for its gatherings and lists."""
    sc = load_scenario(path)
    need = max([3000, *(g.size for g in sc.gathering)]) + sum(g.size for g in sc.gathering)
    need = max(need, sc.watchlist.present, *(w.present for w in sc.watchlists.values()))
    people = min(sc.population.people, max(4000, need))
    return load_scenario(path, [f"population.people={people}"])


def check_plausible(s: dict[str, Any], sc: Scenario) -> None:
    banned = sc.governance.ban
    assert s["people"] == sc.population.people
    assert s["alerts"] == s["true_alerts"] + s["false_alerts"]
    assert 0 <= s["true_alerts"] <= s["alerts"] <= max(s["captures"], s["alerts"])
    if banned:
        assert s["captures"] == 0 and s["alerts"] == 0, "a ban captures no face"
    else:
        assert s["captures"] > 0 or s.get("verifications", 0) > 0, "the deployments see faces"
    assert sum(s["captures_by_group"].values()) == s["captures"]
    assert sum(s["false_alerts_by_group"].values()) == s["false_alerts"]
    if s["false_alert_share"] is not None:
        assert 0.0 <= s["false_alert_share"] <= 1.0
    for rate in s["false_alert_rate_by_group"].values():
        assert rate is None or (math.isfinite(rate) and 0 <= rate <= 1000)
    assert s["gatherings"] == sum(not g.routine for g in sc.gathering), "assemblies, not markets"
    assert 0 <= s["wrongful_stops"] <= s["stops"]
    share = s["watchlist_detected_share"]
    assert share is None or 0.0 <= share <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(SCENARIOS).as_posix() for p in FILES])
def test_every_scenario_at_three_seeds_and_two_replications(path: Path) -> None:
    sc = shrunk(path)
    captures = set()
    for seed in SEEDS:
        for replication in (0, 1):
            s = sim.run(sc, seed=seed, replication=replication).summary
            check_plausible(s, sc)
            captures.add(s["captures"])
    if (
        not sc.governance.ban
        and len(sc.deployment)
        and any(d.kind in ("cctv", "van", "entry_point") for d in sc.deployment)
    ):
        assert len(captures) > 1, "other seeds and replications, other people and movements"


def survsim(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


@pytest.mark.slow
def test_compare_and_sweep_over_the_protest(tmp_path: Path) -> None:
    protest, capital = SCENARIOS / "capital_protest.toml", SCENARIOS / "capital_cctv.toml"
    small = ["--set", "population.people=8000"]
    p = survsim(
        "compare",
        protest,
        capital,
        "--replications",
        "3",
        "--out",
        "cmp",
        "-q",
        *small,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "cmp" / "comparison.parquet").is_file()
    p = survsim(
        "sweep",
        protest,
        "--grid",
        "facematch.threshold=0.6,0.64",
        "--replications",
        "2",
        "--out",
        "sw",
        "-q",
        "--seed",
        "2",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    p = survsim("run", protest, "--seed", "2", "--out", "r", "-q", *small, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
