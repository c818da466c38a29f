"""The probe against the truth it predicts: real feature-extraction runs per candidate.

The probe promises to rank backbones the way training them would. This module checks
that promise on a data set: the candidates are probed, then each one is trained for
real (feature extraction, a fixed budget, validation images the probe never sees), and
the two rankings are compared with Kendall's tau, over all pairs and over the pairs
whose real accuracies differ by more than ``GAP_POINTS`` (closer pairs are within the
real runs' own noise). The probe's time is set against the real runs' time, as wall
time and as this process's CPU time (which other work on a shared machine disturbs far
less).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau

from lab.core.analysis.probe import Candidate, ProbeReport, probe, probe_sample
from lab.core.analysis.probe_scores import SCORE_NAMES, SCORES
from lab.core.analysis.probe_ties import tie_groups
from lab.core.data import DataSpec, load_dataset, split_indices
from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer

#: Real accuracies closer than this (in points) are within the real runs' own noise.
GAP_POINTS = 2.0


@dataclass(frozen=True)
class TruthBudget:
    """What a real run gets: images per class, held-out images, size, epochs."""

    train_per_class: int = 100
    val_per_class: int = 50
    image_size: int = 112
    epochs: int = 3
    batch_size: int = 32
    device: str = "cpu"


@dataclass(frozen=True)
class RealRun:
    """A candidate trained for real: final validation accuracy, wall and CPU time."""

    label: str
    acc: float
    seconds: float
    cpu_s: float


@dataclass(frozen=True)
class ScoreCheck:
    """How one probe score's ranking agrees with the real one."""

    score: str
    tau_all: float
    tau_gap: float
    pairs_gap: int
    pairs_all: int
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ProbeCheck:
    """The probe's report, the real runs, and the agreement of every score."""

    report: ProbeReport
    real: tuple[RealRun, ...]
    probe_s: float
    probe_cpu_s: float
    checks: dict[str, ScoreCheck]

    @property
    def real_s(self) -> float:
        return sum(r.seconds for r in self.real)

    @property
    def time_ratio(self) -> float:
        """Probe wall time / the real runs' wall time."""
        return self.probe_s / self.real_s

    @property
    def cpu_ratio(self) -> float:
        """Probe CPU time / the real runs' CPU time."""
        return self.probe_cpu_s / sum(r.cpu_s for r in self.real)

    def table(self) -> str:
        """Real accuracy beside each score, then tau per score, for notebooks and logs."""
        by_label = {r.label: r for r in self.report.ranking}
        lines = [f"{'model':<42}{'real':>7}{'linear':>8}{'k-NN':>8}{'LogME':>8}"]
        for run in sorted(self.real, key=lambda r: -r.acc):
            s = by_label[run.label].scores
            assert s is not None
            lines.append(
                f"{run.label:<42}{run.acc:>7.1%}{s.linear_acc:>8.1%}{s.knn_acc:>8.1%}"
                f"{s.logme:>8.3f}"
            )
        lines.append("")
        for c in self.checks.values():
            lines.append(
                f"{SCORE_NAMES[c.score]:<13} tau {c.tau_all:+.2f} over {c.pairs_all} pairs, "
                f"{c.tau_gap:+.2f} over the {c.pairs_gap} more than {GAP_POINTS:g} points apart"
            )
        lines.append(
            f"probe {self.probe_s:.1f} s, real runs {self.real_s:.1f} s: "
            f"{self.time_ratio:.1%} of the wall time, {self.cpu_ratio:.1%} of the CPU time"
        )
        return "\n".join(lines)


def _config(budget: TruthBudget, data: str, c: Candidate, val_fraction: float) -> RunConfig:
    # No test split: validation images come first in each class's shuffled order, ahead
    # of every image the probe samples (checked in _val_fraction).
    spec = DataSpec(
        name=data,
        n_per_class=budget.train_per_class,
        val_fraction=val_fraction,
        test_fraction=0.0,
        image_size=budget.image_size,
    )
    return RunConfig(
        model=c.key,
        pretrained=c.pretrained,
        data=spec,
        approach="feature_extraction",
        epochs=budget.epochs,
        batch_size=budget.batch_size,
        embedding="none",
        runs_dir=None,
        device=budget.device,
    )


def _val_fraction(data: str, budget: TruthBudget, n_per_class: int) -> float:
    dataset = load_dataset(data)
    fraction = budget.val_per_class / int(np.bincount(dataset.labels).min())
    val = split_indices(dataset.labels, fraction, 0.0).val
    if set(val) & set(probe_sample(dataset, n_per_class)):
        raise ValueError(f"val_per_class={budget.val_per_class}: overlaps the probe's sample")
    return fraction


def real_runs(
    candidates: Sequence[Candidate],
    data: str,
    budget: TruthBudget,
    val_fraction: float,
    on_run: Callable[[RealRun], None] | None = None,
) -> list[RealRun]:
    """Train each candidate's head on its frozen features (the Trainer, as a user would)."""
    runs = []
    for c in candidates:
        began, cpu = time.perf_counter(), time.process_time()
        trainer = Trainer(_config(budget, data, c, val_fraction))
        trainer.run()
        if trainer.state != "completed":
            raise RuntimeError(f"{c.label} on {data}: the run {trainer.state}: {trainer.error}")
        acc = trainer.history.evaluations[-1].val_acc
        run = RealRun(c.label, acc, time.perf_counter() - began, time.process_time() - cpu)
        runs.append(run)
        if on_run is not None:
            on_run(run)
    return runs


def kendall(scores: dict[str, float], real: dict[str, float]) -> tuple[float, float, int]:
    """Kendall's tau-b over all pairs; tau over pairs more than GAP_POINTS apart, and
    how many such pairs there are."""
    labels = sorted(real)
    tau_all = float(kendalltau([scores[k] for k in labels], [real[k] for k in labels]).statistic)
    signs = [
        np.sign(scores[a] - scores[b]) * np.sign(real[a] - real[b])
        for a, b in itertools.combinations(labels, 2)
        if abs(real[a] - real[b]) * 100 > GAP_POINTS
    ]
    return tau_all, float(np.mean(signs)) if signs else float("nan"), len(signs)


def _score_check(report: ProbeReport, real: dict[str, float], name: str) -> ScoreCheck:
    ranked = sorted((r.ranked(name) for r in report.ranking), key=lambda r: -r.value)
    tau_all, tau_gap, pairs = kendall({r.label: r.value for r in ranked}, real)
    groups = tuple(tuple(r.label for r in g) for g in tie_groups(ranked))
    n = len(real)
    return ScoreCheck(name, tau_all, tau_gap, pairs, n * (n - 1) // 2, groups)


def check_probe(
    candidates: Sequence[Candidate],
    data: str = "animal_shapes",
    n_per_class: int = 20,
    image_size: int | None = 64,
    budget: TruthBudget | None = None,
    on_run: Callable[[RealRun], None] | None = None,
) -> ProbeCheck:
    """Probe ``candidates`` on ``data``, train each for real on ``budget``, compare."""
    budget = budget or TruthBudget()
    fraction = _val_fraction(data, budget, n_per_class)
    began, cpu = time.perf_counter(), time.process_time()
    report = probe(
        candidates, data=data, n_per_class=n_per_class, image_size=image_size, device=budget.device
    )
    probe_s, probe_cpu_s = time.perf_counter() - began, time.process_time() - cpu
    missing = [r.label for r in report.results if r.scores is None]
    if missing:
        raise ValueError(f"candidates: the probe could not score {missing}; leave them out")
    runs = real_runs(candidates, data, budget, fraction, on_run)
    real = {r.label: r.acc for r in runs}
    checks = {name: _score_check(report, real, name) for name in SCORES}
    return ProbeCheck(report, tuple(runs), probe_s, probe_cpu_s, checks)
