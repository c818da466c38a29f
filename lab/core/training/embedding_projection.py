"""2-D projections of penultimate features that stay comparable from epoch to epoch."""

from __future__ import annotations

import numpy as np

METHODS = ("pca", "tsne")


class Projector:
    """Projects feature rows to 2-D.

    PCA is fitted on the first call and reused afterwards, so points move only because
    the features moved, not because the axes were refitted. t-SNE cannot project new
    data, so it is refitted each call, starting from the previous layout to keep
    successive pictures aligned.
    """

    def __init__(self, method: str = "pca", seed: int = 0) -> None:
        if method not in METHODS:
            raise ValueError(f"embedding={method!r}: choose one of {', '.join(METHODS)}")
        self.method = method
        self.seed = seed
        self._pca: tuple[np.ndarray, np.ndarray] | None = None
        self._previous: np.ndarray | None = None

    def project(self, features: np.ndarray) -> np.ndarray:
        """(n, d) features -> (n, 2) float32 points."""
        features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        if len(features) < 2 or features.shape[1] < 2:
            points = np.zeros((len(features), 2))
            points[:, : features.shape[1]] = features[:, :2]
        elif self.method == "pca":
            points = self._pca_project(features)
        else:
            points = self._tsne_project(features)
        return points.astype(np.float32)

    def _pca_project(self, features: np.ndarray) -> np.ndarray:
        if self._pca is None:
            self._pca = fit_pca(features)
        mean, components = self._pca
        return np.asarray((features - mean) @ components.T)

    def _tsne_project(self, features: np.ndarray) -> np.ndarray:
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        n = len(features)
        init: str | np.ndarray = "pca"
        if self._previous is not None and len(self._previous) == n:
            init = self._previous
        tsne = TSNE(
            n_components=2,
            perplexity=float(min(30, max(1, (n - 1) // 3))),
            init=init,
            random_state=self.seed,
        )
        # A few hundred points fit fastest on one thread; OpenMP threads spinning against
        # other work on a small machine made a 20-point fit take seconds.
        with threadpool_limits(limits=1, user_api="openmp"):
            points = np.asarray(tsne.fit_transform(features))
        self._previous = points
        return points


def fit_pca(features: np.ndarray, n_components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top principal axes of ``features`` (rows), signs fixed for repeatability."""
    from scipy.linalg import eigh

    mean = features.mean(axis=0)
    centered = features - mean
    n, d = centered.shape
    k = min(n_components, n, d)
    # The top axes from the smaller Gram matrix, only its top eigenpairs: a sixth of a
    # full SVD's time on 500 validation features, and no multi-second scikit-learn
    # import in the middle of the first evaluation.
    gram = centered @ centered.T if n <= d else centered.T @ centered
    _, vectors = eigh(gram, subset_by_index=[len(gram) - k, len(gram) - 1])
    vectors = vectors[:, ::-1]
    if n <= d:  # left singular vectors: map them to axes in feature space
        vectors = centered.T @ vectors
        norms = np.linalg.norm(vectors, axis=0)
        vectors = vectors / np.where(norms > 0, norms, 1.0)  # an axis of no spread stays 0
    components = vectors.T
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return mean, components * np.where(signs == 0, 1.0, signs)[:, None]


def fixed_subset(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded random subset of ``size`` out of ``n`` (all if fewer)."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(n)[: min(size, n)])
