"""The command line: run, validate, report, export. Exit status: 0 finished, 3 stopped early and
resumable, 2 bad scenario or usage (a message, no traceback), 1 anything else."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ReportedElsewhere, UserError
from .world import launched_ranks, world

COMMANDS = ("run", "validate", "report", "export", "evaluate")
log = logging.getLogger("mpismac")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mpismac",
        description="SMAC-style Bayesian optimization that runs natively on MPI.",
        epilog="`python -m mpismac SCENARIO.yaml` is short for `python -m mpismac run SCENARIO.yaml`.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run or resume a scenario")
    run.add_argument("scenario", help="scenario YAML file, or an AClib scenario.txt")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario key (value read as YAML); repeatable")
    run.add_argument("--fresh", action="store_true", help="move an existing run folder aside and start over")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    val = sub.add_parser("validate", help="check a scenario and import its target; runs nothing")
    val.add_argument("scenario")
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    rep = sub.add_parser("report", help="summarize run folders (also while they run)")
    rep.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    rep.add_argument("--json", action="store_true", help="machine-readable output")
    rep.add_argument("--plot", metavar="FILE.png", help="plot the incumbent's cost over trials and over wall "
                     "time, every run folder overlaid (needs the plot extra: matplotlib)")
    rep.add_argument("--html", metavar="FILE.html", help="write one self-contained page: incumbent or front, "
                     "its cost over trials and time, each worker's trials over time, the best configurations")
    exp = sub.add_parser("export", help="write a run as CSV or as a SMAC3 2.x run folder")
    exp.add_argument("run_dir")
    exp.add_argument("--format", choices=("csv", "smac3"), required=True)
    exp.add_argument("--output", "-o", help="csv: file (default: standard output); smac3: folder "
                     "(default: RUN_DIR/smac3)")
    exp.add_argument("--force", action="store_true", help="overwrite an existing CSV file, or the files of "
                     "an existing SMAC3 export (refused without it)")
    ev = sub.add_parser("evaluate", help="run a run's default and incumbent on its test instances, in parallel "
                                         "under mpiexec, and compare them")
    ev.add_argument("run_dir")
    ev.add_argument("--instances", choices=("test", "train"), default="test",
                    help="the scenario's test_instances (default) or its training instances")
    ev.add_argument("--configs", default="default,incumbent", metavar="A,B,...",
                    help="default, incumbent or configuration ids of the run (default: default,incumbent)")
    ev.add_argument("--seeds", type=int, default=1, help="runs per instance and configuration (default 1)")
    ev.add_argument("--plot", metavar="FILE.png", help="the first two configurations' runtime per instance, one "
                                                      "against the other (log axes)")
    return parser


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from . import evaluate
    from .runtime.farm import farm_job
    from .runtime.trials import WorkerPlan

    comm = world()
    made: list[evaluate.Plan] = []

    def prepare():
        if args.seeds < 1:
            raise UserError("--seeds: expected at least 1")
        plan = evaluate.plan(Path(args.run_dir), args.instances, [c.strip() for c in args.configs.split(",")],
                             args.seeds)
        made.append(plan)
        worker_plan = WorkerPlan.of(plan.scenario, plan.target, as_json=True)
        return dataclasses.replace(worker_plan, run_dir=Path(args.run_dir).resolve()), plan.requests

    results = farm_job(comm, prepare)
    if results is None:  # a worker rank
        return 0
    plan = made[0]
    rows = evaluate.score(plan, results)
    print(evaluate.table(plan, rows))
    path = evaluate.csv_path(Path(args.run_dir), plan.which)
    evaluate.write_csv(path, plan, results)
    print(f"runs written to {path}")
    if args.plot:
        evaluate.scatter(Path(args.plot), plan, results)
        print(f"plot written to {args.plot}")
    return 0 if len(results) == len(plan.requests) else 3


def _cmd_run(args: argparse.Namespace) -> int:
    comm = world()  # under mpiexec/srun: master-worker over COMM_WORLD
    if comm is not None and comm.Get_rank() != 0:  # rank 0 speaks; every rank has its logs/rank{R}.log
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.WARNING)
    try:
        scenario, plan, layout = _load_everywhere(args, comm)
        if layout is not None:  # mode groups: a manager (scenario) or a worker (plan) of one group
            from .runtime.groups import manage_group, serve_group

            result = (manage_group(scenario, comm, layout, fresh=args.fresh, show_progress=not args.quiet)
                      if scenario is not None else serve_group(plan, comm, layout))
        elif plan is not None:  # a master-worker worker rank: it imports neither the scenario nor the optimizer
            from .runtime.mpi import serve_mpi

            result = serve_mpi(plan, comm)
        else:
            from .api import optimize

            result = optimize(scenario.target, scenario, comm=comm, fresh=args.fresh, show_progress=not args.quiet)
    except KeyboardInterrupt:
        if comm is None:
            raise
        comm.Abort(3)  # interrupted before the run could stop its ranks in order: end them all
        raise
    if comm is None or comm.Get_rank() == 0:
        if len(result.front) > 1:
            print(f"Pareto front of {len(result.front)} configurations:")
            for point in result.front:
                print(f"  cost {', '.join(f'{c:.6g}' for c in point.costs)}: {point.config}")
        else:
            cost = "-" if result.costs is None else ", ".join(f"{c:.6g}" for c in result.costs)
            print(f"incumbent cost {cost}: {result.incumbent}")
        print(f"run folder {result.path} ({result.n_finished} trials, stopped by {result.stopped_by})")
    return result.exit_code


def _read_scenario(args: argparse.Namespace):
    from .scenario import Scenario

    scenario = Scenario.from_file(args.scenario, args.overrides)
    if scenario.target is None:
        raise UserError(f"{args.scenario}: key 'target': is required to run from the command line")
    return scenario


def _load_everywhere(args: argparse.Namespace, comm):
    """(scenario, worker plan, groups layout): the scenario on rank 0, a pSMAC rank and a
    group's manager; on a worker rank (master-worker or groups) instead the WorkerPlan rank 0
    sent; the layout in mode groups. Under MPI rank 0 reads the scenario and its verdict is every
    rank's (only rank 0 speaks); a worker rank gets what it needs from rank 0 and never loads
    ConfigSpace, scipy, h5py or the optimizer; an optimizer rank reads the scenario itself."""
    if comm is None:
        return _read_scenario(args), None, None
    from .runtime.protocol import from_root

    scenario, error, plan, groups = None, None, None, None
    if comm.Get_rank() == 0:
        try:
            scenario = _read_scenario(args)
        except UserError as exc:
            error = str(exc)
        if scenario is not None and scenario.mode != "psmac" and comm.Get_size() > 1:
            from .runtime.trials import WorkerPlan

            plan = WorkerPlan.of(scenario, scenario.target, as_json=True)
            groups = (scenario.groups, scenario.source) if scenario.mode == "groups" else None
    root_error, plan, groups = from_root(comm, (error, plan, groups))
    if root_error is not None:
        raise (UserError if comm.Get_rank() == 0 else ReportedElsewhere)(root_error)
    layout = None
    if groups is not None:
        from .runtime.groups import layout_of

        layout = layout_of(comm, *groups)
        if not layout.is_manager(comm.Get_rank()):
            return None, plan, layout
    if comm.Get_rank() == 0:
        return scenario, None, layout
    if plan is not None and layout is None:
        return None, plan, None
    try:
        return _read_scenario(args), None, layout
    except UserError as exc:
        print(f"mpismac: rank {comm.Get_rank()} cannot read what rank 0 read: {exc}", file=sys.stderr)
        comm.Abort(2)
        raise


VALIDATE_IMPORT_S = 60.0  # how long `validate` waits for the target's import


def _cmd_validate(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from .errors import StartCancelled
    from .runtime.signals import StopSignals
    from .runtime.trials import start_executor
    from .scenario import Scenario

    scenario = Scenario.from_file(args.scenario, args.overrides)
    if scenario.target is None:
        raise UserError(f"{args.scenario}: key 'target': is required")
    # Imports a function target and checks the memory limit; Ctrl-C or SIGTERM ends the wait (exit 3).
    with tempfile.TemporaryDirectory() as tmp, StopSignals() as signals:
        try:
            start_executor(scenario, scenario.target, Path(tmp), 0, {}, start_timeout=VALIDATE_IMPORT_S,
                           cancelled=lambda: signals.requested).close()
        except StartCancelled:
            print(f"mpismac: validate stopped by {signals.name} while the target was being imported",
                  file=sys.stderr)
            return 3
    print(f"{args.scenario}: OK — {len(scenario.configspace)} hyperparameters, target "
          f"{scenario.target.describe()} ({scenario.target.kind}), facade {scenario.facade}, "
          f"{scenario.n_trials} trials, run folder {scenario.run_dir}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import format_text, summarize
    from .runhistory.merge import load_any

    loaded = [load_any(d) for d in args.run_dirs]  # each folder read once, for the summary and the plot
    summaries = [summarize(d, run) for d, run in zip(args.run_dirs, loaded, strict=True)]
    if args.json:
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=2, default=str))
    else:
        print("\n\n".join(format_text(s) for s in summaries))
    front = summaries[0].get("front")  # several objectives: the hypervolume's reference, as reported
    reference = front["reference_point"] if front and front["reference_from"] == "scenario" else None
    if args.plot:
        from .plot import plot_runs, short_labels

        plot_runs([(label, run.state.runhistory, run.state.walltime_used)
                   for label, run in zip(short_labels(args.run_dirs), loaded, strict=True)], args.plot, reference)
        if not args.json:
            print(f"plot written to {args.plot}")
    if args.html:
        from .html_report import RunView, write_html
        from .plot import short_labels

        write_html(args.html, [RunView(label, run.state.runhistory, s) for label, run, s
                               in zip(short_labels(args.run_dirs), loaded, summaries, strict=True)], reference)
        if not args.json:
            print(f"report written to {args.html}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    message = export(args.run_dir, args.format, args.output, force=args.force)
    if message:
        print(message)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if launched_ranks() > 1:
        from .runtime.signals import record_early_signals

        record_early_signals()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "run")
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger("mpismac").setLevel(logging.INFO)
    handlers = {"run": _cmd_run, "validate": _cmd_validate, "report": _cmd_report, "export": _cmd_export,
                "evaluate": _cmd_evaluate}
    try:
        return handlers[args.command](args)
    except ReportedElsewhere:
        return 2
    except UserError as exc:
        print(f"mpismac: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 3
    except BrokenPipeError:  # `report ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
