"""The one thread boundary between a run and the widgets.

The training thread (and any other worker, such as the learning-rate finder) only
calls :meth:`EventPump.put`, which appends to a queue and returns. One pump thread
drains the queue in batches and hands each batch to a view's ``apply`` function,
which updates widgets in place inside ``hold_sync()`` / ``fig.batch_update()`` and
reports how many frontend messages it sent. The pump then waits long enough that
the message rate stays at or below ``max_rate`` however fast events arrive.

Widgets a run updates are written only by ``apply`` (under the pump's lock);
widgets that only user actions change are written by their handlers on the
kernel's main thread. Nothing here calls ``display()`` or enters an ``Output``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import ipywidgets as widgets

from lab.ui.figures import sync_figure

log = logging.getLogger(__name__)

#: Messages one ``fig.batch_update()`` with changes sends to the frontend: plotly syncs
#: the trace and layout edit ids, then sets and resets its update property.
FIGURE_MESSAGES = 4

#: The most frontend messages per second the pump lets a view send.
MAX_MESSAGES_PER_S = 20.0


class Sends:
    """Counts the frontend messages one batch sends (an upper bound, never less).

    ``with sends.hold(a, b):`` holds sync on each widget so all trait changes of one
    widget leave as one message; ``with sends.figure(fig):`` batches a plotly figure.
    A widget's ``layout`` is a widget of its own: pass it separately when you change it.
    """

    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def hold(self, *items: widgets.Widget) -> Iterator[None]:
        with ExitStack() as stack:
            for item in items:
                stack.enter_context(item.hold_sync())
            yield
        self.count += len(items)

    def set(self, widget: widgets.Widget, **values: Any) -> bool:
        """Assign ``values`` to ``widget`` as one message, or send nothing if none differ."""
        changed = {k: v for k, v in values.items() if getattr(widget, k) != v}
        if not changed:
            return False
        with self.hold(widget):
            for name, value in changed.items():
                setattr(widget, name, value)
        return True

    def show(self, widget: widgets.DOMWidget, visible: bool) -> bool:
        """Show or hide ``widget`` (one message on its layout when that changes)."""
        return self.set(widget.layout, display=None if visible else "none")

    @contextmanager
    def figure(self, fig: Any) -> Iterator[None]:
        # Never hold_sync a FigureWidget: it would send only the reset update property.
        with fig.batch_update():
            yield
        self.count += FIGURE_MESSAGES + sync_figure(fig)

    def replace_traces(
        self, fig: Any, traces: Any, keep: int = 0, row: int | None = None, col: int | None = None
    ) -> None:
        """Replace ``fig``'s traces after the first ``keep`` (e.g. one per class per run)."""
        fig.data = fig.data[:keep]
        traces = list(traces)
        if traces:
            rows = [row] * len(traces) if row is not None else None
            cols = [col] * len(traces) if col is not None else None
            fig.add_traces(traces, rows=rows, cols=cols)
        self.count += 2 * FIGURE_MESSAGES + sync_figure(fig)


#: A view's apply function: takes the queued items, returns frontend messages sent.
Apply = Callable[[list[Any]], int]
#: Draws one request (an item a widget or the app posted) inside a batch.
Handler = Callable[[Any, Sends], None]


class EventPump:
    """Moves items from worker threads to a view at a bounded frontend message rate.

    ``pump(item)`` (or ``pump.put(item)``) is safe and O(1) from any thread: register
    the pump itself as a trainer handler. :meth:`drain` applies whatever is queued as
    one batch; tests may call it directly. :meth:`start` runs draining on a daemon
    thread; :meth:`submit` is for the main thread (it drains at once when no pump
    thread is running, so user actions never wait for a thread that is not there).
    """

    def __init__(
        self,
        apply: Apply,
        max_rate: float = MAX_MESSAGES_PER_S,
        period_s: float = 0.1,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        if max_rate <= 0:
            raise ValueError(f"max_rate={max_rate}: choose a positive number of messages per s")
        if period_s <= 0:
            raise ValueError(f"period_s={period_s}: choose a positive period, e.g. 0.1")
        self._apply = apply
        self.max_rate = max_rate
        self.period_s = period_s
        self._on_error = on_error
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.messages_sent = 0
        self.batches = 0

    # -- any thread ---------------------------------------------------------------
    def put(self, item: Any) -> None:
        """Queue ``item`` for the next batch (never blocks, never touches widgets)."""
        self._queue.put(item)

    __call__ = put

    @property
    def pending(self) -> bool:
        """Whether items wait in the queue."""
        return not self._queue.empty()

    @property
    def running(self) -> bool:
        """Whether the pump thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- draining -----------------------------------------------------------------
    def drain(self) -> int:
        """Apply everything queued now as one batch; returns the messages it sent."""
        with self._lock:
            items = []
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not items:
                return 0
            sent = int(self._apply(items))
            self.messages_sent += sent
            self.batches += 1
            return sent

    def submit(self, item: Any) -> None:
        """Queue ``item`` from the main thread; applied at once when no pump thread runs."""
        self.put(item)
        if not self.running:
            self.drain()

    # -- the pump thread ----------------------------------------------------------
    def start(self) -> None:
        """Start the pump thread (no-op if it runs already)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="transfer-lab-pump", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the pump thread after one last drain of what is queued."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def _loop(self) -> None:
        ready_at = 0.0
        while True:
            stopping = self._stop.is_set()
            wait = ready_at - time.monotonic()
            if wait > 0 and not stopping:
                self._stop.wait(min(wait, self.period_s))
                continue
            began = time.monotonic()
            sent = self._drain_safely()
            if stopping:
                return
            # Pay for what was sent before the next batch: the rate bound holds however
            # many events the batch folded together.
            ready_at = began + max(self.period_s, sent / self.max_rate)

    def _drain_safely(self) -> int:
        try:
            return self.drain()
        except Exception as error:  # noqa: BLE001 - a view bug must not end live updates
            log.exception("the view failed to apply a batch of events")
            if self._on_error is not None:
                try:
                    with self._lock:
                        self._on_error(error)
                except Exception:  # noqa: BLE001
                    log.exception("the pump's error handler failed")
            return 0
