"""measure_latency: which passes it times, on what input, and the settings it refuses."""

from __future__ import annotations

import types
from typing import Any

import pytest
import torch
from torch import nn

from lab.core.analysis import latency
from lab.core.analysis.latency import measure_latency
from lab.core.models import catalog


class _Clocked(nn.Module):
    """Each forward pass advances a fake clock by the next of ``durations_ms``."""

    def __init__(self, clock: list[float], durations_ms: list[float]) -> None:
        super().__init__()
        self.clock, self.durations = clock, list(durations_ms)
        self.shapes: list[tuple[int, ...]] = []
        self.grad_enabled: list[bool] = []
        self.built: dict[str, Any] = {}  # how the catalog was asked to build it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        self.grad_enabled.append(torch.is_grad_enabled())
        self.clock[0] += self.durations.pop(0) / 1000
        return x.mean(dim=(2, 3))


@pytest.fixture
def clocked(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install a model whose passes take the given milliseconds; returns its maker."""
    clock = [0.0]
    monkeypatch.setattr(latency, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))

    def install(durations_ms: list[float]) -> _Clocked:
        model = _Clocked(clock, durations_ms)

        def build_model(key: str, **kwargs: Any) -> nn.Module:
            model.built.update(kwargs, key=key)
            return model

        monkeypatch.setattr(catalog, "build_model", build_model)
        return model

    return install


def test_the_median_of_the_timed_passes_leaves_the_warm_up_out(clocked: Any) -> None:
    model = clocked([500.0, 400.0, 9.0, 3.0, 5.0])  # two slow warm-up passes, then 3 timed
    result = measure_latency(catalog.DEFAULT_MODEL, batch_size=4, repeats=3, warmup=2)
    assert result.median_ms == pytest.approx(5.0)
    assert result.per_image_ms == pytest.approx(5.0 / 4)
    assert (result.batch_size, result.threads) == (4, torch.get_num_threads())
    assert not model.durations and len(model.shapes) == 5  # every pass ran, none more
    assert not any(model.grad_enabled)  # timed as inference: no autograd graph
    assert model.built["pretrained"] is False  # random weights: any model can be timed


def test_the_input_is_the_weights_crop_size_unless_told(clocked: Any) -> None:
    entry = catalog.get_entry(catalog.DEFAULT_MODEL)
    model = clocked([1.0, 1.0])
    result = measure_latency(entry.key, repeats=1, warmup=1)
    assert result.image_size == entry.input_size
    assert model.shapes[-1] == (1, 3, entry.input_size, entry.input_size)
    model = clocked([1.0])
    result = measure_latency(entry.key, image_size=32, batch_size=2, repeats=1, warmup=0)
    assert (result.image_size, model.shapes) == (32, [(2, 3, 32, 32)])


@pytest.mark.parametrize(
    ("settings", "named"), [({"repeats": 0}, "repeats=0"), ({"batch_size": 0}, "batch_size=0")]
)
def test_settings_that_time_nothing_are_refused_by_name(
    clocked: Any, settings: dict[str, int], named: str
) -> None:
    model = clocked([])
    with pytest.raises(ValueError, match=named):
        measure_latency(catalog.DEFAULT_MODEL, **settings)
    assert model.shapes == []


def test_an_unknown_model_is_refused_before_anything_is_built(clocked: Any) -> None:
    model = clocked([])
    with pytest.raises(KeyError):
        measure_latency("no_such_model")
    assert model.shapes == [] and model.built == {}


@pytest.mark.parametrize(
    "key", [e.key for e in catalog.list_models() if e.availability != "download"]
)
def test_a_measurement_leaves_torchs_global_generator_alone(key: str) -> None:
    # A run beside it draws its dropout masks from that generator: a draw here would
    # make the run's result depend on the timing of the two threads.
    before = torch.random.get_rng_state()
    result = measure_latency(key, image_size=32, repeats=1, warmup=0)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert result.median_ms > 0


def test_timing_weights_come_from_the_given_generator_and_buffers_stay_computed() -> None:
    def build(seed: int) -> nn.Module:
        return catalog.build_model(
            catalog.DEFAULT_MODEL,
            10,
            pretrained=False,
            generator=torch.Generator().manual_seed(seed),
        )

    first, again, other = build(0), build(0), build(1)
    weights = [name for name, p in first.named_parameters() if p.dim() > 1]
    state, state_again, state_other = first.state_dict(), again.state_dict(), other.state_dict()
    assert all(torch.equal(state[k], state_again[k]) for k in state)
    assert not any(torch.equal(state[k], state_other[k]) for k in weights)
    norms = [m for m in first.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(torch.equal(m.running_var, torch.ones_like(m.running_var)) for m in norms)
    assert not any(p.is_meta for p in first.parameters())
    with pytest.raises(ValueError, match="pretrained=False"):
        catalog.build_model(catalog.DEFAULT_MODEL, 10, generator=torch.Generator())


def test_a_measurement_asked_to_stop_ends_before_the_next_pass(clocked: Any) -> None:
    model = clocked([5.0] * 7)
    asked: list[int] = []

    def should_stop() -> bool:
        asked.append(len(model.shapes))  # passes done when asked
        return len(asked) == 4

    with pytest.raises(latency.MeasurementStopped, match="after 3 of 7 passes"):
        measure_latency("mobilenet_v2.IMAGENET1K_V1", repeats=5, warmup=2, should_stop=should_stop)
    assert asked == [0, 1, 2, 3] and len(model.shapes) == 3
