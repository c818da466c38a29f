"""P7: a whole feature-extraction run against one forward pass over the images it sees.

The run (MobileNetV2 at 112 px, 100 training images per class, 500 validation images,
3 epochs: every epoch's training and evaluation, the embedding) is timed from ``run()``
with its model and data already built. The reference is plain torchvision: the same
images as tensors in memory, one ``inference_mode`` pass in batches of 32, in the
contiguous and in the channels_last layout, on the main thread as a notebook cell runs
it; the faster layout is the one compared against. The same pass on a worker thread
(the Trainer computes on one) and the engine's own compute (that pass through the
BatchNorm-folded copy the run takes its features with) are measured and compared too.

A first, warm-up round is timed and reported on its own: a process's first run also
measures the layout and builds the kernels of every batch shape, and the first passes
build theirs. The timed rounds alternate, so a busy neighbour slows all sides alike.
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

ROUNDS = 5
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


def _round(
    model: torch.nn.Module, images: torch.Tensor, setup: DeviceSetup, settings: BenchSettings
) -> dict[str, Any]:
    """Every side once: the passes on the main thread and a worker, the run, the folded pass."""
    on_main = {
        name: _forward(model, images, name, setup) for name in ("contiguous", "channels_last")
    }
    on_worker = {
        name: on_a_thread(_forward, model, images, name, setup)
        for name in ("contiguous", "channels_last")
    }
    run_s, prepare_s, trainer = _engine_run(settings)
    layout = layout_of(trainer.model)
    model.to(memory_format=memory_format(layout))
    twin, _ = folded_copy(model, trainer.parts.head, images[:2].to(setup.device))
    return {
        "on_main": on_main,
        "on_worker": on_worker,
        "run_s": run_s,
        "prepare_s": prepare_s,
        "folded_s": on_a_thread(_forward, twin, images, layout, setup),
        "layout": layout,
        "acc": trainer.history.best_val_acc or 0.0,
    }


def measure(settings: BenchSettings) -> dict[str, Any]:
    """Engine run vs the best-layout forward pass: a warm-up round, then medians of
    ``ROUNDS`` alternating rounds."""
    settings = _settings(settings)
    first = Trainer(_config(settings))
    images = _images(first)
    setup = setup_device(settings.device)
    model = first.model.eval().to(setup.device)
    warm_up = _round(model, images, setup, settings)
    rounds = [_round(model, images, setup, settings) for _ in range(ROUNDS)]
    runs = [r["run_s"] for r in rounds]
    on_main = {name: [r["on_main"][name] for r in rounds] for name in warm_up["on_main"]}
    on_worker = {name: [r["on_worker"][name] for r in rounds] for name in warm_up["on_worker"]}
    folded = [r["folded_s"] for r in rounds]
    best_layout = min(on_main, key=lambda k: median(on_main[k]))
    best_worker = min(median(times) for times in on_worker.values())
    return {
        "p7_run_vs_forward": median(runs) / median(on_main[best_layout]),
        "p7_run_vs_forward_worker": median(runs) / best_worker,
        "p7_run_vs_folded": median(runs) / median(folded),
        "p7_first_run_vs_forward": warm_up["run_s"] / median(on_main[best_layout]),
        "details": {
            "run_s": runs,
            "forward_s": on_main,
            "forward_worker_thread_s": on_worker,
            "folded_forward_s": folded,
            "warm_up": warm_up,
            "faster_layout": best_layout,
            "engine_layout": rounds[-1]["layout"],
            "prepare_s": rounds[-1]["prepare_s"],
            "images": len(images),
            "best_val_acc": rounds[-1]["acc"],
        },
    }
