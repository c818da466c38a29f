"""Stand-ins for the probe and the curve: panel tests check the widgets, not the maths."""

from __future__ import annotations

from typing import Any

from lab.core.analysis.efficiency import CurvePoint, CurveSpec, EfficiencyResult
from lab.core.analysis.probe import ProbeResult, ProbeScores


def fake_scores(acc: float, half: float = 0.04) -> ProbeScores:
    return ProbeScores(
        acc, 0.02, acc - 0.1, 0.03, 5, acc - half, acc + half, acc - 0.1 - half, acc - 0.1 + half,
        acc - 1.0, acc - 1.0 - half, acc - 1.0 + half,
    )  # fmt: skip


def fake_result(label: str, acc: float | None, status: str = "ok") -> ProbeResult:
    scores = fake_scores(acc) if acc is not None else None
    return ProbeResult(
        label, label, True, status, "" if scores else "no weights", scores, 3_500_000, 13.6,
        0.3, 71.9, 1280 if scores else None, 0.5,
    )  # fmt: skip


def fake_curve(spec: CurveSpec, on_point: Any, should_stop: Any, data: Any) -> EfficiencyResult:
    points = []
    for n in spec.sizes:
        for seed in spec.seeds:
            for arm in spec.arms:
                if should_stop():
                    return EfficiencyResult(spec, tuple(points), ("a", "b"), 20, 1.0, True)
                acc = 0.4 + n / 100 + (0.3 if arm == "feature_extraction" else 0.0)
                point = CurvePoint(arm, n, seed, acc, 1.0, 30, 0.1)
                points.append(point)
                on_point(point)
    return EfficiencyResult(spec, tuple(points), ("a", "b"), 20, 2.0)
