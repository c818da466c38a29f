"""Latency at batch 1 and 32, cached per machine and torch version in a JSON file."""

from __future__ import annotations

import json

import torch

from lab.core.analysis import latency_cache
from lab.core.analysis.latency import Latency
from lab.core.analysis.latency_cache import LatencyCache, machine_key


def test_measures_both_batches_once_and_keeps_them_per_machine(tmp_path, monkeypatch) -> None:
    calls = []

    def fake(key, batch_size, repeats, warmup, device, should_stop):
        calls.append((key, batch_size))
        assert should_stop is stop  # passed on to every pass
        return Latency(key, 224, batch_size, 10.0 * batch_size**0.5, 10.0 / batch_size**0.5, 1)

    monkeypatch.setattr(latency_cache, "measure_latency", fake)
    cache = LatencyCache(tmp_path / "sub" / "latency.json")
    assert cache.get("m") is None
    stop = lambda: False  # noqa: E731
    pair = cache.measure("m", should_stop=stop)
    assert calls == [("m", 1), ("m", 32)]
    assert pair.batch1_ms == 10.0 and pair.batch32_ms < pair.batch1_ms
    assert LatencyCache(cache.path).get("m") == pair  # read back from the file
    data = json.loads(cache.path.read_text())
    assert list(data) == [machine_key()] and torch.__version__ in machine_key()
    data["other machine | torch 0"] = data.pop(machine_key())
    cache.path.write_text(json.dumps(data))
    assert cache.get("m") is None  # another machine's figures are not this one's
    cache.path.write_text("{not json")
    assert cache.known() == {}  # a broken file means: measure again


def test_real_measurement_of_a_small_model(tmp_path) -> None:
    cache = LatencyCache(tmp_path / "latency.json")
    pair = cache.measure("mobilenet_v3_small.IMAGENET1K_V1", repeats=1)
    assert pair.batch1_ms > 0 and pair.batch32_ms > 0
    assert cache.get("mobilenet_v3_small.IMAGENET1K_V1") == pair
