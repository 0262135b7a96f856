"""The ``survsim`` command line (also ``python -m sim``): a thin layer over :mod:`sim.edge.api`.

Every problem a user can cause ends as readable lines on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sim import __version__
from sim.edge.cli_helpers import (
    check_report_free,
    enrolled_by_group,
    err_console,
    out_console,
    print_comparison,
    progress_bar,
    run_with_progress,
    scenario_and_city,
    sensitivity_dry_run,
    show_sensitivity,
    write_report,
)
from sim.edge.cli_tables import print_summary
from sim.errors import Interrupted, ScenarioError, UserError, short, shown

app = typer.Typer(
    name="survsim",
    help="Simulate face-recognition surveillance in a city and measure what it does to people.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
MAX_SEED = 2**63 - 1  # seeds are 63-bit (numpy's SeedSequence takes them; TOML holds them)
MAX_REPLICATION = 2**31 - 1
_MAX_MESSAGE = 2000  # characters of one error message shown

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (TOML).", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value: key.path=value (repeatable)."),
]
# Options every command of many runs takes.
WorkersOpt = Annotated[int | None, typer.Option(help="Local processes (default: cores).", min=1)]
SchedulerOpt = Annotated[str | None, typer.Option(help="Dask scheduler address.")]
ResumeOpt = Annotated[bool, typer.Option(help="Skip points already finished.")]


def _version(value: bool) -> None:
    if value:
        out_console.print(f"survsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """survsim: who gets flagged, stopped and tracked under a face-recognition policy."""


@app.command()
def validate(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print what was checked as JSON: the city, its districts and every place name.",
        ),
    ] = False,
) -> None:
    """Check a scenario file and the city it describes (every place, district and count it
    names); list every problem (exit 2) or say it is valid (exit 0)."""
    sc, city = scenario_and_city(scenario, set_)
    if json_out:
        from sim.city import city_seed
        from sim.places import place_rows

        sys.stdout.write(
            json.dumps(
                {
                    "valid": True,
                    "file": str(scenario),
                    "scenario": sc.name,
                    "people": sc.population.people,
                    "duration_h": sc.duration_h,
                    "deployments": len(sc.deployment),
                    "city": {
                        "kind": sc.city.kind,
                        "seed": city_seed(sc.city),
                        "crossings": city.n_nodes,
                        "streets": city.n_edges,
                        "districts": list(city.district_names),
                    },
                    "places": place_rows(city),
                },
                indent=2,
            )
            + "\n"
        )
        return
    out_console.print(
        f"[green]valid[/green]: {scenario} (scenario '{sc.name}', "
        f"{sc.population.people:,} people, {sc.duration_h:g} h, "
        f"{len(sc.deployment)} deployment(s)); city: {city.n_nodes:,} crossings, "
        f"{len(city.place_name):,} places in {len(city.district_names)} districts "
        f"(`survsim places {scenario}` lists them)",
        highlight=False,
    )


@app.command()
def places(
    scenario: ScenarioArg,
    set_: SetOpt = None,
    place_type: Annotated[
        str | None, typer.Option("--type", help="Only places of this type (e.g. plaza).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the places of a scenario's city (the names [[gathering]] place and van places
    take); the same at every seed and replication."""
    from sim.city import PLACE_TYPES
    from sim.places import place_rows

    if place_type is not None and place_type not in PLACE_TYPES:
        raise UserError(
            f"--type: unknown place type {shown(place_type)}; expected one of: "
            f"{', '.join(PLACE_TYPES)}"
        )
    _, city = scenario_and_city(scenario, set_)
    rows = [r for r in place_rows(city) if place_type in (None, r["type"])]
    if json_out:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(
        title=f"Places of {scenario} ({len(rows):,}; districts: {', '.join(city.district_names)})"
    )
    for c in ("name", "type", "district", "x (m)", "y (m)"):
        table.add_column(c, justify="right" if c.endswith("(m)") else "left")
    for r in rows:
        table.add_row(r["name"], r["type"], r["district"], f"{r['x_m']:,.0f}", f"{r['y_m']:,.0f}")
    out_console.print(table)


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default: runs/<scenario name>).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Override the scenario's seed.", min=0, max=MAX_SEED)
    ] = None,
    replication: Annotated[
        int, typer.Option(help="Replication index.", min=0, max=MAX_REPLICATION)
    ] = 0,
    set_: SetOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a run already in --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    with_report: Annotated[bool, typer.Option("--report", help="Also write report.html.")] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address: its workers route the trips and find the captures, "
            "this process runs the system view (the same output)."
        ),
    ] = None,
) -> None:
    """Run one scenario; write event tables, the resolved scenario and summary.json."""
    from sim.budget import check_budget
    from sim.recorder import prepare_run_dir, run_state
    from sim.scenario import load_scenario

    sc = load_scenario(scenario, set_ or [])
    run_dir = out if out is not None else Path("runs") / sc.name
    prepare_run_dir(run_dir, overwrite=overwrite, check_only=True)  # before any work
    if with_report and not overwrite:
        check_report_free(run_dir)
    try:
        check_budget(sc)
        result = run_with_progress(
            sc,
            run_dir,
            seed,
            replication,
            overwrite,
            show=not (quiet or json_out),
            scheduler=scheduler,
        )
    except ScenarioError as exc:
        # Found while building the world (e.g. more cameras than crossings): name the file.
        raise ScenarioError([f"{scenario}: {p}" for p in exc.problems]) from None
    except KeyboardInterrupt:
        left = (
            f"{run_dir} is incomplete and marked so (run.json); `survsim run ... "
            f"--overwrite` replaces it"
            if run_state(run_dir) not in (None, "complete")
            else "nothing was written"
        )
        raise Interrupted(f"interrupted: {left}") from None
    if json_out:
        sys.stdout.write(json.dumps(result.summary, indent=2) + "\n")
    elif not quiet:
        print_summary(out_console, result.summary)
        out_console.print(
            f"\nRun written to [bold]{run_dir}[/bold]: summary.json, "
            f"scenario.resolved.toml, events/*.arrow"
        )
    if with_report:
        path = write_report(run_dir, overwrite=overwrite)
        if not (quiet or json_out):
            out_console.print(f"Report: [bold]{path}[/bold]")


@app.command()
def compare(
    scenarios: Annotated[
        list[Path],
        typer.Argument(help="Scenario files (the first is the baseline).", show_default=False),
    ],
    replications: Annotated[int, typer.Option(help="Runs per scenario.", min=1)] = 5,
    out: Annotated[Path, typer.Option(help="Output directory (new).")] = Path("runs/compare"),
    seed: Annotated[
        int | None, typer.Option(help="Seed for all (default: the first's).", min=0, max=MAX_SEED)
    ] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    set_: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
    with_report: Annotated[bool, typer.Option("--report", help="Also write report.html.")] = True,
) -> None:
    """Run scenarios side by side on common random numbers; write comparison.parquet and
    report.html."""
    from sim.edge.experiments import compare as run_compare

    progress, update = progress_bar("Comparing", quiet)
    try:
        with progress or contextlib.nullcontext():
            table = run_compare(
                scenarios,
                replications=replications,
                out=out,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                overrides=set_ or [],
                progress=update,
            )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: {out} holds an unfinished comparison; run it again "
            f"with another --out (or remove {out})"
        ) from None
    if with_report:
        write_report(out)
    if quiet:
        return
    print_comparison(table, scenarios, set_, replications, out, with_report)


@app.command()
def sweep(
    scenario: ScenarioArg,
    grid: Annotated[list[str], typer.Option(help="key.path=v1,v2,... (repeatable).")],
    replications: Annotated[int, typer.Option(help="Runs per point.", min=1)] = 3,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/sweep"),
    seed: Annotated[
        int | None, typer.Option(help="Seed for all points.", min=0, max=MAX_SEED)
    ] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
    with_report: Annotated[bool, typer.Option("--report", help="Also write report.html.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check the scenario at every point of the grid, then stop."),
    ] = False,
) -> None:
    """Run a grid of parameter values; each point is written as soon as it is done."""
    from sim.edge.experiments import check_points, parse_grid
    from sim.edge.experiments import sweep as run_sweep

    g = parse_grid(grid)
    if dry_run:
        n = len(check_points(scenario, g))
        out_console.print(f"[green]valid[/green]: {scenario} at all {n} points of the grid")
        return
    progress, update = progress_bar("Sweeping", quiet)
    try:
        with progress or contextlib.nullcontext():
            table = run_sweep(
                scenario,
                g,
                replications=replications,
                out=out,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                progress=update,
            )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: the points finished so far are in {out}/points; the "
            f"same command with --resume runs the rest"
        ) from None
    if with_report:
        write_report(out)
    if not quiet:
        n_points = len(set(table.column("point").to_pylist()))
        out_console.print(
            f"{n_points} points x {replications} replications written to "
            f"[bold]{out}[/bold]: sweep.parquet, points/"
        )


@app.command()
def sensitivity(
    scenario: ScenarioArg,
    vary: Annotated[
        list[str],
        typer.Option(
            help="key.path=low,high, or a face-match assumption's path alone for its declared "
            "range (repeatable)."
        ),
    ],
    method: Annotated[
        str, typer.Option(help="morris (screening) or sobol (variance shares).")
    ] = "morris",
    samples: Annotated[
        int | None,
        typer.Option(
            help="Morris trajectories (default 10) or Sobol base samples, a power of two "
            "(default 64).",
            min=2,
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            help="A second scenario (another policy) run at the same inputs: is its difference "
            "from SCENARIO robust?"
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(help="Summary keys to screen (repeatable; default the headline metrics)."),
    ] = None,
    replications: Annotated[int, typer.Option(help="Runs per point.", min=1)] = 1,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/sensitivity"),
    seed: Annotated[
        int | None, typer.Option(help="Seed for all runs.", min=0, max=MAX_SEED)
    ] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    set_: SetOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
    with_report: Annotated[bool, typer.Option("--report", help="Also write report.html.")] = True,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check the scenario at every point of the design, then stop."
        ),
    ] = False,
) -> None:
    """Which inputs drive each conclusion: Morris or Sobol sensitivity (SALib) over scenario
    keys and the face-match model's assumptions; writes indices.parquet and report.html."""
    from sim.edge.experiments import parse_vary
    from sim.edge.experiments import sensitivity as run_sensitivity

    factors = parse_vary(vary)
    n = samples or (10 if method == "morris" else 64)
    if dry_run:
        sensitivity_dry_run(scenario, factors, method, n, against, set_, replications)
        return
    progress, update = progress_bar("Screening", quiet)
    try:
        with progress or contextlib.nullcontext():
            result = run_sensitivity(
                scenario,
                factors,
                method=method,
                samples=n,
                replications=replications,
                against=against,
                metrics=metric,
                out=out,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                overrides=set_ or [],
                progress=update,
            )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: the points finished so far are in {out}/points; the "
            f"same command with --resume runs the rest"
        ) from None
    if with_report:
        write_report(out)
    if quiet:
        return
    show_sensitivity(result, method, n, len(factors), out, with_report)


@app.command()
def errors(
    model: Annotated[str, typer.Option(help="A face-match model preset.")] = "nist_frvt2019_median",
    threshold: Annotated[
        float | None,
        typer.Option(help="Similarity threshold in [0, 1] (default: the model's reference)."),
    ] = None,
    watchlist: Annotated[
        int, typer.Option(help="Watchlist size for FPIR.", min=0, max=20_000_000)
    ] = 1000,
    list_make_up: Annotated[
        str,
        typer.Option(
            "--list",
            help="The watchlist's make-up: 'population' (US Census shares), "
            "'evaluation' (the gallery the preset was measured against, if any), "
            "or a custody preset: arrests_us_2018, custody_england_wales_2018.",
        ),
    ] = "population",
    quality: Annotated[
        float, typer.Option(help="Capture quality for FNMR/TPIR (1 = portraits).", min=0.0, max=1.0)
    ] = 1.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    sweep: Annotated[
        bool,
        typer.Option(help="Write a figure of error rates against the threshold (needs --out)."),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="HTML file for --sweep.")] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace --out even if survsim did not write it.")
    ] = False,
) -> None:
    """Per-group error rates of a face-match model: FMR, FNMR, FPIR and TPIR."""
    from sim.facematch import MODELS

    if model not in MODELS:
        raise UserError(f"--model: unknown model {model!r}; expected one of: {', '.join(MODELS)}")
    m = MODELS[model]
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UserError(f"--threshold: expected a number in [0, 1], got {threshold}")
    t = m.threshold_ref if threshold is None else threshold
    enrolled = enrolled_by_group(m, watchlist, list_make_up)
    if sweep:
        if out is None:
            raise UserError("--sweep: give the HTML file to write with --out FILE.html")
        import numpy as np

        from analysis.figures import error_sweep, write_html

        fig = error_sweep(m, np.round(np.linspace(0.5, 0.75, 101), 4), enrolled, quality)
        if out.suffix.lower() not in (".html", ".htm"):
            raise UserError(f"--out {out}: expected an .html file for the figure")
        try:
            write_html(
                fig,
                out,
                notes=[*m.caveats, *(f"Source: {s}" for s in m.sources)],
                overwrite=overwrite,
            )
        except FileExistsError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"{out}: cannot write the figure ({exc.strerror or exc})") from None
        out_console.print(f"Figure written to [bold]{out}[/bold]")
        return
    rates = m.summary(t, enrolled, quality)
    if json_out:
        sys.stdout.write(
            json.dumps(
                {
                    "model": model,
                    "threshold": t,
                    "watchlist": watchlist,
                    "list": list_make_up,
                    "quality": quality,
                    "groups": rates,
                },
                indent=2,
            )
            + "\n"
        )
        return
    table = Table(
        title=f"{model} at threshold {t:g}, watchlist of {watchlist:,} "
        f"({list_make_up}), capture quality {quality:g}; FPIR of adults"
    )
    for c in ("group", "FMR", "FNMR", "FPIR", "TPIR"):
        table.add_column(c, justify="left" if c == "group" else "right")
    for g, r in rates.items():
        table.add_row(
            g, f"{r['fmr']:.3g}", f"{r['fnmr']:.3g}", f"{r['fpir']:.3g}", f"{r['tpir']:.3g}"
        )
    out_console.print(table)
    for c in m.caveats:
        out_console.print(Text("caveat: " + c, style="dim"))


@app.command()
def report(
    directory: Annotated[
        Path, typer.Argument(help="A run, comparison or sweep directory.", show_default=False)
    ],
) -> None:
    """Build report.html (one self-contained file, opens offline) for a directory."""
    path = write_report(directory)
    out_console.print(f"Report written to [bold]{path}[/bold]")


@app.command()
def demo(
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8050,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (default: this machine only).")
    ] = "127.0.0.1",
    public: Annotated[
        bool, typer.Option("--public", help="Allow a --host that other machines can reach.")
    ] = False,
) -> None:
    """Serve the classroom demo (a live simulation in the browser) on http://HOST:PORT/."""
    from classroom.app import is_loopback, make_server

    if not is_loopback(host) and not public:
        raise UserError(
            f"--host {host}: refusing to serve the demo where other machines can "
            f"reach it; add --public if that is what you want (default: 127.0.0.1, "
            f"this machine only)"
        )
    if not 1 <= port <= 65535:
        raise UserError(f"--port: expected a port number from 1 to 65535, got {port}")
    try:
        server = make_server(host=host, port=port)  # binds now: a busy port is said here
    except OSError as exc:
        raise UserError(
            f"--port {port}: cannot serve the demo on {host}:{port} "
            f"({exc.strerror or exc}); is another program using the port? Try "
            f"--port {port + 1}"
        ) from None
    out_console.print(
        f"survsim classroom demo on [bold]http://{host}:{port}/[/bold] (Ctrl+C to stop)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out_console.print("demo stopped")
    finally:
        server.server_close()


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of standard output.")
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="The schema of summary.json instead.")
    ] = False,
) -> None:
    """Print (or write) the JSON Schema of the scenario format (or of summary.json)."""
    from analysis.summary import summary_schema
    from sim.scenario import json_schema

    text = json.dumps(summary_schema() if summary else json_schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{out}: cannot write the schema ({exc.strerror})") from None


def main() -> None:
    """Console entry point: run the app, turning user errors into exit code 2 (and Ctrl-C
    into one line and exit code 130)."""
    from sim.procs import tune_allocator

    tune_allocator()  # the CLI owns its process (see sim.procs)
    try:
        rc = app(standalone_mode=False)
    except UserError as exc:
        for p in exc.problems:
            err_console.print(
                Text("error: " if exc.exit_code == 2 else "", style="red")
                + Text(short(p, _MAX_MESSAGE)),
                highlight=False,
                soft_wrap=True,
            )
        sys.exit(exc.exit_code)
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
            err_console.print("interrupted")
            sys.exit(130)
        raise
    # Without standalone mode, typer returns the exit code of a Ctrl-C (130) it caught while
    # a command ran, instead of raising it.
    if isinstance(rc, int) and rc != 0:
        if rc == 130:
            err_console.print("interrupted")
        sys.exit(rc)
