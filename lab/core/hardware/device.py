"""Where a run computes: CUDA, Apple MPS or CPU, and the precision it uses there."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from lab.core.hardware.memory import keep_freed_blocks

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceSetup:
    """A resolved device and how to run mixed precision on it."""

    device: torch.device
    amp_dtype: torch.dtype | None  # None: full float32

    @property
    def uses_grad_scaler(self) -> bool:
        """float16 gradients underflow without loss scaling; bfloat16 ones do not."""
        return self.amp_dtype is torch.float16

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """Context for forward passes: autocast when mixed precision is on, else a no-op."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def __str__(self) -> str:
        amp = "" if self.amp_dtype is None else f" (mixed precision {self.amp_dtype})"
        return f"{self.device}{amp}"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """Turn "auto" | "cpu" | "cuda" | "cuda:1" | "mps" into an available torch device."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r}: CUDA is not available here; use device='auto' or 'cpu'")
    if name == "mps" and not _mps_available():
        raise ValueError("device='mps': Apple MPS is not available here; use 'auto' or 'cpu'")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"device={name!r}: choose one of {DEVICE_CHOICES}") from exc


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: CUDA GPUs that say so, and CPUs
    with AVX512-BF16 or AMX (elsewhere bfloat16 is emulated and slower than float32)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def setup_device(name: str = "auto", amp: bool = True, cpu_bf16: bool = True) -> DeviceSetup:
    """Resolve ``name`` and pick mixed precision: bfloat16 (or float16) on CUDA.

    On a CPU it also caps torch's threads at the CPUs this process may use and makes the
    C heap keep freed blocks for the next batch (:mod:`lab.core.hardware.memory`).

    On a CPU, bfloat16 autocast with ``cpu_bf16`` where the CPU computes it natively
    (:func:`bf16_supported`), float32 elsewhere: emulated bfloat16 is slower than
    float32. Benchmark P9 measures its speed and its accuracy against float32. MPS
    autocast is still patchy across torch releases: float32 there.
    """
    device = resolve_device(name)
    if device.type == "cpu":
        configure_cpu_threads()
        keep_freed_blocks()  # no page faults on every batch's buffers (hardware.memory)
        use = amp and cpu_bf16 and bf16_supported(device)
        return DeviceSetup(device, torch.bfloat16 if use else None)
    if not amp or device.type != "cuda":
        return DeviceSetup(device, None)
    bf16 = torch.cuda.is_bf16_supported()
    return DeviceSetup(device, torch.bfloat16 if bf16 else torch.float16)


def available_cpus() -> int:
    """CPUs this process may use (respects container and taskset limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def configure_cpu_threads() -> int:
    """Cap torch's intra-op threads at the CPUs we may use; return the count in effect.

    torch sizes its pool from the host's core count, which inside a container or under
    taskset oversubscribes the few cores we really have and makes every step slower.
    A smaller value the user chose is kept.
    """
    limit = available_cpus()
    if torch.get_num_threads() > limit:
        torch.set_num_threads(limit)
    return torch.get_num_threads()


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Run a block with ``model`` in eval mode, restoring its previous mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights, copied off its device (e.g. the best epoch, restored later)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
