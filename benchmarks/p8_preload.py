"""P8: fine-tuning once the decoded images are in memory, against pure compute.

The Trainer fine-tunes the last 3 layer groups for 2 epochs; its second-epoch steps
read the kept uint8 pixels (normalized per batch on the device). The compute side runs
the same steps in a plain loop on batches already in memory as float tensors, in the
layout the Trainer chose (read off its model after the run), on a worker thread as the
Trainer's, twice over the batches with the second pass timed. Rounds alternate;
medians of per-step times are compared.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from benchmarks.common import BenchSettings, layout_of, median, on_a_thread, watched
from lab.core.data.batches import index_batches, load_batches
from lab.core.hardware.device import DeviceSetup, setup_device
from lab.core.hardware.layout import memory_format, to_layout
from lab.core.training.engine import Trainer
from lab.core.training.events import Event

ROUNDS = 4  # each round is a dozen steps a side: fewer let one busy second decide


def _settings(settings: BenchSettings) -> BenchSettings:
    return replace(settings, n_per_class=20, eval_fraction=0.01)


def _config(settings: BenchSettings) -> Any:
    return settings.config(approach="fine_tuning", trainable_groups=3, epochs=2, embedding="none")


def _trainer_steps(settings: BenchSettings) -> tuple[list[float], str]:
    trainer = Trainer(_config(settings))
    trainer.prepare()
    timeline = watched(trainer)
    trainer.run()
    if trainer.state != "completed":
        raise RuntimeError(f"P8 run ended {trainer.state}: {trainer.history.error}")
    steps = [
        (t, p)
        for t, p in timeline.events
        if p.event is Event.STEP_COMPLETED and p.epoch == 2  # type: ignore[attr-defined]
    ]
    gaps = [b[0] - a[0] for a, b in zip(steps, steps[1:], strict=False)]
    return gaps, layout_of(trainer.model)


def _compute_steps(
    settings: BenchSettings, layout: str, setup: DeviceSetup | None = None
) -> list[float]:
    """Step times of a plain loop on preloaded float batches (``setup``: its precision)."""
    parts = Trainer(_config(settings)).prepare()
    setup = setup or setup_device(settings.device)
    model = parts.model.to(setup.device).to(memory_format=memory_format(layout))
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    batches = index_batches(parts.n_train, settings.batch_size, torch.Generator().manual_seed(0))
    preloaded = [
        (to_layout(x.to(setup.device), layout), y.to(setup.device))
        for _, x, y in load_batches(parts.train, batches)
    ]
    ends: list[float] = []
    for _ in range(2):  # the second pass is timed, as the Trainer's second epoch is
        ends = [time.perf_counter()]
        for inputs, labels in preloaded:
            with setup.autocast():
                loss = F.cross_entropy(model(inputs), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()  # the Trainer reads the loss each step (one sync)
            ends.append(time.perf_counter())
    return [b - a for a, b in zip(ends, ends[1:], strict=False)]


def measure(settings: BenchSettings) -> dict[str, Any]:
    """Trainer (epoch 2, pixels in memory) vs the same steps on preloaded tensors."""
    settings = _settings(settings)
    trainer: list[float] = []
    compute: list[float] = []
    layout = "contiguous"
    for _ in range(ROUNDS):
        steps, layout = _trainer_steps(settings)
        trainer += steps
        compute += on_a_thread(_compute_steps, settings, layout)
    return {
        "p8_vs_compute": median(compute) / median(trainer),
        "details": {
            "trainer_step_s": trainer,
            "compute_step_s": compute,
            "layout": layout,
            "images_per_s": {
                "trainer": settings.batch_size / median(trainer),
                "compute": settings.batch_size / median(compute),
            },
        },
    }
