"""BatchNorm folded into the convolution before it: same function, model untouched."""

from __future__ import annotations

import torch
from torch import nn

from lab.core.models.folding import conv_norm_pairs, folded_copy


class NormAct(nn.BatchNorm2d):
    """Like timm's BatchNormAct2d: normalization, then ``drop``, then ``act``."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.drop, self.act = nn.Identity(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(x)))


class Block(nn.Module):
    """Attribute style (ResNet's conv1/bn1), as opposed to a Sequential."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(8, 8, 3, padding=1), NormAct(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn1(self.conv1(x))


class PreNormUse(nn.Module):
    """The convolution's output also feeds the sum: folding would change that sum."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return (self.bn(y) + y).mean(dim=(2, 3))


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()),
        Block(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    for module in net.modules():  # statistics that are not the identity
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
    return net


def test_the_folded_copy_computes_the_same_and_the_model_is_untouched() -> None:
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(5, 3, 12, 12)
    twin, head = folded_copy(net, net[4], x)
    assert twin is not net and head is twin[4]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in twin.modules())
    with torch.no_grad():
        torch.testing.assert_close(twin(x), net.eval()(x), rtol=1e-4, atol=1e-5)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 2
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_pairs_are_read_off_the_forward_pass() -> None:
    net = _net()
    assert conv_norm_pairs(net.eval(), torch.randn(2, 3, 8, 8)) == [
        ("0.0", "0.1"),
        ("1.conv1", "1.bn1"),
    ]


def test_the_model_itself_when_folding_would_change_it() -> None:
    net = nn.Sequential(PreNormUse(), nn.Linear(3, 2))
    with torch.no_grad():
        net[0].bn.running_mean.fill_(0.5)
    x = torch.randn(4, 3, 8, 8)
    assert folded_copy(net, net[1], x) == (net, net[1])


def test_the_model_itself_without_batchnorm_or_a_head_inside() -> None:
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    x = torch.randn(2, 3, 6, 6)
    plain(x)
    assert folded_copy(plain, plain[3], x) == (plain, plain[3])
    net, outside = _net(), nn.Linear(8, 3)
    assert folded_copy(net, outside, x) == (net, outside)


def test_a_shared_convolution_is_not_folded() -> None:
    conv, bn = nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)
    net = nn.Sequential(conv, bn, conv, nn.Flatten(), nn.LazyLinear(2))
    x = torch.randn(2, 3, 4, 4)
    net(x)
    assert conv_norm_pairs(net.eval(), x) == []


def test_the_training_mode_is_restored_and_the_layout_kept() -> None:
    net = _net().train().to(memory_format=torch.channels_last)
    twin, _ = folded_copy(net, net[4], torch.randn(2, 3, 8, 8))
    assert net.training and not twin.training
    conv = next(m for m in twin.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
