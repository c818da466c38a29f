"""Transferability probe: rank candidate backbones on your own data before training.

For a small stratified sample (e.g. 20 images per class) each candidate's frozen
penultimate features are computed once and scored three ways (see
:mod:`lab.core.analysis.probe_scores`): cross-validated accuracy of a linear probe (logistic
regression), of k-nearest neighbours, and LogME evidence. Features that separate your
classes well are what feature extraction will train a head on, so the ranking predicts
which backbone to pick, in seconds rather than a training run per model. Every score
carries an interval, and candidates whose intervals overlap are reported as a group
that this sample cannot tell apart (:mod:`lab.core.analysis.probe_ties`). A random-init twin of
a model shows how much of the score pretraining earns.

Candidates whose weights are not on this machine are listed as "unavailable" with the
reason, never raised: a workshop room without network still gets a ranking.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from lab.core.analysis.probe_scores import (
    LEVEL,
    SCORE_NAMES,
    SCORES,
    ProbeScores,
    check_score,
    score_features,
)
from lab.core.analysis.probe_ties import Ranked, describe, tie_groups
from lab.core.analysis.sample_features import load_images, penultimate_features, torch_threads
from lab.core.data import ImageDataset, build_transform, load_dataset, split_indices
from lab.core.hardware.device import setup_device
from lab.core.hardware.layout import choose_layout, to_layout
from lab.core.models import catalog
from lab.core.models.batchnorm import recalibrate, tensor_batches
from lab.core.models.weights import WeightsUnavailableError
from lab.core.training.control import each_until_stopped

#: The score that orders the ranking unless told otherwise. Chosen by the validation in
#: benchmarks/probe_check.py (P5): the linear probe has the best worst case of Kendall's
#: tau against real runs on the pairs more than 2 points apart (0.83 on Animal Shapes,
#: 1.00 on MNIST-5k); k-NN and LogME reach 1.00 on Animal Shapes but 0.64 on MNIST-5k.
DEFAULT_SCORE = "linear"
STATUSES = ("ok", "unavailable", "failed")


@dataclass(frozen=True)
class Candidate:
    """A backbone to probe: a catalog key, with its pretrained weights or a random init."""

    key: str
    pretrained: bool = True

    @property
    def label(self) -> str:
        """Name shown in tables and plots."""
        return self.key if self.pretrained else f"{self.key} (random init)"


def random_twin(key: str = catalog.DEFAULT_MODEL) -> Candidate:
    """The same architecture as ``key`` with random weights: the no-pretraining baseline."""
    return Candidate(key, pretrained=False)


#: MobileNetV2 and EfficientNet-Lite0 (both offline) and MobileNetV2's random twin.
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    Candidate(catalog.DEFAULT_MODEL),
    Candidate("tf_efficientnet_lite0.in1k"),
    random_twin(catalog.DEFAULT_MODEL),
)


@dataclass(frozen=True)
class ProbeResult:
    """One candidate's outcome; scores are None unless ``status == "ok"``."""

    key: str
    label: str
    pretrained: bool
    status: str  # one of STATUSES
    message: str
    scores: ProbeScores | None
    params: int | None
    file_size_mb: float | None
    gflops: float | None
    acc1: float | None  # ImageNet top-1 of the pretrained weights; None for random init
    feature_dim: int | None
    seconds: float

    def score(self, name: str = "linear") -> float | None:
        """The ``name`` score (one of ``SCORES``), or None when not scored."""
        if self.scores is None:
            return None
        return self.scores.value(check_score(name))

    def ranked(self, name: str) -> Ranked:
        """This (scored) candidate as a ranking by ``name`` sees it."""
        if self.scores is None:
            raise ValueError(f"{self.label}: not scored ({self.status}), so it has no rank")
        return Ranked(self.label, self.scores.value(name), *self.scores.interval(name))


@dataclass(frozen=True)
class ProbeReport:
    """All candidates, ranked: scored ones best first, then unavailable or failed ones."""

    results: tuple[ProbeResult, ...]
    score: str
    n_per_class: int
    n_images: int
    class_names: tuple[str, ...]
    image_size: int | None
    seconds: float
    stopped: bool = False  # Stop was pressed: only the candidates before it are here

    @property
    def ranking(self) -> list[ProbeResult]:
        """Scored candidates only, best first."""
        return [r for r in self.results if r.status == "ok"]

    @property
    def best(self) -> ProbeResult | None:
        """The top-ranked candidate, if any could be scored."""
        return self.ranking[0] if self.ranking else None

    def rank_of(self, label: str) -> int | None:
        """1-based rank of the candidate labelled ``label`` (None if not scored)."""
        for i, result in enumerate(self.ranking, start=1):
            if result.label == label:
                return i
        return None

    def to_rows(self) -> list[dict[str, object]]:
        """One flat dict per candidate, in ranking order (for tables and JSON)."""
        rows = []
        for r in self.results:
            row = {k: v for k, v in asdict(r).items() if k != "scores"}
            row.update(asdict(r.scores) if r.scores else {})
            rows.append(row)
        return rows

    @property
    def level(self) -> float:
        """Coverage of the intervals around every score."""
        scored = [r.scores for r in self.ranking if r.scores is not None]
        return scored[0].level if scored else LEVEL

    def groups(self) -> list[list[ProbeResult]]:
        """Scored candidates in groups whose intervals overlap ("about the same"), best first."""
        by_label = {r.label: r for r in self.ranking}
        ranked = [r.ranked(self.score) for r in self.ranking]
        return [[by_label[x.label] for x in group] for group in tie_groups(ranked)]

    def verdict(self) -> str:
        """The ranking in words: who is indistinguishable on these images, who is behind,
        and how many images per class would likely separate the top candidates."""
        ranked = [r.ranked(self.score) for r in self.ranking]
        return describe(ranked, self.n_images, self.n_per_class)

    def table(self) -> str:
        """A plain-text ranking for notebooks and logs: each score with its interval,
        and the group of candidates it cannot be told apart from."""
        group_of = {r.label: i for i, g in enumerate(self.groups(), start=1) for r in g}
        level = f"{self.level:.0%}"
        head = f"{'#':>2} {'model':<40}{'linear':>16}{'k-NN':>16}{'LogME':>20}{'group':>7}"
        lines = [f"ranked by {SCORE_NAMES[self.score]}; {level} intervals", head]
        for i, r in enumerate(self.results, start=1):
            if r.scores is None:
                lines.append(f"{'':>2} {r.label:<40}{r.status:>16}  {r.message[:60]}")
                continue
            cells = "".join(_cell(r.scores, name) for name in SCORES)
            lines.append(f"{i:>2} {r.label:<40}{cells}{group_of[r.label]:>7}")
        return "\n".join(lines + ["", self.verdict()])


def _cell(scores: ProbeScores, name: str) -> str:
    low, high = scores.interval(name)
    if name == "logme":
        return f"{scores.value(name):>8.3f} [{low:.2f},{high:.2f}]".rjust(20)
    return f"{scores.value(name):.0%} [{low:.0%}-{high:.0%}]".rjust(16)


def probe_sample(dataset: ImageDataset, n_per_class: int, seed: int = 0) -> np.ndarray:
    """Up to ``n_per_class`` image indices per class, drawn from the training split only,
    so choosing a model never looks at the images a run is later tested on."""
    if n_per_class < 2:
        raise ValueError(f"n_per_class={n_per_class}: choose at least 2 images per class")
    return split_indices(
        dataset.labels, n_per_class=n_per_class, seed=seed, class_names=dataset.class_names
    ).train


def _as_candidate(item: str | Candidate) -> Candidate:
    if isinstance(item, Candidate):
        return item
    if isinstance(item, str):
        return Candidate(item)
    raise TypeError(f"candidates: pass catalog keys or Candidate objects, got {item!r}")


def _result(
    c: Candidate,
    entry: catalog.ModelEntry | None,
    status: str,
    message: str,
    started: float,
    scores: ProbeScores | None = None,
    feature_dim: int | None = None,
) -> ProbeResult:
    return ProbeResult(
        key=c.key,
        label=c.label,
        pretrained=c.pretrained,
        status=status,
        message=message,
        scores=scores,
        params=entry.params if entry else None,
        file_size_mb=entry.file_size_mb if entry else None,
        gflops=entry.gflops if entry else None,
        acc1=entry.acc1 if entry and c.pretrained else None,
        feature_dim=feature_dim,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class _Options:
    folds: int
    k: int
    seed: int
    allow_download: bool
    device: str
    threads: int | None


class _ImageCache:
    """Sample tensors per preprocessing: a random twin reuses its pretrained model's."""

    def __init__(self, dataset: ImageDataset, indices: np.ndarray, image_size: int | None):
        self._dataset, self._indices, self._size = dataset, indices, image_size
        self._tensors: dict[object, torch.Tensor] = {}

    def get(self, preproc: catalog.Preprocessing) -> torch.Tensor:
        if preproc not in self._tensors:
            transform = build_transform(preproc, self._size, augment=False, train=False)
            self._tensors[preproc] = load_images(self._dataset, self._indices, transform)
        return self._tensors[preproc]


def _features(
    c: Candidate, tensors: torch.Tensor, num_classes: int, options: _Options
) -> np.ndarray:
    """The candidate's penultimate features of the sample, (N, D)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        model = catalog.build_model(c.key, num_classes, pretrained=c.pretrained)
    setup = setup_device(options.device)
    model.to(setup.device)
    layout = choose_layout(model, tuple(tensors.shape[1:]), setup)
    if not c.pretrained:  # see lab.core.models.batchnorm: what "random init" means here
        recalibrate(model, (to_layout(b, layout) for b in tensor_batches(tensors)))
    head = catalog.head_module(model)
    return penultimate_features(model, head, tensors, device=options.device, layout=layout)


def _probe_one(
    c: Candidate,
    images: _ImageCache,
    labels: np.ndarray,
    num_classes: int,
    options: _Options,
) -> ProbeResult:
    started = time.perf_counter()
    try:
        entry = catalog.get_entry(c.key)
    except KeyError as error:
        return _result(c, None, "failed", str(error.args[0]), started)
    if c.pretrained and not options.allow_download and entry.availability == "download":
        message = (
            f"{c.key}: weights are not on this machine (not packaged, not in torch hub's "
            "cache); pass allow_download=True when online, or copy the file into the cache"
        )
        return _result(c, entry, "unavailable", message, started)
    try:
        with torch_threads(options.threads):
            features = _features(c, images.get(entry.preprocessing), num_classes, options)
        scores = score_features(features, labels, options.folds, options.k, options.seed)
    except WeightsUnavailableError as error:
        return _result(c, entry, "unavailable", str(error), started)
    except (RuntimeError, ValueError, OSError) as error:
        return _result(c, entry, "failed", f"{type(error).__name__}: {error}", started)
    return _result(c, entry, "ok", "", started, scores, int(features.shape[1]))


def probe(
    candidates: Sequence[str | Candidate] = DEFAULT_CANDIDATES,
    data: str | ImageDataset = "animal_shapes",
    n_per_class: int = 20,
    image_size: int | None = None,
    score: str = DEFAULT_SCORE,
    folds: int = 5,
    k: int = 5,
    seed: int = 0,
    allow_download: bool = False,
    device: str = "cpu",
    on_result: Callable[[ProbeResult], None] | None = None,
    threads: int | None = 1,
    should_stop: Callable[[], bool] | None = None,
) -> ProbeReport:
    """Rank ``candidates`` by how well their frozen features separate ``data``'s classes.

    ``data`` is a data set name (see ``lab.core.data.list_datasets``) or a loaded
    ``ImageDataset``; ``n_per_class`` images per class are drawn from its training split.
    ``image_size`` replaces each model's crop size (None: the model's own; smaller is
    faster). ``score`` (one of ``SCORES``: "linear", "knn", "logme") orders the ranking;
    every score is computed, on features taken once per image and candidate, each with
    its interval. A random-init candidate's BatchNorm statistics are recomputed on the
    sample first (:mod:`lab.core.models.batchnorm`). Weights that would need a
    download are reported "unavailable" unless ``allow_download``. ``on_result`` is
    called after each candidate, e.g. to show progress. ``threads`` caps torch's CPU
    threads while features are taken (None: leave them): a few hundred small images in
    small batches run fastest on one thread, and several threads that spin while
    another process holds the cores made the probe ten times slower on a shared machine.
    ``should_stop`` is polled before each candidate: when it returns True the report
    holds the candidates scored so far (``stopped`` is then True).
    """
    check_score(score)
    if not candidates:
        raise ValueError("candidates: name at least one catalog model, e.g. DEFAULT_CANDIDATES")
    started = time.perf_counter()
    dataset = load_dataset(data) if isinstance(data, str) else data
    indices = probe_sample(dataset, n_per_class, seed)
    labels = dataset.labels[indices]
    images = _ImageCache(dataset, indices, image_size)
    options = _Options(folds, k, seed, allow_download, device, threads)
    results, stopped = each_until_stopped(
        map(_as_candidate, candidates),
        lambda c: _probe_one(c, images, labels, dataset.num_classes, options),
        on_result,
        should_stop,
    )
    return ProbeReport(
        results=_ranked(results, score),
        score=score,
        n_per_class=n_per_class,
        n_images=len(indices),
        class_names=dataset.class_names,
        image_size=image_size,
        seconds=time.perf_counter() - started,
        stopped=stopped,
    )


def _ranked(results: list[ProbeResult], score: str) -> tuple[ProbeResult, ...]:
    """Scored candidates best first by ``score``, then the unscored in their order."""
    scored = sorted(
        (r for r in results if r.scores is not None), key=lambda r: -r.ranked(score).value
    )
    return tuple(scored + [r for r in results if r.scores is None])
