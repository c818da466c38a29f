"""Checks made when Start (or the LR finder) is pressed, before a trainer is made.

Each raises with a message that names the setting, the step where it is changed and
a value that works; the app shows it as a notice, and no run is counted.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lab.core.models import catalog
from lab.core.training.config import ConfigError


def check_weights(key: str, pretrained: bool, approach: str, allow_downloads: bool) -> None:
    """ValueError if ``key``'s weights would have to be downloaded and the host forbids it."""
    if not pretrained or approach == "scratch" or allow_downloads:
        return  # from scratch no weights are loaded
    try:
        entry = catalog.get_entry(key)
    except KeyError:
        return  # not a catalog model: the trainer factory says what it is
    if entry.availability == "download":
        raise ValueError(
            f"model {key!r} needs its weights downloaded, which the host of this server "
            "has switched off (LAB_ALLOW_DOWNLOADS=0): choose a model marked offline "
            'or cached, or press "random init" in step 1'
        )


def check_batch_size(batch_size: int, counts: Mapping[str, np.ndarray] | None) -> None:
    """ConfigError if a batch is larger than the training split (``counts``: per split)."""
    if counts is None:
        return  # not loaded yet: the trainer checks once it has read the data
    n_train = int(counts["train"].sum())
    if batch_size > n_train:
        raise ConfigError(
            f"batch_size={batch_size} is larger than the {n_train} training "
            f"images: set the batch size in step 4 to {n_train} or less, or raise "
            "the images per class in step 2"
        )
