"""The linear probe's logistic regression, fitted to its optimum in the span of its rows.

The probe fits scikit-learn's multinomial ``LogisticRegression`` (L2 penalty, loss
weight ``C``, unpenalized intercept) on ~160 standardized rows of 1,000+ features. Its
optimum lies in the span of those rows (the gradients of the penalty and of the loss
both do), and the L2 penalty does not change under a rotation, so the fit runs on the
rows' coordinates in an orthonormal basis of that span: the same optimum and the same
predictions in a tenth of the dimensions. That makes a tight tolerance cheap, so the
answer is the optimum itself, not wherever a loose stopping rule happened to leave it
(which is not rotation invariant, and moved rankings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

#: The solver's tolerance: tight enough that the fit is the optimum for ranking purposes.
TOL = 1e-10


@dataclass(frozen=True)
class LogisticFit:
    """A fitted multinomial logistic regression: ``x @ coef + intercept`` are its logits."""

    coef: np.ndarray  # (D, K)
    intercept: np.ndarray  # (K,)
    classes: np.ndarray  # (K,) the labels, in column order

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Logits (m, K) of rows ``x`` (m, D), standardized like the training rows."""
        return x @ self.coef + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels (m,), the first class on an exact tie."""
        return self.classes[np.argmax(self.decision(x), axis=1)]


def span_basis(rows: np.ndarray) -> np.ndarray:
    """(D, r) orthonormal directions spanning ``rows`` (n, D), r <= min(n, D), from the
    smaller of the two Gram matrices; ``rows @ basis`` has orthogonal columns."""
    n, d = rows.shape
    gram = rows @ rows.T if n <= d else rows.T @ rows
    s, vectors = np.linalg.eigh(gram)
    keep = s > max(float(s[-1]), 1e-300) * 1e-10
    if n > d:
        return vectors[:, keep]
    return rows.T @ (vectors[:, keep] / np.sqrt(s[keep]))


def fit_logistic(rows: np.ndarray, labels: np.ndarray, c: float = 1.0) -> LogisticFit:
    """Multinomial logistic regression of ``labels`` on ``rows`` (n, D), already
    standardized: scikit-learn's objective ``0.5 |W|² + c * sum of cross-entropies``
    (intercept not penalized), minimized in the rows' span to tolerance ``TOL``."""
    if c <= 0:
        raise ValueError(f"c={c}: the loss weight must be positive")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError("labels: a logistic regression needs at least 2 classes")
    rows = np.asarray(rows, dtype=np.float64)
    basis = span_basis(rows)
    model = LogisticRegression(C=c, tol=TOL, max_iter=10_000).fit(rows @ basis, labels)
    coef, intercept = basis @ model.coef_.T, model.intercept_
    if len(classes) == 2:  # scikit-learn keeps one column for two classes
        coef, intercept = np.hstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    return LogisticFit(coef, intercept, classes)
