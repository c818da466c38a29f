"""The model catalog: every torchvision classification model with weights, plus
EfficientNet-Lite 0/1/2 from packaged files, with metadata and a uniform builder.

torchvision entries read their metadata from the weights API (``weights.meta`` and
``weights.transforms()``); nothing is typed by hand. One entry per weights enum member,
keyed ``"<arch>.<WEIGHTS>"``, e.g. ``"mobilenet_v2.IMAGENET1K_V1"``.
"""

from __future__ import annotations

import difflib
import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum

from lab.core.models import efficientnet_lite, weights
from lab.core.models.groups import LayerGroup, layer_groups
from lab.core.models.heads import drop_aux_heads, head_module, replace_head
from lab.core.models.meta_init import building_on_meta, fill_parameters, parameters_on_meta
from lab.core.models.weights import Availability

__all__ = [
    "DEFAULT_MODEL",
    "LayerGroup",
    "ModelEntry",
    "Preprocessing",
    "build_model",
    "get_entry",
    "head_module",
    "imagenet_categories",
    "layer_groups",
    "list_models",
    "offline_keys",
    "preprocessing",
]

#: Model key used when none is given (by a run, the panels and the workshop tools).
DEFAULT_MODEL = "mobilenet_v2.IMAGENET1K_V1"


@dataclass(frozen=True)
class Preprocessing:
    """How images must be prepared for a model's pretrained weights."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    resize_size: int
    crop_size: int
    interpolation: str  # an InterpolationMode value: "bilinear", "bicubic", ...


@dataclass(frozen=True)
class ModelEntry:
    """One pretrained model: architecture + weights, with their published metadata."""

    key: str
    arch: str
    weights_name: str
    source: Literal["torchvision", "timm"]
    params: int
    file_size_mb: float
    gflops: float
    acc1: float
    acc5: float
    input_size: int  # crop size the weights were evaluated at
    resize_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str
    categories_count: int
    file_name: str  # weights file name, as stored in the hub checkpoint cache
    url: str  # where the weights download from (timm: its pretrained config)
    docs_url: str  # where the metadata comes from
    builder: Callable[..., nn.Module] = field(repr=False, compare=False)
    weights: WeightsEnum | None = field(default=None, repr=False, compare=False)

    @property
    def availability(self) -> Availability:
        """ "offline", "cached" or "download", looked up now."""
        return weights.availability(self)

    @property
    def preprocessing(self) -> Preprocessing:
        """Mean, std, sizes and interpolation of the weights."""
        return Preprocessing(
            self.mean, self.std, self.resize_size, self.input_size, self.interpolation
        )


def _first(size: Any) -> int:
    return int(size[0]) if isinstance(size, (list, tuple)) else int(size)


def _torchvision_entry(arch: str, member: WeightsEnum) -> ModelEntry:
    meta = member.meta
    metrics = meta["_metrics"]["ImageNet-1K"]
    transforms = member.transforms()
    return ModelEntry(
        key=f"{arch}.{member.name}",
        arch=arch,
        weights_name=member.name,
        source="torchvision",
        params=int(meta["num_params"]),
        file_size_mb=float(meta["_file_size"]),
        gflops=float(meta["_ops"]),
        acc1=float(metrics["acc@1"]),
        acc5=float(metrics["acc@5"]),
        input_size=_first(transforms.crop_size),
        resize_size=_first(transforms.resize_size),
        mean=tuple(float(v) for v in transforms.mean),
        std=tuple(float(v) for v in transforms.std),
        interpolation=str(transforms.interpolation.value),
        categories_count=len(meta["categories"]),
        file_name=weights.url_file_name(member.url),
        url=member.url,
        docs_url=str(meta.get("recipe", "")),
        builder=torchvision.models.get_model_builder(arch),
        weights=member,
    )


def _lite_entry(spec: efficientnet_lite.LiteSpec) -> ModelEntry:
    return ModelEntry(
        key=spec.key,
        arch=spec.arch,
        weights_name=spec.weights_name,
        source="timm",
        params=spec.params,
        file_size_mb=spec.file_size_mb,
        gflops=spec.gflops,
        acc1=spec.acc1,
        acc5=spec.acc5,
        input_size=spec.input_size,
        resize_size=spec.resize_size,
        mean=spec.mean,
        std=spec.std,
        interpolation=spec.interpolation,
        categories_count=spec.categories_count,
        file_name=spec.file_name,
        url=f"https://huggingface.co/timm/{spec.key}",
        docs_url=spec.acc_source,
        builder=functools.partial(efficientnet_lite.create, spec.arch),
    )


def is_classifier(member: WeightsEnum) -> bool:
    """Whether ``member`` holds a whole ImageNet classifier. vgg16.IMAGENET1K_FEATURES does
    not: its classifier values are missing (no categories, no accuracy)."""
    metrics = member.meta.get("_metrics", {}).get("ImageNet-1K", {})
    return bool(member.meta.get("categories")) and math.isfinite(metrics.get("acc@1", math.nan))


@functools.cache
def _entries() -> dict[str, ModelEntry]:
    entries: dict[str, ModelEntry] = {}
    for arch in torchvision.models.list_models(module=torchvision.models):
        for member in torchvision.models.get_model_weights(arch):
            if is_classifier(member):
                entry = _torchvision_entry(arch, member)
                entries[entry.key] = entry
    for spec in efficientnet_lite.lite_specs():
        entries[spec.key] = _lite_entry(spec)
    return entries


def list_models() -> list[ModelEntry]:
    """Every catalog entry: torchvision's classification weights, then EfficientNet-Lite."""
    return list(_entries().values())


def offline_keys() -> list[str]:
    """Keys of the entries usable without a network (weights shipped or cached here)."""
    return [entry.key for entry in _entries().values() if entry.availability != "download"]


def get_entry(key: str) -> ModelEntry:
    """The entry for ``key``; an unknown key raises KeyError naming close matches."""
    entries = _entries()
    if key in entries:
        return entries[key]
    close = difflib.get_close_matches(key, list(entries), n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see catalog.list_models()"
    raise KeyError(f"model={key!r}: not in the catalog; {hint}")


def preprocessing(key: str) -> Preprocessing:
    """Preprocessing of the weights of ``key`` (from ``weights.transforms()`` / timm)."""
    return get_entry(key).preprocessing


def imagenet_categories(key: str) -> list[str]:
    """The class names the pretrained head of ``key`` scores, in output order."""
    entry = get_entry(key)
    if entry.weights is not None:
        return list(entry.weights.meta["categories"])
    # EfficientNet-Lite scores the same ILSVRC-2012 classes in the same order.
    return imagenet_categories(DEFAULT_MODEL)


def _random_torchvision(entry: ModelEntry) -> nn.Module:
    with warnings.catch_warnings():
        # GoogLeNet and Inception v3 warn that their default init may change one day.
        warnings.simplefilter("ignore", FutureWarning)
        with parameters_on_meta():  # a free look at the default configuration
            model = entry.builder(weights=None)
        size = getattr(model, "image_size", entry.input_size)
        if isinstance(size, int) and size != entry.input_size:
            # Models with a fixed input size (ViT) must match the entry's crop size, as
            # torchvision's builder arranges when it loads the weights.
            return entry.builder(weights=None, image_size=entry.input_size)
        return model if building_on_meta() else entry.builder(weights=None)


def _pretrained_torchvision(entry: ModelEntry) -> nn.Module:
    weights.install_offline_weights()
    with weights.download_errors(entry.key, entry.file_name, entry.url):
        return entry.builder(weights=entry.weights)


def _pretrained_lite(entry: ModelEntry) -> nn.Module:
    path = weights.packaged_file(entry.key) or weights.cached_file(entry)
    if path is None:
        with weights.download_errors(entry.key, entry.file_name, entry.url):
            return entry.builder(pretrained=True)
    model = entry.builder(pretrained=False)
    efficientnet_lite.load_file(model, path)
    return model


def _construct(entry: ModelEntry, pretrained: bool) -> nn.Module:
    if entry.source == "timm":
        return _pretrained_lite(entry) if pretrained else entry.builder(pretrained=False)
    return _pretrained_torchvision(entry) if pretrained else _random_torchvision(entry)


def build_model(
    key: str,
    num_classes: int,
    pretrained: bool = True,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """Model ``key`` with a new head for ``num_classes``.

    ``pretrained=True`` loads the ImageNet weights through torchvision's own builder
    (offline files are seeded into the hub cache first); ``pretrained=False`` is a random
    init of the same architecture (the from-scratch baseline). ``device="meta"`` builds
    shapes only, for inspection, and needs ``pretrained=False``. A ``generator`` (with
    ``pretrained=False``) draws simple random weights for timing from it instead
    (:func:`~lab.core.models.meta_init.fill_parameters`), leaving torch's global
    generator, and any run drawing from it, alone.
    """
    entry = get_entry(key)
    target = torch.device(device) if device is not None else torch.device("cpu")
    if generator is not None:
        if pretrained:
            raise ValueError("generator: random weights only; pass pretrained=False")
        with parameters_on_meta(buffers=False):
            model = _construct(entry, pretrained=False)
            drop_aux_heads(model)
            replace_head(model, num_classes)
        return fill_parameters(model, generator).to(target)
    if target.type == "meta":
        if pretrained:
            raise ValueError("device='meta' builds shapes only: pass pretrained=False")
        with parameters_on_meta():
            model = _construct(entry, pretrained=False)
            drop_aux_heads(model)
            replace_head(model, num_classes)
        return model
    model = _construct(entry, pretrained)
    drop_aux_heads(model)
    replace_head(model, num_classes)
    return model.to(target)
