"""One run as a single HTML page that a non-specialist can read: ``build_run_report(run_dir)``.

The page (``run_dir/report.html``) opens offline: plotly.js is embedded once, every figure's data
is inline, and each figure has a link that downloads the table behind it as CSV (a ``data:`` URL).
It holds:

- headline findings in plain sentences, generated from ``summary.json``;
- who was falsely flagged (per-group bars) and a parity table (the four-fifths rule against the
  best-treated group);
- wrongful stops per 100,000 residents by group, when officers acted on alerts;
- a map of the city: crossings, cameras, false alerts, wrongful stops, gatherings;
- timelines: alerts per hour (right and wrong person), the review queue, assembly alarms;
- how much of people's movements the system could rebuild (tracking reach);
- the scenario's settings, seed, versions, hash, and the face-match model's caveats and sources.

Like the rest of ``analysis`` it reads only the run directory and imports nothing from the
simulator but the schema, so the face-match model's caveats and sources come in as arguments.
This module builds the page; its parts come from ``analysis.report_headlines`` (the sentences),
``analysis.report_groups`` (the per-group figures and parity table), ``analysis.report_map`` (the
map), ``analysis.report_sections`` (the timelines and tracking reach) and
``analysis.report_base`` (what they share).

Usage: ``python -m analysis.report RUN_DIR`` (without the model's caveats), or from the edge
(the CLI) ``build_run_report(run_dir, caveats=list(m.caveats), sources=list(m.sources))``.
"""

from __future__ import annotations

import sys
import tomllib
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.io as pio
import pyarrow as pa
from plotly.offline import get_plotlyjs

from analysis.figures import write_page
from analysis.metrics import claimed_person, read_run, read_table
from analysis.report_base import PALETTE, AlertFacts, Group, Section, _col, _esc
from analysis.report_groups import _group_section, _repeat_section, _stops_section
from analysis.report_headlines import headlines
from analysis.report_map import _map_section
from analysis.report_map import _polylines as _polylines  # re-exported for the tests
from analysis.report_sections import (
    _alerts_section,
    _assembly_section,
    _queue_section,
    _reach_section,
)
from analysis.summary import Summary, read_summary

REPORT_NAME = "report.html"
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

GENERAL_CAVEATS = (
    "This is a simulation, not a measurement. The city, its residents and their movements are "
    "synthetic; the numbers show what survsim's models predict under this scenario's "
    "assumptions, not what any real system did.",
    "The face-match model is a model: its error rates come from laboratory tests (mostly of "
    "portrait photographs) and published trials, adjusted for street conditions with assumed "
    "values. Real systems, cameras and lighting differ, and vendors update their algorithms.",
    "One run is one random draw. Counts below about 5 (false alerts, stops) can change a lot "
    "with another seed; run several replications before quoting a small number or a ratio "
    "built on one.",
    "Groups are the scenario's categories (by default NIST's sex × race groups with US Census "
    "shares). Real people do not all fit such categories. Differences between groups come from "
    "the face-match model's error rates and from the scenario's settings (where groups live, "
    "whom officers stop, who gathers), never from anything the people did wrong.",
    "'Falsely flagged' means the system matched a passer-by's face to a watchlist entry that is "
    "someone else. What follows (nothing, a review, a stop) depends on the scenario's governance "
    "settings shown below.",
)


# --------------------------------------------------------------------------- the run's facts


def _nonempty(tables: Mapping[str, pa.Table], name: str) -> bool:
    return name in tables and tables[name].num_rows > 0


def _groups(tables: Mapping[str, pa.Table], summary: Summary) -> list[Group]:
    g = tables.get("groups")
    if g is None or g.num_rows == 0:
        names = list(summary.captures_by_group)
        labels = summary.group_labels
        return [
            Group(n, str(labels.get(n, n)), PALETTE[i % len(PALETTE)], 0)
            for i, n in enumerate(names)
        ]
    order = np.argsort(_col(g, "group_id"))
    names = g.column("group").to_pylist()
    labels = g.column("label").to_pylist()
    residents = np.zeros(len(names), np.int64)
    people = tables.get("people")
    if people is not None and people.num_rows:
        residents = np.bincount(_col(people, "group_id").astype(np.int64), minlength=len(names))
    return [
        Group(
            str(names[i]),
            str(labels[i] or names[i]),
            PALETTE[k % len(PALETTE)],
            int(residents[int(_col(g, "group_id")[i])]),
        )
        for k, i in enumerate(order)
    ]


def _person_group(tables: Mapping[str, pa.Table]) -> np.ndarray:
    people = tables.get("people")
    if people is None or people.num_rows == 0:
        return np.zeros(0, np.int64)
    out = np.zeros(int(_col(people, "person_id").max()) + 1, np.int64)
    out[_col(people, "person_id")] = _col(people, "group_id")
    return out


def _alert_facts(tables: Mapping[str, pa.Table], person_group: np.ndarray) -> AlertFacts:
    al = tables.get("alerts")
    caps = tables.get("captures")
    if al is None or al.num_rows == 0 or caps is None or caps.num_rows == 0:
        e = np.zeros(0)
        ei = np.zeros(0, np.int64)
        return AlertFacts(ei, e, e, e, ei, ei, e, np.zeros(0, bool))
    cid = _col(caps, "capture_id").astype(np.int64)
    row_of = np.full(int(cid.max()) + 1, -1, np.int64)
    row_of[cid] = np.arange(cid.size)
    row = row_of[_col(al, "capture_id").astype(np.int64)]
    person = _col(caps, "person_id").astype(np.int64)[row]
    wl = tables.get("watchlist")
    claimed = (
        claimed_person(wl, al)
        if wl is not None and wl.num_rows
        else np.full(al.num_rows, -1, np.int64)
    )
    return AlertFacts(
        alert_id=_col(al, "alert_id").astype(np.int64),
        t_s=_col(al, "t_s"),
        x_m=_col(caps, "x_m").astype(np.float64)[row],
        y_m=_col(caps, "y_m").astype(np.float64)[row],
        person=person,
        group=person_group[person] if person_group.size else person * 0,
        score=_col(al, "score").astype(np.float64),
        is_true=(claimed >= 0) & (claimed == person),
    )


def _metadata(tables: Mapping[str, pa.Table], summary: Summary) -> dict[str, str]:
    """Seed, versions and hash from the files' own metadata (the summary as a fallback)."""
    out = {
        k: str(v)
        for k in (
            "scenario",
            "seed",
            "replication",
            "scenario_hash",
            "schema_version",
            "survsim_version",
            "routing",
        )
        if (v := getattr(summary, k)) is not None
    }
    for t in tables.values():
        md = t.schema.metadata or {}
        if b"seed" in md:
            out.update(
                {
                    k.decode(): v.decode()
                    for k, v in md.items()
                    if k.decode()
                    in (
                        "scenario",
                        "seed",
                        "replication",
                        "scenario_hash",
                        "schema_version",
                        "survsim_version",
                        "map_attribution",
                        "routing",
                    )
                }
            )
            break
    return out


# --------------------------------------------------------------------------- the page

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #1d2327; background: #f6f7f9; margin: 0; line-height: 1.5; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; background: #fff;
       box-shadow: 0 0 12px rgba(0,0,0,0.06); }
h1 { font-size: 1.9rem; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.35rem; margin: 2.2em 0 0.4em; padding-top: 0.6em;
     border-top: 1px solid #e3e6ea; }
h3 { font-size: 1.1rem; margin: 1.6em 0 0.3em; }
.sub { color: #5f6b76; margin: 0 0 1em; }
.findings { background: #fdf6e3; border-left: 5px solid #e0a800; padding: 12px 20px 12px 16px;
            border-radius: 4px; }
.findings h2 { border: 0; margin: 0.2em 0 0.3em; padding: 0; }
.findings ul { margin: 0; padding-left: 1.2em; }
.findings li { margin: 0.45em 0; font-size: 1.05rem; }
.intro { max-width: 80ch; }
figure.fig { margin: 0.6em 0 0; }
.csv { font-size: 0.9rem; margin: 0.2em 0 0; }
.csv a { color: #1a5fa8; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.95rem; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 5px 12px 5px 4px; text-align: left; }
th { background: #f0f2f5; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.high td:last-child { color: #a93226; font-weight: 600; }
tr.low td:last-child { color: #9a6700; font-weight: 600; }
tr.ok td:last-child { color: #1e8449; }
tr.na td:last-child { color: #7f8c8d; }
.note { color: #5f6b76; font-size: 0.9rem; }
details { margin: 0.6em 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f6f8fa; padding: 12px; overflow-x: auto; font-size: 0.85rem;
      max-height: 600px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.meta dt { color: #5f6b76; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; }
nav { font-size: 0.92rem; margin: 0.6em 0 1.2em; }
nav a { margin-right: 14px; color: #1a5fa8; }
"""


def _csv_link(name: str, text: str) -> str:
    href = "data:text/csv;charset=utf-8," + urllib.parse.quote(text)
    return (
        f"<p class='csv'><a class='csv-link' download='{_esc(name)}' href='{href}'>"
        f"Download the data behind this figure ({_esc(name)})</a></p>"
    )


def _figure_html(sec: Section) -> str:
    div = pio.to_html(
        sec.fig,
        full_html=False,
        include_plotlyjs=False,
        config=PLOT_CONFIG,
        div_id=f"fig-{sec.key}",
        default_width="100%",
    )
    return (
        f"<section id='{_esc(sec.key)}'><h2>{_esc(sec.heading)}</h2>"
        f"<p class='intro'>{_esc(sec.intro)}</p>"
        f"<figure class='fig' data-fig='{_esc(sec.key)}'>{div}</figure>"
        f"{_csv_link(sec.csv_name, sec.csv_text)}{sec.after}</section>"
    )


ZONES_CAVEAT = (
    "This run found people's routes by zones (routing.paths set to zones, for a city too "
    "large for exact routes): a shortest way to the destination's neighbourhood, then a "
    "shortest way within it. Routes "
    "are then a little longer than the shortest, and more of them share the same streets, so "
    "cameras placed by footfall see more people: on a test grid, twice the captures and alerts "
    "of exact routes. Read the counts of captures and alerts as inflated; compare runs of "
    "this city with each other, not with runs of other cities."
)


def _about(
    meta: Mapping[str, str],
    scenario: Mapping[str, Any],
    resolved: str,
    caveats: Sequence[str] | None,
    sources: Sequence[str] | None,
) -> str:
    fm = scenario.get("facematch") or {}
    gov = scenario.get("governance") or {}
    model = str(fm.get("model", "unknown"))
    threshold = gov.get("threshold", fm.get("threshold"))
    rows = [
        ("scenario", meta.get("scenario", scenario.get("name", ""))),
        ("seed", meta.get("seed", "")),
        ("replication", meta.get("replication", "")),
        ("scenario hash", meta.get("scenario_hash", "")),
        ("survsim version", meta.get("survsim_version", "")),
        ("schema version", meta.get("schema_version", "")),
        ("face-match model", model),
        ("threshold", threshold),
    ]
    dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in rows)
    if caveats:
        model_cav = "".join(f"<li>{_esc(c)}</li>" for c in caveats)
    else:
        model_cav = (
            f"<li>The caveats of the model <code>{_esc(model)}</code> were not passed "
            f"to this report; see <code>docs/face_match.md</code> or run "
            f"<code>survsim errors --model {_esc(model)}</code>.</li>"
        )
    src = "".join(f"<li>{_esc(s)}</li>" for s in (sources or ()))
    general = "".join(f"<li>{_esc(c)}</li>" for c in GENERAL_CAVEATS)
    if meta.get("routing") == "zones":
        general = f"<li class='warn'>{_esc(ZONES_CAVEAT)}</li>" + general
    return (
        "<section id='about'><h2>About this run</h2>"
        f"<dl class='meta'>{dl}</dl>"
        "<p class='note'>The same scenario file and seed reproduce these numbers exactly.</p>"
        f"<h3>Caveats of the face-match model ({_esc(model)})</h3><ul class='caveats'>"
        f"{model_cav}</ul>"
        + (f"<h3>Sources of the model</h3><ul class='sources'>{src}</ul>" if src else "")
        + f"<h3>Reading these results</h3><ul class='caveats'>{general}</ul>"
        "<details><summary>Scenario settings (every value used, defaults filled in)</summary>"
        f"<pre>{_esc(resolved or '(scenario.resolved.toml not found)')}</pre></details>"
        "</section>"
    )


def _unlisted_captures(
    tables: Mapping[str, pa.Table], person_group: np.ndarray, n_groups: int
) -> np.ndarray:
    """Each group's captures of people not on the watchlist."""
    unlisted_caps = np.zeros(n_groups, np.int64)
    caps, people = tables.get("captures"), tables.get("people")
    if caps is not None and caps.num_rows and people is not None and people.num_rows:
        listed = np.zeros(person_group.size, bool)
        listed[_col(people, "person_id")] = _col(people, "is_listed")
        who = _col(caps, "person_id").astype(np.int64)
        unlisted_caps = np.bincount(person_group[who[~listed[who]]], minlength=n_groups)
    return unlisted_caps


def _sections(
    summary: Summary,
    tables: Mapping[str, pa.Table],
    tracking: pa.Table | None,
    groups: Sequence[Group],
    meta: Mapping[str, str],
) -> list[Section]:
    """The page's figures, in order, each only when the run has something to show in it."""
    person_group = _person_group(tables)
    facts = _alert_facts(tables, person_group)
    unlisted_caps = _unlisted_captures(tables, person_group, len(groups))
    people = tables.get("people")
    sections: list[Section] = []
    if groups:
        sections.append(_group_section(summary, groups, unlisted_caps))
    if summary.wrongful_stops or summary.stops:
        sections.append(_stops_section(summary, groups))
    if summary.people_falsely_flagged and people is not None:
        listed_of = np.zeros(person_group.size, bool)
        listed_of[_col(people, "person_id")] = _col(people, "is_listed")
        sections.append(_repeat_section(summary, facts, listed_of, groups, tables.get("stops")))
    sections.append(_map_section(tables, facts, groups, meta.get("map_attribution")))
    sections.append(_alerts_section(summary, facts))
    if _nonempty(tables, "review_queue"):
        sections.append(_queue_section(summary, tables["review_queue"]))
    if _nonempty(tables, "assembly_alerts") or summary.gatherings:
        sections.append(_assembly_section(summary, tables))
    if tracking is not None and tracking.num_rows:
        reach = _reach_section(summary, tracking, person_group, groups)
        if reach is not None:
            sections.append(reach)
    return sections


def build_run_report(
    run_dir: Path,
    caveats: list[str] | None = None,
    sources: list[str] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``run_dir/report.html``: the run as one self-contained page; returns its path.

    Parameters
    ----------
    run_dir
        A run directory (``summary.json``, ``scenario.resolved.toml``, ``events/*.arrow`` and,
        if present, ``tracking.arrow``).
    caveats, sources
        The face-match model's caveats and sources (``sim.facematch.MODELS[name].caveats`` and
        ``.sources``). ``analysis`` may not import the simulator, so the caller at the edge (the
        CLI) passes them; without them the page says where to find them.
    overwrite
        Replace a ``report.html`` that survsim did not write (one it wrote is always replaced).
    """
    run_dir = Path(run_dir)
    summary = read_summary(run_dir / "summary.json")
    resolved_path = run_dir / "scenario.resolved.toml"
    resolved = resolved_path.read_text("utf-8") if resolved_path.exists() else ""
    try:
        scenario: dict[str, Any] = tomllib.loads(resolved) if resolved else {}
    except tomllib.TOMLDecodeError:
        scenario = {}
    tables = read_run(run_dir)
    tracking_path = run_dir / "tracking.arrow"
    tracking = read_table(tracking_path) if tracking_path.exists() else None
    meta = _metadata(tables, summary)
    groups = _groups(tables, summary)
    n_cameras = tables["cameras"].num_rows if "cameras" in tables else 0
    sections = _sections(summary, tables, tracking, groups, meta)

    title = f"What the face-recognition system did: {meta.get('scenario', 'run')}"
    description = str(scenario.get("description", "") or "")
    findings = "".join(
        f"<li data-key='{_esc(k)}'>{_esc(t)}</li>"
        for k, t in headlines(summary, groups, scenario, n_cameras)
    )
    nav = "".join(f"<a href='#{_esc(s.key)}'>{_esc(s.heading)}</a>" for s in sections)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body data-figures='{len(sections)}'><main>"
        f"<h1>{_esc(title)}</h1>"
        f"<p class='sub'>{_esc(description)}{' ' if description else ''}A simulation by survsim "
        f"{_esc(meta.get('survsim_version', ''))}, seed {_esc(meta.get('seed', ''))}.</p>"
        f"<section class='findings' id='findings'><h2>Key findings</h2><ul>{findings}</ul>"
        "</section>"
        f"<nav>{nav}<a href='#about'>About this run</a></nav>"
        + "".join(_figure_html(s) for s in sections)
        + _about(meta, scenario, resolved, caveats, sources)
        + "</main></body></html>"
    )
    return write_page(run_dir / REPORT_NAME, page, overwrite=overwrite)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m analysis.report RUN_DIR", file=sys.stderr)
        return 2
    print(build_run_report(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
