"""P5: the transferability probe against the truth it predicts, and what it costs.

For each offline data set, every offline backbone and the random-init twins of two of
them are (1) probed at the probe's settings (all three scores from one pass of features)
and (2) trained for real: feature extraction on a fixed budget, measured on held-out
images the probe never sees. Then, per score: Kendall's tau between the probe's scores
and the real accuracies over all pairs and over the pairs whose accuracies differ by
more than 2 points, the tie groups the probe reports, and the probe's wall time against
the real runs' (both measured here, one after the other).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from lab.core import catalog
from lab.core.config import RunConfig
from lab.core.data import DataSpec, load_dataset, split_indices
from lab.core.engine import Trainer
from lab.core.probe import Candidate, ProbeReport, probe, probe_sample, random_twin
from lab.core.probe_scores import SCORES
from lab.core.probe_ties import tie_groups

#: Real accuracies closer than this (in points) are within the real runs' own noise.
GAP_POINTS = 2.0


@dataclass(frozen=True)
class ProbeCheckSettings:
    """The probe at the workshop panel's defaults; the real runs on the issue's budget."""

    datasets: tuple[str, ...] = ("animal_shapes", "mnist5k")
    twins_of: tuple[str, ...] = ("mobilenet_v2.IMAGENET1K_V1", "tf_efficientnet_lite0.in1k")
    probe_per_class: int = 20
    probe_image_size: int = 64
    train_per_class: int = 100
    val_per_class: int = 50
    image_size: int = 112
    epochs: int = 3
    batch_size: int = 32
    device: str = "cpu"

    def candidates(self) -> list[Candidate]:
        """Every backbone whose weights are on this machine, then the random twins."""
        keys = [e.key for e in catalog.list_models() if e.availability != "download"]
        return [Candidate(k) for k in keys] + [random_twin(k) for k in self.twins_of]


def _real_config(settings: ProbeCheckSettings, dataset: str, c: Candidate, n: int) -> RunConfig:
    # No test split: the validation images come first in each class's shuffled order,
    # ahead of every image the probe samples (checked in _check_disjoint).
    data = DataSpec(
        name=dataset,
        n_per_class=settings.train_per_class,
        val_fraction=settings.val_per_class / n,
        test_fraction=0.0,
        image_size=settings.image_size,
    )
    return RunConfig(
        model=c.key,
        pretrained=c.pretrained,
        data=data,
        approach="feature_extraction",
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        embedding="none",
        runs_dir=None,
        device=settings.device,
    )


def _check_disjoint(settings: ProbeCheckSettings, dataset: str, val_fraction: float) -> int:
    labels = load_dataset(dataset).labels
    val = split_indices(labels, val_fraction, 0.0).val
    sample = probe_sample(load_dataset(dataset), settings.probe_per_class)
    if set(val) & set(sample):
        raise RuntimeError(f"{dataset}: the probe's sample overlaps the real runs' validation")
    return len(val)


def real_runs(settings: ProbeCheckSettings, dataset: str) -> dict[str, dict[str, float]]:
    """Final validation accuracy and wall time of a real run per candidate."""
    per_class = int(np.bincount(load_dataset(dataset).labels).min())
    out = {}
    for c in settings.candidates():
        config = _real_config(settings, dataset, c, per_class)
        began = time.perf_counter()
        trainer = Trainer(config)
        trainer.run()
        seconds = time.perf_counter() - began
        if trainer.state != "completed":
            raise RuntimeError(f"{c.label} on {dataset} ended {trainer.state}: {trainer.error}")
        out[c.label] = {"acc": trainer.history.evaluations[-1].val_acc, "seconds": seconds}
        print(f"  real {c.label:<42}{out[c.label]['acc']:.3f} {seconds:6.1f} s", flush=True)
    return out


def kendall(probe_scores: dict[str, float], real: dict[str, float]) -> dict[str, Any]:
    """Kendall's tau (tau-b) over all pairs, and tau over pairs > GAP_POINTS apart."""
    labels = sorted(real)
    x, y = [probe_scores[k] for k in labels], [real[k] for k in labels]
    tau_all = float(kendalltau(x, y).statistic)
    agree = total = 0
    for a, b in itertools.combinations(labels, 2):
        if abs(real[a] - real[b]) * 100 > GAP_POINTS:
            total += 1
            agree += int(np.sign(probe_scores[a] - probe_scores[b]) * np.sign(real[a] - real[b]))
    return {
        "tau_all": tau_all,
        "tau_gap": agree / total if total else float("nan"),
        "pairs_gap": total,
        "pairs_all": len(labels) * (len(labels) - 1) // 2,
    }


def _per_score(report: ProbeReport, real: dict[str, float]) -> dict[str, Any]:
    out = {}
    for name in SCORES:
        ranked = sorted((r.ranked(name) for r in report.ranking), key=lambda r: -r.value)
        scores = {r.label: r.value for r in ranked}
        out[name] = {
            **kendall(scores, real),
            "scores": {r.label: [r.value, r.low, r.high] for r in ranked},
            "groups": [[r.label for r in g] for g in tie_groups(ranked)],
        }
    return out


def check_dataset(settings: ProbeCheckSettings, dataset: str) -> dict[str, Any]:
    """Probe, then real runs, on one data set; every figure for every score."""
    per_class = int(np.bincount(load_dataset(dataset).labels).min())
    n_val = _check_disjoint(settings, dataset, settings.val_per_class / per_class)
    candidates = settings.candidates()
    began = time.perf_counter()
    report = probe(
        candidates,
        data=dataset,
        n_per_class=settings.probe_per_class,
        image_size=settings.probe_image_size,
        device=settings.device,
    )
    probe_s = time.perf_counter() - began
    failed = [r.label for r in report.results if r.status != "ok"]
    if failed:
        raise RuntimeError(f"{dataset}: the probe could not score {failed}")
    print(f"{dataset}: probe {probe_s:.1f} s\n{report.table()}", flush=True)
    real = real_runs(settings, dataset)
    real_s = sum(v["seconds"] for v in real.values())
    accs = {k: v["acc"] for k, v in real.items()}
    return {
        "probe_s": probe_s,
        "real_s": real_s,
        "time_ratio": probe_s / real_s,
        "n_val": n_val,
        "real": real,
        "scores": _per_score(report, accs),
        "verdict": report.verdict(),
    }


def measure(settings: ProbeCheckSettings | None = None) -> dict[str, Any]:
    """Every data set; the default score is the one with the best worst-case tau on the
    pairs that differ by more than 2 points (all-pairs tau breaks a tie)."""
    settings = settings or ProbeCheckSettings()
    per_dataset = {name: check_dataset(settings, name) for name in settings.datasets}

    def merit(score: str) -> tuple[float, float]:
        rows = [d["scores"][score] for d in per_dataset.values()]
        return min(r["tau_gap"] for r in rows), min(r["tau_all"] for r in rows)

    best = max(SCORES, key=merit)
    results: dict[str, Any] = {
        "p5_best_score": best,
        "p5_tau_gap": merit(best)[0],
        "p5_tau_all": merit(best)[1],
        "p5_time_ratio": max(d["time_ratio"] for d in per_dataset.values()),
    }
    for name in SCORES:
        results[f"p5_tau_gap_{name}"], results[f"p5_tau_all_{name}"] = merit(name)
    results["details"] = {"settings": asdict(settings), "datasets": per_dataset}
    return results
