"""P2: fine-tuning throughput of the Trainer vs a bare loop and vs pure compute.
P3: latency from ``stop()`` to the stopped event, beside the median step time.

The three loops run interleaved in rounds (Trainer, bare, compute, Trainer, ...) so a
busy neighbour on the machine slows all of them alike; medians of per-step times are
compared.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from benchmarks.common import BenchSettings, median, on_a_thread, watched
from lab.core.hardware.device import setup_device
from lab.core.training.engine import Trainer
from lab.core.training.events import Event

STEPS = 8  # steps per round; the first gap (warm-up) is left out
ROUNDS = 3


def _config(settings: BenchSettings) -> Any:
    return settings.config(approach="fine_tuning", trainable_groups=3, epochs=1, embedding="none")


def _trainer_round(settings: BenchSettings, phase: float) -> tuple[list[float], float]:
    """Step gaps of a real Trainer run with a UI-like handler, and its stop latency.

    ``stop()`` is called ``phase`` (0..1) of a step after step ``STEPS`` completed, so
    the rounds sample stops early and late within a step.
    """
    trainer = Trainer(_config(settings))
    timeline = watched(trainer)
    pump: queue.SimpleQueue[object] = queue.SimpleQueue()
    trainer.on(None, pump.put)  # what the UI's event pump does
    reached = threading.Event()
    trainer.on(Event.STEP_COMPLETED, lambda s: reached.set() if s.step == STEPS else None)
    stopped: list[float] = []
    trainer.on(Event.RUN_STOPPED, lambda _p: stopped.append(time.perf_counter()))
    trainer.start()
    if not reached.wait(600):
        raise RuntimeError(f"P2 trainer never reached step {STEPS}: {trainer.history.error}")
    time.sleep(phase * median(timeline.step_seconds()))
    asked = time.perf_counter()
    trainer.stop()
    trainer.join()
    if not stopped:
        raise RuntimeError(f"P3 run ended {trainer.state}, not stopped: {trainer.history.error}")
    return timeline.step_seconds()[1:STEPS], stopped[0] - asked


def _on_a_thread(settings: BenchSettings, preload: bool) -> list[float]:
    """Run a bare loop on its own thread, as the Trainer runs (the main thread's OpenMP
    workers given back first, as ``Trainer.start`` does), so threading is no difference.
    """
    return on_a_thread(_bare_round, settings, preload)  # type: ignore[no-any-return]


def _bare_round(settings: BenchSettings, preload: bool) -> list[float]:
    """The same model, freezing and data in a plain loop (``preload``: tensors in memory)."""
    parts = Trainer(_config(settings)).prepare()
    setup = setup_device(settings.device)  # the precision the Trainer uses (AMP on CUDA)
    device = setup.device
    model = parts.model.to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=0.01)
    scaler = torch.amp.GradScaler(device.type, enabled=setup.uses_grad_scaler)
    loader = DataLoader(parts.train, batch_size=settings.batch_size, shuffle=True)
    batches: Any = loader
    if preload:
        batches = [b for _, b in zip(range(STEPS), loader, strict=False)]
    ends = [time.perf_counter()]
    for i, (inputs, labels) in enumerate(batches):
        if i == STEPS:
            break
        with setup.autocast():
            loss = F.cross_entropy(model(inputs.to(device)), labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize()  # the Trainer syncs each step by reading the loss
        ends.append(time.perf_counter())
    gaps = [b - a for a, b in zip(ends, ends[1:], strict=False)]
    return gaps[2:]  # like the Trainer: drop the warm-up step and the first gap


def measure(settings: BenchSettings) -> dict[str, Any]:
    trainer_steps: list[float] = []
    bare_steps: list[float] = []
    compute_steps: list[float] = []
    latencies: list[float] = []
    for i in range(ROUNDS):
        steps, latency = _trainer_round(settings, phase=i / ROUNDS)
        trainer_steps += steps
        latencies.append(latency)
        bare_steps += _on_a_thread(settings, preload=False)
        compute_steps += _on_a_thread(settings, preload=True)
    step = median(trainer_steps)
    return {
        "p2_vs_bare": median(bare_steps) / step,
        "p2_vs_compute": median(compute_steps) / step,
        "p3_stop_latency_ms": 1000 * max(latencies),  # the worst of the sampled phases
        "p3_step_ms": 1000 * step,
        "details": {
            "trainer_step_s": trainer_steps,
            "bare_step_s": bare_steps,
            "compute_step_s": compute_steps,
            "stop_latency_s": latencies,
            "images_per_s": {
                "trainer": settings.batch_size / step,
                "bare": settings.batch_size / median(bare_steps),
                "compute": settings.batch_size / median(compute_steps),
            },
        },
    }
