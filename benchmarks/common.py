"""Shared set-up for the benchmarks: the default model and data, timings from events."""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from lab.core.data import DataSpec
from lab.core.hardware.device import available_cpus, resolve_device
from lab.core.hardware.openmp import release_team
from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer
from lab.core.training.events import Event, Payload


@dataclass(frozen=True)
class BenchSettings:
    """Sizes chosen so that the whole benchmark stays within minutes on 2 CPU cores."""

    model: str = "mobilenet_v2.IMAGENET1K_V1"
    dataset: str = "animal_shapes"
    n_per_class: int = 50
    image_size: int = 128
    eval_fraction: float = 0.03  # of the 10,000 images: 300 validation, 300 test
    batch_size: int = 32
    device: str = "auto"

    def config(self, **changes: Any) -> RunConfig:
        data = DataSpec(
            name=self.dataset,
            n_per_class=self.n_per_class,
            image_size=self.image_size,
            val_fraction=self.eval_fraction,
            test_fraction=self.eval_fraction,
        )
        values: dict[str, Any] = dict(
            model=self.model,
            data=data,
            batch_size=self.batch_size,
            lr=0.01,
            runs_dir=None,
            device=self.device,
        )
        values.update(changes)
        return RunConfig(**values)


@dataclass
class Timeline:
    """Arrival time of every event of a trainer (perf_counter seconds)."""

    events: list[tuple[float, Payload]] = field(default_factory=list)

    def __call__(self, payload: Payload) -> None:
        self.events.append((time.perf_counter(), payload))

    def times(self, event: Event) -> list[float]:
        return [t for t, p in self.events if p.event is event]

    def epoch_seconds(self) -> list[float]:
        """Epoch started -> its evaluation completed, per epoch."""
        return [
            end - start
            for start, end in zip(
                self.times(Event.EPOCH_STARTED),
                self.times(Event.EVALUATION_COMPLETED),
                strict=False,
            )
        ]

    def step_seconds(self) -> list[float]:
        """Gaps between consecutive steps of the same epoch."""
        steps = [(t, p) for t, p in self.events if p.event is Event.STEP_COMPLETED]
        return [
            t1 - t0
            for (t0, p0), (t1, p1) in zip(steps, steps[1:], strict=False)
            if p1.epoch == p0.epoch  # type: ignore[attr-defined]
        ]


def watched(trainer: Trainer) -> Timeline:
    timeline = Timeline()
    trainer.on(None, timeline)
    return timeline


def layout_of(model: torch.nn.Module) -> str:
    """The layout the run left the model in, read off its first spatial convolution."""
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d) and max(module.kernel_size) > 1:
            weight = module.weight
            if weight.is_contiguous(memory_format=torch.channels_last):
                return "channels_last"
            return "contiguous"
    return "contiguous"


def on_a_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` on a new thread, as the Trainer computes: the calling thread
    gives back its OpenMP workers first, as ``Trainer.start`` does (``hardware.openmp``);
    a fresh thread still pays for its own workers and malloc arena."""
    release_team()
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(function(*args)))
    thread.start()
    thread.join()
    if not out:
        raise RuntimeError(f"{getattr(function, '__name__', function)} failed (traceback above)")
    return out[0]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def context(settings: BenchSettings) -> dict[str, Any]:
    """What the figures were measured on."""
    device = resolve_device(settings.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "gpu": gpu,
        "cpus_available": available_cpus(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "settings": settings.__dict__,
    }
