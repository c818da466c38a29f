"""Typed training events and their frozen payloads.

The trainer thread fires these; handlers receive the payload object. Payloads are
frozen dataclasses (arrays inside them are made read-only) because they cross from
the training thread to the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

import numpy as np


class Event(str, Enum):
    """Past-tense names of everything a run reports."""

    RUN_STARTED = "run_started"
    EPOCH_STARTED = "epoch_started"
    STEP_COMPLETED = "step_completed"
    GROUPS_UNFROZEN = "groups_unfrozen"
    EVALUATION_COMPLETED = "evaluation_completed"
    CHECKPOINT_SAVED = "checkpoint_saved"
    RUN_PAUSED = "run_paused"
    RUN_RESUMED = "run_resumed"
    RUN_STOPPED = "run_stopped"
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"


def readonly(array: Any) -> np.ndarray:
    """Return ``array`` as a numpy array that cannot be written to."""
    out = np.array(array, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Payload:
    """Base class: every payload knows its event name (``event``, a class constant)."""

    event: ClassVar[Event]


@dataclass(frozen=True)
class RunStarted(Payload):
    """A run began; sizes let a view lay out its progress bar and axes.

    ``config`` is the run's :meth:`RunConfig.to_dict`; ``run_dir`` is where it saves
    (None: nothing saved); the parameter counts are for the approach's freezing.
    """

    event: ClassVar[Event] = Event.RUN_STARTED
    run_id: str
    config: dict[str, Any]
    class_names: tuple[str, ...]
    n_train: int
    n_val: int
    steps_per_epoch: int
    total_epochs: int
    device: str
    run_dir: str | None
    trainable_params: int
    frozen_params: int


@dataclass(frozen=True)
class EpochStarted(Payload):
    """Epoch ``epoch`` (from 1) of ``total_epochs`` begins its training steps."""

    event: ClassVar[Event] = Event.EPOCH_STARTED
    epoch: int
    total_epochs: int


@dataclass(frozen=True)
class GroupsUnfrozen(Payload):
    """Staged unfreezing: from ``epoch`` on the last ``trainable_groups`` groups train.

    ``groups`` names the groups that began to train now; the counts are after the change.
    """

    event: ClassVar[Event] = Event.GROUPS_UNFROZEN
    epoch: int
    groups: tuple[str, ...]
    trainable_groups: int
    trainable_params: int
    frozen_params: int


@dataclass(frozen=True)
class StepCompleted(Payload):
    """One optimizer step. ``epoch`` and ``step`` count from 1.

    ``step`` counts within the epoch, ``global_step`` over the run (of ``total_steps``);
    ``loss`` is the step's training loss, ``lr`` the head's learning rate, and
    ``elapsed_s`` the run's training time so far (pauses left out).
    """

    event: ClassVar[Event] = Event.STEP_COMPLETED
    epoch: int
    step: int
    global_step: int
    total_steps: int
    loss: float
    lr: float
    images_per_s: float
    elapsed_s: float


@dataclass(frozen=True)
class Embedding:
    """2-D projection of penultimate features for a fixed validation subset."""

    method: str
    points: np.ndarray  # (n, 2) float
    labels: np.ndarray  # (n,) int, true class
    predictions: np.ndarray  # (n,) int
    indices: np.ndarray  # (n,) int, positions in the validation split


@dataclass(frozen=True)
class EvaluationCompleted(Payload):
    """Metrics after an epoch; ``confusion[i, j]`` counts true ``i`` predicted ``j``.

    ``train_*`` average the epoch's steps, ``val_*`` the validation split; precision
    and recall are per class. The per-item arrays follow the validation split's order.
    """

    event: ClassVar[Event] = Event.EVALUATION_COMPLETED
    epoch: int
    global_step: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    val_predictions: np.ndarray  # (n_val,) predicted class per validation item
    embedding: Embedding | None = None
    val_losses: np.ndarray | None = None  # (n_val,) loss per item: top losses
    val_confidence: np.ndarray | None = None  # (n_val,) probability of the prediction


@dataclass(frozen=True)
class CheckpointSaved(Payload):
    """The best weights so far (``val_acc`` after ``epoch``) were written to ``path``."""

    event: ClassVar[Event] = Event.CHECKPOINT_SAVED
    epoch: int
    path: str
    val_acc: float


@dataclass(frozen=True)
class PausePoint(Payload):
    """Base of pause and resume: where the run stood (its last step) at that moment."""

    epoch: int
    global_step: int


@dataclass(frozen=True)
class RunPaused(PausePoint):
    """The run waits between two steps until it is resumed or stopped."""

    event: ClassVar[Event] = Event.RUN_PAUSED


@dataclass(frozen=True)
class RunResumed(PausePoint):
    """A paused run goes on training from where it stood."""

    event: ClassVar[Event] = Event.RUN_RESUMED


@dataclass(frozen=True)
class TestMetrics:
    """Held-out test split results at the end of a run."""

    loss: float
    acc: float
    confusion: np.ndarray
    n: int


@dataclass(frozen=True)
class RunStopped(Payload):
    """The run ended early, between steps; what it learned so far is kept.

    ``reason`` says why in words (``Trainer.stop(reason)``; "stopped by user" by default).
    """

    event: ClassVar[Event] = Event.RUN_STOPPED
    epoch: int
    global_step: int
    reason: str = "stopped by user"


@dataclass(frozen=True)
class RunCompleted(Payload):
    """The run trained every epoch; ``test`` holds the test split's score (if it has one)."""

    event: ClassVar[Event] = Event.RUN_COMPLETED
    epoch: int
    global_step: int
    best_val_acc: float
    test: TestMetrics | None = None


@dataclass(frozen=True)
class RunFailed(Payload):
    """The run ended on an error; ``message`` is meant for people, not logs.

    ``error_type`` names the exception's class; ``epoch`` and ``global_step`` say where.
    """

    event: ClassVar[Event] = Event.RUN_FAILED
    epoch: int
    global_step: int
    message: str
    error_type: str


Handler = Callable[[Payload], None]


@dataclass
class HandlerHandle:
    """Returned by :meth:`EventBus.on`; ``remove()`` unsubscribes."""

    _bus: EventBus
    _event: Event | None
    _handler: Handler
    removed: bool = field(default=False)

    def remove(self) -> None:
        self._bus._remove(self._event, self._handler)
        self.removed = True

    def __enter__(self) -> HandlerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class EventBus:
    """Handlers per event (or for all events). Handlers must be O(1): they run on
    the training thread, so anything slow belongs behind a queue."""

    def __init__(self) -> None:
        self._handlers: dict[Event | None, list[Handler]] = {}
        self._lock = threading.Lock()

    def on(self, event: Event | None, handler: Handler) -> HandlerHandle:
        """Call ``handler(payload)`` when ``event`` fires; ``None`` means every event."""
        if event is not None and not isinstance(event, Event):
            raise TypeError(
                f"event={event!r}: pass a member of lab.core.training.events.Event or None"
            )
        with self._lock:
            self._handlers.setdefault(event, []).append(handler)
        return HandlerHandle(self, event, handler)

    def _remove(self, event: Event | None, handler: Handler) -> None:
        with self._lock:
            handlers = self._handlers.get(event, [])
            if handler in handlers:
                handlers.remove(handler)

    def fire(self, payload: Payload) -> None:
        """Deliver ``payload`` to its event's handlers, then to catch-all handlers.

        Every handler gets it; the first handler's error is raised after the last.
        """
        with self._lock:
            targets = [*self._handlers.get(payload.event, []), *self._handlers.get(None, [])]
        error: Exception | None = None
        for handler in targets:  # one broken handler must not hide the event from the rest
            try:
                handler(payload)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error
