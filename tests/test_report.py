"""The run report (``analysis/report.py``): its sentences carry the run's numbers, it fetches
nothing, and a real browser renders every figure (Debian's chromium, as in test_browser.py)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from analysis import read_run
from analysis.report import build_run_report, headlines
from sim.facematch import MODELS
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

# classroom_small, smaller, with every part of the report switched on: officers dispatched on
# alerts (stops), one slow reviewer (a queue), a protest with listed activists and the assembly
# detector (gatherings, alarms), and 30 days of retention (tracking reach).
OVERRIDES: dict[str, Any] = {
    "population.people": 1500,
    "facematch.threshold": 0.58,
    "watchlist.present": 25,
    "governance.alert_action": "dispatch",
    "governance.officers": 6,
    "governance.review": {"enabled": True, "reviewers": 1, "review_time_s": 60},
    "governance.assembly_analytics": True,
    "governance.retention_days": 30,
    "assembly": {"k": 3, "radius_m": 200, "window_min": 60},
    "gathering": [
        {
            "name": "protest",
            "place": "plaza",
            "start_h": 18,
            "duration_h": 2,
            "size": 400,
            "watchlisted": 12,
        }
    ],
}
FIGURES = {"groups", "stops", "repeats", "map", "alerts", "review_queue", "assembly", "reach"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    sc = load_scenario(SCENARIOS / "classroom_small.toml", overrides=OVERRIDES)
    sim.run(sc, out=out)
    model = MODELS[sc.facematch.model]
    path = build_run_report(out, caveats=list(model.caveats), sources=list(model.sources))
    assert path == out / "report.html"
    return out


@pytest.fixture(scope="module")
def summary(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "summary.json").read_text()))


@pytest.fixture(scope="module")
def page_html(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text(encoding="utf-8")


def findings(page: str) -> dict[str, str]:
    return {
        k: html.unescape(v)
        for k, v in re.findall(r"<li data-key='(\w+)'>(.*?)</li>", page, flags=re.S)
    }


def csv_links(page: str) -> dict[str, list[dict[str, str]]]:
    out = {}
    for name, href in re.findall(r"<a class='csv-link' download='([^']+)' href='([^']+)'>", page):
        assert href.startswith("data:text/csv;charset=utf-8,")
        text = urllib.parse.unquote(href.split(",", 1)[1])
        out[name] = list(csv.DictReader(io.StringIO(text)))
    return out


def test_the_scenario_exercises_every_section(summary: dict[str, Any]) -> None:
    for key in (
        "alerts",
        "false_alerts",
        "stops",
        "wrongful_stops",
        "review_backlog_max",
        "gatherings",
        "assembly_alarms",
        "false_assembly_alarms",
    ):
        assert summary[key] > 0, key
    assert summary["tracking_reach_mean"] > 0


def test_headlines_carry_the_summary_numbers(summary: dict[str, Any], page_html: str) -> None:
    s = summary
    f = findings(page_html)
    assert f"{s['captures']:,} faces" in f["captures"]
    assert f"of the city's {s['people']:,} residents" in f["captures"]

    share = s["false_alerts"] / s["alerts"]
    assert f["false_share"] == (
        f"Of every 100 alerts, {100 * share:.0f} pointed at the wrong "
        f"person ({s['false_alerts']:,} of {s['alerts']:,} alerts)."
    )

    # The headline disparity: the summary's, with its interval, in readable names.
    label = s["group_labels"]
    d = s["false_alert_disparity"]
    if d:
        assert f["disparity"].startswith(
            f"{label[d['group']]} were {d['ratio']:.1f} times as likely as "
            f"{label[d['reference']]} to be falsely flagged"
        )
        assert f"95% interval {d['ci'][0]:.1f} to" in f["disparity"]
    few = [g for g, v in s["false_alert_too_few_by_group"].items() if v]
    for g in few:
        assert label[g] in f["disparity"], "groups with too few events are named as such"
    assert ("Too few false alerts to tell" in f["disparity"]) == bool(few and d)
    assert f["disparity"].startswith("Too few false alerts to compare") == (not d)

    found = round(s["watchlist_detected_share"] * s["watchlist_present"])
    assert f"found {found} of the {s['watchlist_present']} people" in f["detected"]

    assert f"{s['stops']} stops" in f["stops"]
    assert f"{s['arrests']} arrests" in f["stops"]
    assert f"{s['wrongful_stops']} wrongful stops" in f["stops"]
    per100k = s["wrongful_stops_per_100k_by_group"]
    top = max(per100k, key=per100k.__getitem__)
    assert (
        f"{label[top]} were stopped wrongfully most often ({per100k[top]:,.0f}"
        in f["wrongful_per_100k"]
    )

    assert f"for {100 * s['tracking_reach_mean']:.0f}% of their time away" in f["tracking"]
    assert f"home of {100 * s['home_inferred_share']:.1f}% of residents" in f["tracking"]
    assert f"at random would hit {100 * s['home_inferred_chance_share']:.1f}%" in f["tracking"]
    if s["false_links"]:
        assert f"linked {s['false_links']:,} captures to the wrong person" in f["tracking"]
        assert f"{100 * s['tracking_precision_mean']:.0f}% of what it held" in f["tracking"]

    g = f["gatherings"]
    assert ("spotted the gathering" in g) == (s["gatherings_detected"] == 1)
    assert f"{s['false_assembly_alarms']} assembly alarms out of {s['assembly_alarms']}" in g
    minutes = round(s["assembly_detection_latency_s"] / 60)
    assert (f"{minutes} minutes" if minutes < 90 else f"{minutes // 60} hour") in g


def test_parity_table_applies_the_four_fifths_rule_to_the_best_treated_group(
    summary: dict[str, Any], run_dir: Path, page_html: str
) -> None:
    # Recomputed from the run's own tables: false alerts on people not listed, per group, and
    # captures of such people; the best-treated group has the lowest rate among groups with at
    # least 10 false alerts.
    t = read_run(run_dir)
    group_of = dict(
        zip(
            t["people"].column("person_id").to_pylist(),
            t["people"].column("group_id").to_pylist(),
            strict=True,
        )
    )
    listed = set(np.flatnonzero(t["people"].column("is_listed").to_numpy()).tolist())
    names = dict(
        zip(
            t["groups"].column("group_id").to_pylist(),
            t["groups"].column("group").to_pylist(),
            strict=True,
        )
    )
    captured = Counter(
        names[group_of[p]] for p in t["captures"].column("person_id").to_pylist() if p not in listed
    )
    false = summary["false_alerts_unlisted_by_group"]
    assert summary["unlisted_captures_by_group"] == {g: captured[g] for g in false}
    told = {g: false[g] / captured[g] for g in false if false[g] >= 10 and captured[g]}
    best = min(told, key=told.__getitem__)
    assert summary["false_alert_parity_best_group"] == best
    table = page_html.split("class='parity'")[1].split("</table>")[0]
    rows = dict(re.findall(r"<tr class='\w+'><td>([^<]+)</td>.*?<td>([^<]+)</td></tr>", table))
    assert len(rows) == len(summary["group_labels"])
    for g, k in false.items():
        verdict = html.unescape(rows[html.escape(summary["group_labels"][g])])
        if k < 10:
            assert verdict == "too few to tell"
        elif told[g] / told[best] <= 1.25:
            assert verdict == "within"
        else:
            assert verdict in ("within", "outside: flagged more often")
    assert html.escape(summary["group_labels"][best]) in page_html.split("Parity check")[1]


def test_the_page_fetches_nothing(page_html: str) -> None:
    assert page_html.count("* plotly.js v") == 1, "plotly.js embedded once"
    # The plotly.js bundle names web addresses in its own code (links it can draw, such as the
    # logo's), none fetched on loading: the browser test checks what is actually requested.
    start = page_html.index("* plotly.js v")
    rest = page_html[:start] + page_html[page_html.index("</script>", start) :]
    assert not re.search(r"<script[^>]*\ssrc=", rest), "no external scripts"
    assert not re.search(r"<(?:link|iframe|img|object|embed)\b", rest)
    assert "@import" not in rest and "url(" not in rest
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", rest)
    # Outside the bundle the page has no web addresses at all, fetched or not.
    assert not re.search(r"https?://", rest), re.findall(r".{40}https?://.{40}", rest)[:3]


def test_run_details_settings_and_model_caveats(
    page_html: str, run_dir: Path, summary: dict[str, Any]
) -> None:
    for value in (
        summary["scenario_hash"],
        summary["survsim_version"],
        f"<dd>{summary['seed']}</dd>",
        "nist_frvt2019_median",
    ):
        assert str(value) in page_html
    settings = page_html.split("<details>")[1].split("</details>")[0]
    resolved = (run_dir / "scenario.resolved.toml").read_text()
    assert html.escape(resolved, quote=True) in settings
    for c in (*MODELS["nist_frvt2019_median"].caveats, *MODELS["nist_frvt2019_median"].sources):
        assert html.escape(c, quote=True) in page_html


def test_csv_downloads_hold_the_tables_behind_the_figures(
    page_html: str, summary: dict[str, Any]
) -> None:
    links = csv_links(page_html)
    assert len(links) == len(FIGURES), sorted(links)
    groups = links["false_alerts_by_group.csv"]
    assert sum(int(r["false_alerts"]) for r in groups) == summary["false_alerts"]
    assert sum(int(r["captures"]) for r in groups) == summary["captures"]
    hours = links["alerts_per_hour.csv"]
    assert sum(int(r["alerts_wrong_person"]) for r in hours) == summary["false_alerts"]
    assert sum(int(r["alerts_right_person"]) for r in hours) == summary["true_alerts"]
    points = links["map_points.csv"]
    assert sum(r["layer"] == "false alert" for r in points) == summary["false_alerts"]
    assert sum(r["layer"] == "wrongful stop" for r in points) == summary["wrongful_stops"]
    reach = links["tracking_reach_histogram.csv"]
    assert sum(int(r["everyone"]) for r in reach) <= summary["people"]


def test_a_run_without_alerts_still_reads_well(tmp_path: Path) -> None:
    sc = load_scenario(
        SCENARIOS / "classroom_small.toml",
        overrides={"population.people": 400, "governance.ban": True},
    )
    sim.run(sc, out=tmp_path / "ban")
    page = build_run_report(tmp_path / "ban").read_text(encoding="utf-8")
    f = findings(page)
    assert "no faces" in f["captures"] and "banned" in f["captures"]
    assert f["false_share"] == "The system raised no alerts, so nobody was falsely flagged."
    assert "disparity" not in f
    assert "were not passed to this report" in page


def test_headlines_survive_missing_and_null_values() -> None:
    assert headlines({}, [], {}, 0)
    nulls = {
        "alerts": 3,
        "false_alerts": 0,
        "false_alert_share": None,
        "false_alert_rate_by_group": {"a": None, "b": 0.0},
        "tracking_reach_mean": None,
        "watchlist_detected_share": None,
        "gatherings": 0,
        "assembly_alarms": 2,
    }
    text = " ".join(t for _, t in headlines(nulls, [], {}, 5))
    assert "None" not in text and "nan" not in text
    assert "all false alarms" in text


def test_report_renders_offline_in_a_browser(browser: Any, run_dir: Path, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((run_dir / "report.html").as_uri())
    page.wait_for_selector(".js-plotly-plot .trace", timeout=30_000)
    figures = page.locator("figure.fig")
    names = {figures.nth(i).get_attribute("data-fig") for i in range(figures.count())}
    assert names == FIGURES
    plots = page.locator(".js-plotly-plot")
    assert plots.count() == len(FIGURES)
    for i in range(plots.count()):
        assert plots.nth(i).locator(".trace").count() >= 1, plots.nth(i).get_attribute("id")
    assert page.locator("a.csv-link[download]").count() == len(FIGURES)
    assert page.locator(".findings li").count() >= 8
    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), (
        f"the report must open offline, it fetched {requests}"
    )
    shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert len(shot) > 50_000, "a report, not a blank page"
    page.close()


def test_the_map_draws_every_street_from_the_edges_table(run_dir: Path) -> None:
    from analysis.report import _polylines

    tables = read_run(run_dir)
    edges, nodes = tables["edges"], tables["nodes"]
    assert edges.num_rows > 0
    x = nodes.column("x_m").to_numpy()
    y = nodes.column("y_m").to_numpy()
    u = edges.column("u").to_numpy()
    v = edges.column("v").to_numpy()
    xs = edges.column("x_m").to_pylist()
    ys = edges.column("y_m").to_pylist()
    # Each street's shape runs from its u crossing to its v crossing.
    assert [p[0] for p in xs] == pytest.approx(x[u].tolist())
    assert [p[-1] for p in ys] == pytest.approx(y[v].tolist())
    px, py = _polylines(edges)
    # One vertex run per street, each followed by a gap.
    assert int(np.isnan(px).sum()) == edges.num_rows == int(np.isnan(py).sum())
    assert px.size == sum(len(p) for p in xs) + edges.num_rows
    assert np.nanmax(np.abs(px - np.round(px, 1))) == 0


def test_the_headline_disparity_has_its_interval_and_names_the_groups_too_few_to_tell() -> None:
    from analysis import rates
    from analysis.report import Group, headlines

    groups = [
        Group("a", "Group A", "#000", 1000),
        Group("b", "Group B", "#111", 1000),
        Group("c", "Group C", "#222", 10),
    ]
    false, caps = {"a": 40, "b": 90, "c": 2}, {"a": 100_000, "b": 50_000, "c": 400}
    s = {
        "captures": 150_400,
        "people": 2010,
        "duration_s": 86_400,
        "alerts": 200,
        "false_alerts": 132,
        "false_alert_share": 0.66,
        "false_alerts_by_group": false,
        "false_alert_rate_by_group": {g: false[g] / caps[g] * 1000 for g in false},
        **rates.summary_keys(false, caps),
    }
    text = dict(headlines(s, groups, {}, 10))["disparity"]
    lo, hi = rates.ratio_interval(90, 50_000, 40, 100_000) or (0, 0)
    assert text.startswith("Group B were 4.5 times as likely as Group A to be falsely flagged")
    assert f"95% interval {lo:.1f} to {hi:.1f} times" in text
    assert "Too few false alerts to tell for 1 group (Group C)" in text
