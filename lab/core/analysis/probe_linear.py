"""The linear probe's logistic regression, fitted to its optimum in the span of its rows.

The probe fits scikit-learn's multinomial ``LogisticRegression`` objective (L2 penalty,
loss weight ``C``, unpenalized intercept) on ~160 standardized rows of 1,000+ features. Its
optimum lies in the span of those rows (the gradients of the penalty and of the loss
both do), and the L2 penalty does not change under a rotation, so the fit runs on the
rows' coordinates in an orthonormal basis of that span: the same optimum and the same
predictions in a tenth of the dimensions. That makes a tight tolerance cheap, so the
answer is the optimum itself, not wherever a loose stopping rule happened to leave it
(which is not rotation invariant, and moved rankings). The objective is minimized with
SciPy's L-BFGS-B under scikit-learn's own settings for it (the objective divided by the
number of rows, ``gtol=TOL``, ``ftol`` 64 machine epsilons, 50 line-search steps), with
the loss and gradient written out here for a few hundred rows: scikit-learn's general
ones cost several times more per evaluation at this size, and a probe makes thousands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

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
    x = np.hstack([rows @ basis, np.ones((len(rows), 1))])  # the last column: intercept
    onehot = (np.asarray(labels)[:, None] == classes[None, :]).astype(np.float64)
    # Two classes: scikit-learn fits one column (the binomial loss), i.e. the first
    # class's logit held at 0; more: one column per class.
    free = 1 if len(classes) == 2 else len(classes)
    result = minimize(
        _objective,
        np.zeros(x.shape[1] * free),
        args=(x, onehot, 1.0 / (c * len(rows))),
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": 10_000, "maxls": 50, "gtol": TOL, "ftol": 64 * np.finfo(float).eps},
    )
    weights = result.x.reshape(x.shape[1], free)
    coef, intercept = basis @ weights[:-1], weights[-1].copy()
    if free == 1:  # the same logit difference, split evenly between the two columns
        coef, intercept = np.hstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    return LogisticFit(coef, intercept, classes)


def _objective(
    flat: np.ndarray, x: np.ndarray, onehot: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``x @ W`` plus ``l2 / 2 * |W|²`` (the intercept row, last,
    unpenalized), and its gradient: scikit-learn's scaled objective. With one column
    for two classes, the first class's logit is 0."""
    free = flat.size // x.shape[1]
    weights = flat.reshape(x.shape[1], free)
    logits = x @ weights
    if free == 1:
        logits = np.hstack([np.zeros_like(logits), logits])
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    total = exp.sum(axis=1, keepdims=True)
    n = len(x)
    loss = (np.log(total).sum() - (logits * onehot).sum()) / n
    grad = x.T @ (exp / total - onehot)[:, -free:] / n
    penalized = weights[:-1]
    loss += 0.5 * l2 * float(np.sum(penalized * penalized))
    grad[:-1] += l2 * penalized
    return float(loss), grad.ravel()
