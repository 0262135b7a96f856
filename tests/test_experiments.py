"""Comparisons and sweeps: intervals, paired differences, resume, and a real Dask cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sim.edge.experiments import compare, parse_grid, sweep
from sim.errors import UserError
from tests.conftest import ROOT, SCENARIOS

SMALL = ["population.people=500", "duration_h=8"]
CLASSROOM = SCENARIOS / "classroom_small.toml"


def same(a, b) -> bool:
    """Equal tables, counting NaN (an undefined metric) equal to NaN."""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a.column(name).to_numpy(), b.column(name).to_numpy()
        if x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def _metric(table, scenario: str, metric: str, group: str | None = None) -> dict:
    for r in table.to_pylist():
        if r["scenario"] == scenario and r["metric"] == metric and r["group"] == group:
            return r
    raise KeyError(metric)


def test_identical_scenarios_differ_by_exactly_zero(tmp_path: Path) -> None:
    t = compare(
        [CLASSROOM, CLASSROOM], replications=3, out=tmp_path / "c", workers=2, overrides=SMALL
    )
    second = [r for r in t.to_pylist() if r["scenario"] == "classroom_small-2"]
    assert second and all(r["diff_mean"] == 0.0 or np.isnan(r["diff_mean"]) for r in second)
    assert all(r["diff_ci_low"] == 0.0 or np.isnan(r["diff_ci_low"]) for r in second)
    assert (tmp_path / "c" / "runs" / "classroom_small" / "summary.json").exists()
    reps = pq.read_table(tmp_path / "c" / "replications.parquet")
    assert set(reps.column("replication").to_pylist()) == {0, 1, 2}


def test_intervals_shrink_with_replications(tmp_path: Path) -> None:
    few = compare([CLASSROOM], replications=3, out=tmp_path / "a", overrides=SMALL)
    many = compare([CLASSROOM], replications=12, out=tmp_path / "b", overrides=SMALL)
    w_few = _metric(few, "classroom_small", "captures")
    w_many = _metric(many, "classroom_small", "captures")
    assert (w_many["ci_high"] - w_many["ci_low"]) < (w_few["ci_high"] - w_few["ci_low"])
    assert w_many["ci_low"] <= w_many["mean"] <= w_many["ci_high"]


def test_a_policy_difference_is_paired(tmp_path: Path) -> None:
    t = compare(
        [SCENARIOS / "capital_cctv.toml", SCENARIOS / "capital_cctv_regulated.toml"],
        replications=3,
        out=tmp_path / "p",
        overrides=["population.people=8000", "deployment.0.count=100"],
    )
    base = _metric(t, "capital_cctv", "false_alerts")
    d = _metric(t, "capital_cctv_regulated", "false_alerts")
    assert base["mean"] > 5
    assert d["diff_mean"] < 0 and d["diff_ci_high"] < 0, "fewer false alerts, surely"
    cap = _metric(t, "capital_cctv_regulated", "people")
    assert cap["diff_mean"] == 0.0, "same people in both (common random numbers)"


GRID = {"facematch.threshold": [0.55, 0.6], "deployment.0.count": [10, 20]}


def test_sweep_writes_every_point_and_resume_skips_done_ones(tmp_path: Path) -> None:
    sc = tmp_path / "small.toml"
    sc.write_text(f'extends = "{CLASSROOM}"\nduration_h = 8\n[population]\npeople = 400\n')
    full = sweep(sc, GRID, replications=2, out=tmp_path / "s1", workers=2)
    assert sorted(set(full.column("point").to_pylist())) == [0, 1, 2, 3]
    assert len(list((tmp_path / "s1" / "points").glob("point-*.parquet"))) == 4
    # An interrupted sweep: only two points on disk; resume finishes the rest.
    part = tmp_path / "s2"
    sweep(sc, GRID, replications=2, out=part, workers=2)
    for f in sorted((part / "points").glob("point-*.parquet"))[2:]:
        f.unlink()
    resumed = sweep(sc, GRID, replications=2, out=part, workers=2, resume=True)
    assert same(resumed, full), "resumed sweep = uninterrupted sweep"
    with pytest.raises(UserError, match="different grid"):
        sweep(sc, {"facematch.threshold": [0.5]}, replications=2, out=part, resume=True)
    with pytest.raises(UserError, match="not empty"):
        sweep(sc, GRID, replications=2, out=part)


def test_parse_grid() -> None:
    g = parse_grid(
        [
            "facematch.threshold=0.6,0.62",
            "deployment.0.placement=random,footfall",
            "governance.ban=true,false",
        ]
    )
    assert g == {
        "facematch.threshold": [0.6, 0.62],
        "deployment.0.placement": ["random", "footfall"],
        "governance.ban": [True, False],
    }
    with pytest.raises(UserError):
        parse_grid(["nonsense"])


def test_dask_cluster_equals_local_even_when_a_worker_dies(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    sc = tmp_path / "small.toml"
    sc.write_text(f'extends = "{CLASSROOM}"\nduration_h = 24\n[population]\npeople = 1500\n')
    local = sweep(sc, GRID, replications=2, out=tmp_path / "local", workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = sweep(
            sc, GRID, replications=2, out=tmp_path / "dask", scheduler=cluster.scheduler_address
        )
        assert same(on_dask, local), "results do not depend on where runs execute"
        # Kill one worker process while a sweep is running: its tasks are rerun elsewhere.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim",
                "sweep",
                str(sc),
                "--grid",
                "facematch.threshold=0.55,0.6",
                "--grid",
                "deployment.0.count=10,20",
                "--replications",
                "2",
                "--out",
                str(tmp_path / "killed"),
                "--scheduler",
                cluster.scheduler_address,
                "--quiet",
            ],
            cwd=ROOT,
        )
        deadline = time.monotonic() + 120
        while not list((tmp_path / "killed" / "points").glob("point-*.parquet")):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep must still be running when a worker dies"
        with distributed.Client(cluster.scheduler_address) as client:
            pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        assert proc.wait(timeout=300) == 0
    killed = pq.read_table(tmp_path / "killed" / "sweep.parquet")
    assert same(killed, local), "a killed worker loses and duplicates nothing"


def test_compare_and_sweep_reports_open_in_a_browser(browser, tmp_path: Path) -> None:
    from analysis.report_many import build_report

    compare(
        [CLASSROOM, SCENARIOS / "classroom_small.toml"],
        replications=2,
        out=tmp_path / "c",
        overrides=SMALL,
    )
    sc = tmp_path / "small.toml"
    sc.write_text(f'extends = "{CLASSROOM}"\nduration_h = 8\n[population]\npeople = 400\n')
    sweep(sc, GRID, replications=2, out=tmp_path / "s", workers=2)
    pages = [build_report(tmp_path / "c"), build_report(tmp_path / "s")]
    for page_path in pages:
        html = page_path.read_text()
        assert "Key findings" in html and "text/csv" in html
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_selector(".js-plotly-plot .trace", timeout=30_000, state="attached")
        n = int(page.locator("body").get_attribute("data-figures") or 0)
        assert n > 0 and page.locator(".js-plotly-plot").count() == n
        for i in range(n):
            assert page.locator(".js-plotly-plot").nth(i).locator(".trace").count() > 0
        assert not errors, errors
        assert len(page.screenshot(full_page=True)) > 50_000
        page.close()


def test_tuned_allocator_changes_no_result() -> None:
    """Workers and the CLI raise glibc's malloc thresholds; the model output stays the same."""
    import json as _json

    from sim.procs import tune_allocator
    from tests.golden import GOLDEN, compute

    assert tune_allocator() or not sys.platform.startswith("linux")
    expected = _json.loads((GOLDEN / "classroom_small.json").read_text())
    assert _json.loads(_json.dumps(compute("classroom_small"), sort_keys=True)) == expected


@pytest.mark.slow
def test_model_uncertainty_widens_compare_intervals(tmp_path: Path) -> None:
    from sim.edge.experiments import compare

    fixed = tmp_path / "fixed.toml"
    fixed.write_text(
        f'extends = "{CLASSROOM}"\nname = "fixed"\n[population]\npeople = 2500\n'
        f"[facematch]\nthreshold = 0.56\n"
    )
    ens = tmp_path / "ens.toml"
    ens.write_text(f'extends = "{fixed}"\nname = "ens"\n[facematch]\nuncertainty = "ensemble"\n')
    table = compare([fixed, ens], replications=6, out=tmp_path / "c", workers=2)
    rows = {
        r["scenario"]: r
        for r in table.to_pylist()
        if r["metric"] == "false_alerts" and r["group"] is None
    }
    width = {n: r["ci_high"] - r["ci_low"] for n, r in rows.items()}
    assert width["ens"] > 1.5 * width["fixed"], width
    meta = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert meta["model_uncertainty"] == {"fixed": "none", "ens": "ensemble"}
    html = (tmp_path / "c" / "runs" / "ens" / "summary.json").read_text()
    assert '"model_uncertainty": "ensemble draw 0"' in html


def test_compare_report_speaks_plainly(tmp_path: Path) -> None:
    from analysis.report_many import build_compare_report

    strict = tmp_path / "strict.toml"
    strict.write_text(f'extends = "{CLASSROOM}"\nname = "strict"\n[facematch]\nthreshold = 0.66\n')
    compare(
        [CLASSROOM, strict],
        replications=2,
        out=tmp_path / "c",
        overrides=["population.people=1500"],
    )
    html = build_compare_report(tmp_path / "c").read_text()
    findings = html.split("Key findings")[1].split("</ul>")[0]
    assert "percentage points" in findings and "%" in findings, "shares in percent"
    assert "e-0" not in findings, "no scientific notation"
    assert "White men" in html, "groups by their readable names"
    assert "error_y" in html or '"error_y"' in html
    assert "Only 2 replication(s)" in html
    rows = pq.read_table(tmp_path / "c" / "comparison.parquet").to_pylist()
    for r in rows:
        if r["metric"] in ("false_alerts", "captures") and r["ci_low"] == r["ci_low"]:
            assert r["ci_low"] >= 0
        if "share" in r["metric"] and r["ci_high"] == r["ci_high"]:
            assert r["ci_low"] >= 0 and r["ci_high"] <= 1


def test_sweep_report_has_bands_a_trade_off_and_no_silent_gaps(tmp_path: Path) -> None:
    from analysis.report_many import build_sweep_report

    sc = tmp_path / "small.toml"
    sc.write_text(f'extends = "{CLASSROOM}"\nduration_h = 8\n[population]\npeople = 600\n')
    sweep(
        sc,
        parse_grid(["facematch.threshold=0.5,0.6"]),
        replications=2,
        out=tmp_path / "s",
        workers=1,
    )
    html = build_sweep_report(tmp_path / "s").read_text()
    assert (
        "face-match threshold" in html
        and "facematch.threshold" not in html.split("Key findings")[1].split("</ul>")[0]
    ), "plain labels in the findings"
    assert '"fill":"toself"' in html.replace(" ", ""), "95% bands"
    assert "The trade-off: listed people found against false alerts" in html
    # classroom_small's officers do not stop anyone: the wrongful-stops panel is left out
    # with a sentence, not drawn empty.
    assert "No wrongful stops at any point" in html
    assert "sweep-wrongful_stops" not in html
