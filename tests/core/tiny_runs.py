"""Tiny models on a few rows of tensor data, and an event recorder, for engine tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer
from lab.core.training.events import Event, Payload

CLASSES = ("circle", "square", "star")


def tiny_data(n: int, seed: int, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes of 4-D points, separable along the first feature."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    inputs = torch.randn(n, 4, generator=g)
    inputs[:, 0] += 2.5 * labels
    return inputs * scale, labels


def tiny_model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def tiny_config(**changes: Any) -> RunConfig:
    values: dict[str, Any] = dict(
        model="tiny",
        runs_dir=None,
        epochs=2,
        batch_size=4,
        lr=0.05,
        embedding="none",
        embed_n=6,
    )
    values.update(changes)
    return RunConfig(**values)


def tiny_trainer(n_train: int = 12, model: nn.Module | None = None, **changes: Any) -> Trainer:
    """12 training rows in batches of 4: three steps per epoch."""
    return Trainer.from_parts(
        model if model is not None else tiny_model(),
        tiny_data(n_train, seed=1),
        tiny_data(9, seed=2),
        CLASSES,
        test=tiny_data(6, seed=3),
        config=tiny_config(**changes),
    )


def _describe(payload: Payload) -> tuple[str, int | None, int | None]:
    return (
        payload.event.value,
        getattr(payload, "epoch", None),
        getattr(payload, "step", None),
    )


class Recorder:
    """Collects ``(event, epoch, step)`` of every event, like ignite's test recorder."""

    def __init__(self, trainer: Trainer) -> None:
        self.payloads: list[Payload] = []
        self.handle = trainer.on(None, self.payloads.append)

    @property
    def sequence(self) -> list[tuple[str, int | None, int | None]]:
        return [_describe(p) for p in self.payloads]

    def of(self, event: Event) -> list[Any]:
        return [p for p in self.payloads if p.event is event]


def expected_run(
    epochs: int, steps: int, *, end: str = "run_completed"
) -> list[tuple[str, Any, Any]]:
    """The event sequence of an uninterrupted run without checkpoints."""
    out: list[tuple[str, Any, Any]] = [("run_started", None, None)]
    for epoch in range(1, epochs + 1):
        out.append(("epoch_started", epoch, None))
        out += [("step_completed", epoch, step) for step in range(1, steps + 1)]
        out.append(("evaluation_completed", epoch, None))
    out.append((end, epochs, None))
    return out


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``condition`` until true (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class Gate:
    """A handler that blocks the run thread until the test opens it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def __call__(self, payload: Payload) -> None:
        self.reached.set()
        assert self.opened.wait(30), "the test never opened the gate"
