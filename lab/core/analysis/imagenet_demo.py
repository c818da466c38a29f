"""What a pretrained model knows: its ImageNet predictions on real photos, and how its
frozen features arrange the images of our own data set.

The photos are the 20 ImageNet validation images that foolbox ships (their class index
is in the file name), so this works offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import util
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from lab.core.analysis.probe import probe_sample, score_features
from lab.core.analysis.sample_features import load_images, penultimate_features
from lab.core.data import ImageDataset, build_transform, load_dataset
from lab.core.models import catalog, efficientnet_lite, weights
from lab.core.training.embedding_projection import Projector
from lab.core.training.prediction import predict_top_k

_PHOTO_NAME = re.compile(r"imagenet_(\d+)_(\d+)\.(jpg|png)$")


@dataclass(frozen=True)
class Photo:
    """One bundled ImageNet photo and its true class."""

    path: Path
    label: int
    label_name: str

    def image(self) -> Image.Image:
        """The photo as an RGB PIL image."""
        return Image.open(self.path).convert("RGB")


@dataclass(frozen=True)
class PhotoPrediction:
    """A photo with the model's top-5 (class name, probability), best first."""

    photo: Photo
    top5: list[tuple[str, float]]

    @property
    def top1_correct(self) -> bool:
        return self.top5[0][0] == self.photo.label_name

    @property
    def top5_correct(self) -> bool:
        return any(name == self.photo.label_name for name, _ in self.top5)


def imagenet_photos(limit: int | None = None) -> list[Photo]:
    """foolbox's bundled ImageNet photos (up to ``limit``), ordered by file name."""
    spec = util.find_spec("foolbox")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "imagenet_photos: the photos come from the 'foolbox' package; install it with "
            "`pip install --no-deps foolbox==3.3.4`"
        )
    folder = Path(spec.origin).parent / "data"
    names = catalog.imagenet_categories(catalog.DEFAULT_MODEL)
    photos = []
    for path in sorted(folder.glob("imagenet_*")):
        match = _PHOTO_NAME.search(path.name)
        if match:
            label = int(match.group(2))
            photos.append(Photo(path, label, names[label]))
    return photos[:limit] if limit is not None else photos


def imagenet_classifier(key: str = catalog.DEFAULT_MODEL) -> nn.Module:
    """Model ``key`` with its pretrained 1000-class ImageNet head kept (in eval mode)."""
    entry = catalog.get_entry(key)
    if entry.source == "timm":
        path = weights.packaged_file(key) or weights.cached_file(entry)
        if path is None:
            raise weights.WeightsUnavailableError(
                key, entry.file_name, weights.hub_checkpoint_dir(), weights.offline_models()
            )
        model = entry.builder(pretrained=False)
        efficientnet_lite.load_file(model, path)
    else:
        weights.install_offline_weights()
        with weights.download_errors(key, entry.file_name, entry.url):
            model = entry.builder(weights=entry.weights)
    return model.eval()


def predict_photos(
    photos: list[Photo], key: str = catalog.DEFAULT_MODEL, model: nn.Module | None = None
) -> list[PhotoPrediction]:
    """Top-5 ImageNet classes of each photo under model ``key``'s own preprocessing."""
    model = model if model is not None else imagenet_classifier(key)
    transform = build_transform(catalog.preprocessing(key), train=False)
    names = catalog.imagenet_categories(key)
    return [
        PhotoPrediction(photo, predict_top_k(model, photo.image(), names, transform, k=5))
        for photo in photos
    ]


@dataclass(frozen=True)
class FeatureMap:
    """2-D PCA of frozen features for a sample of a data set, with how well k-NN and a
    linear probe separate the classes in the full feature space."""

    points: np.ndarray  # (n, 2)
    labels: np.ndarray  # (n,)
    class_names: tuple[str, ...]
    title: str
    knn_acc: float
    linear_acc: float


def feature_map(
    key: str = catalog.DEFAULT_MODEL,
    data: str | ImageDataset = "animal_shapes",
    n_per_class: int = 30,
    pretrained: bool = True,
    image_size: int | None = None,
    seed: int = 0,
) -> FeatureMap:
    """Frozen penultimate features of ``n_per_class`` images per class, projected to 2-D.

    ``pretrained=False`` uses the same architecture with random weights, the baseline
    that shows what the ImageNet training contributes.
    """
    dataset = load_dataset(data) if isinstance(data, str) else data
    indices = probe_sample(dataset, n_per_class, seed)
    transform = build_transform(catalog.preprocessing(key), image_size, train=False)
    images = load_images(dataset, indices, transform)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = catalog.build_model(key, dataset.num_classes, pretrained=pretrained)
    features = penultimate_features(model, catalog.head_module(model), images)
    labels = dataset.labels[indices]
    # Standardized first, so a random network's tiny activations project as well as big ones.
    scaled = (features - features.mean(0)) / (features.std(0) + 1e-12)
    scores = score_features(features, labels, seed=seed)
    kind = "ImageNet weights" if pretrained else "random weights"
    return FeatureMap(
        points=Projector("pca", seed).project(scaled),
        labels=labels,
        class_names=dataset.class_names,
        title=f"{key} ({kind})",
        knn_acc=scores.knn_acc,
        linear_acc=scores.linear_acc,
    )
