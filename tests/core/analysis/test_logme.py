"""LogME against answers known without it: exact evidence, its maximum, invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from lab.core.analysis.logme import log_evidence, logme, maximize_evidence, spectrum


def blobs(n_per_class: int, n_classes: int, dim: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 3
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return centres[labels] + rng.normal(scale=spread, size=(len(labels), dim)), labels


@pytest.mark.parametrize("dim", [8, 64])  # more images than dimensions, and fewer
def test_separating_features_score_higher_than_with_shuffled_labels(dim: int) -> None:
    features, labels = blobs(15, 4, dim, spread=1.0)
    shuffled = np.random.default_rng(1).permutation(labels)
    assert logme(features, labels) > logme(features, shuffled) + 0.1


def test_cleaner_features_score_higher() -> None:
    scores = [logme(*blobs(15, 4, 16, spread=s)) for s in (0.3, 1.0, 3.0, 10.0)]
    assert scores == sorted(scores, reverse=True)


def test_evidence_is_the_gaussian_marginal_likelihood() -> None:
    # For fixed alpha and beta, y ~ N(0, F Fᵀ / alpha + I / beta): computed directly.
    features, labels = blobs(6, 3, 5, spread=1.0)
    sp = spectrum(features)
    f = features / math.sqrt(np.mean(features**2))  # spectrum() works on F scaled to RMS 1
    y = (labels == 1).astype(float)
    z2 = (sp.u.T @ y) ** 2
    for alpha, beta in [(1.0, 1.0), (0.3, 4.0), (7.0, 0.5)]:
        cov = f @ f.T / alpha + np.eye(len(y)) / beta
        direct = multivariate_normal(np.zeros(len(y)), cov).logpdf(y) / len(y)
        assert log_evidence(sp, float(y @ y), z2, alpha, beta) == pytest.approx(direct, rel=1e-9)


def test_fixed_point_iteration_finds_the_maximum() -> None:
    features, labels = blobs(20, 3, 10, spread=1.5)
    sp = spectrum(features)
    y = (labels == 0).astype(float)
    best = maximize_evidence(sp, y)
    assert best.converged
    z2, y2 = (sp.u.T @ y) ** 2, float(y @ y)
    for da, db in [(1.2, 1.0), (0.8, 1.0), (1.0, 1.2), (1.0, 0.8), (1.1, 0.9)]:
        nearby = log_evidence(sp, y2, z2, best.alpha * da, best.beta * db)
        assert nearby < best.value


def test_scale_and_zero_columns_do_not_change_the_score() -> None:
    features, labels = blobs(20, 3, 6, spread=1.0)
    reference = logme(features, labels)  # 60 images > 6 dimensions: the SVD path
    assert logme(features * 1e-8, labels) == pytest.approx(reference, rel=1e-6)
    # Zero columns add nothing to the evidence; with 200 dimensions > 60 images the
    # score comes from the Gram matrix path, which must agree.
    padded = np.hstack([features, np.zeros((len(features), 194))])
    assert logme(padded, labels) == pytest.approx(reference, rel=1e-6)


@pytest.mark.parametrize(
    ("features", "labels", "match"),
    [
        (np.full((4, 2), np.nan), np.array([0, 0, 1, 1]), "NaN"),
        (np.zeros((4, 2)), np.array([0, 0, 1, 1]), "all zero"),
        (np.ones((4, 2)), np.zeros(4, dtype=int), "2 classes"),
        (np.ones((4, 2)), np.array([0, 1]), "one label per"),
    ],
)
def test_logme_refuses_bad_input(features, labels, match) -> None:
    with pytest.raises(ValueError, match=match):
        logme(features, labels)
