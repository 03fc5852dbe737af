"""``lininv experiments NAME``: run one of the paper's experiments in miniature and save it.

Writes ``NAME.csv`` (the table), ``NAME.json`` (table, settings, further results, run time) and
``NAME.png`` (the figure) to the output folder, each with the run's provenance, and prints the
table. Every finished cell is kept in ``OUTPUT/.cells/NAME.json`` as it completes, so rerunning
the same command after an interruption resumes where it stopped (and recomputes nothing once
finished). The flags and the output folder are checked before any work; the folder is locked
for the run, so a second run on it fails at once.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import shlex
import time
from pathlib import Path
from typing import Any

from lininv.cli._common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    UsageError,
    parse_seed,
    progress_printer,
    usage_error,
)

__all__ = ["add_parser", "run", "DEFAULT_OUTPUT"]

DEFAULT_OUTPUT = "lininv-experiments"

#: Replaced, when the help is shown, by the registered experiments (importing them costs a
#: second, which ``lininv --help`` and the other commands should not pay).
_NAMES = "[the experiments]"


def _names_text() -> str:
    from lininv.experiments import EXPERIMENTS

    return "; ".join(f"{name}: {exp.summary}" for name, exp in EXPERIMENTS.items())


class _Help(argparse.HelpFormatter):
    def _format_text(self, text: str) -> str:
        return super()._format_text(text.replace(_NAMES, _names_text()) if _NAMES in text else text)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "experiments",
        help="run the paper's experiments in miniature (8x8 digits)",
        description=(
            "Run one of the paper's experiments in miniature on scikit-learn's 8x8 digits with the "
            "pretrained default flow, and write NAME.csv, NAME.json and NAME.png to the output "
            "folder. Progress is saved per finished cell: rerun the same command to resume. "
            f"Experiments: {_NAMES}; or all (every 8x8 one in this order; with --dataset mnist28 "
            "every 28x28 one)."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=_Help,
    )
    p.add_argument("name", metavar="NAME", help="experiment name or 'all'")
    p.add_argument(
        "--output",
        "--out",
        dest="output",
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"output folder, created if missing (default {DEFAULT_OUTPUT})",
    )
    p.add_argument("--seed", default="0", help="seed, an int >= 0 (default 0)")
    p.add_argument(
        "--small",
        action="store_true",
        help="reduced sizes (seconds instead of minutes; for tests and a quick look)",
    )
    p.add_argument(
        "--protocol",
        choices=("lininv", "paper", "both"),
        default="both",
        help=(
            "lininv: noiseless, converged solver, tuned baselines, MSE; paper: the authors' noise, "
            "fixed Lasso weight, fixed L-BFGS budget, PSNR (files NAME.paper.*); both (default): "
            "each experiment under every protocol it has"
        ),
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=2,
        help=(
            "processes: with both protocols, each runs in its own process; the experiments that "
            "take an executor (the 28x28 ones) also run their cells in this many worker "
            "processes, with the same numbers (default 2)"
        ),
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help=(
            "run the cells on this Dask scheduler (e.g. tcp://host:8786) instead of locally, with "
            "the same numbers; for the experiments that take an executor (the 28x28 ones)"
        ),
    )
    p.add_argument(
        "--dataset",
        choices=("digits", "mnist28"),
        default=None,
        help=(
            "with all: the experiments on these images (default digits, the 8x8 ones; mnist28: "
            "the 28x28 ones, about an hour on 2 cores); with a NAME: must be that experiment's"
        ),
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def _parse(args: Any) -> tuple[list[str], int, Path]:
    """The experiments to run, the seed and the (created, writable) output folder."""
    from lininv._io import output_folder
    from lininv.experiments import EXPERIMENTS

    if args.name != "all" and args.name not in EXPERIMENTS:
        raise UsageError(f"NAME must be one of {', '.join(EXPERIMENTS)} or all; got {args.name!r}")
    seed = parse_seed(args.seed)
    try:
        folder = output_folder(args.output, "--output")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    dataset = getattr(args, "dataset", None)
    if args.name == "all":
        dataset = dataset or "digits"
        names = [name for name, exp in EXPERIMENTS.items() if exp.dataset == dataset]
    else:
        if dataset is not None and EXPERIMENTS[args.name].dataset != dataset:
            raise UsageError(
                f"--dataset {dataset} does not match {args.name}, which runs on "
                f"{EXPERIMENTS[args.name].dataset}: drop --dataset or use NAME all"
            )
        names = [args.name]
    return names, seed, folder


def _save_figure(result: Any, folder: Path) -> Path:
    """Draw the result's figure and write ``NAME.png`` with its provenance in the PNG's text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lininv._io import atomic_write, to_jsonable
    from lininv.plotting import plot_experiment

    axes = plot_experiment(result)
    fig = (axes[0] if isinstance(axes, tuple) else axes).figure
    prov = to_jsonable(result.provenance)
    meta = {"Software": f"lininv {prov.get('lininv', '')}", "Source": str(prov.get("command", ""))}
    meta["Description"] = json.dumps(
        {"name": result.name, "protocol": result.protocol, "provenance": prov}
    )
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=130, bbox_inches="tight", metadata=meta)
    plt.close(fig)
    path = folder / f"{result.stem}.png"
    atomic_write(path, png.getvalue())
    return path


def run(args: Any) -> int:
    names, seed, folder = _parse(args)
    from lininv import experiments

    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise UsageError(f"--scheduler must be a Dask scheduler address; got {scheduler!r}")
        blind = [
            name
            for name in names
            if "executor" not in inspect.signature(experiments.EXPERIMENTS[name].compute).parameters
        ]
        if blind:
            raise UsageError(
                f"--scheduler applies to experiments that take an executor; {', '.join(blind)} "
                "runs locally only: drop --scheduler"
            )
    from lininv._io import Lock, OutputInUseError, StoreError

    try:
        lock = Lock(folder / "experiments", "--output").acquire()
    except OutputInUseError:
        raise UsageError(
            f"--output {str(folder)!r} is in use by another lininv experiments run; wait for it "
            "to finish or use another output"
        ) from None
    wanted = ("lininv", "paper") if args.protocol == "both" else (args.protocol,)
    command = shlex.join(
        ["lininv", "experiments", args.name, "--output", str(folder), "--seed", str(seed)]
        + ["--protocol", args.protocol]
        + (["--small"] if args.small else [])
        + (["--scheduler", scheduler] if scheduler is not None else [])
    )
    # experiments of order 100 and above summarise the others' saved results: they run last
    runs = sorted(
        (
            (name, proto)
            for proto in wanted
            for name in names
            if proto in experiments.EXPERIMENTS[name].protocols
        ),
        key=lambda r: experiments.EXPERIMENTS[r[0]].order >= 100,
    )
    if not runs:
        raise UsageError(f"{args.name} has no {args.protocol!r} protocol; use --protocol lininv")
    first = [r for r in runs if experiments.EXPERIMENTS[r[0]].order < 100]
    last = [r for r in runs if experiments.EXPERIMENTS[r[0]].order >= 100]
    lanes = [[r for r in first if r[1] == proto] for proto in wanted]
    lanes = [lane for lane in lanes if lane]
    # where the cells of experiments that take an executor run: the cluster, or local processes
    cells_on = scheduler if scheduler is not None else (args.jobs if args.jobs > 1 else None)
    job = (args.small, seed, str(folder), command, args.quiet, cells_on)
    try:
        if args.jobs > 1 and len(lanes) > 1 and scheduler is None:
            # one process per protocol: the protocols' cells, files and streams are disjoint
            # (with a scheduler the cluster runs the cells: the lanes run here, one after another)
            _run_lanes_in_processes(lanes, job)
        else:
            for lane in lanes:
                _run_lane(lane, *job)
        _run_lane(last, *job)
    except StoreError as exc:  # cells of other settings, or a damaged store
        raise usage_error(exc, {"output": "--output"}) from None
    finally:
        lock.release()
    return EXIT_OK


def _run_lane(
    lane: list[tuple[str, str]],
    small: bool,
    seed: int,
    folder: str,
    command: str,
    quiet: bool,
    executor: str | int | None = None,
) -> None:
    """Run, save, draw and print the experiments of ``lane`` ((name, protocol) pairs) in order;
    ``executor`` (a scheduler address or a number of processes) goes to those that take one."""
    from lininv import experiments

    progress = progress_printer(quiet=quiet)
    for name, proto in lane:
        t0 = time.perf_counter()
        takes = "executor" in inspect.signature(experiments.EXPERIMENTS[name].compute).parameters
        extra = {"executor": executor} if executor is not None and takes else {}
        result = experiments.run(
            name,
            small=small,
            seed=seed,
            output=Path(folder),
            progress=progress,
            command=command,
            protocol=proto,
            **extra,
        )
        paths = experiments.save_result(result, folder)
        paths.append(str(_save_figure(result, Path(folder))))
        print(result.table.to_markdown())
        print(
            f"{result.stem}: {time.perf_counter() - t0:.1f} s (cells computed in "
            f"{result.compute_seconds:.1f} s); wrote {', '.join(paths)}",
            flush=True,
        )


def _lane_process(queue: Any, lane: list[tuple[str, str]], job: tuple) -> None:
    """A lane in a child process: sends ``None`` or the exception that stopped it."""
    import pickle

    try:
        _run_lane(lane, *job)
        outcome: BaseException | None = None
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which re-raises it
        outcome = exc
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # an exception that cannot cross processes: its text does
            outcome = RuntimeError(f"{type(exc).__name__}: {exc}")
    queue.put(outcome)


def _run_lanes_in_processes(lanes: list[list[tuple[str, str]]], job: tuple) -> None:
    """Run each lane in its own (forked) process; re-raise the first failure here.

    An interrupt of this process (Ctrl-C, or SIGINT sent to it alone) is passed on to the
    children, which stop after saving their finished cells; then it is raised here, so the run
    exits with the resume message like a single-process one.
    """
    import multiprocessing
    import os
    import queue as queue_module
    import signal

    ctx = multiprocessing.get_context("fork")
    outcomes = ctx.Queue()
    procs = [ctx.Process(target=_lane_process, args=(outcomes, lane, job)) for lane in lanes]
    for proc in procs:
        proc.start()
    received: list[BaseException | None] = []
    try:
        while len(received) < len(procs):
            try:
                received.append(outcomes.get(timeout=0.5))
            except queue_module.Empty:
                # a child reports every outcome and exits 0: another status is a crash (a
                # signal, a fault in native code) that left nothing in the queue
                dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    for proc in procs:
                        if proc.is_alive():
                            proc.terminate()
                    raise RuntimeError(
                        f"an experiments process ended with exit status {dead[0]}; finished "
                        "cells are saved"
                    ) from None
    except KeyboardInterrupt:
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGINT)
        for proc in procs:
            proc.join()
        raise
    for proc in procs:
        proc.join()
    for outcome in received:
        if outcome is not None:
            raise outcome
