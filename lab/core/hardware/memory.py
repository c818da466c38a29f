"""The C heap during a run and after it: freed blocks kept for reuse, then given back.

During a run every batch allocates and frees the same large activation buffers. glibc
serves blocks above its mmap threshold (at most 32 MiB; a batch of 32 MobileNetV2
activations at 112 px is 38 MiB) with fresh ``mmap`` calls and unmaps them on free, so
each batch page-faults its buffers in again: on the 2-core reference machine that was
half of a forward pass (``benchmarks`` P7). :func:`keep_freed_blocks` makes the heap keep
freed blocks (PyTorch's CPU tuning guide suggests jemalloc or tcmalloc for the same
reason; this needs no preloaded library).

Threads other than the main one allocate from arenas of their own, whose heaps hold at
most 64 MiB; with large blocks kept out of mmap, a bigger batch (32 images at 224 px)
gets a new heap mapped and unmapped at every pass on a run or measuring thread, and ran
1.6–1.8 times slower there than on the main thread. One arena for the process
(``M_ARENA_MAX``) serves every thread from the main heap. It only holds for threads
that have not allocated yet, so the servers this project starts set
``MALLOC_ARENA_MAX=1`` in their kernels' environment (``Makefile``, the hub's config).

A run's optimizer state, feature caches and batches are freed when the run ends, and
glibc keeps those blocks too, so a kernel that trains run after run (a workshop) would
grow: :func:`release_memory` hands the free blocks back to the system (``malloc_trim``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys
from functools import cache
from typing import Any

log = logging.getLogger(__name__)


@cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # musl and other C libraries: nothing to trim
        return None


#: mallopt parameters (glibc's malloc.h) and the values set: no mmap for large blocks,
#: up to 1 GiB of free heap kept at its top instead of trimmed after each free, and one
#: arena for threads that allocate from now on.
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_KEEP = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 1 << 30), (_M_ARENA_MAX, 1))


#: Environment for the servers that start kernels (``make lab``, ``transfer-lab serve``,
#: the hub): set before a kernel's first thread allocates, one arena holds.
SERVER_ENV = {"MALLOC_ARENA_MAX": "1"}


@cache
def keep_freed_blocks() -> bool:
    """Make glibc reuse freed heap blocks instead of unmapping them, and serve threads
    that allocate from now on from one arena (once per process); True if it did. Other
    C libraries are left as they are."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    try:
        return all(libc.mallopt(param, value) == 1 for param, value in _KEEP)
    except Exception:  # a C library without a usable mallopt
        log.debug("mallopt failed", exc_info=True)
        return False


def release_memory(collect: bool = True) -> bool:
    """Collect garbage (unless not ``collect``), empty torch's CUDA cache, trim the C heap;
    True if it trimmed. A full collection walks every object of the process (a quarter
    of a second in a kernel with torch loaded), so skip it when nothing is in a cycle."""
    if collect:
        gc.collect()
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.malloc_trim(0))
    except Exception:  # a C library without a usable malloc_trim
        log.debug("malloc_trim failed", exc_info=True)
        return False
