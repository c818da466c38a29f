"""The dashboard's default run, end to end: ``python -m benchmarks.default_run``.

The run the dashboard starts when nobody changes a setting (the app's own
``config()``: MobileNetV2, Animal Shapes, 50 images per class, 96 px, 5 epochs of
feature extraction), timed from ``Trainer(config)`` to the end of ``run()``, so model
and data building are included. Prints wall and CPU seconds and the best validation
accuracy of each round; ``--json PATH`` also writes them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from lab.core.training.engine import Trainer


def default_config(runs_dir: str) -> Any:
    """The config the dashboard's Start button uses with every panel at its default."""
    from lab.ui import TransferLab

    return TransferLab().config().replace(runs_dir=runs_dir)


def one_run(config: Any) -> dict[str, float]:
    """Wall and CPU seconds of one whole run, and its best validation accuracy."""
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(config)
    trainer.run()
    if trainer.state != "completed":
        raise RuntimeError(f"default run ended {trainer.state}: {trainer.history.error}")
    return {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "best_val_acc": float(trainer.history.best_val_acc or 0.0),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as runs_dir:
        config = default_config(runs_dir)
        rounds = [one_run(config) for _ in range(args.rounds)]
    for i, r in enumerate(rounds, 1):
        print(
            f"round {i}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, "
            f"best val acc {r['best_val_acc']:.4f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rounds, indent=2) + "\n")


if __name__ == "__main__":
    main()
