"""What the report modules share (``analysis.report``, ``analysis.report_headlines``,
``analysis.report_groups``, ``analysis.report_map``, ``analysis.report_sections``, and the
reports of many runs): the colours, the number and time formats of their sentences, the CSV
writer, the plain records a figure is built from, and the figures' common layout.

It imports no other report module, so each of them can import it without a cycle.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

from sim.units import DAY, HOUR

PALETTE = (
    "#1b9e77",
    "#66c2a5",
    "#d95f02",
    "#fc8d62",
    "#7570b3",
    "#8da0cb",
    "#e7298a",
    "#f4a6c9",
    "#66a61e",
    "#a6d854",
    "#e6ab02",
    "#ffd92f",
)
WRONG = "#c0392b"
RIGHT = "#2e86c1"


# --------------------------------------------------------------------------- small helpers


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _num(n: float | int | None) -> str:
    """An integer with thousands separators."""
    return "n/a" if n is None else f"{round(n):,}"


def _rate(r: float | None) -> str:
    """A rate with sensible precision."""
    if r is None:
        return "n/a"
    if r == 0:
        return "0"
    if abs(r) >= 100:
        return f"{r:,.0f}"
    if abs(r) >= 10:
        return f"{r:.1f}"
    if abs(r) >= 1:
        return f"{r:.2f}"
    return f"{r:.3f}"


def _pct(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_num(n)} {one if n == 1 else (many or one + 's')}"


def _duration(seconds: float | None) -> str:
    """'12 minutes', '2 hours 13 minutes', '3 days'."""
    if seconds is None:
        return "n/a"
    if seconds < 60:
        return "less than a minute"
    m = round(seconds / 60)
    if m < 90:
        return _plural(m, "minute")
    h, m = divmod(m, 60)
    if h >= 48 and m == 0 and h % 24 == 0:
        return _plural(h // 24, "day")
    return _plural(h, "hour") + (f" {_plural(m, 'minute')}" if m else "")


def _clock(t_s: float) -> str:
    """Simulated time as 'day 1, 14:05' (t = 0 is midnight of day 1)."""
    day, rest = divmod(int(t_s), int(DAY))
    return f"day {day + 1}, {rest // int(HOUR):02d}:{rest % int(HOUR) // 60:02d}"


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in row])
    return buf.getvalue()


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Group:
    """One of the scenario's groups as the page shows it."""

    name: str
    label: str
    colour: str
    residents: int


@dataclass
class Section:
    """A figure with its heading, explanation and the CSV of the table behind it."""

    key: str
    heading: str
    intro: str
    fig: go.Figure
    csv_name: str
    csv_text: str
    after: str = ""  # extra HTML below the figure (tables, notes)


@dataclass
class AlertFacts:
    """Every alert with the truth behind it: whose face it was and whether it was right."""

    alert_id: np.ndarray
    t_s: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    person: np.ndarray
    group: np.ndarray
    score: np.ndarray
    is_true: np.ndarray


# --------------------------------------------------------------------------- figures


def _layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        font={
            "family": "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif",
            "size": 13,
        },
        hoverlabel={"align": "left"},
        **kw,
    )
    return fig
