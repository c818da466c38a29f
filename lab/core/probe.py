"""Transferability probe: rank candidate backbones on your own data before training.

For a small stratified sample (e.g. 20 images per class) each candidate's frozen
penultimate features are scored by cross-validated accuracy of a linear probe
(logistic regression) and of k-nearest neighbours. Features that separate your classes
well with a linear model are what feature extraction will train a head on, so the
ranking predicts which backbone to pick, in seconds rather than a training run per
model. A random-init twin of a model shows how much of the score pretraining earns.

Candidates whose weights are not on this machine are listed as "unavailable" with the
reason, never raised: a workshop room without network still gets a ranking.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from threadpoolctl import threadpool_limits

from lab.core import catalog
from lab.core.data import ImageDataset, build_transform, load_dataset, split_indices
from lab.core.frozen_features import load_images, penultimate_features
from lab.core.weights import WeightsUnavailableError

SCORES = ("linear", "knn")
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
class ProbeScores:
    """Cross-validated accuracies (mean and standard deviation over folds)."""

    linear_acc: float
    linear_std: float
    knn_acc: float
    knn_std: float
    folds: int


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
        """The ``name`` ("linear" or "knn") accuracy, or None when not scored."""
        if self.scores is None:
            return None
        return self.scores.linear_acc if name == "linear" else self.scores.knn_acc


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

    def table(self) -> str:
        """A plain-text ranking for notebooks and logs."""
        lines = [f"{'#':>2} {'model':<40}{'linear':>8}{'k-NN':>8}{'params':>9}{'acc@1':>7}"]
        for i, r in enumerate(self.results, start=1):
            params = f"{r.params / 1e6:.1f}M" if r.params else "-"
            acc1 = f"{r.acc1:.1f}" if r.acc1 is not None else "-"
            if r.scores is None:
                lines.append(f"{'':>2} {r.label:<40}{r.status:>16}{params:>9}{acc1:>7}")
            else:
                s = r.scores
                lines.append(
                    f"{i:>2} {r.label:<40}{s.linear_acc:>8.1%}{s.knn_acc:>8.1%}{params:>9}{acc1:>7}"
                )
        return "\n".join(lines)


def score_features(
    features: np.ndarray, labels: np.ndarray, folds: int = 5, k: int = 5, seed: int = 0
) -> ProbeScores:
    """Cross-validated linear-probe and k-NN accuracy of ``features`` (N, D) for ``labels``.

    The linear probe standardizes each feature, then fits a logistic regression; k-NN
    votes among the ``k`` nearest neighbours by cosine similarity (features are L2
    normalized). Folds are stratified and shuffled with ``seed``; fewer folds are used
    when a class has fewer images than ``folds``.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"features: need shape (N, D) with N = len(labels), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or infinity: the backbone's outputs overflowed")
    counts = np.bincount(y)[np.unique(y)]
    if len(counts) < 2 or counts.min() < 2:
        raise ValueError(
            "labels: the probe needs at least 2 classes with 2 images each; "
            "raise n_per_class or add images"
        )
    if folds < 2:
        raise ValueError(f"folds={folds}: choose at least 2 folds for cross-validation")
    if k < 1:
        raise ValueError(f"k={k}: choose at least 1 neighbour")
    n_folds = int(min(folds, counts.min()))
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    smallest_train = len(y) - int(np.ceil(len(y) / n_folds))
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    knn = make_pipeline(Normalizer(), KNeighborsClassifier(min(k, smallest_train)))
    # The fits are tiny: one BLAS thread is many times faster than a pool that spins
    # while torch or another process holds the cores.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        # A probe needs a ranking, not a fully converged fit; max_iter keeps it quick.
        warnings.simplefilter("ignore", ConvergenceWarning)
        lin = cross_val_score(linear, x, y, cv=cv)
        near = cross_val_score(knn, x, y, cv=cv)
    return ProbeScores(
        float(lin.mean()), float(lin.std()), float(near.mean()), float(near.std()), n_folds
    )


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
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(options.seed)
            model = catalog.build_model(c.key, num_classes, pretrained=c.pretrained)
        tensors = images.get(entry.preprocessing)
        head = catalog.head_module(model)
        features = penultimate_features(model, head, tensors, device=options.device)
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
    score: str = "linear",
    folds: int = 5,
    k: int = 5,
    seed: int = 0,
    allow_download: bool = False,
    device: str = "cpu",
    on_result: Callable[[ProbeResult], None] | None = None,
) -> ProbeReport:
    """Rank ``candidates`` by how well their frozen features separate ``data``'s classes.

    ``data`` is a data set name (see ``lab.core.data.list_datasets``) or a loaded
    ``ImageDataset``; ``n_per_class`` images per class are drawn from its training split.
    ``image_size`` replaces each model's crop size (None: the model's own; smaller is
    faster). ``score`` ("linear" or "knn") orders the ranking. Weights that would need a
    download are reported "unavailable" unless ``allow_download``. ``on_result`` is
    called after each candidate, e.g. to show progress.
    """
    if score not in SCORES:
        raise ValueError(f"score={score!r}: choose one of {', '.join(map(repr, SCORES))}")
    if not candidates:
        raise ValueError("candidates: name at least one catalog model, e.g. DEFAULT_CANDIDATES")
    started = time.perf_counter()
    dataset = load_dataset(data) if isinstance(data, str) else data
    indices = probe_sample(dataset, n_per_class, seed)
    labels = dataset.labels[indices]
    images = _ImageCache(dataset, indices, image_size)
    options = _Options(folds, k, seed, allow_download, device)
    results = []
    for c in map(_as_candidate, candidates):
        result = _probe_one(c, images, labels, dataset.num_classes, options)
        results.append(result)
        if on_result is not None:
            on_result(result)
    scored = sorted(
        (r for r in results if r.status == "ok"), key=lambda r: -(r.score(score) or 0.0)
    )
    return ProbeReport(
        results=tuple(scored + [r for r in results if r.status != "ok"]),
        score=score,
        n_per_class=n_per_class,
        n_images=len(indices),
        class_names=dataset.class_names,
        image_size=image_size,
        seconds=time.perf_counter() - started,
    )
