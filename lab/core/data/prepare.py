"""From a data choice (DataSpec) to the torch data sets a training run uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import spec_types
from .base import ImageDataset
from .registry import DEFAULT_DATASET, load_dataset
from .splits import Splits, check_fractions, check_n_per_class, split_indices
from .torch_dataset import TorchImageDataset
from .transforms import PreprocessingLike, allows_flip, build_transform


@dataclass(frozen=True)
class DataSpec:
    """Which data, how much of it, and how it is split and sized (plain JSON-able values).

    ``n_per_class`` limits training images per class (None: all); ``image_size`` overrides
    the weights' crop size (None: the weights' own size).
    """

    name: str = DEFAULT_DATASET
    path: str | None = None
    n_per_class: int | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 0
    image_size: int | None = None
    augment: bool = False

    def __post_init__(self) -> None:
        spec_types.check(self)
        check_fractions(self.val_fraction, self.test_fraction)
        check_n_per_class(self.n_per_class)


@dataclass(frozen=True)
class PreparedData:
    """A loaded data set, its split, and torch data sets for each split."""

    dataset: ImageDataset
    splits: Splits
    train: TorchImageDataset
    val: TorchImageDataset
    test: TorchImageDataset
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        """Number of classes the model must tell apart."""
        return len(self.class_names)


def prepare(
    spec: DataSpec,
    preproc: PreprocessingLike,
    root: str | Path | None = None,
    download: bool = True,
) -> PreparedData:
    """Load ``spec``'s data set, split it, and wrap each split with its transform.

    Training images get augmentation when ``spec.augment``; validation and test images
    always get the plain evaluation transform.
    """
    dataset = load_dataset(spec.name, path=spec.path, root=root, download=download)
    splits = split_indices(
        dataset.labels,
        val_fraction=spec.val_fraction,
        test_fraction=spec.test_fraction,
        n_per_class=spec.n_per_class,
        seed=spec.seed,
        class_names=dataset.class_names,
    )
    flip = allows_flip(spec.name)  # digits mirrored are not digits
    train_tf = build_transform(preproc, spec.image_size, spec.augment, train=True, flip=flip)
    eval_tf = build_transform(preproc, spec.image_size, augment=False, train=False)
    return PreparedData(
        dataset=dataset,
        splits=splits,
        train=TorchImageDataset(dataset, splits.train, train_tf),
        val=TorchImageDataset(dataset, splits.val, eval_tf),
        test=TorchImageDataset(dataset, splits.test, eval_tf),
        class_names=dataset.class_names,
    )
