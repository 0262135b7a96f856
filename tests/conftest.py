"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
# Shipped scenarios too large to run in the test suite: benchmarks run them (the metropolis:
# benchmarks/bench_metro.py); tests load and validate them.
SCALE_SCENARIOS = frozenset({"metropolis.toml"})


_CACHE = tempfile.mkdtemp(prefix="survsim-test-cache-")


def pytest_configure(config: pytest.Config) -> None:
    """The test session keeps its own on-disk cache (maps, routing trees), never the user's."""
    os.environ["SURVSIM_CACHE"] = _CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE, ignore_errors=True)


def small_dict(**over: Any) -> dict[str, Any]:
    """A grid town of 800 people and 20 cameras for 24 h."""
    d: dict[str, Any] = {
        "name": "tiny",
        "seed": 11,
        "duration_h": 24,
        "city": {
            "kind": "grid",
            "columns": 10,
            "rows": 10,
            "block_m": 100,
            "places": {
                "workplaces": 12,
                "shops": 10,
                "transit_hubs": 2,
                "plazas": 2,
                "places_of_worship": 2,
                "schools": 2,
                "hospitals": 1,
            },
        },
        "population": {"people": 800},
        "watchlist": {"size": 200, "present": 8},
        "facematch": {"threshold": 0.58},
        "deployment": [
            {"kind": "cctv", "count": 20, "placement": "footfall", "range_m": 30, "p_capture": 0.8}
        ],
    }
    for key, value in over.items():
        node = d
        parts = key.split("__")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return d


@pytest.fixture
def tiny() -> Scenario:
    return load_scenario(small_dict())


@pytest.fixture(scope="session")
def tiny_run() -> Any:
    import sim

    return sim.run(load_scenario(small_dict()))


# Debian's chromium, driven by playwright (.ci/run installs it). Without it the browser tests
# skip, except in CI (CI=true), where a missing browser is a failure.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed; run .ci/run or `apt-get install chromium`")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()
