"""A saved run's best checkpoint, used as a trained model: predict, explain, export.

A run whose process was killed (an "interrupted" run) still has the best checkpoint
it reached; :func:`open_best_checkpoint` brings it back with the same methods a
finished :class:`~lab.core.training.engine.Trainer` offers for using its model, so the panels
that predict and export take either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from lab.core.models.explain import CamMap, grad_cam
from lab.core.runs.export import export_model
from lab.core.runs.saved import LoadedRun, load_run
from lab.core.training.config import RunConfig
from lab.core.training.history import RunHistory
from lab.core.training.parts import TrainingParts
from lab.core.training.prediction import as_input, predict_top_k


class SavedModel:
    """The best weights of a saved run (on the CPU), with its classes and preprocessing."""

    def __init__(self, run: LoadedRun, parts: TrainingParts, config: RunConfig) -> None:
        self.run, self.parts, self.config = run, parts, config

    @property
    def state(self) -> str:
        """How the run ended: ``completed``, ``stopped``, ``failed`` or ``interrupted``."""
        return self.run.history.state

    @property
    def history(self) -> RunHistory:
        return self.run.history

    @property
    def run_id(self) -> str:
        return self.run.path.name

    @property
    def epoch(self) -> int | None:
        """The epoch whose weights these are."""
        return (self.run.checkpoint or {}).get("epoch")

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.parts.class_names

    def prepare(self) -> TrainingParts:
        """The model and what it needs to be used (no data: nothing trains here)."""
        return self.parts

    def predict(self, image: Any, k: int = 5) -> list[tuple[str, float]]:
        """Top-``k`` (class name, probability) for one PIL image, array or input tensor."""
        parts = self.parts
        return predict_top_k(parts.model, image, parts.class_names, parts.transform, k, "cpu")

    def explain(self, image: Any) -> CamMap:
        """Grad-CAM of one PIL image (or input tensor) for the predicted class."""
        (cam,) = grad_cam(
            self.parts.model, self.parts.groups, as_input(image, self.parts.transform)
        )
        return cam

    def export(self, out_dir: str | Path, formats: Sequence[str] | None = None) -> dict[str, Path]:
        """Export the weights (see :func:`lab.core.runs.export.export_model`)."""
        return export_model(
            self.parts.model,
            out_dir,
            class_names=self.parts.class_names,
            preprocessing=self.parts.preprocessing,
            config=self.config.to_dict(),
            formats=formats,
        )


def _no_data() -> TensorDataset:
    return TensorDataset(torch.empty(0), torch.empty(0, dtype=torch.long))


def _catalog_parts(run: LoadedRun, config: RunConfig) -> TrainingParts:
    from lab.core import data
    from lab.core.models import catalog

    assert run.model is not None
    preproc = catalog.preprocessing(config.model)
    return TrainingParts(
        model=run.model,
        head=catalog.head_module(run.model),
        groups=catalog.layer_groups(run.model),
        train=_no_data(),
        val=_no_data(),
        test=None,
        class_names=run.class_names,
        transform=data.build_transform(preproc, config.data.image_size, augment=False, train=False),
        preprocessing=(run.checkpoint or {}).get("preprocessing"),
    )


def _no_weights(run: LoadedRun) -> ValueError:
    why = [p for p in run.problems if p.startswith(("best.pt", "config.json"))]
    if not why:
        why = ["it has no best.pt (no epoch finished before it ended)"]
    return ValueError(
        f"run {run.path.name!r} has no usable best checkpoint ({'; '.join(why)}): "
        "choose a run that finished at least one epoch"
    )


def _in_catalog(key: str) -> bool:
    from lab.core.models import catalog

    try:
        catalog.get_entry(key)
    except KeyError:
        return False
    return True


#: Builds a run's parts from its settings, for a model outside the catalog.
PartsBuilder = Callable[[RunConfig], TrainingParts]


def open_best_checkpoint(run_dir: str | Path, build: PartsBuilder | None = None) -> SavedModel:
    """The best checkpoint of the run saved in ``run_dir``, ready to use.

    A catalog model is rebuilt from its key; another model comes from ``build(config)``
    (parts made the way the run made them: the model receives the weights, its head,
    layer groups and transform are used). Raises ``ValueError`` naming the damage when
    there are no usable weights.
    """
    run = load_run(run_dir)
    config = run.config or run.checkpoint_config()
    parts: TrainingParts | None = None
    if run.checkpoint is not None and config is not None and not _in_catalog(config.model):
        if build is None:
            raise ValueError(
                f"model={config.model!r} of run {run.path.name!r} is not in the catalog: pass "
                "build= to rebuild it"
            )
        parts = build(config)
        run = load_run(run_dir, model=parts.model)
    if run.model is None or config is None:
        raise _no_weights(run)
    if parts is None:
        parts = _catalog_parts(run, config)
    else:  # the weights are in parts.model now; its data is not needed
        saved = (run.checkpoint or {}).get("preprocessing") or parts.preprocessing
        parts = dataclasses.replace(
            parts, class_names=run.class_names, train=_no_data(), val=_no_data(), test=None,
            preprocessing=saved,
        )  # fmt: skip
    return SavedModel(run, parts, config)
