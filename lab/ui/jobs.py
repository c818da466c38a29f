"""One background job at a time behind a panel's button, with Stop.

The job runs on a worker thread and only puts items on an :class:`EventPump`; the
pump's ``apply`` (the panel's) is the one place that writes the widgets they change.
``threaded=False`` runs the job in the click handler instead, for scripts and tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from lab.ui.pump import Apply, EventPump

#: Put on the pump when a job has ended, however it ended.
IDLE = "idle"


class BackgroundJob:
    """Runs one job at a time; ``post`` reaches the panel's ``apply`` through the pump.

    ``should_stop`` is what a job polls between its steps; :meth:`stop` sets it.
    ``on_busy(True/False)`` runs on the kernel's thread when a job starts (and, when
    not threaded, ends); a threaded job's end reaches ``apply`` as :data:`IDLE`.
    """

    def __init__(
        self,
        apply: Apply,
        on_busy: Callable[[bool], None],
        on_error: Callable[[BaseException], None],
        threaded: bool = True,
        name: str = "transfer-lab-job",
    ) -> None:
        self.threaded, self._name, self._on_busy = threaded, name, on_busy
        self.pump = EventPump(apply, on_error=on_error)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether a threaded job is still at work."""
        return self._worker is not None and self._worker.is_alive()

    def should_stop(self) -> bool:
        """Whether Stop was pressed since the job started (jobs poll this)."""
        return self._stop.is_set()

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
        self._on_busy(True)
        if not self.threaded:
            try:
                job()
            finally:
                self._on_busy(False)
            return True

        def work() -> None:
            try:
                job()
            finally:
                self.pump.put(IDLE)

        self.pump.start()
        self._worker = threading.Thread(target=work, name=self._name, daemon=True)
        self._worker.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running job and apply everything it reported (scripts, tests)."""
        if self._worker is not None:
            self._worker.join(timeout)
        self.pump.drain()

    def close(self) -> None:
        """Stop the job and the pump thread."""
        self.stop()
        self.pump.stop()
