"""The ``mssim`` command: thin wrappers over the library.

Every user error is an :class:`~mssim.errors.MssimError`: the message goes to
stderr and the exit status is 2, with no traceback and no partial output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mssim import __version__
from mssim.commands.arguments import memory, non_negative, port, positive
from mssim.commands.priors import refuse_priors
from mssim.config.load import EMBEDDED, json_schema, load_scenario, to_toml, with_options
from mssim.config.scenario import Scenario
from mssim.config.sizes import check_jobs, monte_carlo, single_trial
from mssim.errors import MssimError
from mssim.montecarlo.analyses import check_analyses
from mssim.registry import load_plugin

EXAMPLES = """\
examples:
  mssim run                                   power curve of the default scenario
  mssim run scenarios/three_arm.toml --jobs 2
  mssim run scenarios/default.toml --set arms.acupuncture.specific_effect=0.3
  mssim run scenarios/default.toml --solve-n --target 0.9
  mssim validate scenarios/pain.toml --set trial.analysis=responder
  mssim simulate scenarios/default.toml --n 30 --out results/one_trial
  mssim sweep scenarios/default.toml --grid arms.acupuncture.specific_effect=0.1,0.2,0.3 \
      --grid dropout.rate=0.05,0.2 --replicates 500
  mssim report results/default/<timestamp>
  mssim literature scenarios/default.toml     a simulated literature with publication bias
  mssim schema > scenario.schema.json
  mssim selfcheck                             pass/fail table of the Monte Carlo core
  mssim dashboard scenarios/default.toml      teaching dashboard on http://127.0.0.1:8765
"""


def _scenario_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "file",
        nargs=None if required else "?",
        type=Path,
        help="scenario TOML file (default: the embedded default scenario)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field, e.g. --set trial.n_per_arm=40 (VALUE is TOML)",
    )


def _size_arguments(parser: argparse.ArgumentParser, jobs: bool = True) -> None:
    parser.add_argument(
        "--max-memory",
        type=memory,
        default=None,
        metavar="AMOUNT",
        help="memory the command may use, e.g. 2G (default: what the machine has available)",
    )
    parser.add_argument(
        "--max-hours",
        type=float,
        default=None,
        help="longest estimated run time accepted (default 24)",
    )
    if jobs:
        parser.add_argument(
            "--force-jobs", action="store_true", help="allow more --jobs than cores"
        )


def _parallel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=positive, default=1, help="parallel workers")
    parser.add_argument(
        "--backend",
        choices=["threads", "processes", "dask"],
        default="processes",
        help="local processes (default; fastest measured), threads, or a Dask cluster",
    )


def _load(args: argparse.Namespace) -> Scenario:
    return load_scenario(args.file, args.overrides)


def cmd_validate(args: argparse.Namespace) -> int:
    """Print the resolved scenario."""
    scenario = _load(args)
    print(f"# resolved scenario from {args.file or EMBEDDED}: valid")
    for line in effect_lines(scenario):
        print(f"# {line}")
    print(to_toml(scenario))
    return 0


def effect_lines(scenario: Scenario) -> list[str]:
    """Each arm's effects on the primary endpoint, in SD and in instrument points."""
    primary = scenario.trial.primary_endpoint
    sym = getattr(scenario.symptoms, primary)
    lines = [f"effects on {primary} ({sym.scale.label}; reference SD {sym.reference_sd:g} points):"]
    for name in scenario.arms:
        spec, nonspec = scenario.effect_points(name, primary)
        lines.append(
            f"  {name}: specific {spec / sym.reference_sd:.3g} SD = {spec:.3g} points; "
            f"non-specific {nonspec / sym.reference_sd:.3g} SD = {nonspec:.3g} points"
        )
    return lines


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of scenario files."""
    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate one trial and write its tables and figure."""
    scenario = with_options(_load(args), seed=args.seed)
    n = args.n or scenario.trial.n_per_arm
    single_trial(scenario, n, budget=args.max_memory, max_hours=args.max_hours)

    from mssim.commands.simulate import write_one_trial

    out = write_one_trial(
        scenario,
        args.n,
        Path(args.out),
        args.analysis,
        args.engine,
        args.max_memory,
        args.max_hours,
        args.replicate,
    )
    print(f"wrote one simulated trial to {out}/")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Monte Carlo power curve (or sample size) of a scenario."""
    scenario = _load(args)
    checked = with_options(
        scenario,
        seed=args.seed,
        target=args.target,
        replicates=args.replicates,
        chunk_size=args.chunk_size,
    )
    check_analyses(checked, args.analysis or [checked.trial.analysis])
    _preflight(args, checked, len(args.analysis or [checked.trial.analysis]), 1)

    from mssim.commands.run import run_power

    out = run_power(
        scenario,
        out=args.out,
        replicates=args.replicates,
        seed=args.seed,
        n_jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        solve=args.solve_n,
        target=args.target,
        analyses=args.analysis,
        chunk_size=args.chunk_size,
        max_memory=args.max_memory,
        force_jobs=args.force_jobs,
        max_hours=args.max_hours,
    )
    print(f"\nresults in {out}/")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Operating characteristics over a grid of scenario fields."""
    scenario = with_options(_load(args), seed=args.seed, replicates=args.replicates)
    # cells counted from the text (parse_grid, which checks it, loads the engine)
    counts = [len(text.partition("=")[2].split(",")) for text in args.grid]
    cells = args.lhs if args.lhs is not None else math.prod(counts)
    _preflight(args, scenario, 1, cells)

    from mssim.commands.sweep import sweep_command

    out = sweep_command(
        args.file,
        args.overrides,
        args.grid,
        args.lhs,
        args.replicates,
        args.jobs,
        args.backend,
        args.out,
        max_memory=args.max_memory,
        force_jobs=args.force_jobs,
        max_hours=args.max_hours,
        seed=args.seed,
    )
    print(f"\nresults in {out}/")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Morris screening: which assumptions drive power."""
    from mssim.commands.sensitivity import sensitivity_command

    out = sensitivity_command(
        args.file,
        args.overrides,
        args.field,
        args.n,
        args.replicates,
        args.trajectories,
        args.seed,
        args.jobs,
        args.backend,
        args.out,
        force_jobs=args.force_jobs,
        run=args.run,
    )
    print(f"\nresults in {out}/")
    return 0


def _preflight(args: argparse.Namespace, scenario: Scenario, analyses: int, cells: int) -> None:
    """Refuse an absurd Monte Carlo run before the engine is even imported."""
    jobs = check_jobs(args.jobs, args.force_jobs)
    monte_carlo(
        scenario,
        args.replicates or scenario.power.replicates,
        scenario.power.n_per_arm,
        analyses,
        cells,
        args.chunk_size if "chunk_size" in args else None,
        jobs if args.backend != "threads" else 1,
        args.max_memory,
        args.max_hours,
    )


def cmd_report(args: argparse.Namespace) -> int:
    """Write the self-contained HTML report of a results folder."""
    from mssim.outputs.report import write_report

    print(f"wrote {write_report(args.folder)}")
    return 0


def cmd_literature(args: argparse.Namespace) -> int:
    """A simulated literature of small trials, publication bias and meta-analysis."""
    if args.studies >= 1 and 2 <= args.min_n <= args.max_n:  # else the command explains
        single_trial(
            _load(args),
            args.max_n,
            replicates=args.studies,
            budget=args.max_memory,
            max_hours=args.max_hours,
        )

    from mssim.commands.literature import literature_command

    literature_command(
        args.file,
        args.overrides,
        args.out,
        n_studies=args.studies,
        sizes=(args.min_n, args.max_n),
        p_nonsignificant=args.p_nonsignificant,
        outcome_switching=args.outcome_switching,
        open_label_share=args.open_label_share,
        seed=args.seed,
        max_memory=args.max_memory,
        max_hours=args.max_hours,
    )
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the Solara dashboard (replaces this process)."""
    try:
        from mssim.views.dashboard import serve
    except ImportError as err:
        raise MssimError(
            f"dashboard: {err.name} is not installed; pip install 'mssim[dashboard]'"
        ) from None
    refuse_priors(load_scenario(args.file), args.file, "dashboard")
    serve(args.file, host=args.host, port=args.port)
    return 0


def cmd_selfcheck(args: argparse.Namespace) -> int:
    """Run the self-checks; exit status 1 if any fails."""
    from mssim.montecarlo.published_targets import print_targets, published_targets
    from mssim.montecarlo.selfcheck import FULL, QUICK, print_checks, selfcheck

    replicates, n_per_arm = QUICK if args.quick else FULL
    table, skipped = selfcheck(args.replicates or replicates, n_per_arm, n_jobs=args.jobs)
    print_checks(table, skipped)
    targets = published_targets()
    print_targets(targets)
    return 0 if table.passed.all() and targets.passed.all() else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="mssim",
        description=(
            "Simulated people with multiple sclerosis in acupuncture trials: power, "
            "sample size, bias and exaggeration, before anyone enrols."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mssim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check a scenario and print it resolved")
    _scenario_arguments(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("simulate", help="simulate one trial and write its data")
    _scenario_arguments(p)
    p.add_argument(
        "--n", type=positive, default=None, help="patients per arm (default trial.n_per_arm)"
    )
    p.add_argument(
        "--seed", type=non_negative, default=None, help="root seed (default: scenario seed)"
    )
    p.add_argument("--out", default="results/simulate", help="output folder")
    p.add_argument(
        "--replicate",
        type=non_negative,
        default=0,
        help="replicate index (its random streams; with [priors], its draws: the trial "
        "that replicate of the assurance run simulated)",
    )
    p.add_argument(
        "--analysis",
        default=None,
        help="analysis to report (default trial.analysis); 'all' runs every fitting method",
    )
    p.add_argument(
        "--engine",
        choices=["vectorized", "mesa"],
        default="vectorized",
        help="vectorized engine or the Mesa agent view (same numbers)",
    )
    _size_arguments(p, jobs=False)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="Monte Carlo power curve, bias and exaggeration")
    _scenario_arguments(p)
    p.add_argument("--replicates", type=positive, default=None, help="trials per design point")
    p.add_argument("--seed", type=non_negative, default=None, help="root seed")
    p.add_argument("--jobs", type=positive, default=1, help="parallel workers")
    p.add_argument("--out", type=Path, default=None, help="output folder (resumable)")
    p.add_argument(
        "--backend",
        choices=["threads", "processes", "dask"],
        default="processes",
        help="local processes (default; fastest measured), threads, or a Dask cluster",
    )
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
    p.add_argument("--solve-n", action="store_true", help="find the n per arm reaching --target")
    p.add_argument("--target", type=float, default=None, help="target power (default power.target)")
    p.add_argument(
        "--analysis",
        action="append",
        default=None,
        help="analysis to run (repeatable; default trial.analysis)",
    )
    p.add_argument("--chunk-size", type=positive, default=None, help="replicates per chunk")
    _size_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="power over a grid of scenario fields (common random numbers)")
    _scenario_arguments(p)
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=V1,V2,...",
        help="a swept field and its values (repeatable), e.g. --grid dropout.rate=0.1,0.2",
    )
    p.add_argument(
        "--lhs",
        type=positive,
        default=None,
        metavar="K",
        help="K Latin-hypercube points in the box the --grid values span, instead of the grid",
    )
    p.add_argument(
        "--replicates", type=positive, default=None, help="trials per design point and cell"
    )
    p.add_argument("--seed", type=non_negative, default=None, help="root seed of every cell")
    _parallel_arguments(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="sweep folder (default results/<name>/sweep-<timestamp>); same --out resumes",
    )
    _size_arguments(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "sensitivity", help="rank the assumptions by their effect on power (Morris, SALib)"
    )
    _scenario_arguments(p)
    p.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="FIELD",
        help="a field to screen (repeatable; default: every assumption used and the effects)",
    )
    p.add_argument(
        "--n", type=positive, default=None, help="n per arm for power (default trial.n_per_arm)"
    )
    p.add_argument("--replicates", type=positive, default=200, help="trials per point")
    p.add_argument("--trajectories", type=positive, default=10, help="Morris trajectories")
    p.add_argument("--seed", type=non_negative, default=None, help="root seed of every point")
    _parallel_arguments(p)
    p.add_argument(
        "--out", type=Path, default=None, help="folder (default results/<name>/sensitivity-<time>)"
    )
    p.add_argument(
        "--run", type=Path, default=None, help="add the screening to this run's folder instead"
    )
    p.add_argument("--force-jobs", action="store_true", help="allow more --jobs than cores")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("report", help="write report.html for a results folder")
    p.add_argument("folder", type=Path, help="a folder written by mssim run or mssim sweep")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "literature", help="a simulated literature: publication bias and meta-analysis"
    )
    _scenario_arguments(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default results/<name>/literature-<timestamp>)",
    )
    # plain int: literature_command explains what is allowed
    p.add_argument("--studies", type=int, default=40, help="trials run, published or not")
    p.add_argument("--min-n", type=int, default=10, help="smallest trial (patients per arm)")
    p.add_argument("--max-n", type=int, default=80, help="largest trial (patients per arm)")
    p.add_argument(
        "--p-nonsignificant",
        type=float,
        default=0.2,
        help="chance a non-significant trial is published (significant ones always are)",
    )
    p.add_argument(
        "--outcome-switching",
        action="store_true",
        help="authors report their most significant endpoint or visit",
    )
    p.add_argument(
        "--open-label-share",
        type=float,
        default=0.5,
        help="share of open-label trials (vs usual care)",
    )
    p.add_argument("--seed", type=non_negative, default=None, help="root seed")
    _size_arguments(p, jobs=False)
    p.set_defaults(func=cmd_literature)

    p = sub.add_parser("dashboard", help="browser dashboard (Solara) on http://HOST:PORT")
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="scenario TOML file (default: the embedded default scenario)",
    )
    p.add_argument("--port", type=port, default=8765, help="TCP port (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default loopback)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser(
        "selfcheck",
        help="calibration matrix (type I error, coverage), analytic power and reproducibility",
    )
    p.add_argument(
        "--replicates", type=positive, default=None, help="trials per check (default 1000)"
    )
    p.add_argument(
        "--quick", action="store_true", help="200 trials of 20 per arm per check (for CI)"
    )
    p.add_argument("--jobs", type=positive, default=2, help="parallel workers")
    p.set_defaults(func=cmd_selfcheck)
    for command in sub.choices.values():
        command.add_argument(
            "--plugin",
            dest="plugins",
            action="append",
            default=[],
            metavar="MODULE_OR_FILE",
            help="load a plug-in that registers analyses, endpoints, designs or "
            "intervention kinds (repeatable)",
        )
    return parser


def _show_warning(message: Warning | str, *args: Any, **kwargs: Any) -> None:
    """Print a warning to the user as one line (no file and line of the code)."""
    print(f"mssim: warning: {message}", file=sys.stderr)


def os_error_message(err: OSError) -> str:
    """An operating-system error as one line that names the path (or paths)."""
    reason = err.strerror or str(err)
    paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
    if not paths:
        return f"{reason}"
    return f"{' -> '.join(paths)}: {reason}"


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while a command runs, so temporary files are cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mssim`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        with _terminate_as_interrupt(), warnings.catch_warnings():
            warnings.simplefilter("always", FutureWarning)
            warnings.showwarning = _show_warning
            for spec in getattr(args, "plugins", []):
                load_plugin(spec)
            return func(args)
    except MssimError as err:
        print(f"mssim: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader left (e.g. `mssim schema | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:  # a read-only or full disk, a file where a folder should be, ...
        print(f"mssim: error: {os_error_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\nmssim: interrupted; finished chunks are kept. Re-run the same command to resume.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
