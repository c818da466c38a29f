"""Helpers for the widget tests: waiting for the pump and a tiny trainer factory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn

from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.02)


class Slow(nn.Module):
    """Sleeps in forward so a run lasts long enough to pause and stop it."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.seconds:
            time.sleep(self.seconds)
        return x


class Exploding(nn.Module):
    """Fails on the training step ``after``: the run must end as ``failed``."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.calls = after, 0
        self.lock = threading.Lock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self.lock:
            self.calls += 1
            if self.training and self.calls > self.after:
                raise RuntimeError("the sensor broke")
        return x


def tiny_factory(
    step_s: float = 0.0, fail_after: int | None = None, n: int = 96, save: bool = False
) -> Callable[[RunConfig], Trainer]:
    """A trainer factory for the app: a two-layer net on random 3x8x8 'images'.

    With ``save`` runs are written to the app's runs directory.
    """

    def factory(config: RunConfig) -> Trainer:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(n, 3, 8, 8, generator=g)
        y = (x[:, 0].mean(dim=(1, 2)) > x[:, 1].mean(dim=(1, 2))).long()
        y = y + 2 * (x[:, 2].mean(dim=(1, 2)) > 0.5).long()
        layers: list[nn.Module] = [Slow(step_s)]
        if fail_after is not None:
            layers.append(Exploding(fail_after))
        layers += [nn.Flatten(), nn.Linear(192, 16), nn.ReLU(), nn.Linear(16, 4)]
        model = nn.Sequential(*layers)
        third = n // 3
        runs_dir = config.runs_dir if save else None
        settings = config.replace(model="custom", runs_dir=runs_dir, device="cpu")
        return Trainer.from_parts(
            model,
            (x[: 2 * third], y[: 2 * third]),
            (x[2 * third :], y[2 * third :]),
            ["a", "b", "c", "d"],
            config=settings,
            test=(x[2 * third :], y[2 * third :]),
            transform=to_input,
        )

    return factory


def to_input(image: Image.Image) -> torch.Tensor:
    """What the tiny model eats: an 8x8 RGB image as a float tensor in [0, 1]."""
    pixels = np.asarray(image.convert("RGB").resize((8, 8)), dtype=np.float32) / 255
    return torch.from_numpy(pixels).permute(2, 0, 1)
