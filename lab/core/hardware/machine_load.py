"""How much of this process's CPUs other work uses: a timing taken while it computes
is a timing of the contention too.

A latency measured while a served dashboard's next kernel starts (importing torch on
one of two cores) came out 15 times too slow, and it was kept. So a measurement is
timed inside :class:`OthersLoad`, which reads the machine's per-CPU busy time (psutil)
on the CPUs this process may use, less this process's own CPU time, plus what this
process's other Python threads took (a notebook's cell, a dashboard's pump drawing a
finished run's figures). The measuring thread's OpenMP workers are not Python threads,
so its own parallel work is not counted.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from types import TracebackType

import psutil

from lab.core.hardware.device import available_cpus


@dataclass(frozen=True)
class _Sample:
    busy_s: float  # busy time of the CPUs this process may use, every process together
    own_s: float  # this process's CPU time
    beside_s: dict[int, float]  # CPU time of this process's other Python threads, by id
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
    process = psutil.Process()
    own = process.cpu_times()
    python_threads = {t.native_id for t in threading.enumerate()} - {threading.get_native_id()}
    beside = {
        t.id: t.user_time + t.system_time for t in process.threads() if t.id in python_threads
    }
    return _Sample(busy, own.user + own.system, beside, time.monotonic())


def _share(start: _Sample, end: _Sample) -> float:
    wall = end.wall_s - start.wall_s
    if wall <= 0:
        return 0.0
    beside = sum(t - start.beside_s.get(i, 0.0) for i, t in end.beside_s.items())
    others = (end.busy_s - start.busy_s) - (end.own_s - start.own_s) + beside
    return min(1.0, max(0.0, others) / (wall * available_cpus()))  # clock ticks round


class OthersLoad:
    """``with OthersLoad() as load: ...``; then ``load.share`` is the fraction of this
    process's CPUs that other processes and this process's other Python threads kept
    busy during the block (0 to 1)."""

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
    """The fraction of this process's CPUs other work (see :class:`OthersLoad`) uses
    over the next ``seconds``; the calling thread sleeps meanwhile."""
    with OthersLoad() as load:
        time.sleep(seconds)
    return load.share
