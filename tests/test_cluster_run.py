"""One run across a Dask cluster (sim.edge.cluster): workers route the trips, this process runs
the system view, and every output file is the single-process run's, byte for byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
import sim.edge.api
from sim.edge.cluster import ClusterRun, connected
from sim.errors import UserError
from sim.scenario import load_scenario
from sim.truth import route_plan, window_ends
from sim.world import build_world
from tests.conftest import ROOT, small_dict

distributed = pytest.importorskip("distributed")

# Street cameras, body-cams (routed: on the workers), doors (not routed: here), kept captures
# (linked identities), a reviewer queue and stops: every table has rows.
MIXED = {
    "population": {"people": 2500},
    "deployment": [
        {"kind": "cctv", "count": 20, "placement": "footfall", "range_m": 30},
        {"kind": "bodycam", "officers": 8},
        {"kind": "entry_point", "place_type": "shop", "count": 4},
    ],
    "governance": {"scan_scope": "everyone", "retention_days": 7, "alert_action": "dispatch"},
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def files_of(run_dir: Path) -> dict[str, bytes]:
    """Every output file of a run but run.json (its times) and summary.json (its wall_s)."""
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name not in ("run.json", "summary.json")
    }


def summary_of(run_dir: Path) -> dict[str, Any]:
    s = json.loads((run_dir / "summary.json").read_text())
    s.pop("wall_s")
    return dict(s)


@pytest.mark.slow
def test_a_run_on_two_workers_is_the_local_run_byte_for_byte(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = load_scenario(small_dict(**MIXED))
    local = sim.run(sc, out=tmp_path / "local")
    # Small chunks: many tasks, spread over both workers, computed ahead and out of order.
    monkeypatch.setattr(sim.edge.api, "_CLUSTER_CHUNK", 400)
    sim.run(sc, out=tmp_path / "dask", scheduler=cluster.scheduler_address)
    n_trips = local.tables["trips"].num_rows
    assert n_trips > 10 * 400, "the run is split into many chunks"
    for name in ("captures", "patrol_stops", "alerts", "identity_log", "stops"):
        assert local.tables[name].num_rows > 0, f"{name}: the comparison has rows to compare"
    mine, theirs = files_of(tmp_path / "local"), files_of(tmp_path / "dask")
    assert sorted(mine) == sorted(theirs)
    for name, data in mine.items():
        assert data == theirs[name], f"{name} differs on the cluster"
    assert summary_of(tmp_path / "local") == summary_of(tmp_path / "dask")
    # Each worker built the run's world (and had it checked); neither keeps it afterwards.
    kept = cluster_kept(cluster)
    assert kept == [0, 0], kept


def cluster_kept(cluster: Any) -> list[int]:
    def count() -> int:
        import sim.edge.cluster as c

        return len(c._worlds)

    with distributed.Client(cluster.scheduler_address) as client:
        return sorted(client.run(count).values())


@pytest.mark.slow
def test_the_cli_runs_on_a_scheduler_and_refuses_a_bad_one(cluster: Any, tmp_path: Path) -> None:
    scen = ROOT / "scenarios" / "classroom_small.toml"
    fast = ["--set", "population.people=600", "--set", "duration_h=6", "-q"]
    ok = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(scen), "--out", str(tmp_path / "r"), *fast,
         "--scheduler", cluster.scheduler_address],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "r" / "events" / "captures.arrow").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(scen), "--out", str(tmp_path / "b"), *fast,
         "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    assert "cannot reach a Dask scheduler" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "b" / "events").exists(), "nothing written for a refused run"


@pytest.mark.slow
def test_a_worker_whose_world_differs_is_refused(cluster: Any) -> None:
    sc = load_scenario(small_dict(population={"people": 300}))
    with connected(cluster.scheduler_address) as client:
        run = ClusterRun(client, sc, seed=sc.seed, replication=0)
        try:
            other = build_world(sc, replication=1)  # the workers built replication 0
            with pytest.raises(UserError, match="built a different world"):
                run.check(other)
        finally:
            run.close()


def test_route_plan_known_chunks() -> None:
    depart = np.array([0.0, 1.0, 2.0, 10.0, 11.0, 25.0])
    ends = window_ends(30.0, 5.0)
    assert ends.tolist() == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    # Two trips a chunk: each window's trips (whole windows), the empty ones skipped.
    assert route_plan(depart, ends, 2) == [(0, 3), (3, 5), (5, 6)]
    # Four: the first chunk reaches to the end of the window of its fourth trip.
    assert route_plan(depart, ends, 4) == [(0, 5), (5, 6)]
    assert route_plan(depart, ends, 10**9) == [(0, 6)]
    assert route_plan(depart[:0], ends, 2) == []


@pytest.mark.slow
def test_a_worker_lost_mid_run_changes_nothing(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker process dies while chunks are computed: its chunks are computed again
    elsewhere (or by its restarted self, which builds the world anew and has it checked), and
    the files are still the local run's."""
    import sim.edge.cluster as cl

    sc = load_scenario(small_dict(**MIXED))
    sim.run(sc, out=tmp_path / "local")
    monkeypatch.setattr(sim.edge.api, "_CLUSTER_CHUNK", 400)
    rows = cl.ClusterRun.rows
    killed: list[str] = []

    def rows_then_kill(self: cl.ClusterRun, i: int) -> Any:
        if i == 2 and not killed:
            killed.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)
        return rows(self, i)

    monkeypatch.setattr(cl.ClusterRun, "rows", rows_then_kill)
    with distributed.Client(cluster.scheduler_address) as client:
        pids = [client.run(os.getpid)[w] for w in sorted(client.scheduler_info()["workers"])]
    sim.run(sc, out=tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert killed
    with distributed.Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=60)  # restarted by its nanny, for the next tests
        assert set(client.run(os.getpid).values()).isdisjoint(pids[:1]), "the worker died"
    mine, theirs = files_of(tmp_path / "local"), files_of(tmp_path / "dask")
    for name, data in mine.items():
        assert data == theirs[name], f"{name} differs after a worker was lost"
