"""Load the next batches on a helper thread while the current one is computed.

Decoding and resizing images (PIL, torchvision transforms) release the GIL, so a
helper thread overlaps them with the model's forward and backward pass. Threads rather
than DataLoader worker processes: workers fork, which is fragile inside notebooks and
next to the run thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(source: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``source``'s items in order, producing up to ``depth`` ahead on a thread.

    An error in ``source`` is raised here; leaving the loop early (break, stop, error)
    ends the helper thread.
    """
    if depth < 1:
        raise ValueError(f"depth={depth}: prefetch at least 1 item ahead")
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    cancelled = threading.Event()

    def offer(item: object) -> bool:
        while not cancelled.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not offer(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            offer(_Failure(error))
            return
        offer(_DONE)

    helper = threading.Thread(target=produce, name="lab-prefetch", daemon=True)
    helper.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        cancelled.set()
        helper.join(timeout=5)
