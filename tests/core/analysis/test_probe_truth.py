"""Kendall's tau of the probe against real runs, and results that merge into latest.json."""

from __future__ import annotations

import math

import pytest

from benchmarks.run import merge
from lab.core.analysis.probe_truth import kendall


def test_tau_counts_only_pairs_further_apart_than_the_noise() -> None:
    real = {"a": 0.92, "b": 0.91, "c": 0.85, "d": 0.20}
    same = {"a": 0.8, "b": 0.7, "c": 0.6, "d": 0.1}
    assert kendall(same, real) == (pytest.approx(1.0), pytest.approx(1.0), 5)
    # a and b swapped: within 2 points, so only the all-pairs tau notices.
    swapped = {**same, "a": 0.7, "b": 0.8}
    tau_all, tau_gap, pairs = kendall(swapped, real)
    assert tau_all == pytest.approx(4 / 6) and tau_gap == pytest.approx(1.0) and pairs == 5
    # c above b (but not a): one of the five far-apart pairs wrong -> (4 - 1) / 5.
    assert kendall({**same, "c": 0.75}, real)[1] == pytest.approx(3 / 5)
    # c above both: two wrong -> (3 - 2) / 5.
    assert kendall({**same, "c": 0.9}, real)[1] == pytest.approx(1 / 5)


def test_no_pair_far_apart_gives_nan() -> None:
    tau_gap = kendall({"a": 1.0, "b": 0.0}, {"a": 0.9, "b": 0.89})[1]
    assert math.isnan(tau_gap)


def test_a_partial_benchmark_run_keeps_the_other_parts_figures() -> None:
    old = {
        "p1_run_speedup": 5.6,
        "p2_vs_bare": 0.97,
        "p4_future": 1.0,
        "details": {"p1": {"x": 1}},
        "context": {"device": "old"},
    }
    new = {
        "p5_tau_gap": 0.8,
        "p5_time_ratio": 0.04,
        "details": {"p5": {"y": 2}},
        "context": {"device": "new"},
    }
    merged = merge(old, new, ["p5"])
    assert merged["p1_run_speedup"] == 5.6 and merged["p4_future"] == 1.0
    assert merged["p5_tau_gap"] == 0.8
    assert merged["details"] == {"p1": {"x": 1}, "p5": {"y": 2}}
    assert merged["met"]["p1_run_speedup"] and merged["met"]["p5_tau_gap"]
    assert merged["context"] == {"device": "old"}  # P1-P3's context stays theirs
    assert merged["contexts"]["p5"] == {"device": "new"}
