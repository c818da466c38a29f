"""The settings of one training run, validated, and their JSON form."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.core.data import DataSpec
from lab.core.hardware.device import DEVICE_CHOICES
from lab.core.hardware.layout import LAYOUTS
from lab.core.models.catalog import DEFAULT_MODEL
from lab.core.models.finetune import APPROACHES, effective_backbone_lr_factor

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "onecycle")
EMBEDDINGS = ("pca", "tsne", "none")
#: A learning rate that works for a new head with each optimizer (the NaN hint uses it).
TYPICAL_LR = {"adam": 1e-3, "adamw": 1e-3, "sgd": 1e-2}


class ConfigError(ValueError):
    """A run setting is out of range; the message names it and a value that works."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. Invalid values raise :class:`ConfigError`.

    ``trainable_groups`` counts layer groups from the end, head included: with
    ``approach="fine_tuning"`` and ``trainable_groups=3`` the head and the last two
    backbone groups train. ``feature_extraction`` always trains the head alone and
    ``scratch`` trains everything from random weights (``pretrained`` is ignored).
    ``backbone_lr_factor`` divides the head's learning rate for trainable backbone groups.
    ``freeze_epochs`` > 0 (fine-tuning only) makes it staged: the head alone trains for
    that many of the ``epochs``, then the groups unfreeze (all at once, or one more per
    epoch with ``gradual``); see :mod:`lab.core.training.staged`.
    ``amp`` computes forward passes in mixed precision where the hardware does so natively:
    bfloat16 (or float16) on CUDA GPUs, and with ``cpu_bf16`` bfloat16 on CPUs with
    AVX512-BF16 or AMX; turn either off for float32 throughout.
    ``layout`` is the memory layout of images and convolutions: "auto" measures
    contiguous against channels_last on this machine and keeps the faster.
    """

    model: str = DEFAULT_MODEL
    pretrained: bool = True
    data: DataSpec = field(default_factory=DataSpec)
    approach: str = "feature_extraction"
    trainable_groups: int = 3
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-3
    backbone_lr_factor: float = 10.0
    freeze_epochs: int = 0
    gradual: bool = False
    schedule: str = "constant"
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    cpu_bf16: bool = True
    layout: str = "auto"
    cache_features: bool = True
    embedding: str = "pca"
    embed_n: int = 300
    runs_dir: str | None = "runs"

    def __post_init__(self) -> None:
        for problem in _problems(self):
            raise ConfigError(problem)

    @property
    def uses_pretrained(self) -> bool:
        """Whether the backbone starts from pretrained weights."""
        return self.pretrained and self.approach != "scratch"

    @property
    def effective_backbone_lr_factor(self) -> float:
        """Backbone LR = head LR / this.

        See :func:`lab.core.models.finetune.effective_backbone_lr_factor`.
        """
        return effective_backbone_lr_factor(self.approach, self.backbone_lr_factor)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (the data spec nested as a dict)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["data"] = _jsonable(dataclasses.asdict(self.data))
        return out

    def to_script(self, data_dir: str | Path | None = None) -> str:
        """This run as a standalone PyTorch script (:func:`lab.core.runs.script.render_script`)."""
        from lab.core.runs.script import render_script

        return render_script(self, data_dir)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown run setting(s) {unknown}: known ones are {sorted(known)}")
        values = dict(values)
        if isinstance(values.get("data"), dict):
            values["data"] = DataSpec(**values["data"])
        return cls(**values)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


def choice_problem(name: str, value: object, choices: Sequence[str]) -> str | None:
    """``name=value: choose one of ...`` unless ``value`` is one of ``choices``."""
    if value in choices:
        return None
    return f"{name}={value!r}: choose one of {', '.join(repr(c) for c in choices)}"


def _int_at_least(name: str, value: object, low: int, hint: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        return f"{name}={value!r}: {hint}"
    return None


def _positive(name: str, value: object, hint: str, allow_zero: bool = False) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value >= 0 if allow_zero else value > 0):  # type: ignore[operator]
        return None
    return f"{name}={value!r}: {hint}"


def _kind(name: str, value: object, kind: type, hint: str, empty_ok: bool = True) -> str | None:
    return None if isinstance(value, kind) and (empty_ok or value) else f"{name}={value!r}: {hint}"


def _flag(name: str, value: object) -> str | None:
    return None if isinstance(value, bool) else f"{name}={value!r}: choose True or False"


def _folder(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str | Path):
        return None
    return f"{name}={value!r}: give a folder as a string, or None (nothing saved)"


def _device_problem(name: str, device: object) -> str | None:
    if isinstance(device, str) and (device in DEVICE_CHOICES or device.startswith("cuda:")):
        return None
    return f"{name}={device!r}: choose one of {', '.join(DEVICE_CHOICES)}"


#: The rule of each setting on its own, in the order a config reports them; it gets the
#: name to use in its message (a panel may call the setting otherwise) and the value.
_CHECKS: dict[str, Callable[[str, Any], str | None]] = {
    "model": lambda n, v: _kind(n, v, str, "choose a catalog model key", empty_ok=False),
    "data": lambda n, v: _kind(n, v, DataSpec, "pass a lab.core.data.DataSpec"),
    "approach": lambda n, v: choice_problem(n, v, APPROACHES),
    "trainable_groups": lambda n, v: _int_at_least(n, v, 1, "choose 1 (head) or more"),
    "epochs": lambda n, v: _int_at_least(n, v, 1, "choose at least 1 epoch"),
    "batch_size": lambda n, v: _int_at_least(n, v, 1, "choose at least 1 image per batch, e.g. 32"),
    "optimizer": lambda n, v: choice_problem(n, v, OPTIMIZERS),
    "lr": lambda n, v: _positive(n, v, "choose a finite learning rate > 0, e.g. 0.001"),
    "backbone_lr_factor": lambda n, v: _positive(n, v, "choose a factor > 0 (1 = same LR)"),
    "schedule": lambda n, v: choice_problem(n, v, SCHEDULES),
    "weight_decay": lambda n, v: _positive(n, v, "choose 0 or a small value", allow_zero=True),
    "seed": lambda n, v: _int_at_least(n, v, 0, "choose a whole number >= 0"),
    "device": _device_problem,
    "embedding": lambda n, v: choice_problem(n, v, EMBEDDINGS),
    "layout": lambda n, v: choice_problem(n, v, LAYOUTS),
    "embed_n": lambda n, v: _int_at_least(n, v, 2, "choose at least 2 points to project, e.g. 300"),
    "pretrained": _flag,
    "gradual": _flag,
    "amp": _flag,
    "cpu_bf16": _flag,
    "cache_features": _flag,
    "runs_dir": _folder,
}  # fmt: skip


def setting_problem(setting: str, value: object, name: str | None = None) -> str | None:
    """What is wrong with ``value`` for the run setting ``setting`` on its own (None: fine).

    The message names ``name`` (default: ``setting``) and a value that works; the panels
    use it so that a setting has one rule, the run's. Rules that join settings (staged
    fine-tuning) are checked when the config is made.
    """
    check = _CHECKS.get(setting)
    return None if check is None else check(name or setting, value)


def _problems(c: RunConfig) -> list[str]:
    checks = [check(name, getattr(c, name)) for name, check in _CHECKS.items()]
    return [p for p in [*checks, _staged_problem(c)] if p is not None]


def _staged_problem(c: RunConfig) -> str | None:
    if isinstance(c.freeze_epochs, bool) or not isinstance(c.freeze_epochs, int):
        return f"freeze_epochs={c.freeze_epochs!r}: choose a whole number, 0 for no frozen stage"
    if c.freeze_epochs == 0:
        return None
    if c.freeze_epochs < 0:
        return f"freeze_epochs={c.freeze_epochs}: choose 0 (no frozen stage) or more"
    if c.approach != "fine_tuning":
        return (
            f"freeze_epochs={c.freeze_epochs} needs approach='fine_tuning' "
            f"(it is {c.approach!r}): choose fine-tuning or set freeze_epochs=0"
        )
    if isinstance(c.epochs, int) and c.freeze_epochs >= c.epochs:
        return (
            f"freeze_epochs={c.freeze_epochs} leaves no epoch to unfreeze in "
            f"(epochs={c.epochs}): choose at most {max(c.epochs - 1, 0)} or more epochs"
        )
    if isinstance(c.trainable_groups, int) and c.trainable_groups < 2:
        return (
            f"trainable_groups={c.trainable_groups} with freeze_epochs: nothing would "
            "unfreeze; choose 2 or more trainable groups"
        )
    return None
