"""One background job at a time behind a panel's button, with Stop.

The job runs on a worker thread and only puts items on an :class:`EventPump`; the
pump's ``apply`` (the panel's) is the one place that writes the widgets they change.
The job owns its buttons' states: the run button is disabled and Stop enabled while
it works, and the pump turns them back when it ends. ``threaded=False`` runs the job
in the click handler instead, for scripts and tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from lab.ui.pump import Apply, EventPump, Sends

#: Put on the pump when a job has ended, however it ended (the panel never sees it).
_ENDED = object()


class BackgroundJob:
    """Runs one job at a time; ``post`` reaches the panel's ``apply`` through the pump.

    ``should_stop`` is what a job polls between its steps; :meth:`stop` sets it (the
    panel's Stop button calls it). ``run_button`` is disabled and ``stop_button``
    enabled while a job is at work; errors in ``apply`` go to ``on_error``.
    """

    def __init__(
        self,
        apply: Apply,
        run_button: widgets.Button,
        on_error: Callable[[BaseException], None],
        stop_button: widgets.Button | None = None,
        threaded: bool = True,
        name: str = "transfer-lab-job",
    ) -> None:
        self.threaded, self._name, self._apply = threaded, name, apply
        self._buttons = (run_button,) if stop_button is None else (run_button, stop_button)
        self.pump = EventPump(self._apply_batch, on_error=on_error)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._set_busy(False)

    @property
    def running(self) -> bool:
        """Whether a threaded job is still at work."""
        return self._worker is not None and self._worker.is_alive()

    def should_stop(self) -> bool:
        """Whether Stop was pressed since the job started (jobs poll this)."""
        return self._stop.is_set()

    def wait_for_stop(self, timeout: float) -> bool:
        """From the job: wait up to ``timeout`` s; True as soon as Stop is pressed."""
        return self._stop.wait(timeout)

    def stop(self) -> None:
        """Ask the running job to stop after its current step."""
        self._stop.set()

    def post(self, item: Any) -> None:
        """From the job: queue ``item`` for the panel (applied at once when not threaded)."""
        if self.threaded:
            self.pump.put(item)
        else:
            self.pump.submit(item)

    def launch(self, job: Callable[[], object]) -> bool:
        """Start ``job`` unless one runs (then False: the panel says so)."""
        if self.running:
            return False
        self._stop.clear()
        self._set_busy(True)  # the click's own thread: the user's action
        if not self.threaded:
            try:
                job()
            finally:
                self._set_busy(False)
            return True

        def work() -> None:
            try:
                job()
            finally:
                self.pump.put(_ENDED)

        self.pump.start()
        self._worker = threading.Thread(target=work, name=self._name, daemon=True)
        self._worker.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running job and apply everything it reported (scripts, tests)."""
        if self._worker is not None:
            self._worker.join(timeout)
        self.pump.drain()

    def finish(self, timeout: float | None, still: str) -> None:
        """Like :meth:`join`, then TimeoutError saying ``still`` if the job is still at
        work after ``timeout`` seconds (a panel's ``wait``)."""
        self.join(timeout)
        if self.running:
            raise TimeoutError(f"timeout={timeout}: {still}")

    def close(self) -> None:
        """Stop the job and the pump thread."""
        self.stop()
        self.pump.stop()

    # -- the pump's view ------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        run, *stop = self._buttons
        run.disabled = busy
        for button in stop:
            button.disabled = not busy

    def _apply_batch(self, items: list[Any]) -> int:
        panel_items = [item for item in items if item is not _ENDED]
        sent = int(self._apply(panel_items)) if panel_items else 0
        if len(panel_items) < len(items):
            sends = Sends()
            with sends.hold(*self._buttons):
                self._set_busy(False)
            sent += sends.count
        return sent
