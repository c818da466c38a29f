"""Turning what went wrong in a run into a message people can act on."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.core.runs.atomic import DiskFull
from lab.core.training.config import TYPICAL_LR


class NonFiniteLoss(ArithmeticError):
    """The loss of a step was NaN or infinite (raised before the weights are touched)."""

    def __init__(self, value: float) -> None:
        super().__init__(f"loss became {value}")
        self.value = value


class HandlerError(RuntimeError):
    """An event handler raised; training cannot know whether its view is consistent."""

    def __init__(self, event: str, error: BaseException) -> None:
        super().__init__(f"a handler for {event} raised {type(error).__name__}: {error}")
        self.error = error


@dataclass(frozen=True)
class FailureContext:
    """Where the run was and how it was set up when it failed."""

    epoch: int
    step: int
    lr: float
    optimizer: str
    batch_size: int
    device: str


def suggested_lr(lr: float, optimizer: str) -> float:
    """A smaller learning rate to try after the loss diverged at ``lr``."""
    typical = TYPICAL_LR.get(optimizer, 1e-3)
    return typical if lr > typical else lr / 10


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA, MPS and CPU allocators report running out of memory in different ways."""
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def describe_failure(exc: BaseException, where: FailureContext) -> str:
    """A one-line explanation of ``exc`` naming the likely cause and a way out."""
    at = f"at epoch {where.epoch} step {where.step}"
    if isinstance(exc, NonFiniteLoss):
        return (
            f"loss became {exc.value} {at}: the learning rate {where.lr:g} is probably "
            f"too high; try {suggested_lr(where.lr, where.optimizer):g} (or run the LR finder)"
        )
    if is_out_of_memory(exc):
        smaller = max(1, where.batch_size // 2)
        return (
            f"out of memory on {where.device} {at} with batch_size={where.batch_size}: "
            f"try batch_size={smaller}, a smaller image_size or a smaller model"
        )
    if isinstance(exc, DiskFull):
        return f"{exc} (the run ended {at}; its last good files are kept)"
    if isinstance(exc, HandlerError):
        return f"{exc} {at}; the run was ended so the views do not show stale results"
    if isinstance(exc, ValueError | KeyError | LookupError) and where.step == 0:
        # Set-up problems (unknown model, bad data) carry their own readable message.
        return str(exc.args[0]) if exc.args else type(exc).__name__
    return f"{type(exc).__name__} {at}: {exc}"
