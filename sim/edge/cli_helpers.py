"""What the commands of the ``survsim`` command line (:mod:`sim.edge.cli`) share: the consoles
they print to, progress bars, scenario loading, reports, and the longer parts of some commands
(the comparison table, the watchlist of ``survsim errors``, the sensitivity dry run and result).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.edge.cli_tables import fmt, print_sensitivity
from sim.errors import ScenarioError, UserError, short, shown

if TYPE_CHECKING:
    import pyarrow as pa

    from analysis.sensitivity import Factor
    from sim.edge.api import RunResult
    from sim.scenario import Scenario

out_console = Console()
err_console = Console(stderr=True)


def scenario_and_city(scenario: Path, set_: list[str] | None) -> tuple[Scenario, Any]:
    """Load a scenario, check what can be checked before building anything (sizes that would
    exhaust memory or time), build its city and check every reference to it."""
    from sim.scenario import load_scenario
    from sim.world import checked_city

    sc = load_scenario(scenario, set_ or [])
    try:
        return sc, checked_city(sc)
    except ScenarioError as exc:
        raise ScenarioError([f"{scenario}: {p}" for p in exc.problems]) from None


def check_report_free(run_dir: Path) -> None:
    """--report must not replace a report.html that someone else put there."""
    from analysis.figures import written_by_survsim

    page = run_dir / "report.html"
    if page.exists() and not written_by_survsim(page):
        raise UserError(
            f"{page}: exists and was not written by survsim; --report would "
            f"replace it. Move it away, or pass --overwrite"
        )


def run_with_progress(
    sc: Scenario,
    run_dir: Path,
    seed: int | None,
    replication: int,
    overwrite: bool,
    *,
    show: bool,
    scheduler: str | None = None,
) -> RunResult:
    from sim.edge.api import run as run_scenario

    if not show:
        return run_scenario(
            sc,
            seed=seed,
            replication=replication,
            out=run_dir,
            overwrite=overwrite,
            scheduler=scheduler,
        )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"Simulating {sc.name}", total=sc.duration_s, clock="")

        def on_progress(done: float, total: float) -> None:
            h, m = divmod(int(done // 60), 60)
            progress.update(task, completed=done, clock=f"sim time {h:02d}:{m:02d}")

        return run_scenario(
            sc,
            seed=seed,
            replication=replication,
            out=run_dir,
            overwrite=overwrite,
            on_progress=on_progress,
            scheduler=scheduler,
        )


def progress_bar(label: str, quiet: bool) -> Any:
    """A rich progress bar over runs, or nothing with --quiet."""
    if quiet:
        return None, None
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


_HEADLINE_METRICS = (
    "captures",
    "alerts",
    "false_alerts",
    "false_alert_share",
    "false_alert_rate_ratio",
    "wrongful_stops",
    "tracking_reach_mean",
    "gatherings_detected",
)


def print_comparison(
    table: pa.Table,
    scenarios: list[Path],
    set_: list[str] | None,
    replications: int,
    out: Path,
    with_report: bool,
) -> None:
    """The headline rows of a comparison (mean, interval, difference against the first), what its
    intervals hold, and where it was written."""
    from sim.scenario import load_scenario

    rows = table.to_pylist()
    ensemble = any(
        load_scenario(p, set_ or []).facematch.uncertainty == "ensemble" for p in scenarios
    )
    kind = "run-to-run and model uncertainty" if ensemble else "run-to-run variation only"
    headline = Table(
        title=f"Comparison over {replications} replications (95% intervals of "
        f"{kind}; difference against {rows[0]['scenario']})"
    )
    for c in ("scenario", "metric", "mean", "95% interval", "difference"):
        headline.add_column(c, justify="left" if c in ("scenario", "metric") else "right")
    for r in rows:
        if r["group"] is None and r["metric"] in _HEADLINE_METRICS:
            headline.add_row(
                r["scenario"],
                r["metric"],
                fmt(r["mean"]),
                f"{fmt(r['ci_low'])} to {fmt(r['ci_high'])}",
                f"{fmt(r['diff_mean'])} ({fmt(r['diff_ci_low'])} to {fmt(r['diff_ci_high'])})",
            )
    out_console.print(headline)
    from analysis.compare import FEW_REPLICATIONS

    if replications < FEW_REPLICATIONS:
        out_console.print(
            f"[yellow]warning:[/yellow] only {replications} replication(s): the "
            f"intervals are rough (use --replications {FEW_REPLICATIONS} or "
            f"more before quoting them)"
        )
    out_console.print(
        f"Written to [bold]{out}[/bold]: comparison.parquet, "
        f"replications.parquet, runs/" + (", report.html" if with_report else "")
    )


def sensitivity_dry_run(
    scenario: Path,
    factors: list[Factor],
    method: str,
    n: int,
    against: Path | None,
    set_: list[str] | None,
    replications: int,
) -> None:
    """``survsim sensitivity --dry-run``: check the scenario at every point of the design and say
    how many runs it would take."""
    from analysis.sensitivity import NOISE_REPLICATIONS
    from sim.edge.experiments import check_design

    points = check_design(scenario, factors, method, n, against, set_ or [])
    roles = 2 if against else 1
    out_console.print(
        f"[green]valid[/green]: {scenario} at all {points} points of the "
        f"design; {(points * replications + NOISE_REPLICATIONS) * roles} "
        f"runs"
    )


def show_sensitivity(
    result: dict[str, Any], method: str, n: int, k: int, out: Path, with_report: bool
) -> None:
    """What moves each metric, and where the sensitivity analysis was written."""
    from analysis.sensitivity import runs_in

    print_sensitivity(
        out_console,
        result,
        f"{method.capitalize()} sensitivity over "
        f"{runs_in(method, n, k)} points: what moves each metric",
    )
    out_console.print(
        f"Written to [bold]{out}[/bold]: indices.parquet, sensitivity.parquet, "
        f"sensitivity.json" + (", report.html" if with_report else "")
    )


def enrolled_by_group(model: Any, size: int, make_up: str) -> Any:
    """A watchlist of ``size`` split over the model's groups: by US Census shares
    ('population'), the preset's own evaluation gallery, or a custody preset."""
    import numpy as np

    from sim.presets import GROUP_PRESETS, WATCHLIST_PRESETS

    if make_up == "evaluation":
        if model.gallery is None:
            raise UserError(
                f"--list evaluation: {model.name} was published as one-to-one "
                f"rates, with no gallery; use population or a custody preset"
            )
        w = np.asarray(model.gallery, np.float64)
    elif make_up in WATCHLIST_PRESETS:
        w = np.array([WATCHLIST_PRESETS[make_up].get(g, 0.0) for g in model.groups])
    elif make_up == "population":
        shares = {
            g["name"]: float(g["share"])  # type: ignore[arg-type]
            for g in GROUP_PRESETS["nist_sex_race"]
        }
        w = np.array([shares.get(g, 0.0) for g in model.groups])
    else:
        raise UserError(
            f"--list: expected population, evaluation or one of "
            f"{', '.join(WATCHLIST_PRESETS)}, got {shown(make_up)}"
        )
    if w.sum() == 0:
        w = np.ones(len(model.groups))
    return size * w / w.sum()


def write_report(directory: Path, *, overwrite: bool = False) -> Path:
    """The report for a run, comparison or sweep directory (the edge passes model caveats)."""
    import pyarrow as pa

    from analysis.report_many import build_report
    from sim.recorder import describe_incomplete, run_state

    state = run_state(directory)
    if state not in (None, "complete"):
        raise UserError(describe_incomplete(directory, state))
    summary = directory / "summary.json"
    if summary.is_file():
        try:
            ok = isinstance(json.loads(summary.read_text(encoding="utf-8")), dict)
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise UserError(
                f"{summary}: damaged (not the summary survsim wrote); run the "
                f"scenario again with --overwrite"
            )
    caveats: list[str] | None = None
    sources: list[str] | None = None
    resolved = directory / "scenario.resolved.toml"
    if resolved.exists():
        from sim.facematch import model_for
        from sim.scenario import load_scenario

        try:
            m = model_for(load_scenario(resolved).facematch)
            caveats, sources = list(m.caveats), list(m.sources)
        except UserError:
            pass
    try:
        return build_report(directory, caveats=caveats, sources=sources, overwrite=overwrite)
    except (FileNotFoundError, FileExistsError) as exc:
        raise UserError(str(exc)) from None
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        pa.ArrowException,
    ) as exc:
        # A file of the run damaged or cut short after it finished (edited, truncated).
        raise UserError(
            f"{directory}: cannot build the report, a file of it is damaged or "
            f"not what survsim wrote ({type(exc).__name__}: "
            f"{short(str(exc), 200)})"
        ) from None
