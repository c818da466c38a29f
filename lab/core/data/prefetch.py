"""Load the next batches on helper threads while the current one is computed.

Decoding and resizing images (PIL, torchvision transforms) release the GIL, so helper
threads overlap them with the model's forward and backward pass, and on a machine with
cores to spare (a GPU box) several batches load at once. Threads rather than DataLoader
worker processes: workers fork, which is fragile inside notebooks and next to the run
thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from lab.core.hardware.device import available_cpus
from lab.core.hardware.openmp import single_threaded

T = TypeVar("T")
R = TypeVar("R")


def loader_threads() -> int:
    """Helper threads for loading: one on small machines, up to four with cores to spare."""
    return max(1, min(4, available_cpus() // 2))


def prefetched_map(
    function: Callable[[T], R], items: Iterable[T], workers: int = 1, depth: int | None = None
) -> Iterator[R]:
    """Yield ``function(item)`` for each item, in order, computing up to ``depth`` ahead.

    An error in ``function`` is raised here, at its item. Leaving the loop early (break,
    stop, error) cancels what has not started and does not wait for what has.
    """
    if workers < 1:
        raise ValueError(f"workers={workers}: use at least 1 helper thread")
    ahead = depth if depth is not None else workers + 1
    if ahead < 1:
        raise ValueError(f"depth={depth}: prefetch at least 1 item ahead")
    source = iter(items)
    pool = ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="lab-load", initializer=single_threaded
    )
    pending: deque[Future[R]] = deque()
    try:
        for item in source:
            pending.append(pool.submit(function, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
