"""Giving back the memory a finished run held.

A run's optimizer state, feature caches and batches are freed when the run ends, but
glibc's allocator keeps freed blocks for reuse, so a kernel that trains run after run
(a workshop) grows. ``malloc_trim`` hands the free blocks back to the system.
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


def release_memory() -> bool:
    """Collect garbage, empty torch's CUDA cache, trim the C heap; True if it trimmed."""
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
