"""``transfer-lab``: the lab from a shell (``python -m lab.cli`` works the same).

    transfer-lab train CONFIG.json            # headless run -> runs/<id>/, val_acc=...
    transfer-lab train CONFIG.json --nproc 2  # the same on 2 processes (torchrun, DDP)
    transfer-lab script CONFIG.json -o train.py
    transfer-lab probe --data animal_shapes
    transfer-lab export-data animal_shapes data/animal_shapes
    transfer-lab serve                         # the dashboard, as `make lab` serves it

A CONFIG is the JSON of a RunConfig: every run folder's ``config.json`` is one.
Bad input exits with status 2 and one line naming the setting and the fix.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROG = "transfer-lab"
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 1, 2, 130


class UsageError(Exception):
    """Bad input from the command line; the message is shown as one line."""


def load_config(path: str, **overrides: Any) -> Any:
    """The RunConfig in the JSON file ``path``, with non-None ``overrides`` applied."""
    from lab.core.data import DataError
    from lab.core.training.config import RunConfig

    file = Path(path)
    try:
        values = json.loads(file.read_text())
    except FileNotFoundError:
        raise UsageError(f"CONFIG={path!r} does not exist: pass a run's config.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"CONFIG={path!r} is not a JSON file ({error})") from None
    if not isinstance(values, dict):
        raise UsageError(f"CONFIG={path!r}: expected a JSON object of run settings")
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig.from_dict(values)
    except (ValueError, DataError) as error:
        raise UsageError(f"CONFIG={path!r}: {error}") from None
    except TypeError as error:  # e.g. an unknown key inside "data"
        raise UsageError(f"CONFIG={path!r}: data: {error}") from None


# -- train ------------------------------------------------------------------------------


def _train(args: argparse.Namespace) -> int:
    if args.nproc > 1:
        return _torchrun(args)
    from lab.core.training import distributed

    config = load_config(
        args.config, runs_dir=args.runs_dir, epochs=args.epochs, device=args.device
    )
    if args.deterministic:
        import dataclasses

        import torch

        torch.use_deterministic_algorithms(True)
        if config.layout == "auto":  # chosen by timing, so it could differ run to run
            config = dataclasses.replace(config, layout="contiguous")
    context = None
    if distributed.launched_by_torchrun():
        context = distributed.init_distributed(config.device)
    try:
        return _run(config, context, quiet=args.quiet)
    finally:
        distributed.shutdown_distributed()


def _run(config: Any, context: Any, quiet: bool) -> int:
    from lab.core.training.distributed import DistributedTrainer
    from lab.core.training.engine import Trainer
    from lab.core.training.headless import ProgressReporter, run_headless

    main = context is None or context.is_main
    try:
        trainer = Trainer(config) if context is None else DistributedTrainer(config, context)
        trainer.prepare()  # model and data now: bad input is reported before training
    except (KeyError, LookupError, ValueError, OSError, RuntimeError) as error:
        raise UsageError(_message(error)) from None
    reporter = ProgressReporter() if main and not quiet else None
    history = run_headless(trainer, reporter)
    best = history.best_val_acc
    if context is not None:
        _line(f"rank {context.rank}: best val_acc={best}")
    if history.state == "failed":
        _line(f"{PROG}: error: {history.error}")
        return EXIT_FAILED
    if main:
        if trainer.run_dir is not None:
            print(f"run folder: {trainer.run_dir}", file=sys.stderr)
        if best is not None:
            print(f"val_acc={best:.4f}", flush=True)
    return 0 if history.state == "completed" else EXIT_STOPPED


def _line(text: str) -> None:
    """One whole line on stderr, which every process of a torchrun job shares.

    ``print`` writes the text and its newline separately, and with unbuffered output
    (``PYTHONUNBUFFERED``) another process's line can land between the two.
    """
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _message(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split())  # one line


def _torchrun(args: argparse.Namespace) -> int:
    """``train --nproc N``: the same command under torchrun on this machine."""
    rest = ["train", args.config]
    for flag, value in (("--runs-dir", args.runs_dir), ("--epochs", args.epochs)):
        if value is not None:
            rest += [flag, str(value)]
    if args.device is not None:
        rest += ["--device", args.device]
    rest += [flag for flag, on in (("--deterministic", args.deterministic),) if on]
    rest += ["--quiet"] if args.quiet else []
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*run, "--nproc_per_node", str(args.nproc)]
    child = subprocess.Popen([*command, "-m", "lab.cli", *rest])

    def forward(signum: int, _frame: object) -> None:  # torchrun passes it to every process
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- script, export-data, probe, serve --------------------------------------------------


def _script(args: argparse.Namespace) -> int:
    from lab.core.runs.script import render_script

    config = load_config(args.config)
    name = Path(args.output).name if args.output else "train.py"
    try:
        source = render_script(config, args.data_dir, script_name=name)
    except (KeyError, ValueError) as error:
        raise UsageError(_message(error)) from None
    if args.output:
        Path(args.output).write_text(source)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(source)
    return 0


def _export_data(args: argparse.Namespace) -> int:
    from lab.core.data import DataError, load_dataset, write_image_folder

    try:
        dataset = load_dataset(args.name, download=args.allow_download)
        folder = write_image_folder(dataset, args.folder)
    except DataError as error:
        raise UsageError(_message(error)) from None
    print(f"wrote {len(dataset)} images of {dataset.num_classes} classes to {folder}")
    return 0


def _probe(args: argparse.Namespace) -> int:
    from lab.core.analysis.probe import DEFAULT_CANDIDATES, probe
    from lab.core.data import DataError, FolderDataset

    data: Any = FolderDataset(args.data) if Path(args.data).is_dir() else args.data
    try:
        report = probe(
            candidates=args.models or DEFAULT_CANDIDATES,
            data=data,
            n_per_class=args.n_per_class,
            image_size=args.image_size,
            score=args.score,
            seed=args.seed,
            allow_download=args.allow_download,
            device=args.device,
            on_result=lambda r: print(f"  {r.label}: {r.status}", file=sys.stderr),
        )
    except (DataError, ValueError) as error:
        raise UsageError(_message(error)) from None
    print(report.table())
    return 0


REPO_ROOT = Path(__file__).resolve().parent.parent
#: Preheated kernels waiting for the next visitors (``make lab``'s POOL_SIZE).
POOL_SIZE = 2


def dashboard_command(
    port: int, notebook: str | None = None, pool_size: int = POOL_SIZE
) -> list[str]:
    """The Voilà command that serves the dashboard (the same as ``make lab``); run it in
    :data:`REPO_ROOT`, where Voilà finds the serving settings of ``voila.json``."""
    path = notebook or str(REPO_ROOT / "notebooks/dashboard.ipynb")
    return [
        sys.executable,
        "-m",
        "voila",
        path,
        f"--port={port}",
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--theme=light",
        f"--pool_size={pool_size}",
    ]


def _serve(args: argparse.Namespace) -> int:
    notebook = str(Path(args.notebook).resolve()) if args.notebook else None
    command = dashboard_command(args.port, notebook, args.pool_size)
    if not Path(command[3]).exists():
        raise UsageError(f"notebook {command[3]!r} not found: pass --notebook PATH")
    from lab.core.hardware.memory import SERVER_ENV

    try:
        return subprocess.call(command, cwd=REPO_ROOT, env={**os.environ, **SERVER_ENV})
    except KeyboardInterrupt:
        return 0


# -- parsing ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``transfer-lab`` (its ``--help`` is the reference)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Transfer Lab from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="run a config headless, write runs/<id>/")
    train.add_argument("config", metavar="CONFIG.json", help="run settings, e.g. a config.json")
    train.add_argument("--runs-dir", help="where the run folder goes (default: the config's)")
    train.add_argument("--epochs", type=int, help="override the config's epochs")
    train.add_argument("--device", help="override the config's device (cpu, cuda, ...)")
    train.add_argument("--nproc", type=int, default=1, help="processes on this machine (DDP)")
    train.add_argument(
        "--deterministic", action="store_true", help="deterministic ops and a fixed memory layout"
    )
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.set_defaults(run=_train)

    script = commands.add_parser("script", help="write the run as a plain PyTorch script")
    script.add_argument("config", metavar="CONFIG.json")
    script.add_argument("-o", "--output", help="file to write (default: standard output)")
    script.add_argument("--data-dir", help="image folder the script reads")
    script.set_defaults(run=_script)

    export = commands.add_parser("export-data", help="write a data set as an image folder")
    export.add_argument("name", help="data set name, e.g. animal_shapes")
    export.add_argument("folder", help="new folder for the images")
    export.add_argument("--allow-download", action="store_true")
    export.set_defaults(run=_export_data)

    probe = commands.add_parser("probe", help="rank backbones on a data set (frozen features)")
    probe.add_argument("--data", default="animal_shapes", help="data set name or image folder")
    probe.add_argument("--models", nargs="+", metavar="KEY", help="catalog keys to rank")
    probe.add_argument("--n-per-class", type=int, default=20)
    probe.add_argument("--image-size", type=int, default=None)
    probe.add_argument("--score", default="linear", choices=("linear", "knn"))
    probe.add_argument("--seed", type=int, default=0)
    probe.add_argument("--device", default="cpu")
    probe.add_argument("--allow-download", action="store_true")
    probe.set_defaults(run=_probe)

    serve = commands.add_parser("serve", help="serve the dashboard with Voilà on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8866)
    serve.add_argument("--notebook", help="dashboard notebook (default: the lab's own)")
    serve.add_argument(
        "--pool-size", type=int, default=POOL_SIZE, help="preheated kernels for the next visitors"
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``transfer-lab``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
