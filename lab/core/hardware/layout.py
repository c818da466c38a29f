"""Memory layout of a convolutional model: contiguous (NCHW) or channels_last (NHWC).

Which one is faster depends on the machine (oneDNN on CPUs, cuDNN on GPUs), the model
and the image size, so it is measured: a few forward passes of a small batch in each
layout, the faster one kept. The choice is remembered per (model class, input shape,
device, precision) for the life of the process, so a second run pays nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from lab.core.hardware.device import DeviceSetup

LAYOUTS = ("auto", "contiguous", "channels_last")
_FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
_chosen: dict[tuple[object, ...], str] = {}

#: Images per timing batch, timing rounds per layout (after one warm-up pass each).
PROBE_BATCH, PROBE_ROUNDS = 8, 3


def memory_format(layout: str) -> torch.memory_format:
    """The torch memory format of ``layout`` ("contiguous" or "channels_last")."""
    try:
        return _FORMATS[layout]
    except KeyError:
        raise ValueError(
            f"layout={layout!r}: choose 'contiguous' or 'channels_last' (or 'auto' to measure)"
        ) from None


def to_layout(inputs: torch.Tensor, layout: str) -> torch.Tensor:
    """``inputs`` in ``layout`` when it is a 4-D image batch; anything else unchanged."""
    if inputs.dim() != 4:
        return inputs
    return inputs.contiguous(memory_format=memory_format(layout))


def has_convolutions(model: nn.Module) -> bool:
    """Whether the layout can matter: only 2-D convolutions care about it."""
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def _timer(model: nn.Module, example: torch.Tensor, setup: DeviceSetup) -> Callable[[str], float]:
    """A function that puts ``model`` in a layout and times one pass of ``example`` in it."""
    sync: Callable[[], None] = (
        torch.cuda.synchronize if setup.device.type == "cuda" else (lambda: None)
    )

    def one_pass(layout: str) -> float:
        model.to(memory_format=memory_format(layout))
        batch = to_layout(example, layout)
        with torch.inference_mode(), setup.autocast():
            began = time.perf_counter()
            model(batch)
            sync()
            return time.perf_counter() - began

    return one_pass


def _time_layouts(model: nn.Module, example: torch.Tensor, setup: DeviceSetup) -> dict[str, float]:
    """Best pass time per layout. Layouts take turns, after a warm-up pass each (weight
    reorders, kernel selection), so a slower moment of the machine hits both alike."""
    one_pass = _timer(model, example, setup)
    for name in _FORMATS:
        one_pass(name)
    best = dict.fromkeys(_FORMATS, float("inf"))
    for _ in range(PROBE_ROUNDS):
        for name in _FORMATS:
            best[name] = min(best[name], one_pass(name))
    return best


def choose_layout(
    model: nn.Module, image_shape: tuple[int, ...], setup: DeviceSetup, layout: str = "auto"
) -> str:
    """Put ``model`` in the faster layout for inputs of ``image_shape`` (C, H, W); return it.

    ``layout`` other than "auto" is applied as given. Models without 2-D convolutions
    and inputs that are not images stay contiguous. The model's train/eval mode is kept.
    """
    if layout != "auto":
        model.to(memory_format=memory_format(layout))
        return layout
    if len(image_shape) != 3 or not has_convolutions(model):
        return "contiguous"
    key = (type(model).__qualname__, tuple(image_shape), str(setup))
    if key not in _chosen:
        was_training = model.training
        model.eval()  # no BatchNorm statistics change while timing
        try:
            # Its own generator: timing must not move the run's random draws (dropout).
            noise = torch.Generator().manual_seed(0)
            example = torch.randn(PROBE_BATCH, *image_shape, generator=noise).to(setup.device)
            times = _time_layouts(model, example, setup)
        finally:
            model.train(was_training)
        _chosen[key] = min(times, key=times.__getitem__)
    chosen = _chosen[key]
    model.to(memory_format=memory_format(chosen))
    return chosen
