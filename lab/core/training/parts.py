"""What a run trains: model, head, layer groups and data, built from a config or by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from lab.core.data.decoded import DecodedImages, decoded
from lab.core.models.finetune import default_groups
from lab.core.models.groups import LayerGroup
from lab.core.training.config import ConfigError, RunConfig

#: (inputs, labels) tensors or any dataset yielding (tensor, int label) pairs.
DataLike = Dataset[Any] | tuple[torch.Tensor, torch.Tensor]


@dataclass
class TrainingParts:
    """A model with its head and layer groups, and the three splits it learns from.

    ``head`` is the module whose input is the penultimate feature vector (the embedding
    and the feature cache read it with a hook). ``transform`` turns a PIL image into the
    model's input (used by ``predict``); ``preprocessing`` is saved with checkpoints.
    """

    model: nn.Module
    head: nn.Module
    groups: Sequence[LayerGroup]
    train: Dataset[Any]
    val: Dataset[Any]
    test: Dataset[Any] | None
    class_names: tuple[str, ...]
    transform: Callable[[Any], torch.Tensor] | None = None
    preprocessing: dict[str, Any] | None = None
    augment: bool = False

    @property
    def n_train(self) -> int:
        return _length(self.train)

    @property
    def n_val(self) -> int:
        return _length(self.val)

    @property
    def n_test(self) -> int:
        return 0 if self.test is None else _length(self.test)

    def release_caches(self) -> None:
        """Drop the decoded pixels the splits keep; using the model needs none of them."""
        for split in (self.train, self.val, self.test):
            if isinstance(split, DecodedImages):
                split.forget()


def _length(dataset: Dataset[Any]) -> int:
    return len(dataset)  # type: ignore[arg-type]


def as_dataset(data: DataLike | None, name: str) -> Dataset[Any] | None:
    """Wrap ``(inputs, labels)`` tensors as a dataset; pass datasets through."""
    if data is None or isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        inputs, labels = data
        if len(inputs) != len(labels):
            raise ValueError(
                f"{name}: {len(inputs)} inputs but {len(labels)} labels; pass one each"
            )
        return TensorDataset(inputs, labels.long())
    raise TypeError(f"{name}: pass a torch Dataset or an (inputs, labels) tuple of tensors")


def parts_from_modules(
    model: nn.Module,
    train: DataLike,
    val: DataLike,
    class_names: Sequence[str],
    *,
    head: nn.Module | None = None,
    groups: Sequence[LayerGroup] | None = None,
    test: DataLike | None = None,
    transform: Callable[[Any], torch.Tensor] | None = None,
) -> TrainingParts:
    """Parts for a model outside the catalog (tests, custom models).

    ``head`` defaults to the model's last child and ``groups`` to (backbone, head).
    """
    head = head if head is not None else list(model.children())[-1]
    train_set, val_set = as_dataset(train, "train"), as_dataset(val, "val")
    assert train_set is not None and val_set is not None
    return TrainingParts(
        model=model,
        head=head,
        groups=list(groups) if groups is not None else default_groups(model, head),
        train=train_set,
        val=val_set,
        test=as_dataset(test, "test"),
        class_names=tuple(class_names),
        transform=transform,
    )


def preprocessing_dict(preproc: Any, image_size: int | None) -> dict[str, Any]:
    """Plain values of a preprocessing description, as saved next to weights."""
    values: dict[str, Any] = {}
    if dataclasses.is_dataclass(preproc) and not isinstance(preproc, type):
        values = dataclasses.asdict(preproc)
    for key in ("mean", "std", "resize_size", "crop_size", "interpolation"):
        if key not in values and hasattr(preproc, key):
            values[key] = getattr(preproc, key)
    plain = {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in plain.items()}
    plain["image_size"] = image_size
    return plain


def parts_from_config(config: RunConfig) -> TrainingParts:
    """Build model (``catalog.build_model``) and data (``data.prepare``) for ``config``."""
    from lab.core import data
    from lab.core.models import catalog

    catalog.get_entry(config.model)  # an unknown key fails here, before data loads
    preproc = catalog.preprocessing(config.model)
    prepared = data.prepare(config.data, preproc)
    torch.manual_seed(config.seed)  # the new head starts the same for a given seed
    model = catalog.build_model(
        config.model, num_classes=len(prepared.class_names), pretrained=config.uses_pretrained
    )
    return TrainingParts(
        model=model,
        head=catalog.head_module(model),
        groups=catalog.layer_groups(model),
        train=decoded(prepared.train),
        val=decoded(prepared.val),
        test=decoded(prepared.test),
        class_names=prepared.class_names,
        transform=data.build_transform(preproc, config.data.image_size, augment=False, train=False),
        preprocessing=preprocessing_dict(preproc, config.data.image_size),
        augment=config.data.augment,
    )


def check_parts(parts: TrainingParts, config: RunConfig) -> None:
    """Refuse parts a run cannot use, naming the setting to change."""
    if parts.n_train == 0:
        raise ConfigError("train: the training split is empty; choose more images per class")
    if parts.n_val == 0:
        raise ConfigError("val: the validation split is empty; raise val_fraction")
    if config.batch_size > parts.n_train:
        raise ConfigError(
            f"batch_size={config.batch_size} is larger than the {parts.n_train} training "
            f"images: choose batch_size <= {parts.n_train}"
        )
    if len(parts.class_names) < 2:
        raise ConfigError("class_names: a classifier needs at least two classes")
