"""One meaning of "random init": BatchNorm statistics recomputed on training images."""

from __future__ import annotations

import torch
from torch import nn

from lab.core.models.batchnorm import batchnorm_layers, recalibrate, tensor_batches
from lab.core.models.finetune import is_eval_locked, lock_eval
from tests.core.tiny_runs import tiny_data, tiny_model, tiny_trainer


def train_inputs() -> torch.Tensor:
    return tiny_data(12, seed=1)[0]  # what tiny_trainer trains on


def bn_input_stats(model: nn.Sequential, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = model[0](inputs)
    return out.mean(0), out.var(0, unbiased=True)


def test_recalibrate_reaches_past_a_frozen_lock_and_restores_modes() -> None:
    model = tiny_model()
    lock_eval(model[1])
    model.train()
    inputs = torch.randn(40, 4) * 3 + 2
    used = recalibrate(model, tensor_batches(inputs, 8, limit=None))
    stats = [bn_input_stats(model, batch) for batch in inputs.split(8)]
    bn = model[1]
    assert used == 40
    # The plain average over batches of each batch's mean and (unbiased) variance.
    assert torch.allclose(bn.running_mean, torch.stack([m for m, _ in stats]).mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, torch.stack([v for _, v in stats]).mean(0), rtol=1e-4)
    assert bn.momentum == 0.1 and is_eval_locked(bn) and not bn.training
    assert model.training and model[0].training  # every module keeps its mode


def test_tensor_batches_spreads_a_limited_sample_and_skips_single_images() -> None:
    images = torch.arange(10.0)[:, None]
    assert [b.tolist() for b in tensor_batches(images, 2, limit=5)] == [
        [[0.0], [2.0]],
        [[4.0], [6.0]],
        [[8.0]],
    ]
    model = tiny_model()
    assert recalibrate(model, [torch.randn(3, 4), torch.randn(1, 4)]) == 3
    assert batchnorm_layers(model, frozen=True) == []


def test_frozen_random_backbone_gets_the_training_images_statistics() -> None:
    trainer = tiny_trainer(approach="feature_extraction", pretrained=False)
    trainer.run()
    mean, var = bn_input_stats(trainer.model, train_inputs())
    bn = trainer.model[1]
    # 12 images in equal batches: the average of batch means is the mean of all.
    assert torch.allclose(bn.running_mean, mean, atol=1e-5)
    assert torch.allclose(bn.running_var, var, rtol=0.5)


def test_pretrained_backbone_statistics_are_left_alone() -> None:
    trainer = tiny_trainer(approach="feature_extraction")  # pretrained: its own statistics
    trainer.run()
    bn = trainer.model[1]
    assert torch.equal(bn.running_mean, torch.zeros(8))
    assert torch.equal(bn.running_var, torch.ones(8))


def test_scratch_run_evaluates_with_statistics_of_its_own_weights() -> None:
    trainer = tiny_trainer(approach="scratch", epochs=3)
    trainer.run()  # ends with the best epoch's weights and the statistics taken for them
    mean, var = bn_input_stats(trainer.model, train_inputs())
    bn = trainer.model[1]
    assert torch.allclose(bn.running_mean, mean, atol=1e-4)
    assert torch.allclose(bn.running_var, var, rtol=0.5)
