"""The networks: the catalog of torchvision (and EfficientNet-Lite) classifiers, offline
weights, heads, layer groups, freezing and discriminative learning rates, BatchNorm
recalibration, and Grad-CAM maps of where a model looks.

A new model source is an entry in ``catalog`` (see its module docstring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lab.core.models.batchnorm import recalibrate
    from lab.core.models.catalog import (
        ModelEntry,
        build_model,
        get_entry,
        imagenet_categories,
        list_models,
        preprocessing,
    )
    from lab.core.models.explain import CamMap, grad_cam
    from lab.core.models.finetune import (
        APPROACHES,
        apply_approach,
        freeze,
        make_trainable,
        param_groups,
        summarize,
    )
    from lab.core.models.groups import layer_groups
    from lab.core.models.heads import head_module, replace_head
    from lab.core.models.weights import (
        WeightsUnavailableError,
        install_offline_weights,
        offline_models,
    )

__all__ = [
    "APPROACHES",
    "CamMap",
    "ModelEntry",
    "WeightsUnavailableError",
    "apply_approach",
    "build_model",
    "freeze",
    "get_entry",
    "grad_cam",
    "head_module",
    "imagenet_categories",
    "install_offline_weights",
    "layer_groups",
    "list_models",
    "make_trainable",
    "offline_models",
    "param_groups",
    "preprocessing",
    "recalibrate",
    "replace_head",
    "summarize",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".batchnorm": ("recalibrate",),
        ".catalog": (
            "ModelEntry",
            "build_model",
            "get_entry",
            "imagenet_categories",
            "list_models",
            "preprocessing",
        ),
        ".explain": ("CamMap", "grad_cam"),
        ".finetune": (
            "APPROACHES",
            "apply_approach",
            "freeze",
            "make_trainable",
            "param_groups",
            "summarize",
        ),
        ".groups": ("layer_groups",),
        ".heads": ("head_module", "replace_head"),
        ".weights": ("WeightsUnavailableError", "install_offline_weights", "offline_models"),
    },
    (
        "batchnorm",
        "catalog",
        "efficientnet_lite",
        "explain",
        "finetune",
        "groups",
        "heads",
        "meta_init",
        "weights",
    ),
)
