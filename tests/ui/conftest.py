"""Widget tests without a browser: every widget's comm is a recording dummy.

This follows ipywidgets' own tests (``DummyComm``): ``comm.create_comm`` is replaced
so each widget gets a comm that records what it would send to the frontend, with the
time it was sent, so tests can count messages and check their rate.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import comm
import pytest
from ipywidgets import Widget

_ids = itertools.count()


@dataclass
class CommLog:
    """Everything the widgets sent: ``(time, comm_id, data, thread name)`` per message."""

    messages: list[tuple[float, str, Any, str]] = field(default_factory=list)

    def count(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for m in list(self.messages) if since <= m[0] <= until)

    def threads(self, since: float = 0.0) -> set[str]:
        """Names of the threads that sent messages after ``since``."""
        return {m[3] for m in list(self.messages) if m[0] >= since}


class RecordingComm:
    """Stands in for a kernel comm: records messages instead of sending them."""

    kernel = "Truthy"  # ipywidgets only sends when the comm has a kernel

    def __init__(self, log: CommLog, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or f"comm-{next(_ids)}"
        self._log = log

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        now, thread = time.monotonic(), threading.current_thread().name
        self._log.messages.append((now, self.comm_id, data, thread))


@pytest.fixture(autouse=True)
def comm_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[CommLog]:
    log = CommLog()
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(log, **kwargs))
    monkeypatch.setattr(comm, "get_comm_manager", lambda **kwargs: {})
    # The repr needs a frontend; tests never display.
    monkeypatch.setattr(Widget, "_repr_mimebundle_", lambda self, **kwargs: None)
    yield log
