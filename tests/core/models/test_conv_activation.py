"""Convolution and activation fused into one oneDNN call in the folded copy: the same
outputs in float32 and bfloat16, and left apart where fusing would change them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lab.core.models import conv_activation
from lab.core.models.conv_activation import ConvActivation, conv_activation_pairs
from lab.core.models.folding import folded_copy

needs_operator = pytest.mark.skipif(
    conv_activation._operator() is None, reason="this torch build has no oneDNN operator"
)


class SkipAround(nn.Module):
    """The convolution's output is also added to the activation's: not fusable."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn, self.act = nn.Conv2d(8, 8, 3, padding=1), nn.Identity(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.act(self.bn(y)) + y


def _net(middle: nn.Module | None = None) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),  # depthwise, as MobileNetV2's
        nn.BatchNorm2d(8),
        nn.ReLU(),
        middle or nn.Identity(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    return net.eval()


def _fused(net: nn.Module) -> list[ConvActivation]:
    return [m for m in net.modules() if isinstance(m, ConvActivation)]


def _first_pair_fused() -> tuple[nn.Module, torch.Tensor, nn.Module, ConvActivation]:
    """The test net, an input, its fused copy and the copy's first fused pair."""
    net = _net()
    x = torch.randn(2, 3, 8, 8)
    twin, _ = folded_copy(net, net[9], x)
    return net, x, twin, _fused(twin)[0]


@needs_operator
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_the_fused_copy_computes_what_the_folded_one_does(monkeypatch, layout) -> None:
    net = _net().to(memory_format=layout)
    x = torch.randn(6, 3, 10, 10).contiguous(memory_format=layout)
    twin, _ = folded_copy(net, net[9], x)
    assert [f.attr for f in _fused(twin)] == ["hardtanh", "relu"]
    assert _fused(twin)[0].scalars == [0.0, 6.0]
    monkeypatch.setattr(conv_activation, "fuse_activations", lambda *_: [])
    monkeypatch.setattr("lab.core.models.folding.fuse_activations", lambda *_: [])
    apart, _ = folded_copy(net, net[9], x)
    assert not _fused(apart)
    with torch.inference_mode():
        torch.testing.assert_close(twin(x), apart(x), rtol=1e-5, atol=1e-6)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fused, plain = twin(x), apart(x)
    assert fused.dtype == plain.dtype == torch.bfloat16
    assert torch.equal(fused, plain)  # the same bfloat16 arithmetic, in one call


@needs_operator
def test_where_gradients_are_recorded_it_computes_apart(monkeypatch) -> None:
    net, x, twin, fused = _first_pair_fused()
    calls: list[str] = []
    operator = fused._operator
    monkeypatch.setattr(fused, "_operator", lambda *a: calls.append("fused") or operator(*a))
    with torch.enable_grad():
        twin(x)  # autograd needs the separate operators
    assert calls == []
    with torch.inference_mode():
        twin(x)
    assert calls == ["fused"]


def test_a_convolution_whose_output_is_read_elsewhere_stays_apart() -> None:
    net = _net(SkipAround())
    x = torch.randn(4, 3, 8, 8)
    assert ("6.conv", "6.act") in conv_activation_pairs(net, x)  # the pass cannot tell
    twin, _ = folded_copy(net, net[9], x)
    assert twin is not net  # still folded, but nothing fused: outputs were compared
    assert not _fused(twin)
    with torch.inference_mode():
        torch.testing.assert_close(twin(x), net(x), rtol=1e-4, atol=1e-5)


@needs_operator
def test_an_operator_that_fails_leaves_the_pair_apart_from_then_on(monkeypatch) -> None:
    net, x, twin, fused = _first_pair_fused()

    def fails(*_args: object) -> torch.Tensor:
        raise RuntimeError("could not create a primitive")

    monkeypatch.setattr(fused, "_operator", fails)
    with torch.inference_mode():
        torch.testing.assert_close(twin(x), net(x), rtol=1e-4, atol=1e-5)
    assert fused._operator is None
