"""Freezing by layer group, BatchNorm in frozen groups, discriminative learning rates."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from lab.core.models.finetune import (
    apply_approach,
    backbone_frozen,
    default_groups,
    is_eval_locked,
    param_groups,
    summarize,
    trainable_mask,
)
from lab.core.models.groups import LayerGroup


def four_layer_model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU()),
        nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU()),
        nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5)),
        nn.Linear(8, 3),
    )


def groups_of(model: nn.Sequential) -> list[LayerGroup]:
    names = ["block1", "block2", "block3", "head"]
    return [LayerGroup(name, (child,)) for name, child in zip(names, model, strict=True)]


def batchnorms(module: nn.Module) -> list[nn.BatchNorm1d]:
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm1d)]


def train_a_little(model: nn.Module, steps: int = 3) -> None:
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    model.train()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(
            model(torch.randn(16, 4) * 3 + 1), torch.randint(0, 3, (16,))
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize(
    ("approach", "k", "expected"),
    [
        ("feature_extraction", 3, [False, False, False, True]),
        ("fine_tuning", 1, [False, False, False, True]),
        ("fine_tuning", 2, [False, False, True, True]),
        ("fine_tuning", 10, [True, True, True, True]),
        ("scratch", 1, [True, True, True, True]),
    ],
)
def test_trainable_mask(approach: str, k: int, expected: list[bool]) -> None:
    assert trainable_mask(approach, 4, k) == expected


def test_trainable_mask_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="approach='transfer'"):
        trainable_mask("transfer", 4)
    with pytest.raises(ValueError, match="trainable_groups=0"):
        trainable_mask("fine_tuning", 4, 0)


def test_feature_extraction_freezes_backbone_and_keeps_its_batchnorm_in_eval() -> None:
    model = four_layer_model()
    groups = groups_of(model)
    apply_approach(groups, "feature_extraction")
    model.train()  # what a training loop does every epoch
    assert [p.requires_grad for p in model[3].parameters()] == [True, True]
    assert not any(p.requires_grad for block in model[:3] for p in block.parameters())
    assert all(not bn.training for bn in batchnorms(model))
    assert model[3].training
    assert not model[2][3].training  # dropout in a frozen group is off too
    before = copy.deepcopy(
        [(bn.running_mean, bn.running_var, bn.num_batches_tracked) for bn in batchnorms(model)]
    )
    frozen_weights = copy.deepcopy(model[0].state_dict())
    train_a_little(model)
    after = [(bn.running_mean, bn.running_var, bn.num_batches_tracked) for bn in batchnorms(model)]
    for old, new in zip(before, after, strict=True):
        for a, b in zip(old, new, strict=True):
            assert torch.equal(a, b)
    for name, value in model[0].state_dict().items():
        assert torch.equal(value, frozen_weights[name])
    assert backbone_frozen(groups)


def test_fine_tuning_trains_last_groups_and_their_batchnorm_only() -> None:
    model = four_layer_model()
    groups = groups_of(model)
    apply_approach(groups, "fine_tuning", trainable_groups=2)
    model.train()
    assert all(p.requires_grad for p in model[2].parameters())
    assert not any(p.requires_grad for p in model[1].parameters())
    bn1, bn2, bn3 = batchnorms(model)
    assert (bn1.training, bn2.training, bn3.training) == (False, False, True)
    frozen_mean, trained_mean = bn2.running_mean.clone(), bn3.running_mean.clone()
    train_a_little(model)
    assert torch.equal(bn2.running_mean, frozen_mean)
    assert not torch.equal(bn3.running_mean, trained_mean)
    assert not backbone_frozen(groups)


def test_scratch_trains_everything() -> None:
    model = four_layer_model()
    apply_approach(groups_of(model), "scratch")
    model.train()
    assert all(p.requires_grad for p in model.parameters())
    assert all(bn.training for bn in batchnorms(model))
    assert not any(is_eval_locked(m) for m in model.modules())


def test_unfreezing_after_freezing_releases_eval_mode() -> None:
    model = four_layer_model()
    groups = groups_of(model)
    apply_approach(groups, "feature_extraction")
    apply_approach(groups, "fine_tuning", trainable_groups=4)
    model.train()
    assert all(bn.training for bn in batchnorms(model))
    assert all(p.requires_grad for p in model.parameters())


def test_eval_lock_survives_deepcopy_and_leaves_state_dict_alone() -> None:
    model = four_layer_model()
    keys = set(model.state_dict())
    apply_approach(groups_of(model), "feature_extraction")
    clone = copy.deepcopy(model)
    clone.train()
    assert not batchnorms(clone)[0].training
    assert set(model.state_dict()) == keys


def test_param_groups_hold_only_trainable_parameters_with_discriminative_lr() -> None:
    model = four_layer_model()
    groups = groups_of(model)
    apply_approach(groups, "fine_tuning", trainable_groups=2)
    out = param_groups(groups, lr=0.01, backbone_lr_factor=10, weight_decay=1e-4)
    assert [g["name"] for g in out] == ["block3", "head"]
    assert [g["lr"] for g in out] == pytest.approx([0.001, 0.01])
    given = {id(p) for g in out for p in g["params"]}
    assert given == {id(p) for p in model.parameters() if p.requires_grad}
    optimizer = torch.optim.Adam(out)
    assert len(optimizer.param_groups) == 2


def test_param_groups_refuse_a_fully_frozen_model() -> None:
    model = four_layer_model()
    groups = groups_of(model)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="nothing is trainable"):
        param_groups(groups, lr=0.01)
    with pytest.raises(ValueError, match="backbone_lr_factor=0"):
        param_groups(groups, lr=0.01, backbone_lr_factor=0)


def test_summary_counts_trainable_and_frozen_per_group() -> None:
    model = four_layer_model()
    groups = groups_of(model)
    apply_approach(groups, "fine_tuning", trainable_groups=2)
    summary = summarize(groups, lr=0.01, backbone_lr_factor=10)
    sizes = [sum(p.numel() for p in child.parameters()) for child in model]
    assert [g.params for g in summary.groups] == sizes
    assert [g.trainable for g in summary.groups] == [False, False, True, True]
    assert [g.lr for g in summary.groups] == [None, None, pytest.approx(0.001), 0.01]
    assert summary.trainable_params == sizes[2] + sizes[3]
    assert summary.frozen_params == sizes[0] + sizes[1]
    assert "block3" in summary.table() and "frozen" in summary.table()


def test_default_groups_split_backbone_and_head() -> None:
    model = four_layer_model()
    backbone, head = default_groups(model, model[3])
    assert head.modules == (model[3],)
    assert backbone.num_params + head.num_params == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="head"):
        default_groups(model, model[0][0])
