"""Figures (plotly). Plotting lives here, at the edge, never in the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.report_base import PALETTE
from sim.files import write_text_atomic
from sim.schema import PAGE_GENERATOR


def error_sweep(
    model: Any, thresholds: np.ndarray, enrolled: np.ndarray, quality: float = 1.0
) -> go.Figure:
    """Error rates against the threshold, one line per group: FMR, FNMR, FPIR and TPIR.

    Parameters
    ----------
    model
        A face-match model (``sim.facematch.ScoreModel``).
    thresholds
        Thresholds to evaluate.
    enrolled
        Watchlist size per model group (for FPIR).
    quality
        Capture quality for FNMR and TPIR (1 = portraits).
    """
    fmr = np.array([model.fmr(t) for t in thresholds])
    fnmr = np.array([model.fnmr(t, quality) for t in thresholds])
    fpir = np.array([model.fpir(t, enrolled) for t in thresholds])
    fig = make_subplots(
        rows=2,
        cols=2,
        shared_xaxes=True,
        subplot_titles=(
            "False match rate (one-to-one, log scale)",
            "False non-match rate",
            f"False positive identification rate (watchlist of {int(enrolled.sum()):,})",
            "True positive identification rate",
        ),
    )
    palette = PALETTE[:8]
    for i, g in enumerate(model.groups):
        colour = palette[i % len(palette)]
        label = g.replace("_", " ")
        for (r, c), y in zip(
            ((1, 1), (1, 2), (2, 1), (2, 2)),
            (fmr[:, i], fnmr[:, i], fpir[:, i], 1 - fnmr[:, i]),
            strict=True,
        ):
            fig.add_trace(
                go.Scatter(
                    x=thresholds,
                    y=y,
                    name=label,
                    legendgroup=g,
                    showlegend=(r, c) == (1, 1),
                    line={"color": colour},
                    hovertemplate=f"{label}<br>T=%{{x:.3f}}<br>%{{y:.3g}}",
                ),
                row=r,
                col=c,
            )
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", row=2, col=1)
    fig.update_xaxes(title_text="threshold", row=2, col=1)
    fig.update_xaxes(title_text="threshold", row=2, col=2)
    fig.update_layout(
        title=f"{model.name}: error rates by group against the threshold "
        f"(capture quality {quality:g})",
        height=760,
        template="plotly_white",
        legend_title_text="group",
    )
    return fig


GENERATOR = PAGE_GENERATOR  # marks every page survsim writes (see sim.schema)


def written_by_survsim(path: Path) -> bool:
    """Whether ``path`` is a page survsim wrote (its head carries :data:`GENERATOR`)."""
    try:
        with open(path, "rb") as f:
            return GENERATOR.encode() in f.read(4096)
    except OSError:
        return False


def write_page(path: Path, page: str, *, overwrite: bool = False) -> Path:
    """Write an HTML page atomically (a temporary file in the same folder, then renamed).

    Raises
    ------
    FileExistsError
        If ``path`` exists and is not a page survsim wrote, unless ``overwrite``.
    """
    path = Path(path)
    if path.exists() and not overwrite and not written_by_survsim(path):
        raise FileExistsError(
            f"{path}: exists and was not written by survsim; not replacing "
            f"it (move it away, or pass --overwrite)"
        )
    if GENERATOR not in page[:4096]:
        page = page.replace("<head>", "<head>" + GENERATOR, 1)
    write_text_atomic(path, page)
    return path


def write_html(
    fig: go.Figure, path: Path, notes: list[str] | None = None, *, overwrite: bool = False
) -> None:
    """A self-contained HTML file (plotly.js embedded, opens offline)."""
    html = fig.to_html(include_plotlyjs=True, full_html=True)
    if notes:
        items = "".join(f"<li>{n}</li>" for n in notes)
        html = html.replace("</body>", f"<ul style='font-family:sans-serif'>{items}</ul></body>")
    write_page(path, html, overwrite=overwrite)
