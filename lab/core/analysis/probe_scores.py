"""The probe's three scores of one candidate's frozen features, each with an interval.

- ``linear``: cross-validated accuracy of a logistic regression on standardized features,
  fitted to its optimum (see :mod:`lab.core.analysis.probe_linear`);
- ``knn``: cross-validated accuracy of k nearest neighbours by cosine similarity;
- ``logme``: LogME evidence (see :mod:`lab.core.analysis.logme`), no fitting, no folds.

All three read the same feature matrix, and each comes with an interval of coverage
``LEVEL`` over which images happened to be drawn. For the two accuracies it is a
bootstrap interval (stratified, so every class keeps its count) over each image's
out-of-fold prediction being right. LogME cannot be bootstrapped that way (a repeated
image is evidence counted twice and inflates it), so its spread comes from
half-samples without replacement: for half of the images the variance of an average
over them around the whole is what the whole has around the truth (delete-d jackknife,
d = N/2), giving ``logme ± z * sd``. Draws depend only on the labels and the seed, so
every candidate is judged on the same ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from lab.core.analysis.logme import logme, logme_subsets
from lab.core.analysis.probe_linear import fit_logistic

SCORES = ("linear", "knn", "logme")
SCORE_NAMES = {"linear": "linear probe", "knn": "k-NN", "logme": "LogME"}
#: Coverage of the intervals shown with every score.
LEVEL = 0.9
_NAN = float("nan")


@dataclass(frozen=True)
class ProbeScores:
    """Scores of one candidate: accuracies with their fold spread, LogME, and a
    bootstrap interval (``LEVEL`` coverage) around each of the three."""

    linear_acc: float
    linear_std: float
    knn_acc: float
    knn_std: float
    folds: int
    linear_low: float = _NAN
    linear_high: float = _NAN
    knn_low: float = _NAN
    knn_high: float = _NAN
    logme: float = _NAN
    logme_low: float = _NAN
    logme_high: float = _NAN
    level: float = LEVEL

    def value(self, name: str) -> float:
        """The ``name`` score (one of ``SCORES``)."""
        return {"linear": self.linear_acc, "knn": self.knn_acc, "logme": self.logme}[name]

    def interval(self, name: str) -> tuple[float, float]:
        """(low, high) of the ``name`` score's bootstrap interval."""
        return {
            "linear": (self.linear_low, self.linear_high),
            "knn": (self.knn_low, self.knn_high),
            "logme": (self.logme_low, self.logme_high),
        }[name]


def check_score(score: str) -> str:
    """``score`` if it is one of ``SCORES``; ValueError naming the choices otherwise."""
    if score not in SCORES:
        raise ValueError(f"score={score!r}: choose one of {', '.join(map(repr, SCORES))}")
    return score


def _check(x: np.ndarray, y: np.ndarray, folds: int, k: int) -> np.ndarray:
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
    return counts


def bootstrap_draws(labels: np.ndarray, n_draws: int, seed: int = 0) -> np.ndarray:
    """(n_draws, N) row indices, each row a resample of every class with its own count."""
    rng = np.random.default_rng(seed)
    rows = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    return np.hstack([rng.choice(r, size=(n_draws, len(r)), replace=True) for r in rows])


def half_samples(labels: np.ndarray, n_draws: int, seed: int = 0) -> np.ndarray:
    """(n_draws, ~N/2) row indices: half of every class, drawn without replacement."""
    rng = np.random.default_rng(seed)
    rows = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    return np.vstack(
        [
            np.concatenate([rng.permutation(r)[: max(len(r) // 2, 1)] for r in rows])
            for _ in range(n_draws)
        ]
    )


def _logme_interval(
    x: np.ndarray, y: np.ndarray, value: float, n_draws: int, level: float, seed: int
) -> tuple[float, float]:
    halves = half_samples(y, n_draws, seed)
    spread = float(np.std(logme_subsets(x, y, halves), ddof=1))
    z = float(NormalDist().inv_cdf(0.5 + level / 2))
    return value - z * spread, value + z * spread


def linear_out_of_fold(x: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]):
    """Whether each image's out-of-fold logistic-regression prediction is right (fitted
    exactly, see :mod:`lab.core.analysis.probe_linear`), and the accuracy per fold."""
    correct = np.zeros(len(y), dtype=bool)
    for train, test in folds:
        scaler = StandardScaler().fit(x[train])
        a, b = scaler.transform(x[train]), scaler.transform(x[test])
        correct[test] = fit_logistic(a, y[train]).predict(b) == y[test]
    return correct, np.array([correct[test].mean() for _, test in folds])


def knn_out_of_fold(
    x: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], k: int
):
    """The same for a vote of the ``k`` nearest training images by cosine similarity
    (ties in the vote go to the smallest label, as in scikit-learn)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms > 0, norms, 1.0)
    similarity = unit @ unit.T
    classes, codes = np.unique(y, return_inverse=True)
    correct = np.zeros(len(y), dtype=bool)
    for train, test in folds:
        sim = similarity[np.ix_(test, train)]
        near = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        votes = np.zeros((len(test), len(classes)), dtype=np.int64)
        np.add.at(votes, (np.arange(len(test))[:, None], codes[train][near]), 1)
        correct[test] = classes[votes.argmax(axis=1)] == y[test]
    return correct, np.array([correct[test].mean() for _, test in folds])


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1.0 - tail))


def score_features(
    features: np.ndarray,
    labels: np.ndarray,
    folds: int = 5,
    k: int = 5,
    seed: int = 0,
    n_draws: int = 1000,
    logme_draws: int = 10,
    level: float = LEVEL,
) -> ProbeScores:
    """Linear-probe and k-NN accuracy (cross-validated) and LogME of ``features`` (N, D).

    The linear probe standardizes each feature, then fits a logistic regression
    (L2 penalty, C = 1, as scikit-learn's default) to a tight tolerance; k-NN
    votes among the ``k`` nearest neighbours by cosine similarity (features are L2
    normalized). Folds are stratified and shuffled with ``seed``; fewer folds are used
    when a class has fewer images than ``folds``. Intervals come from ``n_draws``
    bootstrap resamples of the images, LogME's from ``logme_draws`` half-samples (each
    recomputes an SVD), at coverage ``level``.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    counts = _check(x, y, folds, k)
    n_folds = int(min(folds, counts.min()))
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    splits = list(cv.split(x, y))
    smallest_train = min(len(train) for train, _ in splits)
    draws = bootstrap_draws(y, n_draws, seed)
    # The fits are tiny: one BLAS thread is many times faster than a pool that spins
    # while torch or another process holds the cores.
    with threadpool_limits(limits=1):
        lin, lin_folds = linear_out_of_fold(x, y, splits)
        near, near_folds = knn_out_of_fold(x, y, splits, min(k, smallest_train))
        evidence = logme(x, y)
        logme_interval = _logme_interval(x, y, evidence, logme_draws, level, seed)
    return ProbeScores(
        float(lin.mean()),
        float(lin_folds.std()),
        float(near.mean()),
        float(near_folds.std()),
        n_folds,
        *_interval(lin[draws].mean(axis=1), level),
        *_interval(near[draws].mean(axis=1), level),
        evidence,
        *logme_interval,
        level=level,
    )


def half_width(scores: ProbeScores, name: str) -> float:
    """Half the width of the ``name`` interval (0 when it is unknown)."""
    low, high = scores.interval(name)
    width = (high - low) / 2
    return width if math.isfinite(width) else 0.0
