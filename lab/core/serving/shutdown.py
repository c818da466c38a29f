"""Runs end with their process: a kernel that is shut down stops its runs and saves them.

A served dashboard's kernel goes when its page closes or when the server culls it.
jupyter_client first sends a shutdown request (the kernel then leaves through
``atexit``), after half of ``KernelManager.shutdown_wait_time`` a SIGTERM, at the end a
SIGKILL. Training runs on a daemon thread, which would simply vanish mid-step: both
exits therefore ask every active run to stop between steps (before the interpreter
starts refusing new threads' work) and wait for its final event, so its folder ends
with ``run_stopped`` and its best checkpoint, never reads back as interrupted.

The same record of runs tells side jobs whether one trains now (:func:`busy`), so that
e.g. a latency measurement waits instead of timing the run along with its model.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
import weakref
from types import FrameType
from typing import Any, Protocol

#: The reason a run stopped by its process's end gives (saved in its ``run_stopped``).
REASON = "stopped because the kernel shut down"
#: How long the exit waits for all runs together: one step of a model on a crowded CPU
#: (a dozen seconds with four runs on two cores). The server's
#: ``KernelManager.shutdown_wait_time`` (``voila.json``) leaves the kernel twice this
#: before SIGKILL. A run whose step takes longer keeps its last checkpoint and metrics.
JOIN_TIMEOUT_S = 30.0


class Stoppable(Protocol):
    """What a run offers: a cooperative stop with a reason, a join, and its state."""

    @property
    def state(self) -> str: ...

    def stop(self, reason: str = ...) -> None: ...

    def join(self, timeout: float | None = None) -> bool: ...


_active: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_installed = False
_leaving = threading.Event()
_previous_sigterm: Any = None
_watched = 0


def watch(run: Stoppable) -> None:
    """Stop ``run`` cleanly if this process exits or receives SIGTERM while it trains."""
    global _watched
    with _lock:
        _active.add(run)
        _watched += 1
        _install()


def busy() -> bool:
    """Whether a watched run is training (running or paused) in this process now."""
    with _lock:
        return any(run.state in ("running", "paused") for run in _active)


def runs_watched() -> int:
    """How many runs this process has watched: a side job that reads it before and after
    its work learns whether a run started meanwhile."""
    with _lock:
        return _watched


def leaving() -> bool:
    """Whether this process is stopping its runs to end (nothing to tidy up for later)."""
    return _leaving.is_set()


def stop_all(reason: str = REASON, timeout: float = JOIN_TIMEOUT_S) -> int:
    """Ask every watched run to stop, wait up to ``timeout`` s in all; how many there were."""
    _leaving.set()
    with _lock:
        runs = list(_active)
    for run in runs:
        run.stop(reason)
    deadline = time.monotonic() + timeout
    for run in runs:
        run.join(max(0.0, deadline - time.monotonic()))
    return len(runs)


def _install() -> None:
    global _installed, _previous_sigterm
    if _installed:
        return
    # Before the interpreter joins threads: from then on concurrent.futures refuses new
    # work, and the run's loader would fail mid-epoch. concurrent.futures hooks in the
    # same way; plain atexit is the fallback where this hook is missing.
    register = getattr(threading, "_register_atexit", atexit.register)
    register(stop_all)
    # Signal handlers can only be set from the main thread; a run started elsewhere
    # still gets the atexit path.
    if threading.current_thread() is threading.main_thread():
        _previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    _installed = True


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    stop_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    # Then end as the signal would have ended the process without us.
    signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    os.kill(os.getpid(), signum)
