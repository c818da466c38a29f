"""Stratified train/validation/test splits with a per-class limit on training images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import DataError


@dataclass(frozen=True)
class Splits:
    """Index arrays (ascending, disjoint) into one data set."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Number of images in each split."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Raise DataError unless both fractions lie in [0, 1) and leave room for training."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise DataError(f"{name}={value}: choose a fraction from 0 up to (not including) 1")
    if val_fraction + test_fraction >= 1.0:
        raise DataError(
            f"val_fraction={val_fraction} + test_fraction={test_fraction} leaves no training "
            "images: keep their sum below 1 (e.g. 0.2 and 0.2)"
        )


def check_n_per_class(n_per_class: int | None) -> None:
    """Raise DataError unless ``n_per_class`` is None (all images) or a positive integer."""
    if n_per_class is None:
        return
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)):
        raise DataError(f"n_per_class={n_per_class!r}: give a whole number of images, or None")
    if n_per_class < 1:
        raise DataError(f"n_per_class={n_per_class}: choose at least 1 image per class")


def _held_out(count: int, fraction: float) -> int:
    # A non-zero fraction always holds out at least one image, so every class is scored.
    return max(1, round(count * fraction)) if fraction > 0 else 0


def split_indices(
    labels: np.ndarray | Sequence[int],
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    n_per_class: int | None = None,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
) -> Splits:
    """Split image indices per class into train, validation and test.

    Each class is shuffled once with a generator seeded by ``(seed, class)``; its first
    images go to test, the next to validation and the rest to training, of which the first
    ``n_per_class`` are kept. Validation and test therefore do not depend on
    ``n_per_class``, and a smaller training set is a subset of a larger one: points on a
    data-efficiency curve differ only in the training images.
    """
    check_fractions(val_fraction, test_fraction)
    check_n_per_class(n_per_class)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed={seed!r}: choose a whole number >= 0")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise DataError(f"labels: need a non-empty 1-D array, got shape {labels.shape}")
    if labels.min() < 0:
        raise DataError(f"labels: class numbers must be >= 0, got {labels.min()}")
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_test = _held_out(len(members), test_fraction)
        n_val = _held_out(len(members), val_fraction)
        if len(members) - n_test - n_val < 1:
            name = class_names[int(label)] if class_names is not None else str(label)
            raise DataError(
                f"class {name!r} has only {len(members)} image(s): too few to split into "
                f"train/val/test with val_fraction={val_fraction}, "
                f"test_fraction={test_fraction}; add images to it or lower the fractions"
            )
        shuffled = np.random.default_rng((int(seed), int(label))).permutation(members)
        parts["test"].append(shuffled[:n_test])
        parts["val"].append(shuffled[n_test : n_test + n_val])
        train = shuffled[n_test + n_val :]
        parts["train"].append(train if n_per_class is None else train[:n_per_class])
    return Splits(**{key: np.sort(np.concatenate(chunks)) for key, chunks in parts.items()})
