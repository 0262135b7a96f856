"""`survsim sensitivity`: SALib's indices on functions with known answers, the "matters" rule
against chance, verdicts, --vary parsing, the face-match assumptions a scenario can set, and a
whole design run twice, resumed, on Dask and in the browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from analysis import sensitivity as sa
from sim.edge.experiments import parse_vary, sensitivity
from sim.errors import ScenarioError, UserError
from tests.conftest import SCENARIOS
from tests.test_bad_input import assert_user_error, survsim
from tests.test_experiments import same

CLASSROOM = SCENARIOS / "classroom_small.toml"
F2 = [sa.Factor("a", 0.0, 2.0), sa.Factor("b", 10.0, 20.0)]


# ---------------------------------------------------------------- indices, known answers
def test_morris_on_a_linear_function_gives_its_slopes_over_the_range() -> None:
    x = sa.design(F2, "morris", 20, seed=7)
    assert x.shape == (20 * 3, 2)
    assert set(np.round((x[:, 0] - 0.0) / 2.0 * 3, 9)) <= {0, 1, 2, 3}  # four levels
    y = 5.0 * x[:, 0] + 0.0 * x[:, 1]
    got = {r["input"]: r for r in sa.indices(F2, "morris", x, y, seed=3, sd=None)["rows"]}
    # Elementary effect = dY / (step in the unit range): the slope times the range.
    assert got["a"]["mu_star"] == pytest.approx(5.0 * 2.0)
    assert got["a"]["mu"] == pytest.approx(10.0) and got["a"]["sigma"] == pytest.approx(0.0)
    assert got["b"]["mu_star"] == 0.0
    assert got["a"]["matters"] and not got["b"]["matters"]
    assert sa.direction(got["a"]) == "up"


def test_sobol_on_an_additive_function_gives_its_variance_shares() -> None:
    f = [sa.Factor("a", 0.0, 1.0), sa.Factor("b", 0.0, 1.0), sa.Factor("c", 0.0, 1.0)]
    x = sa.design(f, "sobol", 1024, seed=11)
    assert x.shape == (1024 * 5, 3)
    y = x[:, 0] + 2.0 * x[:, 1]  # variances 1/12 and 4/12: shares 0.2 and 0.8; c none
    got = {r["input"]: r for r in sa.indices(f, "sobol", x, y, seed=5, sd=None)["rows"]}
    assert got["a"]["S1"] == pytest.approx(0.2, abs=0.03)
    assert got["b"]["S1"] == pytest.approx(0.8, abs=0.03)
    assert got["b"]["ST"] == pytest.approx(0.8, abs=0.03)
    assert abs(got["c"]["ST"]) < 0.01
    assert [k for k, r in got.items() if r["matters"]] == ["b", "a"]


def test_a_design_is_the_same_for_the_same_seed_and_leaves_numpys_global_state() -> None:
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - checked, not drawn from
    a = sa.design(F2, "morris", 6, seed=99)
    b = sa.design(F2, "morris", 6, seed=99)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, sa.design(F2, "morris", 6, seed=98))
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_integer_inputs_are_whole_numbers() -> None:
    x = sa.design([sa.Factor("n", 100, 400, integer=True), F2[0]], "morris", 5, seed=1)
    assert np.array_equal(x[:, 0], np.rint(x[:, 0])) and set(x[:, 0]) <= {100, 200, 300, 400}


def test_chance_alone_rarely_makes_a_null_input_matter() -> None:
    """Noise of known sd on every run: the null input stays under the chance floor in at
    least 90% of designs (the floor is two standard errors above its expected mu*), and the
    real effect (3 sd over the range) is found in nearly all."""
    sd = 1.0
    f = [sa.Factor("real", 0.0, 1.0), sa.Factor("null", 0.0, 1.0)]
    null_hits = real_hits = 0
    for seed in range(60):
        x = sa.design(f, "morris", 10, seed=seed + 1)
        y = 3.0 * sd / sa.MORRIS_DELTA * x[:, 0] + np.random.default_rng(seed).normal(0, sd, len(x))
        got = {r["input"]: r for r in sa.indices(f, "morris", x, y, seed=1, sd=sd)["rows"]}
        null_hits += got["null"]["matters"]
        real_hits += got["real"]["matters"]
    assert null_hits <= 6, null_hits
    assert real_hits >= 54, real_hits


def test_undefined_points_drop_their_trajectory_or_give_a_reason() -> None:
    x = sa.design(F2, "morris", 4, seed=2)
    y = x[:, 0].copy()
    y[0] = np.nan  # the first trajectory has an undefined point
    got = sa.indices(F2, "morris", x, y, seed=1, sd=None)
    assert got["used"] == 9 and got["rows"][0]["input"] == "a"
    y[3:] = np.nan
    note = sa.indices(F2, "morris", x, y, seed=1, sd=None)["note"]
    assert note.startswith("too few events to tell at 10 of 12 points") and "two whole" in note
    xs = sa.design(F2, "sobol", 8, seed=2)
    ys = xs[:, 0].copy()
    ys[5] = np.nan
    assert "undefined at 1 of 8" in sa.indices(F2, "sobol", xs, ys, seed=1, sd=None)["note"]
    assert (
        sa.indices(F2, "morris", x, np.ones(len(x)), 1, None)["note"] == "the same at every point"
    )


def test_noise_floor_is_the_null_mu_star_plus_two_standard_errors() -> None:
    rng = np.random.default_rng(0)
    s = np.sqrt(2.0) / sa.MORRIS_DELTA
    mu_star = np.abs(rng.normal(0, s, (200_000, 10))).mean(axis=1)
    assert sa.noise_floor(1.0, 10) == pytest.approx(mu_star.mean() + 2 * mu_star.std(), rel=0.01)


# ---------------------------------------------------------------- verdicts
def test_verdicts_count_holds_ties_opposites_and_unknowns() -> None:
    v = sa.verdict(
        "B has fewer false alerts than A",
        np.array([1.0, 2.0, -1.0, 0.0, np.nan]),
        ["facematch.threshold"],
    )
    assert (v.holds, v.fails, v.ties, v.undefined) == (2, 1, 1, 1) and not v.robust
    assert v.text({"facematch.threshold": "threshold"}) == (
        "B has fewer false alerts than A: depends on threshold; it holds at 2 of 5 points, no "
        "difference at 1, the opposite at 1, too few events to tell at 1."
    )
    ok = sa.verdict("X", np.array([0.5, 1.0, np.nan]), [])
    assert ok.robust and "robust, it holds at all 2 points where it can be told" in ok.text()
    assert not sa.verdict("X", np.array([1.0]), [], chance=True).robust
    assert (
        "cannot be told from run-to-run chance"
        in sa.verdict("X", np.array([1.0]), [], chance=True).text()
    )
    assert sa.within_chance(0.5, 1.0) and not sa.within_chance(2.0, 1.0)


def test_a_verdict_says_where_one_input_splits_it() -> None:
    f = [sa.Factor("a", 0.0, 1.0), sa.Factor("t", 0.5, 0.7)]
    x = np.array([[0.1, 0.5], [0.9, 0.6], [0.5, 0.7], [0.2, 0.7]])
    v = sa.verdict("B is better", np.array([1.0, 2.0, -1.0, 0.0]), ["t"], factors=f, x=x)
    assert (v.split_input, v.split_above, v.split_value) == ("t", True, 0.7)
    assert v.text({"t": "threshold"}).endswith("it fails only where threshold is at least 0.7.")
    mixed = sa.verdict("B", np.array([1.0, -1.0, 1.0, -1.0]), [], factors=f, x=x)
    assert mixed.split_input is None and "fails only" not in mixed.text()


# ---------------------------------------------------------------- --vary
def test_parse_vary() -> None:
    got = parse_vary(
        [
            "facematch.threshold=0.55, 0.7",
            "watchlist.size=100,400",
            "facematch.assumptions.cross_race_shift",
        ]
    )
    assert got[0] == sa.Factor("facematch.threshold", 0.55, 0.7, False, "")
    assert got[1].integer and (got[1].low, got[1].high) == (100, 400)
    assert (got[2].low, got[2].high, got[2].label) == (0.57, 0.78, "cross-race shift (spreads)")
    bad = {
        "population.people": "a key alone is only for the face-match model's declared",
        "facematch.threshold=0.7": "expected two numbers",
        "facematch.threshold=0.7,0.6": "expected low < high",
        "facematch.threshold=low,0.6": "is not a number",
        "facematch.threshold=true,0.6": "is not a number",
        "watchlist.size=10,12": "at least four values",
        "=1,2": "expected key.path=low,high",
    }
    for raw, msg in bad.items():
        with pytest.raises(UserError, match=re.escape(msg)):
            parse_vary([raw])
    with pytest.raises(UserError, match="given twice"):
        parse_vary(["duration_h=4,8", "duration_h=4,9"])


# ---------------------------------------------------------------- assumptions in a scenario
def test_a_scenario_sets_a_named_assumption_of_the_presets() -> None:
    from sim.facematch import ASSUMPTIONS, MODELS, NIST_STRUCTURE, model_for
    from sim.scenario import Assumptions, load_scenario

    sc = load_scenario(
        CLASSROOM,
        ["facematch.assumptions.cross_race_shift=0.78", "facematch.assumptions.child_level=0"],
    )
    m = model_for(sc.facematch)
    assert m.structure.race == 0.78 and m.structure.level[0] == 0.0
    assert m.structure.sex == NIST_STRUCTURE.sex
    assert model_for(load_scenario(CLASSROOM).facematch) is MODELS[sc.facematch.model]
    # A set assumption overrides the ensemble's draw of it, the rest still drawn.
    ens = load_scenario(
        CLASSROOM,
        ['facematch.uncertainty="ensemble"', "facematch.assumptions.cross_race_shift=0.6"],
    )
    a, b = model_for(ens.facematch, 1), model_for(ens.facematch, 2)
    assert a.structure.race == b.structure.race == 0.6 and a.structure.sex != b.structure.sex
    # Every declared assumption but persistence (facematch.persistence) is a key, its range
    # in the schema's description the registry's.
    fields = Assumptions.model_fields
    keys = {
        a.path.rsplit(".", 1)[1] for a in ASSUMPTIONS if a.path.startswith("facematch.assumptions.")
    }
    assert set(fields) == keys
    for a in ASSUMPTIONS:
        if a.path.startswith("facematch.assumptions."):
            desc = fields[a.key].description or ""
            assert f"{a.low:.3g}-{a.high:.3g}" in desc, (a.key, desc)
    spec = {
        "model": "custom",
        "assumptions": {"cross_race_shift": 0.7},
        "custom": {"groups": {"group_a": {"fmr": 1e-4, "fnmr": 0.02}}},
    }
    with pytest.raises(ScenarioError, match=r"a custom model's values are given in"):
        load_scenario(
            {"facematch": spec, "population": {"groups": [{"name": "group_a", "share": 1.0}]}}
        )


# ---------------------------------------------------------------- a whole design
def _scenarios(tmp_path: Path) -> tuple[Path, Path]:
    base = tmp_path / "small.toml"
    base.write_text(
        f'extends = "{CLASSROOM}"\nname = "small"\nduration_h = 8\n[population]\npeople = 800\n'
    )
    ban = tmp_path / "ban.toml"
    ban.write_text(f'extends = "{base}"\nname = "small_ban"\n[governance]\nban = true\n')
    return base, ban


VARY = ["facematch.threshold=0.45,0.55", "facematch.assumptions.cross_race_shift"]


def test_a_design_runs_reproducibly_resumes_and_judges_a_policy(tmp_path: Path) -> None:
    base, ban = _scenarios(tmp_path)
    f = parse_vary(VARY)
    r = sensitivity(base, f, samples=3, against=ban, out=tmp_path / "s1", workers=2)
    t1 = pq.read_table(tmp_path / "s1" / "sensitivity.parquet")
    assert r["points"] == 9
    assert set(t1.column("point").to_pylist()) == set(range(-1, 9))
    # The face-match threshold drives false alerts (from 0.45 to 0.55 they fall many-fold);
    # the cross-race shift moves them far less.
    fa = next(
        m for m in r["metric_ranges"] if m["target"] == "scenario" and m["metric"] == "false_alerts"
    )
    assert fa["drivers"][0] == "facematch.threshold" and fa["high"] > 3 * max(fa["low"], 1)
    idx = pq.read_table(tmp_path / "s1" / "indices.parquet").to_pylist()
    row = next(
        x
        for x in idx
        if x["metric"] == "false_alerts"
        and x["target"] == "scenario"
        and x["input"] == "facematch.threshold"
    )
    assert row["matters"] and row["mu"] < 0  # a higher threshold, fewer false alerts
    # A ban has no false alerts at any point: robustly fewer.
    v = next(v for v in r["verdicts"] if "fewer false alerts" in v["statement"])
    assert v["robust"] and v["holds"] == 9 and v["statement"].startswith("small_ban has fewer")
    # The same design again: identical runs; an interrupted one resumes to the same table.
    sensitivity(base, f, samples=3, against=ban, out=tmp_path / "s2", workers=1)
    assert same(pq.read_table(tmp_path / "s2" / "sensitivity.parquet"), t1)
    for p in sorted((tmp_path / "s2" / "points").glob("point-*.parquet"))[4:]:
        p.unlink()
    sensitivity(base, f, samples=3, against=ban, out=tmp_path / "s2", workers=2, resume=True)
    assert same(pq.read_table(tmp_path / "s2" / "sensitivity.parquet"), t1)
    with pytest.raises(UserError, match="different"):
        sensitivity(base, f, samples=4, against=ban, out=tmp_path / "s2", resume=True)
    with pytest.raises(UserError, match="not empty"):
        sensitivity(base, f, samples=3, out=tmp_path / "s2")
    meta = json.loads((tmp_path / "s1" / "sensitivity.json").read_text())
    assert meta["complete"] and meta["method"] == "morris"


def test_sensitivity_on_dask_equals_local(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    base, _ = _scenarios(tmp_path)
    f = parse_vary(["facematch.threshold=0.5,0.62"])
    sensitivity(base, f, samples=2, out=tmp_path / "local", workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        sensitivity(base, f, samples=2, out=tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert same(
        pq.read_table(tmp_path / "dask" / "sensitivity.parquet"),
        pq.read_table(tmp_path / "local" / "sensitivity.parquet"),
    )


def test_cli_runs_a_design_and_its_report_opens(browser, tmp_path: Path) -> None:
    base, ban = _scenarios(tmp_path)
    out = tmp_path / "cli"
    proc = survsim(
        "sensitivity",
        base,
        *[a for v in VARY for a in ("--vary", v)],
        "--samples",
        "2",
        "--against",
        ban,
        "--out",
        out,
        "--workers",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert "robust" in proc.stdout and "small_ban has fewer false alerts" in proc.stdout
    html = (out / "report.html").read_text()
    assert "Which inputs drive the conclusions" in html and "face-match threshold" in html
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((out / "report.html").as_uri())
    page.wait_for_selector(".js-plotly-plot .trace", timeout=30_000, state="attached")
    n = int(page.locator("body").get_attribute("data-figures") or 0)
    assert n > 0 and page.locator(".js-plotly-plot").count() == n
    assert not errors, errors
    page.close()
    dry = survsim(
        "sensitivity", base, "--vary", VARY[0], "--method", "sobol", "--samples", "4", "--dry-run"
    )
    assert dry.returncode == 0 and "all 12 points" in dry.stdout, dry.stdout + dry.stderr


def test_cli_refuses_bad_designs_in_one_line(tmp_path: Path) -> None:
    base, _ = _scenarios(tmp_path)
    cases = {
        ("--vary", "population.peple=10,20"): "population.peple",
        (
            "--vary",
            "facematch.threshold=0.5,0.7",
            "--method",
            "sobol",
            "--samples",
            "6",
        ): "power of two",
        ("--vary", "facematch.threshold=0.5,0.7", "--method", "lhs"): "expected one of",
        ("--vary", "facematch.threshold=0.5,1.5"): "facematch.threshold",
        ("--vary", "facematch.threshold=0.5,0.7", "--samples", "100000"): "expected at most",
    }
    for args, needle in cases.items():
        proc = survsim("sensitivity", base, *args, "--out", tmp_path / "bad", "--quiet")
        assert_user_error(proc, needle)
        assert not (tmp_path / "bad").exists(), "nothing written for a refused design"
