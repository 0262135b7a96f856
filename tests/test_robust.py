"""Honest interrupts, nothing overwritten that survsim did not write, sweeps that resume only
themselves, paths and layering that do not depend on where a checkout sits, and files that
carry the versions they were made with."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SMALL = SCENARIOS / "classroom_small.toml"
CAPITAL = SCENARIOS / "capital_cctv.toml"


def survsim(
    *args: object, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def refused(p: subprocess.CompletedProcess[str], *needles: str) -> str:
    err = " ".join(p.stderr.split())
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr
    for n in needles:
        assert n in err, err
    return err


# ---------------------------------------------------------------- interrupts
def _interrupt(
    args: list[object], ready: Path, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Start ``survsim ARGS``, wait until ``ready`` exists, then Ctrl-C it as a terminal
    does (SIGINT to the whole process group)."""
    p = subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not ready.exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


@pytest.mark.slow
def test_ctrl_c_on_run_exits_130_and_marks_the_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    p = _interrupt(
        ["run", CAPITAL, "--out", run_dir, "--set", "population.people=600000"],
        run_dir / "run.json",
        tmp_path,
    )
    assert p.returncode == 130, (p.returncode, p.stderr[-1000:])
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and "Traceback" not in p.stderr, lines
    assert json.loads((run_dir / "run.json").read_text())["state"] == "interrupted"
    refused(survsim("report", run_dir), "was interrupted", "--overwrite")
    refused(survsim("run", SMALL, "--out", run_dir, "-q"), "was interrupted", "--overwrite")
    ok = survsim("run", SMALL, "--out", run_dir, "-q", "--overwrite")
    assert ok.returncode == 0, ok.stderr
    assert json.loads((run_dir / "run.json").read_text())["state"] == "complete"


@pytest.mark.slow
def test_ctrl_c_on_sweep_exits_130_and_resume_finishes_it(tmp_path: Path) -> None:
    grid = ["--grid", "population.people=40000,2000", "--grid", "facematch.threshold=0.6,0.62"]
    out = tmp_path / "s"
    p = _interrupt(
        ["sweep", SMALL, *grid, "--replications", "2", "--out", out, "--workers", "2"],
        out / "sweep.json",
        tmp_path,
    )
    assert p.returncode == 130, (p.returncode, p.stderr[-1000:])
    assert "interrupted" in p.stderr and "--resume" in p.stderr
    assert "Traceback" not in p.stderr, p.stderr[-2000:]
    done = survsim(
        "sweep",
        SMALL,
        *grid,
        "--replications",
        "2",
        "--out",
        out,
        "--resume",
        "-q",
        "--workers",
        "2",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((out / "points").glob("point-*.parquet"))) == 4


@pytest.mark.slow
def test_ctrl_c_on_compare_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "c"
    p = _interrupt(
        [
            "compare",
            CAPITAL,
            SMALL,
            "--replications",
            "2",
            "--out",
            out,
            "--set",
            "population.people=300000",
        ],
        out,
        tmp_path,
    )
    assert p.returncode == 130, (p.returncode, p.stderr[-1000:])
    assert "interrupted" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]


def test_a_stopped_pool_has_closed_its_manager_before_the_error_leaves() -> None:
    """When a run fails (or Ctrl-C), the pool's manager thread is gone before the error
    reaches the caller, so the interpreter's exit hook cannot race it for the wake-up pipe
    (CI once printed that race's EBADF traceback after an interrupted compare)."""
    import concurrent.futures.process as cfp

    from sim.edge.batch import Task, execute

    sc = load_scenario(SMALL).model_dump(mode="json")
    sc["population"]["people"] = 300
    sc["duration_h"] = 1
    tasks = [Task(key=i, scenario=sc, replication=i) for i in range(3)]

    def fail(task: Task, metrics: dict[str, float]) -> None:
        assert metrics  # a real run's summary came back
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        execute(tasks, 1, workers=2, scheduler=None, on_result=fail, progress=None)
    alive = [t.name for t in list(cfp._threads_wakeups) if t.is_alive()]
    assert alive == []


def _children(pid: int) -> list[int]:
    got = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in got.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/proc").is_dir() or shutil.which("pgrep") is None, reason="needs /proc and pgrep"
)
def test_workers_of_a_killed_sweep_stop(tmp_path: Path) -> None:
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "sweep",
            str(SMALL),
            "--grid",
            "population.people=60000,60001,60002",
            "--replications",
            "2",
            "--out",
            str(tmp_path / "s"),
            "-q",
            "--workers",
            "2",
        ]
    )
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = [
            c
            for c in _children(p.pid)
            if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")
        ]
        time.sleep(0.1)
    assert len(workers) == 2, "two workers started"
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "workers stop when their parent is killed"


# ---------------------------------------------------------------- nothing overwritten
def test_overwrite_replaces_only_a_run_survsim_wrote(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "events").mkdir(parents=True)
    (mine / "events" / "notes.txt").write_text("my notes")
    refused(survsim("run", SMALL, "--out", mine, "--overwrite", "-q"), "not a run survsim wrote")
    assert (mine / "events" / "notes.txt").read_text() == "my notes"


def test_report_does_not_replace_a_users_page(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "report.html").write_text("<html>my own page</html>")
    refused(survsim("run", SMALL, "--out", run_dir, "-q", "--report"), "not written by survsim")
    assert not (run_dir / "summary.json").exists(), "refused before running"
    ok = survsim("run", SMALL, "--out", run_dir, "-q")
    assert ok.returncode == 0, ok.stderr
    refused(survsim("report", run_dir), "not written by survsim")
    assert (run_dir / "report.html").read_text() == "<html>my own page</html>"
    # --overwrite of the run keeps the user's page (it is not the run's), --report refuses
    again = survsim("run", SMALL, "--out", run_dir, "-q", "--overwrite")
    assert again.returncode == 0 and (run_dir / "report.html").read_text().startswith("<html>my")
    (run_dir / "report.html").unlink()
    assert survsim("report", run_dir).returncode == 0
    assert survsim("report", run_dir).returncode == 0, "survsim replaces its own page"


def test_errors_figure_does_not_replace_other_files(tmp_path: Path) -> None:
    scenario = tmp_path / "my_scenario.toml"
    scenario.write_text("name = 'x'\n")
    refused(survsim("errors", "--sweep", "--out", scenario), "html")
    page = tmp_path / "page.html"
    page.write_text("<html>mine</html>")
    refused(survsim("errors", "--sweep", "--out", page), "not written by survsim")
    assert scenario.read_text() == "name = 'x'\n" and page.read_text() == "<html>mine</html>"
    assert survsim("errors", "--sweep", "--out", page, "--overwrite").returncode == 0
    assert survsim("errors", "--sweep", "--out", page).returncode == 0, "its own page"


def test_a_sweep_does_not_resume_into_a_run_or_another_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    assert (
        survsim("run", SMALL, "--out", run_dir, "-q", "--set", "population.people=300").returncode
        == 0
    )
    refused(
        survsim(
            "sweep", SMALL, "--grid", "facematch.threshold=0.6", "--out", run_dir, "--resume", "-q"
        ),
        "not empty",
    )


def test_grid_key_given_twice_is_refused(tmp_path: Path) -> None:
    refused(
        survsim(
            "sweep",
            SMALL,
            "--grid",
            "facematch.threshold=0.6",
            "--grid",
            "facematch.threshold=0.7",
            "--out",
            tmp_path / "s",
            "-q",
        ),
        "given twice",
    )


def test_resume_refuses_an_edited_scenario(tmp_path: Path) -> None:
    sc = tmp_path / "s.toml"
    sc.write_text(f'extends = "{SMALL}"\nduration_h = 2\n[population]\npeople = 300\n')
    grid = ["--grid", "facematch.threshold=0.6,0.62"]
    out = tmp_path / "sw"
    assert (
        survsim(
            "sweep", sc, *grid, "--replications", "1", "--out", out, "-q", "--workers", "1"
        ).returncode
        == 0
    )
    (out / "points" / "point-00001.parquet").unlink()
    sc.write_text(f'extends = "{SMALL}"\nduration_h = 2\n[population]\npeople = 350\n')
    refused(
        survsim("sweep", sc, *grid, "--replications", "1", "--out", out, "--resume", "-q"),
        "content",
        "changed",
    )


def test_validate_and_sweep_dry_run_check_places_at_every_point(tmp_path: Path) -> None:
    protest = SCENARIOS / "capital_protest.toml"
    refused(
        survsim(
            "sweep",
            protest,
            "--grid",
            'gathering.1.place="Plaza 5 (West)","Nowhere"',
            "--out",
            tmp_path / "s",
            "--dry-run",
        ),
        "Nowhere",
        "Central Plaza",
        "survsim places",
    )
    ok = survsim(
        "sweep",
        protest,
        "--grid",
        "facematch.threshold=0.6,0.62",
        "--out",
        tmp_path / "s",
        "--dry-run",
    )
    assert ok.returncode == 0 and "2 points" in ok.stdout, ok.stderr


# ---------------------------------------------------------------- paths and layering
def test_scenario_hash_does_not_depend_on_where_the_checkout_sits(tmp_path: Path) -> None:
    hashes = []
    for where in ("a", "b/deeper"):
        d = tmp_path / where
        (d / "maps").mkdir(parents=True)
        shutil.copy(SCENARIOS / "real_city_example.toml", d)
        shutil.copy(SCENARIOS / "maps" / "aguascalientes.osm.bz2", d / "maps")
        hashes.append(load_scenario(d / "real_city_example.toml").content_hash())
    assert hashes[0] == hashes[1]
    (tmp_path / "a" / "maps" / "aguascalientes.osm.bz2").write_bytes(b"other")
    assert load_scenario(tmp_path / "a" / "real_city_example.toml").content_hash() != hashes[0]


def test_extends_with_another_city_kind_replaces_the_city(tmp_path: Path) -> None:
    child = tmp_path / "grid.toml"
    child.write_text(f'extends = "{CAPITAL}"\n[city]\nkind = "grid"\ncolumns = 12\n')
    sc = load_scenario(child)
    assert sc.city.kind == "grid" and sc.city.columns == 12
    assert load_scenario(CAPITAL, ["city.kind=grid"]).city.kind == "grid"
    osm = load_scenario(
        CAPITAL, ["city.kind=osm", f"city.path={SCENARIOS / 'maps' / 'aguascalientes.osm.bz2'}"]
    )
    assert osm.city.kind == "osm"
    same_kind = load_scenario(CAPITAL, ["city.kind=radial"])
    assert same_kind.city == load_scenario(CAPITAL).city, "the same kind keeps the table"


def test_a_relative_city_path_from_the_command_line_is_from_where_it_runs(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    shutil.copy(SCENARIOS / "maps" / "aguascalientes.osm.bz2", tmp_path / "maps")
    p = survsim(
        "run",
        SCENARIOS / "real_city_example.toml",
        "--out",
        "r",
        "-q",
        "--set",
        "city.path=maps/aguascalientes.osm.bz2",
        "--set",
        "population.people=400",
        "--set",
        "duration_h=2",
        "--set",
        "gathering=[]",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    again = load_scenario(tmp_path / "r" / "scenario.resolved.toml")
    assert Path(str(again.city.path)).is_file(), "the resolved file names the map it used"


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(description=TEXT, label=TEXT, district=TEXT.filter(bool))
def test_the_resolved_scenario_always_loads_back(
    tmp_path_factory: pytest.TempPathFactory, description: str, label: str, district: str
) -> None:
    d = tmp_path_factory.mktemp("rt")
    sc = load_scenario(
        {
            "name": "rt",
            "description": description,
            "seed": 2**63 - 1,
            "city": {"kind": "grid", "columns": 5, "rows": 5, "seed": 2**63 - 1},
            "population": {
                "people": 10,
                "groups": [
                    {
                        "name": "a",
                        "share": 1.0,
                        "label": label,
                        "model_group": "white_male",
                        "district_shares": {district: 0.5},
                    }
                ],
            },
            "watchlist": {"size": 5, "present": 1},
        }
    )
    path = d / "scenario.resolved.toml"
    path.write_text(sc.to_toml(), encoding="utf-8")
    assert load_scenario(path).to_dict() == sc.to_dict()


def test_demo_on_a_busy_port_says_so_once(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = survsim("demo", "--port", port, timeout=60)
    err = refused(p, f"--port {port}", "cannot serve")
    assert "http://" not in p.stdout, "no address announced for a server that did not start"
    assert len([ln for ln in p.stderr.splitlines() if ln.strip()]) == 1, err


# ---------------------------------------------------------------- versions in every file
def test_every_output_file_records_the_library_versions(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    sim.run(load_scenario(SMALL, ["population.people=300", "duration_h=2"]), out=run_dir)
    for f in [*sorted((run_dir / "events").glob("*.arrow")), run_dir / "tracking.arrow"]:
        with pa.OSFile(str(f), "rb") as src:
            meta = pa.ipc.open_stream(src).schema.metadata
        versions = json.loads(meta[b"library_versions"])
        assert set(versions) >= {"python", "numpy", "scipy", "pyarrow", "shapely", "simpy"}, f
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["library_versions"]["numpy"] == versions["numpy"]
    marker = json.loads((run_dir / "run.json").read_text())
    assert marker["state"] == "complete" and marker["library_versions"] == versions


@pytest.mark.slow
def test_sweep_and_compare_tables_record_the_versions(tmp_path: Path) -> None:
    from sim.edge.experiments import compare, sweep

    sc = tmp_path / "s.toml"
    sc.write_text(f'extends = "{SMALL}"\nduration_h = 2\n[population]\npeople = 300\n')
    sweep(sc, {"facematch.threshold": [0.6]}, replications=1, out=tmp_path / "sw", workers=1)
    compare([sc], replications=1, out=tmp_path / "c", workers=1)
    for f in (
        tmp_path / "sw" / "sweep.parquet",
        tmp_path / "c" / "comparison.parquet",
        tmp_path / "c" / "replications.parquet",
        tmp_path / "sw" / "points" / "point-00000.parquet",
    ):
        meta = pq.read_schema(f).metadata
        assert b"numpy" in meta[b"library_versions"], f


@pytest.mark.slow
def test_a_scheduler_that_dies_mid_sweep_ends_in_one_message(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    sc = tmp_path / "s.toml"
    sc.write_text(f'extends = "{SMALL}"\nduration_h = 24\n[population]\npeople = 3000\n')
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim",
                "sweep",
                str(sc),
                "--grid",
                "facematch.threshold=0.5,0.52,0.54,0.56,0.58,0.6,0.62,0.64",
                "--replications",
                "2",
                "--out",
                str(tmp_path / "sw"),
                "--scheduler",
                cluster.scheduler_address,
                "-q",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not list((tmp_path / "sw" / "points").glob("point-*.parquet")):
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            time.sleep(0.05)
    finally:
        cluster.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, (proc.returncode, err[-3000:])
    assert "Traceback" not in err and "lost the Dask scheduler" in err, err[-3000:]


def test_report_of_a_damaged_run_is_one_message(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    assert (
        survsim("run", SMALL, "--out", run_dir, "-q", "--set", "population.people=300").returncode
        == 0
    )
    (run_dir / "summary.json").write_text("{not json")
    refused(survsim("report", run_dir), "damaged")
    (run_dir / "summary.json").write_text("[1, 2]")
    refused(survsim("report", run_dir), "damaged")
