"""The command line end to end, and what a killed run leaves behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pyarrow as pa

from analysis.metrics import read_run, read_table
from sim.scenario import Scenario, load_scenario
from sim.schema import SCHEMA_VERSION, TABLES
from tests.conftest import ROOT, SCENARIOS

FAST = ["--set", "population.people=600", "--set", "duration_h=6"]


def survsim(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_run_writes_the_contract_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = survsim("run", str(SCENARIOS / "classroom_small.toml"), "--out", str(out), *FAST)
    assert p.returncode == 0, p.stderr
    assert "faces captured" in p.stdout and str(out) in p.stdout, "a readable table"
    assert (out / "scenario.resolved.toml").is_file()
    for name in TABLES:
        assert (out / "events" / f"{name}.arrow").is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["people"] == 600 and summary["duration_s"] == 6 * 3600
    assert summary["scenario"] == "classroom_small" and summary["seed"] == 7
    resolved = Scenario.model_validate(tomllib.loads((out / "scenario.resolved.toml").read_text()))
    assert resolved == load_scenario(
        SCENARIOS / "classroom_small.toml", ["population.people=600", "duration_h=6"]
    )
    meta = read_table(out / "events" / "captures.arrow").schema.metadata
    assert meta[b"seed"] == b"7" and meta[b"replication"] == b"0"
    assert meta[b"schema_version"] == SCHEMA_VERSION.encode()
    assert meta[b"scenario_hash"] == resolved.content_hash().encode()
    assert meta[b"survsim_version"]
    field = read_table(out / "events" / "captures.arrow").schema.field("t_s")
    assert field.metadata[b"unit"] == b"s", "units travel with the columns"


def test_seed_option_and_json_output(tmp_path: Path) -> None:
    p = survsim(
        "run",
        str(SCENARIOS / "classroom_small.toml"),
        "--out",
        str(tmp_path / "a"),
        "--seed",
        "5",
        "--json",
        *FAST,
    )
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["seed"] == 5
    q = survsim(
        "run",
        str(SCENARIOS / "classroom_small.toml"),
        "--out",
        str(tmp_path / "b"),
        "--seed",
        "5",
        "--quiet",
        *FAST,
    )
    assert q.returncode == 0 and q.stdout == ""
    for name in ("trips", "captures", "alerts"):
        a = read_table(tmp_path / "a" / "events" / f"{name}.arrow")
        b = read_table(tmp_path / "b" / "events" / f"{name}.arrow")
        assert a.equals(b), f"{name}: same seed, same table"


def test_overwrite_replaces_a_run(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert (
        survsim(
            "run", str(SCENARIOS / "classroom_small.toml"), "--out", str(out), "-q", *FAST
        ).returncode
        == 0
    )
    p = survsim(
        "run",
        str(SCENARIOS / "classroom_small.toml"),
        "--out",
        str(out),
        "-q",
        "--overwrite",
        "--set",
        "population.people=300",
        "--set",
        "duration_h=6",
    )
    assert p.returncode == 0, p.stderr
    assert json.loads((out / "summary.json").read_text())["people"] == 300


def test_ban_scenario_has_zero_captures_and_alerts(tmp_path: Path) -> None:
    p = survsim(
        "run",
        str(SCENARIOS / "ban.toml"),
        "--out",
        str(tmp_path / "ban"),
        "--json",
        "--set",
        "population.people=2000",
        "--set",
        "duration_h=4",
    )
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["captures"] == 0 and s["alerts"] == 0 and s["false_alerts"] == 0


def test_validate_and_schema_commands(tmp_path: Path) -> None:
    p = survsim("validate", str(SCENARIOS / "capital_cctv.toml"))
    assert p.returncode == 0 and "valid" in p.stdout
    p = survsim("schema", "--out", str(tmp_path / "s.json"))
    assert p.returncode == 0
    assert json.loads((tmp_path / "s.json").read_text()) == json.loads(
        (SCENARIOS / "scenario.schema.json").read_text()
    )
    p = survsim("schema", "--summary", "--out", str(tmp_path / "summary.json"))
    assert p.returncode == 0
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(
        (SCENARIOS.parent / "docs" / "summary.schema.json").read_text()
    ), "docs/summary.schema.json is stale: make schema"
    from analysis.summary import summary_markdown

    assert (SCENARIOS.parent / "docs" / "summary.md").read_text("utf-8") == summary_markdown(), (
        "docs/summary.md is stale: make schema"
    )
    assert survsim("--version").stdout.startswith("survsim ")


def test_python_api_matches_files(tmp_path: Path) -> None:
    import sim

    sc = load_scenario(
        SCENARIOS / "classroom_small.toml", ["population.people=500", "duration_h=5"]
    )
    mem = sim.run(sc)
    disk = sim.run(sc, out=tmp_path / "d")
    files = read_run(tmp_path / "d")
    for name in TABLES:
        assert mem.tables[name].equals(files[name]), name
    assert {k: v for k, v in mem.summary.items() if k != "wall_s"} == {
        k: v for k, v in disk.summary.items() if k != "wall_s"
    }


def test_torn_last_batch_keeps_the_complete_ones(tmp_path: Path) -> None:
    schema = TABLES["alerts"].schema()
    path = tmp_path / "alerts.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as w:
        for k in range(3):
            ids = np.arange(k * 10, k * 10 + 10)
            w.write_batch(
                pa.RecordBatch.from_arrays(
                    [
                        pa.array(ids, pa.int64()),
                        pa.array(ids * 1.0),
                        pa.array(ids, pa.int64()),
                        pa.array(np.zeros(10, np.int32)),
                        pa.array(["main"] * 10)
                        .dictionary_encode()
                        .cast(schema.field("watchlist").type),
                        pa.array(np.zeros(10, np.int32)),
                        pa.array(np.full(10, 0.7, np.float32)),
                    ],
                    schema=schema,
                )
            )
    data = path.read_bytes()
    full = read_table(path)
    assert full.num_rows == 30
    # Cut into the middle of the last batch: the first two survive.
    path.write_bytes(data[: len(data) - 8 - 60])
    torn = read_table(path)
    assert torn.num_rows == 20
    assert torn.column("alert_id").to_pylist() == list(range(20))


def test_sigkill_leaves_every_completed_batch_readable(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(SCENARIOS / "capital_cctv.toml"),
            "--out",
            str(out),
            "--quiet",
            "--set",
            "duration_h=96",
            "--set",
            "population.people=30000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    caps = out / "events" / "captures.arrow"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if caps.exists() and caps.stat().st_size > 2_000_000:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists(), "killed before the end"
    tables = read_run(out)
    assert set(tables) == set(TABLES), "every table's file exists"
    c = tables["captures"]
    assert c.num_rows > 10_000, "completed batches survive"
    assert c.column("capture_id").to_pylist() == list(range(c.num_rows)), "no gaps, no junk"
    t = c.column("t_s").to_numpy()
    assert np.all(np.diff(t) >= 0)
    assert tables["trips"].num_rows > 0 and tables["people"].num_rows == 30_000


def test_the_run_table_shows_each_scenarios_own_outcome(tmp_path: Path) -> None:
    # prison: door checks, not street alerts; the table must show them, with the summary's
    # numbers, and every group rate with its interval.
    out = tmp_path / "prison"
    p = survsim(
        "run",
        str(SCENARIOS / "prison.toml"),
        "--out",
        str(out),
        "--set",
        "population.people=3000",
        "--set",
        "duration_h=12",
    )
    assert p.returncode == 0, p.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["verifications"] > 0
    text = " ".join(p.stdout.split())
    assert f"identity checks at doors │ {s['verifications']:,}" in text
    assert f"genuine people wrongly refused │ {s['false_rejects']:,}" in text
    assert "95% interval" in p.stdout
    out2 = tmp_path / "protest"
    p2 = survsim(
        "run",
        str(SCENARIOS / "capital_protest.toml"),
        "--out",
        str(out2),
        "--set",
        "population.people=6000",
        "--set",
        "gathering.0.size=400",
    )
    assert p2.returncode == 0, p2.stderr
    s2 = json.loads((out2 / "summary.json").read_text())
    text2 = " ".join(p2.stdout.split())
    assert f"detected from participants' faces │ {s2['gatherings_detected']}" in text2
    # capital_protest keeps unmatched captures: the movements the system rebuilds, truly and
    # as it believes (false links included), are its own outcome too.
    assert s2["tracking_reach_mean"] > 0
    assert (
        f"time away rebuilt from kept captures │ {s2['tracking_reach_mean']:.1%} truly, "
        f"{s2['tracking_reach_believed_mean']:.1%} as believed"
    ) in text2
    assert f"captures linked to the wrong person │ {s2['false_links']:,}" in text2
