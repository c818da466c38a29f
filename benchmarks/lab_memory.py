"""Memory of a lab kernel over many runs: what the widget lab keeps after each run.

``python -m benchmarks.lab_memory [--runs 10] [--n-per-class 10] [--image-size 64]``
trains the soak's run (MobileNetV2 feature extraction on Animal Shapes, two epochs,
saved to a runs folder) again and again through the whole widget lab, as a workshop
kernel does, and records after each run: resident memory, how many trainers are still
alive, the decoded pixels they keep, the per-image arrays (predictions, losses,
embeddings) the compare tab's histories hold, threads and open files. Not a timed test:
the figures are memory, compared between versions of the lab.
Writes ``benchmarks/results/lab_memory.json`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BenchSettings, context
from benchmarks.soak import open_fds, rss_mb
from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer
from lab.ui import TransferLab

RESULTS = Path(__file__).parent / "results" / "lab_memory.json"


def _array_bytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if hasattr(value, "__dataclass_fields__"):
        return sum(_array_bytes(getattr(value, name)) for name in value.__dataclass_fields__)
    return 0


def item_bytes(app: TransferLab) -> int:
    """Bytes of per-image arrays in the histories the compare tab holds."""
    per_image = ("val_predictions", "val_losses", "val_confidence", "embedding")
    return sum(
        _array_bytes(getattr(e, name))
        for history in app.compare_panel.runs.values()
        for e in history.evaluations
        for name in per_image
    )


def pixel_bytes(trainer: Trainer) -> int:
    """Decoded pixels a trainer's splits still keep."""
    parts = getattr(trainer, "_parts", None)
    splits = (parts.train, parts.val, parts.test) if parts is not None else ()
    kept = (p for s in splits for p in getattr(s, "_pixels", ()) if p is not None)
    return sum(int(p.numel() * p.element_size()) for p in kept)


def _set_up(app: TransferLab, settings: BenchSettings, epochs: int) -> None:
    app.model_panel.model_key = settings.model
    data = app.data_panel
    data.dataset_name, data.n_per_class, data.image_size = (
        settings.dataset, settings.n_per_class, settings.image_size,
    )  # fmt: skip
    data.val_fraction = data.test_fraction = settings.eval_fraction
    app.approach_panel.approach = "feature_extraction"
    app.train_panel.epochs, app.train_panel.batch_size = epochs, settings.batch_size


def _one_run(app: TransferLab) -> None:
    trainer = app.start()
    if trainer is None or not trainer.join(1800):
        raise RuntimeError(f"the run did not start or end: {app.train_panel.status.value}")
    while app.pump.pending:
        time.sleep(0.05)
    app.pump.drain()  # waits for a batch the pump thread may be applying
    if trainer.state != "completed":
        raise RuntimeError(f"a run ended {trainer.state}: {trainer.history.error}")


def _sample(app: TransferLab, alive: list[weakref.ref[Trainer]]) -> dict[str, float]:
    """Figures now; the trainers are looked at here only, so none is kept by looking."""
    trainers = [t for t in (ref() for ref in alive) if t is not None]
    return {
        "rss_mb": round(rss_mb(), 1),
        "trainers_alive": len(trainers),
        "pixels_kept_mb": round(sum(map(pixel_bytes, trainers)) / 2**20, 2),
        "compare_item_kb": round(item_bytes(app) / 1024, 1),
        "threads": threading.active_count(),
        "fds": open_fds(),
    }


def measure(runs: int, settings: BenchSettings, epochs: int) -> dict[str, Any]:
    """Train ``runs`` runs through one lab; figures after each one."""
    alive: list[weakref.ref[Trainer]] = []

    def factory(config: RunConfig) -> Trainer:
        trainer = Trainer(config.replace(device=settings.device))
        alive.append(weakref.ref(trainer))
        return trainer

    samples: list[dict[str, float]] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs_dir:
        app = TransferLab(trainer_factory=factory, runs_dir=runs_dir)
        _set_up(app, settings, epochs)
        for i in range(runs):
            _one_run(app)
            samples.append(
                {"run": i + 1, **_sample(app, alive), "s": round(time.perf_counter() - began)}
            )
            print(samples[-1], flush=True)
        app.close()
    first, last = samples[0], samples[-1]
    return {
        "runs": runs,
        "epochs": epochs,
        "rss_first_mb": first["rss_mb"],
        "rss_last_mb": last["rss_mb"],
        "rss_max_mb": max(s["rss_mb"] for s in samples),
        "rss_growth_mb": round(last["rss_mb"] - first["rss_mb"], 1),
        "thread_growth": last["threads"] - first["threads"],
        "fd_growth": last["fds"] - first["fds"],
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--n-per-class", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = BenchSettings(
        n_per_class=args.n_per_class, image_size=args.image_size, eval_fraction=0.005
    )
    results = {**measure(args.runs, settings, args.epochs), "context": context(settings)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    keys = ("rss_first_mb", "rss_last_mb", "rss_growth_mb", "thread_growth", "fd_growth")
    print({k: results[k] for k in keys})
    return results


if __name__ == "__main__":
    main()
