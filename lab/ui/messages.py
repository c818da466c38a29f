"""What the widgets post to the pump besides trainer events (all applied by the pump)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from lab.core.training.events import Payload
from lab.core.training.history import RunHistory


@dataclass(frozen=True)
class ValidationImages:
    """The validation split of a run: true labels and a way to fetch each image."""

    labels: np.ndarray
    image: Callable[[int], Image.Image]


@dataclass(frozen=True)
class NewRun:
    """A run is being prepared: later events belong to ``history``.

    ``refused`` says, once the run has ended, whether its set-up refused a setting
    (nothing ran): the view then keeps showing the run before it.
    """

    history: RunHistory
    images: Callable[[], ValidationImages | None] | None = None
    refused: Callable[[], bool] | None = None


@dataclass(frozen=True)
class RunEvent:
    """A trainer event addressed to the history of the run that fired it."""

    history: RunHistory
    payload: Payload


@dataclass(frozen=True)
class Notice:
    """A message for the train panel; ``level`` is ``info``, ``warning`` or ``error``."""

    text: str
    level: str = "info"


@dataclass(frozen=True)
class SettingsChanged:
    """The user changed a run setting: notices about the old settings no longer apply."""


@dataclass(frozen=True)
class ShowEpoch:
    """Show the confusion matrix and embedding of ``epoch``."""

    epoch: int


@dataclass(frozen=True)
class ShowCell:
    """Show the validation images with true class ``true`` predicted as ``predicted``."""

    true: int
    predicted: int


@dataclass(frozen=True)
class ShowMisclassified:
    """Show the validation images the shown epoch got wrong."""


@dataclass(frozen=True)
class LRFinderStarted:
    """The learning-rate sweep began (the button waits until it ends)."""


@dataclass(frozen=True)
class LRFinderDone:
    """The learning-rate sweep finished (``suggested`` is ``None`` if it found none)."""

    lrs: Sequence[float]
    losses: Sequence[float]
    suggested: float | None


@dataclass(frozen=True)
class LRFinderFailed:
    message: str
