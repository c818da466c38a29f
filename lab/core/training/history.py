"""A run's history: the events of one run folded into plain lists.

Plots read a :class:`RunHistory`; the UI pump and saved-run loading both build one
by calling :meth:`RunHistory.apply` for each payload, so live and reloaded runs
draw the same curves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from lab.core.training.events import (
    CheckpointSaved,
    EvaluationCompleted,
    GroupsUnfrozen,
    Payload,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunResumed,
    RunStarted,
    RunStopped,
    StepCompleted,
    readonly,
)

#: Run states in words, as a status line shows them.
#: "interrupted": read back from a folder whose process died before the run ended.
STATES = ("idle", "running", "paused", "stopped", "completed", "failed", "interrupted")


@dataclass
class RunHistory:
    """Everything one run has reported so far."""

    name: str = "run"
    started: RunStarted | None = None
    steps: list[StepCompleted] = field(default_factory=list)
    evaluations: list[EvaluationCompleted] = field(default_factory=list)
    checkpoints: list[CheckpointSaved] = field(default_factory=list)
    unfrozen: list[GroupsUnfrozen] = field(default_factory=list)
    state: str = "idle"
    final: RunCompleted | RunStopped | RunFailed | None = None

    def apply(self, payload: Payload) -> None:
        """Fold one event into the history."""
        if isinstance(payload, RunStarted):
            self.started, self.state = payload, "running"
        elif isinstance(payload, StepCompleted):
            self.steps.append(payload)
        elif isinstance(payload, EvaluationCompleted):
            self.evaluations.append(payload)
        elif isinstance(payload, CheckpointSaved):
            self.checkpoints.append(payload)
        elif isinstance(payload, GroupsUnfrozen):
            self.unfrozen.append(payload)
        elif isinstance(payload, RunPaused):
            self.state = "paused"
        elif isinstance(payload, RunResumed):
            self.state = "running"
        elif isinstance(payload, RunStopped):
            self.final, self.state = payload, "stopped"
        elif isinstance(payload, RunCompleted):
            self.final, self.state = payload, "completed"
        elif isinstance(payload, RunFailed):
            self.final, self.state = payload, "failed"

    def drop_item_data(self) -> None:
        """Forget what each evaluation says per validation image (predictions, losses,
        confidences, embedding): only the live results draw those. Curves, scores and
        confusion matrices stay, which is what comparing runs reads."""
        none = readonly(np.zeros(0, dtype=np.int64))
        self.evaluations = [
            dataclasses.replace(
                e, val_predictions=none, embedding=None, val_losses=None, val_confidence=None
            )
            for e in self.evaluations
        ]

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.started.class_names if self.started else ()

    @property
    def best_val_acc(self) -> float | None:
        return max((e.val_acc for e in self.evaluations), default=None)

    @property
    def error(self) -> str | None:
        return self.final.message if isinstance(self.final, RunFailed) else None
