"""Real short runs: MobileNetV2 (offline ImageNet weights) on Animal Shapes, 50 images/class.

Small images (64 px) keep them quick on two CPU cores; accuracy is asserted, never time.
"""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from lab.core.data import DataSpec
from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer
from lab.core.training.events import Event

pytestmark = pytest.mark.slow

SPEC = DataSpec(n_per_class=50, image_size=64, val_fraction=0.1, test_fraction=0.05)
CONFIG = RunConfig(
    data=SPEC, epochs=3, batch_size=16, lr=0.003, runs_dir=None, embedding="pca", embed_n=200
)


def batchnorm_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value.detach().cpu().clone()
        for name, module in model.named_modules()
        if isinstance(module, nn.BatchNorm2d)
        for key, value in module.state_dict().items()
    }


def timed_run(trainer: Trainer) -> tuple[float, float]:
    """Run ``trainer``; seconds to the first step and to the end."""
    first: list[float] = []
    trainer.on(Event.STEP_COMPLETED, lambda _s: first.append(time.perf_counter()))
    began = time.perf_counter()
    trainer.run()
    assert trainer.state == "completed", trainer.history.error
    return first[0] - began, time.perf_counter() - began


@pytest.fixture(scope="module")
def feature_extraction() -> tuple[Trainer, dict[str, torch.Tensor], float, float]:
    trainer = Trainer(CONFIG)
    before = batchnorm_state(trainer.model)
    first_step_s, total_s = timed_run(trainer)
    return trainer, before, first_step_s, total_s


def test_feature_extraction_learns_animal_shapes(
    feature_extraction: tuple[Trainer, dict[str, torch.Tensor], float, float],
) -> None:
    trainer, _, first_step_s, total_s = feature_extraction
    print(f"feature extraction: first step {first_step_s:.1f} s, run {total_s:.1f} s")
    assert trainer.history.best_val_acc is not None and trainer.history.best_val_acc >= 0.80
    final = trainer.history.final
    assert final is not None and final.test is not None and final.test.acc >= 0.75  # type: ignore[union-attr]
    evaluation = trainer.history.evaluations[-1]
    assert evaluation.embedding is not None and evaluation.embedding.points.shape == (200, 2)
    top = trainer.predict(trainer.parts.val.dataset.image(int(trainer.parts.val.indices[0])), k=3)
    assert len(top) == 3 and top[0][1] > top[2][1]


def test_frozen_batchnorm_statistics_do_not_move(
    feature_extraction: tuple[Trainer, dict[str, torch.Tensor], float, float],
) -> None:
    trainer, before = feature_extraction[:2]
    after = batchnorm_state(trainer.model)
    assert set(after) == set(before) and len(after) > 100
    changed = [key for key in before if not torch.equal(before[key], after[key])]
    assert changed == []


def test_from_scratch_is_clearly_worse(
    feature_extraction: tuple[Trainer, dict[str, torch.Tensor], float, float],
) -> None:
    # Compared after the same single epoch over the same images: training the whole
    # network is what makes scratch slow on a CPU, so one epoch keeps the test short.
    scratch = Trainer(CONFIG.replace(approach="scratch", epochs=1))
    _, total_s = timed_run(scratch)
    print(f"from scratch, one epoch: {total_s:.1f} s")
    transfer_acc = feature_extraction[0].history.evaluations[0].val_acc
    scratch_acc = scratch.history.evaluations[0].val_acc
    assert scratch_acc <= transfer_acc - 0.2, (scratch_acc, transfer_acc)


def test_fine_tuning_moves_only_the_unfrozen_batchnorm() -> None:
    spec = DataSpec(n_per_class=5, image_size=64, val_fraction=0.02, test_fraction=0.0)
    config = CONFIG.replace(
        data=spec, approach="fine_tuning", trainable_groups=3, epochs=1, embedding="none"
    )
    trainer = Trainer(config)
    groups = trainer.parts.groups
    trained = [g for g in groups if any(p.requires_grad for p in g.parameters())]
    assert [g.name for g in trained] == [g.name for g in groups[-3:]]
    frozen_bn = {id(m) for g in groups[:-3] for mod in g.modules for m in mod.modules()}
    before = batchnorm_state(trainer.model)
    trainer.run()
    assert trainer.state == "completed", trainer.history.error
    after = batchnorm_state(trainer.model)
    names = {id(m): n for n, m in trainer.model.named_modules()}
    frozen_names = {names[i] for i in frozen_bn if i in names}
    moved = {key.rsplit(".", 1)[0] for key in before if not torch.equal(before[key], after[key])}
    assert moved, "the unfrozen groups' BatchNorm layers should have updated their statistics"
    assert not moved & frozen_names
