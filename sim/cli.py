"""The ``survsim`` command line (also ``python -m sim``): a thin layer over :mod:`sim.api`.

Every problem a user can cause ends as readable lines on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sim import __version__
from sim.errors import ScenarioError, UserError

if TYPE_CHECKING:
    from sim.api import RunResult
    from sim.scenario import Scenario

app = typer.Typer(
    name="survsim",
    help="Simulate face-recognition surveillance in a city and measure what it does to people.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (TOML).", show_default=False)]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a scenario value: key.path=value (repeatable).")]


def _version(value: bool) -> None:
    if value:
        out_console.print(f"survsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version,
                                                is_eager=True, help="Print the version.")]
          = False) -> None:
    """survsim: who gets flagged, stopped and tracked under a face-recognition policy."""


@app.command()
def validate(scenario: ScenarioArg, set_: SetOpt = None) -> None:
    """Check a scenario file; list every problem (exit 2) or say it is valid (exit 0)."""
    from sim.scenario import load_scenario

    sc = load_scenario(scenario, set_ or [])
    out_console.print(f"[green]valid[/green]: {scenario} (scenario '{sc.name}', "
                      f"{sc.population.people:,} people, {sc.duration_h:g} h, "
                      f"{len(sc.deployment)} deployment(s))")


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Run directory (default: runs/<scenario name>).")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0)] = None,
    replication: Annotated[int, typer.Option(help="Replication index.", min=0)] = 0,
    set_: SetOpt = None,
    overwrite: Annotated[bool, typer.Option(
        help="Replace a run already in --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    with_report: Annotated[bool, typer.Option("--report", help="Also write report.html.")]
    = False,
) -> None:
    """Run one scenario; write event tables, the resolved scenario and summary.json."""
    from sim.scenario import load_scenario

    sc = load_scenario(scenario, set_ or [])
    run_dir = out if out is not None else Path("runs") / sc.name
    try:
        result = _run_with_progress(sc, run_dir, seed, replication, overwrite,
                                    show=not (quiet or json_out))
    except ScenarioError as exc:
        # Found while building the world (e.g. more cameras than crossings): name the file.
        raise ScenarioError([f"{scenario}: {p}" for p in exc.problems]) from None
    if json_out:
        sys.stdout.write(json.dumps(result.summary, indent=2) + "\n")
    elif not quiet:
        _print_summary(result.summary)
        out_console.print(f"\nRun written to [bold]{run_dir}[/bold]: summary.json, "
                          f"scenario.resolved.toml, events/*.arrow")
    if with_report:
        path = _report(run_dir)
        if not (quiet or json_out):
            out_console.print(f"Report: [bold]{path}[/bold]")


def _run_with_progress(sc: Scenario, run_dir: Path, seed: int | None, replication: int,
                       overwrite: bool, *, show: bool) -> RunResult:
    from sim.api import run as run_scenario

    if not show:
        return run_scenario(sc, seed=seed, replication=replication, out=run_dir,
                            overwrite=overwrite)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[clock]}"), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        task = progress.add_task(f"Simulating {sc.name}", total=sc.duration_s, clock="")

        def on_progress(done: float, total: float) -> None:
            h, m = divmod(int(done // 60), 60)
            progress.update(task, completed=done, clock=f"sim time {h:02d}:{m:02d}")

        return run_scenario(sc, seed=seed, replication=replication, out=run_dir,
                            overwrite=overwrite, on_progress=on_progress)


def _progress_bar(label: str, quiet: bool) -> Any:
    """A rich progress bar over runs, or nothing with --quiet."""
    if quiet:
        return None, None
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(),
                        console=err_console, transient=True)
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files (the first is the "
                                                          "baseline).", show_default=False)],
    replications: Annotated[int, typer.Option(help="Runs per scenario.", min=1)] = 5,
    out: Annotated[Path, typer.Option(help="Output directory (new).")] = Path("runs/compare"),
    seed: Annotated[int | None, typer.Option(help="Seed for all (default: the first's).",
                                             min=0)] = None,
    workers: Annotated[int | None, typer.Option(help="Local processes (default: cores).",
                                                min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    set_: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
    with_report: Annotated[bool, typer.Option("--report", help="Also write report.html.")]
    = True,
) -> None:
    """Run scenarios side by side on common random numbers; write comparison.parquet and
    report.html."""
    from sim.experiments import compare as run_compare

    progress, update = _progress_bar("Comparing", quiet)
    if progress is not None:
        with progress:
            table = run_compare(scenarios, replications=replications, out=out, seed=seed,
                                workers=workers, scheduler=scheduler, overrides=set_ or [],
                                progress=update)
    else:
        table = run_compare(scenarios, replications=replications, out=out, seed=seed,
                            workers=workers, scheduler=scheduler, overrides=set_ or [])
    if with_report:
        _report(out)
    if quiet:
        return
    rows = table.to_pylist()
    shown = Table(title=f"Comparison over {replications} replications (95% intervals; "
                        f"difference against {rows[0]['scenario']})")
    for c in ("scenario", "metric", "mean", "95% interval", "difference"):
        shown.add_column(c, justify="left" if c in ("scenario", "metric") else "right")
    for r in rows:
        if r["group"] is None and r["metric"] in _HEADLINE_METRICS:
            shown.add_row(r["scenario"], r["metric"], _fmt(r["mean"]),
                          f"{_fmt(r['ci_low'])} to {_fmt(r['ci_high'])}",
                          f"{_fmt(r['diff_mean'])} ({_fmt(r['diff_ci_low'])} to "
                          f"{_fmt(r['diff_ci_high'])})")
    out_console.print(shown)
    out_console.print(f"Written to [bold]{out}[/bold]: comparison.parquet, "
                      f"replications.parquet, runs/" + (", report.html" if with_report else ""))


_HEADLINE_METRICS = ("captures", "alerts", "false_alerts", "false_alert_share",
                     "false_alert_rate_ratio", "wrongful_stops", "tracking_reach_mean",
                     "gatherings_detected")


@app.command()
def sweep(
    scenario: ScenarioArg,
    grid: Annotated[list[str], typer.Option(help="key.path=v1,v2,... (repeatable).")],
    replications: Annotated[int, typer.Option(help="Runs per point.", min=1)] = 3,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/sweep"),
    seed: Annotated[int | None, typer.Option(help="Seed for all points.", min=0)] = None,
    workers: Annotated[int | None, typer.Option(help="Local processes (default: cores).",
                                                min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    resume: Annotated[bool, typer.Option(help="Skip points already finished.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
    with_report: Annotated[bool, typer.Option("--report", help="Also write report.html.")]
    = False,
) -> None:
    """Run a grid of parameter values; each point is written as soon as it is done."""
    from sim.experiments import parse_grid
    from sim.experiments import sweep as run_sweep

    g = parse_grid(grid)
    progress, update = _progress_bar("Sweeping", quiet)
    if progress is not None:
        with progress:
            table = run_sweep(scenario, g, replications=replications, out=out, seed=seed,
                              workers=workers, scheduler=scheduler, resume=resume,
                              progress=update)
    else:
        table = run_sweep(scenario, g, replications=replications, out=out, seed=seed,
                          workers=workers, scheduler=scheduler, resume=resume)
    if with_report:
        _report(out)
    if not quiet:
        n_points = len(set(table.column("point").to_pylist()))
        out_console.print(f"{n_points} points x {replications} replications written to "
                          f"[bold]{out}[/bold]: sweep.parquet, points/")


@app.command()
def errors(
    model: Annotated[str, typer.Option(help="A face-match model preset.")] =
    "nist_frvt2019_median",
    threshold: Annotated[float | None, typer.Option(
        help="Similarity threshold in [0, 1] (default: the model's reference).")] = None,
    watchlist: Annotated[int, typer.Option(
        help="Watchlist size for FPIR, spread over the groups by US-like shares.", min=0)] = 1000,
    quality: Annotated[float, typer.Option(
        help="Capture quality for FNMR/TPIR (1 = portraits).", min=0.0, max=1.0)] = 1.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    sweep: Annotated[bool, typer.Option(
        help="Write a figure of error rates against the threshold (needs --out).")] = False,
    out: Annotated[Path | None, typer.Option(help="HTML file for --sweep.")] = None,
) -> None:
    """Per-group error rates of a face-match model: FMR, FNMR, FPIR and TPIR."""
    from sim.facematch import MODELS

    if model not in MODELS:
        raise UserError(f"--model: unknown model {model!r}; expected one of: "
                        f"{', '.join(MODELS)}")
    m = MODELS[model]
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UserError(f"--threshold: expected a number in [0, 1], got {threshold}")
    t = m.threshold_ref if threshold is None else threshold
    enrolled = _enrolled(m.groups, watchlist)
    if sweep:
        if out is None:
            raise UserError("--sweep: give the HTML file to write with --out FILE.html")
        import numpy as np

        from analysis.figures import error_sweep, write_html

        fig = error_sweep(m, np.round(np.linspace(0.5, 0.75, 101), 4), enrolled, quality)
        try:
            write_html(fig, out, notes=[*m.caveats, *(f"Source: {s}" for s in m.sources)])
        except OSError as exc:
            raise UserError(f"{out}: cannot write the figure ({exc.strerror})") from None
        out_console.print(f"Figure written to [bold]{out}[/bold]")
        return
    rates = m.summary(t, enrolled, quality)
    if json_out:
        sys.stdout.write(json.dumps({"model": model, "threshold": t, "watchlist": watchlist,
                                     "quality": quality, "groups": rates}, indent=2) + "\n")
        return
    table = Table(title=f"{model} at threshold {t:g}, watchlist of {watchlist:,}, "
                        f"capture quality {quality:g}")
    for c in ("group", "FMR", "FNMR", "FPIR", "TPIR"):
        table.add_column(c, justify="left" if c == "group" else "right")
    for g, r in rates.items():
        table.add_row(g, f"{r['fmr']:.3g}", f"{r['fnmr']:.3g}", f"{r['fpir']:.3g}",
                      f"{r['tpir']:.3g}")
    out_console.print(table)
    for c in m.caveats:
        out_console.print(Text("caveat: " + c, style="dim"))


def _enrolled(groups: tuple[str, ...], size: int) -> Any:
    """A watchlist of ``size`` split over the model's groups by the NIST preset's shares."""
    import numpy as np

    from sim.presets import GROUP_PRESETS

    shares = {g["name"]: float(g["share"]) for g in GROUP_PRESETS["nist_sex_race"]}  # type: ignore[arg-type]
    w = np.array([shares.get(g, 0.0) for g in groups])
    if w.sum() == 0:
        w = np.ones(len(groups))
    return size * w / w.sum()


@app.command()
def report(directory: Annotated[Path, typer.Argument(
        help="A run, comparison or sweep directory.", show_default=False)]) -> None:
    """Build report.html (one self-contained file, opens offline) for a directory."""
    path = _report(directory)
    out_console.print(f"Report written to [bold]{path}[/bold]")


def _report(directory: Path) -> Path:
    """The report for a run, comparison or sweep directory (the edge passes model caveats)."""
    from analysis.report_many import build_report

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
        return build_report(directory, caveats=caveats, sources=sources)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None


@app.command()
def demo(port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8050,
         host: Annotated[str, typer.Option(
             "--host", help="Address to bind (default: this machine only).")] = "127.0.0.1",
         public: Annotated[bool, typer.Option(
             "--public", help="Allow a --host that other machines can reach.")] = False) -> None:
    """Serve the classroom demo (a live simulation in the browser) on http://HOST:PORT/."""
    from classroom.app import is_loopback, serve

    if not is_loopback(host) and not public:
        raise UserError(f"--host {host}: refusing to serve the demo where other machines can "
                        f"reach it; add --public if that is what you want (default: 127.0.0.1, "
                        f"this machine only)")
    if not 1 <= port <= 65535:
        raise UserError(f"--port: expected a port number from 1 to 65535, got {port}")
    out_console.print(f"survsim classroom demo on [bold]http://{host}:{port}/[/bold] "
                      f"(Ctrl+C to stop)")
    try:
        serve(host=host, port=port)
    except OSError as exc:
        raise UserError(f"cannot serve on {host}:{port} ({exc.strerror or exc})") from None


@app.command()
def schema(out: Annotated[Path | None, typer.Option(
        "--out", help="Write to this file instead of standard output.")] = None) -> None:
    """Print (or write) the JSON Schema of the scenario format."""
    from sim.scenario import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{out}: cannot write the schema ({exc.strerror})") from None


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):  # None or NaN
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _print_summary(s: dict[str, Any]) -> None:
    head = Table(title=f"survsim run: {s['scenario']} (seed {s['seed']})", show_header=False)
    head.add_column("metric")
    head.add_column("value", justify="right")
    share = s["false_alert_share"]
    rows = [
        ("people", s["people"]), ("simulated hours", s["duration_s"] / 3600),
        ("faces captured", s["captures"]), ("alerts", s["alerts"]),
        ("  pointing at the right person", s["true_alerts"]),
        ("  pointing at the wrong person", s["false_alerts"]),
        ("share of alerts that were wrong", "n/a" if share is None else f"{share:.1%}"),
        ("listed people in the city", s["watchlist_present"]),
        ("  of them detected", "n/a" if s["watchlist_detected_share"] is None
         else f"{s['watchlist_detected_share']:.1%}"),
        ("false-alert rate, highest / lowest group", s["false_alert_rate_ratio"]),
        ("wall time (s)", s["wall_s"]),
    ]
    for k, v in rows:
        head.add_row(k, _fmt(v))
    out_console.print(head)
    groups = Table(title="By group (false alerts per 1,000 captures of people not listed)")
    for c in ("group", "captures", "false alerts", "rate per 1,000"):
        groups.add_column(c, justify="left" if c == "group" else "right")
    labels = s.get("group_labels", {})
    for g, n in s["captures_by_group"].items():
        groups.add_row(labels.get(g, g), _fmt(n), _fmt(s["false_alerts_by_group"][g]),
                       _fmt(s["false_alert_rate_by_group"][g]))
    out_console.print(groups)


def main() -> None:
    """Console entry point: run the app, turning user errors into exit code 2."""
    from sim.procs import tune_allocator

    tune_allocator()  # the CLI owns its process (see sim.procs)
    try:
        app(standalone_mode=False)
    except UserError as exc:
        for p in exc.problems:
            err_console.print(Text("error: ", style="red") + Text(p), highlight=False,
                              soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        # Usage errors of the command-line parser (typer's click): shown, exit code 2. Matched by
        # shape because typer vendors click in some versions.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(2)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        raise
