"""Comparing backbones without full training runs: the transferability probe and its
scores, the probe checked against real runs, data-efficiency curves on small in-memory
loops, inference latency, and the ImageNet demo of what a pretrained model knows.

``sample_features`` gives the frozen features of a few hundred images held in memory,
which all of these share. The ``probe`` and ``logme`` functions are exported by
``lab.core`` itself: here those names are their modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lab.core.analysis.efficiency import CurveSpec, EfficiencyResult, data_efficiency
    from lab.core.analysis.explain_photos import compare_on_photos
    from lab.core.analysis.imagenet_demo import feature_map, imagenet_photos, predict_photos
    from lab.core.analysis.latency import Latency, measure_latency
    from lab.core.analysis.latency_cache import LatencyCache
    from lab.core.analysis.probe import (
        DEFAULT_CANDIDATES,
        Candidate,
        ProbeReport,
        ProbeResult,
        probe_sample,
        random_twin,
    )
    from lab.core.analysis.probe_truth import TruthBudget, check_probe
    from lab.core.analysis.sample_features import load_images, penultimate_features

__all__ = [
    "Candidate",
    "CurveSpec",
    "DEFAULT_CANDIDATES",
    "EfficiencyResult",
    "Latency",
    "LatencyCache",
    "ProbeReport",
    "ProbeResult",
    "TruthBudget",
    "check_probe",
    "compare_on_photos",
    "data_efficiency",
    "feature_map",
    "imagenet_photos",
    "load_images",
    "measure_latency",
    "penultimate_features",
    "predict_photos",
    "probe_sample",
    "random_twin",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".efficiency": ("CurveSpec", "EfficiencyResult", "data_efficiency"),
        ".explain_photos": ("compare_on_photos",),
        ".imagenet_demo": ("feature_map", "imagenet_photos", "predict_photos"),
        ".latency": ("Latency", "measure_latency"),
        ".latency_cache": ("LatencyCache",),
        ".probe": (
            "Candidate",
            "DEFAULT_CANDIDATES",
            "ProbeReport",
            "ProbeResult",
            "probe_sample",
            "random_twin",
        ),
        ".probe_truth": ("TruthBudget", "check_probe"),
        ".sample_features": ("load_images", "penultimate_features"),
    },
    (
        "efficiency",
        "explain_photos",
        "imagenet_demo",
        "latency",
        "latency_cache",
        "logme",
        "probe",
        "probe_scores",
        "probe_ties",
        "probe_truth",
        "quick_fit",
        "sample_features",
    ),
)
