"""One training run: its settings (``RunConfig``), the ``Trainer`` that runs it on a
background thread, the typed events it reports, and the loop, evaluation, learning-rate
finder, staged unfreezing and multi-process (torchrun) variants behind it.

``cached_features`` keeps a frozen backbone's features during a feature-extraction run;
``embedding_projection`` turns validation features into the live 2-D picture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lab.core.training.config import ConfigError, RunConfig
    from lab.core.training.control import RunControl, StopRequested
    from lab.core.training.engine import Trainer
    from lab.core.training.evaluation import EvalResult
    from lab.core.training.events import (
        CheckpointSaved,
        Embedding,
        EpochStarted,
        EvaluationCompleted,
        Event,
        GroupsUnfrozen,
        Payload,
        RunCompleted,
        RunFailed,
        RunPaused,
        RunResumed,
        RunStarted,
        RunStopped,
        StepCompleted,
        TestMetrics,
    )
    from lab.core.training.headless import run_headless
    from lab.core.training.history import RunHistory
    from lab.core.training.lr_finder import LRFinderResult, find_lr
    from lab.core.training.parts import TrainingParts, parts_from_config, parts_from_modules
    from lab.core.training.prediction import predict_top_k

__all__ = [
    "CheckpointSaved",
    "ConfigError",
    "Embedding",
    "EpochStarted",
    "EvalResult",
    "EvaluationCompleted",
    "Event",
    "GroupsUnfrozen",
    "LRFinderResult",
    "Payload",
    "RunCompleted",
    "RunConfig",
    "RunControl",
    "RunFailed",
    "RunHistory",
    "RunPaused",
    "RunResumed",
    "RunStarted",
    "RunStopped",
    "StepCompleted",
    "StopRequested",
    "TestMetrics",
    "Trainer",
    "TrainingParts",
    "find_lr",
    "parts_from_config",
    "parts_from_modules",
    "predict_top_k",
    "run_headless",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".config": ("ConfigError", "RunConfig"),
        ".control": ("RunControl", "StopRequested"),
        ".engine": ("Trainer",),
        ".evaluation": ("EvalResult",),
        ".events": (
            "CheckpointSaved",
            "Embedding",
            "EpochStarted",
            "EvaluationCompleted",
            "Event",
            "GroupsUnfrozen",
            "Payload",
            "RunCompleted",
            "RunFailed",
            "RunPaused",
            "RunResumed",
            "RunStarted",
            "RunStopped",
            "StepCompleted",
            "TestMetrics",
        ),
        ".headless": ("run_headless",),
        ".history": ("RunHistory",),
        ".lr_finder": ("LRFinderResult", "find_lr"),
        ".parts": ("TrainingParts", "parts_from_config", "parts_from_modules"),
        ".prediction": ("predict_top_k",),
    },
    (
        "cached_features",
        "config",
        "control",
        "distributed",
        "embedding_projection",
        "engine",
        "evaluation",
        "events",
        "failures",
        "headless",
        "history",
        "lr_finder",
        "optim",
        "parts",
        "prediction",
        "run_payloads",
        "staged",
        "training_loop",
    ),
)
