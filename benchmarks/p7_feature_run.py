"""P7: a whole feature-extraction run against one forward pass over the images it sees.

The run (MobileNetV2 at 112 px, 100 training images per class, 500 validation images,
3 epochs: every epoch's training and evaluation, the embedding) is timed from ``run()``
with its model and data already built. The reference is plain torchvision: the same
images as tensors in memory, one ``inference_mode`` pass in batches of 32, in the
contiguous and in the channels_last layout, on the main thread as a notebook cell runs
it; the faster layout is the one compared against. The Trainer computes on a worker
thread, which costs it time the main thread does not pay (its own OpenMP team and
malloc arena), so the same pass on a worker thread is measured and compared too, and so
is the engine's own compute: that pass through the BatchNorm-folded copy the run takes
its features with. Rounds alternate so a busy neighbour slows all sides alike.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import torch

from benchmarks.common import BenchSettings, layout_of, median, on_a_thread
from lab.core.hardware.device import DeviceSetup, setup_device
from lab.core.hardware.layout import memory_format, to_layout
from lab.core.models.folding import folded_copy
from lab.core.training.engine import Trainer

ROUNDS = 2
EPOCHS = 3


def _settings(settings: BenchSettings) -> BenchSettings:
    return replace(settings, n_per_class=100, image_size=112, eval_fraction=0.05)


def _config(settings: BenchSettings) -> Any:
    # No test split: the run's images are its training and validation ones.
    config = settings.config(approach="feature_extraction", epochs=EPOCHS, embedding="pca")
    return config.replace(data=replace(config.data, test_fraction=0.0))


def _engine_run(settings: BenchSettings) -> tuple[float, float, Trainer]:
    trainer = Trainer(_config(settings))
    began = time.perf_counter()
    trainer.prepare()
    built = time.perf_counter()
    trainer.run()
    if trainer.state != "completed":
        raise RuntimeError(f"P7 run ended {trainer.state}: {trainer.history.error}")
    return time.perf_counter() - built, built - began, trainer


def _images(trainer: Trainer) -> torch.Tensor:
    parts = trainer.parts
    splits = (parts.train, parts.val)
    return torch.stack([split[i][0] for split in splits for i in range(len(split))])  # type: ignore[arg-type]


def _forward(
    model: torch.nn.Module, images: torch.Tensor, layout: str, setup: DeviceSetup
) -> float:
    """One pass in batches of 32 at the precision the engine uses (autocast on GPUs)."""
    model.to(memory_format=memory_format(layout))
    began = time.perf_counter()
    with torch.inference_mode(), setup.autocast():
        for start in range(0, len(images), 32):
            model(to_layout(images[start : start + 32].to(setup.device), layout))
    if setup.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - began


def measure(settings: BenchSettings) -> dict[str, Any]:
    """Engine run vs the best-layout forward pass, alternating, medians of ``ROUNDS``."""
    settings = _settings(settings)
    runs: list[float] = []
    on_main: dict[str, list[float]] = {"contiguous": [], "channels_last": []}
    on_worker: dict[str, list[float]] = {"contiguous": [], "channels_last": []}
    folded: list[float] = []
    first = Trainer(_config(settings))
    images = _images(first)
    setup = setup_device(settings.device)
    model = first.model.eval().to(setup.device)
    accuracy, layout, prepare_s = 0.0, "contiguous", 0.0
    for _ in range(ROUNDS):
        for name, times in on_main.items():
            times.append(_forward(model, images, name, setup))
            on_worker[name].append(on_a_thread(_forward, model, images, name, setup))
        run_s, prepare_s, trainer = _engine_run(settings)
        runs.append(run_s)
        accuracy = trainer.history.best_val_acc or 0.0
        layout = layout_of(trainer.model)
        model.to(memory_format=memory_format(layout))
        twin, _ = folded_copy(model, first.parts.head, images[:2].to(setup.device))
        folded.append(on_a_thread(_forward, twin, images, layout, setup))
    best_layout = min(on_main, key=lambda k: median(on_main[k]))
    best_worker = min(median(times) for times in on_worker.values())
    return {
        "p7_run_vs_forward": median(runs) / median(on_main[best_layout]),
        "p7_run_vs_forward_worker": median(runs) / best_worker,
        "p7_run_vs_folded": median(runs) / median(folded),
        "details": {
            "run_s": runs,
            "forward_s": on_main,
            "forward_worker_thread_s": on_worker,
            "folded_forward_s": folded,
            "faster_layout": best_layout,
            "engine_layout": layout,
            "prepare_s": prepare_s,
            "images": len(images),
            "best_val_acc": accuracy,
        },
    }
