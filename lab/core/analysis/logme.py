"""LogME: how much evidence frozen features give for the labels, with no training.

You, Liu, Wang and Long, "LogME: Practical Assessment of Pre-trained Models for
Transfer Learning", ICML 2021 (https://arxiv.org/abs/2102.11005).

Each class's one-hot target ``y`` (N,) is modelled as a Bayesian linear regression on
the features ``F`` (N, D): ``y = F w + noise`` with prior ``w ~ N(0, 1/alpha I)`` and
noise ``N(0, 1/beta)``. The marginal likelihood (evidence) ``p(y | F, alpha, beta)`` is
maximised over ``alpha`` and ``beta`` with the paper's fixed-point iteration
(Algorithm 1), written in the basis of the singular value decomposition of ``F`` so
that each iteration costs O(min(N, D)). LogME is the maximised log evidence divided by
N, averaged over the classes: higher means the features explain the labels better.
It has no hyper-parameters and needs no cross-validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evidence:
    """The maximised evidence of one target: log p(y | F, alpha, beta) / N and where."""

    value: float
    alpha: float
    beta: float
    iterations: int
    converged: bool


@dataclass(frozen=True)
class Spectrum:
    """Squared singular values ``s`` of F (min(N, D),) and its left singular vectors ``u``.

    For many feature matrices of one shape at once, ``s`` is (min(N, D), targets): each
    target column carries the spectrum of its own matrix (``u`` is then not kept)."""

    s: np.ndarray
    u: np.ndarray
    n: int
    d: int


def spectrum(features: np.ndarray) -> Spectrum:
    """The SVD of ``features`` as LogME needs it (computed once for every class).

    With fewer images than dimensions (the probe's usual case) the eigenvectors of the
    small Gram matrix F Fᵀ are F's left singular vectors and its eigenvalues the squared
    singular values: the same decomposition at a fraction of the cost.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features: need shape (N, D) with N >= 2, got {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or infinity: the backbone's outputs overflowed")
    scale = math.sqrt(float(np.mean(f * f)))
    if scale == 0.0:
        raise ValueError("features are all zero: the backbone gives no information to score")
    f = f / scale  # the maximised evidence does not depend on the scale; iterations do
    n, d = f.shape
    if n <= d:
        s, u = np.linalg.eigh(f @ f.T)
        s = np.clip(s, 0.0, None)
    else:
        u, sigma, _ = np.linalg.svd(f, full_matrices=False)
        s = sigma * sigma
    return Spectrum(s, u, n, d)


def _terms(sp: Spectrum, z2: np.ndarray, y2: np.ndarray, alpha: np.ndarray, beta: np.ndarray):
    """gamma, |m|², |y - F m|² at (alpha, beta) for every target at once.

    ``z2`` is (Uᵀy)² with one column per target, ``y2`` = |y|² per target; ``m`` is the
    posterior mean of the weights, beta (alpha I + beta FᵀF)⁻¹ Fᵀy, in F's SVD basis.
    """
    s = sp.s[:, None] if sp.s.ndim == 1 else sp.s
    denom = alpha + beta * s
    gamma = np.sum(beta * s / denom, axis=0)
    m2 = np.sum(beta * beta * s * z2 / (denom * denom), axis=0)
    residual = y2 - z2.sum(axis=0) + np.sum(z2 * (alpha / denom) ** 2, axis=0)
    return gamma, m2, np.maximum(residual, 0.0)


def log_evidence(sp: Spectrum, y2: float, z2: np.ndarray, alpha: float, beta: float) -> float:
    """log p(y | F, alpha, beta) / N for one target, exactly (Bishop, PRML eq. 3.86)."""
    values = _log_evidence(sp, np.array([y2]), z2[:, None], np.array([alpha]), np.array([beta]))
    return float(values[0])


def _log_evidence(
    sp: Spectrum, y2: np.ndarray, z2: np.ndarray, alpha: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    _, m2, residual = _terms(sp, z2, y2, alpha, beta)
    n, d = sp.n, sp.d
    # log|alpha I + beta FᵀF|: the D - len(s) directions outside F's span add log(alpha).
    s = sp.s[:, None] if sp.s.ndim == 1 else sp.s
    log_det = np.sum(np.log(alpha + beta * s), axis=0) + (d - len(s)) * np.log(alpha)
    value = (
        d / 2 * np.log(alpha)
        + n / 2 * np.log(beta)
        - log_det / 2
        - beta / 2 * residual
        - alpha / 2 * m2
        - n / 2 * math.log(2 * math.pi)
    )
    return value / n


def maximize_evidence(
    sp: Spectrum, y: np.ndarray, max_iter: int = 100, tol: float = 1e-6
) -> Evidence:
    """Algorithm 1 of the paper for one target ``y`` (N,), from alpha = beta = 1."""
    return maximize_all(sp, np.asarray(y, dtype=np.float64)[:, None], max_iter, tol)[0]


def maximize_all(
    sp: Spectrum, targets: np.ndarray, max_iter: int = 100, tol: float = 1e-6
) -> list[Evidence]:
    """Algorithm 1 for every column of ``targets`` (N, C) at once, from alpha = beta = 1:
    alpha <- gamma / |m|², beta <- (N - gamma) / |y - F m|² until alpha / beta settles."""
    z2 = (sp.u.T @ targets) ** 2
    return _maximize(sp, z2, np.sum(targets * targets, axis=0), max_iter, tol)


def _maximize(
    sp: Spectrum, z2: np.ndarray, y2: np.ndarray, max_iter: int, tol: float
) -> list[Evidence]:
    k = z2.shape[1]
    alpha, beta = np.ones(k), np.ones(k)
    active = np.ones(k, dtype=bool)
    iterations = np.zeros(k, dtype=int)
    converged = np.zeros(k, dtype=bool)
    for _ in range(max_iter):
        gamma, m2, residual = _terms(sp, z2, y2, alpha, beta)
        # At a bound (y orthogonal to the features, or fitted exactly) the target stops.
        active &= (m2 > 1e-300) & (residual > 1e-300) & (sp.n - gamma > 1e-9 * sp.n)
        if not active.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            new_alpha = np.where(active, gamma / m2, alpha)
            new_beta = np.where(active, (sp.n - gamma) / residual, beta)
        change = np.abs(new_alpha / new_beta - alpha / beta) / (alpha / beta)
        alpha, beta = new_alpha, new_beta
        iterations += active
        done = active & (change < tol)
        converged |= done
        active &= ~done
    values = _log_evidence(sp, y2, z2, alpha, beta)
    return [
        Evidence(float(v), float(a), float(b), int(i), bool(c))
        for v, a, b, i, c in zip(values, alpha, beta, iterations, converged, strict=True)
    ]


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME of ``features`` (N, D) for integer ``labels`` (N,): mean over classes of the
    maximised log evidence per image. Higher is better; the scale of the features does
    not matter. Values are comparable between backbones on the same images and labels.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(features):
        raise ValueError(
            f"labels: need one label per feature row, got {y.shape} for {np.shape(features)}"
        )
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("labels: LogME needs at least 2 classes")
    targets = (y[:, None] == classes[None, :]).astype(np.float64)
    return float(np.mean([e.value for e in maximize_all(spectrum(features), targets)]))


def _scaled_stack(features: np.ndarray, rows: np.ndarray) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)[rows]  # (draws, m, D)
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or infinity: the backbone's outputs overflowed")
    scale = np.sqrt(np.mean(f * f, axis=(1, 2), keepdims=True))
    if np.any(scale == 0.0):
        raise ValueError("features are all zero: the backbone gives no information to score")
    return f / scale


def logme_subsets(features: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``logme(features[r], labels[r])`` for every row ``r`` of ``rows`` (draws, m), all
    subsets of one size, computed together: one stacked decomposition and one
    fixed-point iteration over every (subset, class) target. Every class must appear."""
    rows = np.asarray(rows)
    y = np.asarray(labels)[rows]  # (draws, m)
    classes = np.unique(labels)
    if rows.ndim != 2 or rows.shape[1] < 2 or len(classes) < 2:
        raise ValueError(f"rows: need (draws, m) with m >= 2 of >= 2 classes, got {rows.shape}")
    f = _scaled_stack(features, rows)
    draws, m, d = f.shape
    if m <= d:
        s, u = np.linalg.eigh(f @ f.transpose(0, 2, 1))
        s = np.clip(s, 0.0, None)
    else:
        u, sigma, _ = np.linalg.svd(f, full_matrices=False)
        s = sigma * sigma
    targets = (y[:, :, None] == classes[None, None, :]).astype(np.float64)  # (draws, m, K)
    z2 = (u.transpose(0, 2, 1) @ targets) ** 2  # (draws, r, K)
    k = len(classes)
    columns = Spectrum(np.repeat(s.T, k, axis=1), np.empty(0), m, d)  # column = draw * K + class
    z2_cols = z2.transpose(1, 0, 2).reshape(z2.shape[1], draws * k)
    values = [e.value for e in _maximize(columns, z2_cols, targets.sum(axis=1).ravel(), 100, 1e-6)]
    return np.asarray(values).reshape(draws, k).mean(axis=1)
