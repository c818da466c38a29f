"""OpenMP thread teams: one computing thread at a time keeps the CPU's workers spinning.

PyTorch's Linux wheels compute on libgomp, and every thread that runs a parallel op
keeps a team of worker threads for the rest of its life. Once a process holds more
such workers than it has cores, libgomp makes idle workers sleep almost at once between
parallel regions (a fallback that ``GOMP_SPINCOUNT`` cannot raise), and waking them
costs every small op: on 2 cores a background run's forward pass took 25-30 % longer
while the notebook's thread still held the team of its last cell (``benchmarks`` P7).

So a thread that hands its compute to a run thread gives its team back first
(:func:`release_team`; the next torch op there builds a new one in microseconds), and
helper threads that only load data run their torch ops on one thread
(:func:`single_threaded`). Both change only speed; without libgomp they do nothing.
"""

from __future__ import annotations

import ctypes
import logging
from functools import cache
from typing import Any

import torch

log = logging.getLogger(__name__)

#: ``omp_pause_soft`` of OpenMP 5.0's ``omp_pause_resource_t``: free the calling
#: thread's idle workers, keep the runtime's settings.
_PAUSE_SOFT = 1


@cache
def _libgomps() -> tuple[Any, ...]:
    """The libgomp runtimes loaded in this process (torch's, and any other library's
    loaded by the first call): listing them reads every loaded library, so it is done once."""
    from threadpoolctl import ThreadpoolController

    try:
        controllers = ThreadpoolController().select(internal_api="openmp").lib_controllers
    except Exception:  # an unusual loader: speed is all that is at stake
        log.debug("could not list OpenMP runtimes", exc_info=True)
        return ()
    return tuple(c.dynlib for c in controllers if c.prefix == "libgomp")


def release_team() -> bool:
    """Give back the calling thread's idle OpenMP workers (before another thread computes).

    True when a libgomp runtime freed them; False where there is none or it cannot.
    """
    released = False
    for lib in _libgomps():
        pause = getattr(lib, "omp_pause_resource_all", None)
        if pause is None:  # libgomp before GCC 9
            continue
        pause.argtypes, pause.restype = [ctypes.c_int], ctypes.c_int
        released = pause(_PAUSE_SOFT) == 0 or released
    return released


def single_threaded() -> None:
    """Run the calling thread's torch CPU ops on this thread alone (a data helper's).

    libgomp keeps the thread count per thread, so other threads keep theirs. torch sets
    a thread's count on its first parallel op, so that happens here first.
    """
    torch.get_num_threads()
    for lib in _libgomps():
        lib.omp_set_num_threads(1)
