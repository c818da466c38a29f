"""The linear probe's logistic regression, fitted exactly in the span of its few rows.

The probe fits a multinomial logistic regression (L2 penalty ``0.5 |W|²``, loss weight
``C``, unpenalized intercept: the objective of scikit-learn's ``LogisticRegression``)
on ~160 standardized rows of 1,000+ features. Its optimum lies in the span of those
rows (the gradient of the penalty and of the loss both do), so the fit here runs in
that span: with the eigendecomposition ``A Aᵀ = U S Uᵀ`` of the rows' Gram matrix the
coordinates ``Z = U sqrt(S)`` are orthogonal, and the same objective over ``Z`` has the
same optimum and the same predictions, in a tenth of the dimensions. It is solved by
Newton's method with a diagonally preconditioned conjugate gradient to a tight
tolerance, so the answer is the optimum itself, not wherever a solver's stopping rule
happened to leave it (which is not rotation invariant, and moved rankings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Newton steps stop once the gradient's norm is below this, relative to the loss scale.
TOL = 1e-9
_MAX_NEWTON = 100
_MAX_CG = 200


@dataclass(frozen=True)
class LogisticFit:
    """A fitted multinomial logistic regression: ``x @ coef + intercept`` are its logits."""

    coef: np.ndarray  # (D, K)
    intercept: np.ndarray  # (K,)
    classes: np.ndarray  # (K,) the labels, in column order
    newton_steps: int
    gradient_norm: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Logits (m, K) of rows ``x`` (m, D), standardized like the training rows."""
        return x @ self.coef + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels (m,), the first class on an exact tie."""
        return self.classes[np.argmax(self.decision(x), axis=1)]


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class _Problem:
    """0.5 |beta|² + C * sum_i cross-entropy(z_i beta + b, y_i), with its derivatives."""

    def __init__(self, z: np.ndarray, onehot: np.ndarray, c: float):
        self.z, self.y, self.c = z, onehot, c
        self.z2 = z * z

    def value(self, beta: np.ndarray, b: np.ndarray) -> float:
        logits = self.z @ beta + b
        top = logits.max(axis=1)
        lse = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        loss = float(np.sum(lse - np.sum(logits * self.y, axis=1)))
        return 0.5 * float(np.sum(beta * beta)) + self.c * loss

    def gradient(self, beta: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = self.c * (p - self.y)
        return beta + self.z.T @ g, g.sum(axis=0)

    def hess_times(self, p: np.ndarray, vb: np.ndarray, vc: np.ndarray):
        lv = self.z @ vb + vc
        jv = self.c * p * (lv - np.sum(p * lv, axis=1, keepdims=True))
        return vb + self.z.T @ jv, jv.sum(axis=0)

    def diagonal(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        curv = self.c * p * (1.0 - p)
        return 1.0 + self.z2.T @ curv, np.maximum(curv.sum(axis=0), 1e-12)


def _cg(problem: _Problem, p: np.ndarray, gb: np.ndarray, gc: np.ndarray, tol: float):
    """Preconditioned conjugate gradient for the Newton direction H d = -g."""
    db, dc = np.zeros_like(gb), np.zeros_like(gc)
    rb, rc = -gb, -gc
    mb, mc = problem.diagonal(p)
    sb, sc = rb / mb, rc / mc
    qb, qc = sb.copy(), sc.copy()
    rho = float(np.sum(rb * sb) + np.sum(rc * sc))
    for _ in range(_MAX_CG):
        hb, hc = problem.hess_times(p, qb, qc)
        step = rho / float(np.sum(qb * hb) + np.sum(qc * hc))
        db, dc = db + step * qb, dc + step * qc
        rb, rc = rb - step * hb, rc - step * hc
        if np.sqrt(np.sum(rb * rb) + np.sum(rc * rc)) <= tol:
            break
        sb, sc = rb / mb, rc / mc
        rho, old = float(np.sum(rb * sb) + np.sum(rc * sc)), rho
        qb, qc = sb + (rho / old) * qb, sc + (rho / old) * qc
    return db, dc


def _newton(problem: _Problem, tol: float) -> tuple[np.ndarray, np.ndarray, int, float]:
    r, k = problem.z.shape[1], problem.y.shape[1]
    beta, b = np.zeros((r, k)), np.zeros(k)
    f = problem.value(beta, b)
    norm = float("inf")
    for step in range(_MAX_NEWTON):
        p = _softmax(problem.z @ beta + b)
        gb, gc = problem.gradient(beta, p)
        norm = float(np.sqrt(np.sum(gb * gb) + np.sum(gc * gc)))
        if norm <= tol:
            return beta, b, step, norm
        db, dc = _cg(problem, p, gb, gc, min(0.5, np.sqrt(norm)) * norm)
        slope = float(np.sum(gb * db) + np.sum(gc * dc))
        t = 1.0
        while True:  # backtracking (Armijo) on the convex objective
            new_f = problem.value(beta + t * db, b + t * dc)
            if new_f <= f + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        beta, b, f = beta + t * db, b + t * dc, new_f
    return beta, b, _MAX_NEWTON, norm


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
    standardized: minimizes ``0.5 |W|² + c * sum of cross-entropies`` (intercept not
    penalized) in the rows' span, to a gradient norm below ``TOL * c * n``."""
    if c <= 0:
        raise ValueError(f"c={c}: the loss weight must be positive")
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("labels: a logistic regression needs at least 2 classes")
    rows = np.asarray(rows, dtype=np.float64)
    basis = span_basis(rows)
    problem = _Problem(rows @ basis, np.eye(len(classes))[y], c)
    beta, b, steps, norm = _newton(problem, TOL * c * len(y))
    return LogisticFit(basis @ beta, b, classes, steps, norm)
