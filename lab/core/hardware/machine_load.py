"""How much of this process's CPUs other processes use: a timing taken while they
compute is a timing of the contention too.

A latency measured while a served dashboard's next kernel starts (importing torch on
one of two cores) came out 15 times too slow, and it was kept. So a measurement is
timed inside :class:`OthersLoad`, which reads the machine's per-CPU busy time (psutil)
on the CPUs this process may use, less this process's own CPU time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from types import TracebackType

import psutil

from lab.core.hardware.device import available_cpus


@dataclass(frozen=True)
class _Sample:
    busy_s: float  # busy time of the CPUs this process may use, every process together
    own_s: float  # this process's CPU time
    wall_s: float


def _our_cpus() -> list[int] | None:
    """Indices of the CPUs this process may run on; None where that cannot be read."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        return None


#: Busy time in psutil's per-CPU times; guest time is already inside user time, and
#: time the hypervisor stole from this machine disturbs a timing as much as a neighbour.
_BUSY = ("user", "nice", "system", "irq", "softirq", "steal", "interrupt", "dpc")


def _sample() -> _Sample:
    per_cpu = psutil.cpu_times(percpu=True)
    cpus = _our_cpus()
    chosen = [per_cpu[i] for i in cpus if i < len(per_cpu)] if cpus else per_cpu
    busy = sum(getattr(t, field, 0.0) for t in chosen for field in _BUSY)
    own = psutil.Process().cpu_times()
    return _Sample(busy, own.user + own.system, time.monotonic())


def _share(start: _Sample, end: _Sample) -> float:
    wall = end.wall_s - start.wall_s
    if wall <= 0:
        return 0.0
    others = (end.busy_s - start.busy_s) - (end.own_s - start.own_s)
    return max(0.0, others) / (wall * available_cpus())


class OthersLoad:
    """``with OthersLoad() as load: ...``; then ``load.share`` is the fraction of this
    process's CPUs that other processes kept busy during the block (0 to 1)."""

    def __init__(self) -> None:
        self.share = 0.0
        self._start: _Sample | None = None

    def __enter__(self) -> OthersLoad:
        self._start = _sample()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._start is not None:
            self.share = _share(self._start, _sample())


def others_share(seconds: float = 0.5) -> float:
    """The fraction of this process's CPUs other processes use over the next
    ``seconds`` (this thread sleeps meanwhile)."""
    with OthersLoad() as load:
        time.sleep(seconds)
    return load.share
