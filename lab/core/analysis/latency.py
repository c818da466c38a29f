"""Inference latency of catalog models, measured on this machine.

Speed depends on the architecture, not on the values of the weights, so models are
built with random weights: every catalog model can be timed, even one whose pretrained
weights are not on this machine. Weights and inputs come from a generator of the
measurement's own: a latency measured beside a training run must not move the run's
random draws (its dropout masks), or the run's result would depend on the timing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lab.core.hardware.device import setup_device
from lab.core.models import catalog


@dataclass(frozen=True)
class Latency:
    """Median time of one forward pass, and per image, for one model."""

    key: str
    image_size: int
    batch_size: int
    median_ms: float
    per_image_ms: float
    threads: int


class MeasurementStopped(Exception):
    """``should_stop`` said so before a pass: nothing was measured."""


@torch.no_grad()
def measure_latency(
    key: str,
    image_size: int | None = None,
    batch_size: int = 1,
    repeats: int = 10,
    warmup: int = 2,
    device: str = "cpu",
    should_stop: Callable[[], bool] | None = None,
) -> Latency:
    """Median forward-pass time of model ``key`` on random input of ``image_size`` pixels
    (None: the weights' crop size), after ``warmup`` untimed passes.

    ``should_stop`` is asked before every pass; when it answers True the measurement
    ends with :class:`MeasurementStopped` (e.g. a training run started: the passes
    would take the run's cores, and their times would count the run too).
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: choose at least 1 timed pass")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: choose at least 1 image per pass")
    entry = catalog.get_entry(key)
    size = image_size or entry.input_size
    setup = setup_device(device, amp=False)
    generator = torch.Generator().manual_seed(0)
    model = catalog.build_model(
        key, num_classes=1000, pretrained=False, device=setup.device, generator=generator
    )
    model.eval()
    inputs = torch.randn(batch_size, 3, size, size, generator=generator).to(setup.device)
    times = []
    for i in range(warmup + repeats):
        if should_stop is not None and should_stop():
            raise MeasurementStopped(f"{key}: stopped after {i} of {warmup + repeats} passes")
        start = time.perf_counter()
        model(inputs)
        if setup.device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    return Latency(key, size, batch_size, median, median / batch_size, torch.get_num_threads())
