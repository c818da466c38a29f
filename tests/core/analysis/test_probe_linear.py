"""The linear probe's exact logistic regression against scikit-learn's, fitted tightly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from lab.core.analysis.logme import logme, logme_subsets
from lab.core.analysis.probe_linear import fit_logistic, span_basis
from lab.core.analysis.probe_scores import half_samples, knn_out_of_fold, linear_out_of_fold


def blobs(n_per_class: int, n_classes: int, dim: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return centres[labels] + rng.normal(scale=spread, size=(len(labels), dim)), labels


def objective(x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> float:
    logits = x @ coef + intercept
    top = logits.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return 0.5 * float(np.sum(coef * coef)) + float(np.sum(lse - logits[np.arange(len(y)), y]))


def reference(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(tol=1e-12, max_iter=100_000).fit(x, y)


@pytest.mark.parametrize("dim", [300, 12])  # fewer rows than features, and more
def test_fit_is_scikit_learns_optimum(dim: int) -> None:
    x, y = blobs(15, 4, dim, spread=2.0)
    x = StandardScaler().fit_transform(x)
    fit, ref = fit_logistic(x, y), reference(x, y)
    ref_logits = ref.decision_function(x)
    logits = fit.decision(x)
    # Logits are defined up to a constant per row (the intercept is not penalized).
    centred = logits - logits.mean(axis=1, keepdims=True)
    assert np.abs(centred - (ref_logits - ref_logits.mean(axis=1, keepdims=True))).max() < 1e-3
    assert (
        objective(x, y, fit.coef, fit.intercept)
        <= objective(x, y, ref.coef_.T, ref.intercept_) + 1e-9
    )
    assert np.array_equal(fit.predict(x), ref.predict(x))


def test_the_weights_lie_in_the_span_of_the_rows() -> None:
    x, y = blobs(5, 3, 40, spread=1.0, seed=1)
    fit = fit_logistic(x, y)
    basis = span_basis(x)
    assert basis.shape[0] == 40 and basis.shape[1] <= 15  # rank at most the 15 rows
    assert np.allclose(basis @ (basis.T @ fit.coef), fit.coef)


def test_labels_keep_their_values() -> None:
    x, y = blobs(10, 3, 5, spread=0.2, seed=2)
    fit = fit_logistic(x, y * 10 + 7)
    assert set(fit.predict(x)) <= {7, 17, 27}
    assert np.mean(fit.predict(x) == y * 10 + 7) > 0.9


def test_fit_refuses_one_class_and_a_bad_weight() -> None:
    x, y = blobs(4, 2, 3, spread=1.0)
    with pytest.raises(ValueError, match="2 classes"):
        fit_logistic(x, np.zeros(len(x), dtype=int))
    with pytest.raises(ValueError, match="c=0"):
        fit_logistic(x, y, c=0.0)


def _sklearn_out_of_fold(model, x, y, folds) -> np.ndarray:
    correct = np.zeros(len(y), dtype=bool)
    for train, test in folds:
        correct[test] = model.fit(x[train], y[train]).predict(x[test]) == y[test]
    return correct


def test_out_of_fold_predictions_match_scikit_learn() -> None:
    x, y = blobs(20, 5, 200, spread=6.0, seed=3)  # hard enough for some mistakes
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(x, y))
    linear, _ = linear_out_of_fold(x, y, folds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tight = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-12, max_iter=100_000))
        expected = _sklearn_out_of_fold(tight, x, y, folds)
    assert 0.3 < linear.mean() < 1.0
    assert np.array_equal(linear, expected)
    near, per_fold = knn_out_of_fold(x, y, folds, 5)
    knn = make_pipeline(Normalizer(), KNeighborsClassifier(5))
    assert np.array_equal(near, _sklearn_out_of_fold(knn, x, y, folds))
    assert per_fold.mean() == pytest.approx(near.mean())


@pytest.mark.parametrize("dim", [300, 8])
def test_logme_of_subsets_is_logme_of_each(dim: int) -> None:
    x, y = blobs(12, 3, dim, spread=1.5, seed=4)
    halves = half_samples(y, 6, seed=1)
    expected = [logme(x[h], y[h]) for h in halves]
    assert logme_subsets(x, y, halves) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_two_classes_predict_as_scikit_learn_does() -> None:
    x, y = blobs(20, 2, 50, spread=3.0, seed=3)
    x = StandardScaler().fit_transform(x)
    fit, ref = fit_logistic(x, y), reference(x, y)
    assert fit.coef.shape == (50, 2)
    assert np.array_equal(fit.predict(x), ref.predict(x))
    assert np.allclose(fit.decision(x) @ [-1, 1], ref.decision_function(x), atol=1e-4)
