"""Data-efficiency curve: test accuracy against labelled images per class.

One fixed test split, then for each size (e.g. 5, 10, 25, 50, 100 images per class)
and each seed a training subset is drawn and every arm is trained on it:

- ``feature_extraction``: pretrained backbone frozen, a new head trained on features
  that are computed once for every image the curve uses (the cached-feature fast path:
  dozens of heads cost less than one pass of the backbone);
- ``scratch``: the same architecture from random weights, everything trained;
- ``fine_tuning`` (when asked): pretrained, the last groups trained at a lower LR.

Subsets are nested (a seed's 10 images per class include its 5), test images never
change, and every arm gets the same optimizer step budget, so the gaps on the curve come
from the pretraining alone. Several seeds give the spread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from lab.core.analysis.quick_fit import accuracy, fit_head, fit_network, step_budget
from lab.core.analysis.sample_features import load_images, penultimate_features
from lab.core.data import ImageDataset, build_transform, load_dataset, split_indices
from lab.core.hardware.device import setup_device
from lab.core.models import catalog
from lab.core.training.control import each_until_stopped

ARMS = ("feature_extraction", "scratch", "fine_tuning")


@dataclass(frozen=True)
class CurveSpec:
    """What the curve measures; invalid values raise ValueError naming the setting."""

    model: str = catalog.DEFAULT_MODEL
    data: str = "animal_shapes"
    sizes: tuple[int, ...] = (5, 10, 25, 50, 100)
    arms: tuple[str, ...] = ("feature_extraction", "scratch")
    seeds: tuple[int, ...] = (0, 1, 2)
    image_size: int | None = 96
    test_per_class: int | None = 50
    epochs: int = 10
    min_steps: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr_factor: float = 10.0
    trainable_groups: int = 3
    split_seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        problems = [
            None if self.sizes else "sizes=(): choose at least one size, e.g. (5, 10, 25)",
            None if self.seeds else "seeds=(): choose at least one seed, e.g. (0, 1, 2)",
            None if self.arms else "arms=(): choose from " + ", ".join(ARMS),
        ]
        problems += [f"sizes: {n} images per class; choose 1 or more" for n in self.sizes if n < 1]
        problems += [
            f"arms: {a!r} is not one of {', '.join(ARMS)}" for a in self.arms if a not in ARMS
        ]
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)}: choose 1 or more")
        if self.test_per_class is not None and self.test_per_class < 1:
            problems.append(f"test_per_class={self.test_per_class}: choose 1 or more, or None")
        if not self.lr > 0:
            problems.append(f"lr={self.lr}: choose a learning rate > 0, e.g. 0.001")
        for problem in problems:
            if problem:
                raise ValueError(problem)


@dataclass(frozen=True)
class CurvePoint:
    """One trained model: its arm, training set size, seed and test accuracy."""

    arm: str
    n_per_class: int
    seed: int
    test_acc: float
    train_acc: float
    steps: int
    seconds: float


@dataclass(frozen=True)
class ArmSummary:
    """Mean, standard deviation and range of test accuracy over seeds, per size."""

    arm: str
    sizes: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True)
class EfficiencyResult:
    """Every point of a curve, plus what it was measured on."""

    spec: CurveSpec
    points: tuple[CurvePoint, ...]
    class_names: tuple[str, ...]
    n_test: int
    seconds: float
    stopped: bool = False

    def accuracies(self, arm: str, n_per_class: int) -> list[float]:
        """Test accuracies of ``arm`` at ``n_per_class``, one per seed run so far."""
        return [p.test_acc for p in self.points if p.arm == arm and p.n_per_class == n_per_class]

    def mean_acc(self, arm: str, n_per_class: int) -> float:
        """Mean test accuracy over seeds (ValueError if that point was not measured)."""
        values = self.accuracies(arm, n_per_class)
        if not values:
            raise ValueError(f"arm={arm!r}, n_per_class={n_per_class}: not measured")
        return float(np.mean(values))

    def summary(self, arm: str) -> ArmSummary:
        """Mean, std and min/max over seeds at each size ``arm`` was measured at."""
        sizes = tuple(n for n in self.spec.sizes if self.accuracies(arm, n))
        values = [np.asarray(self.accuracies(arm, n)) for n in sizes]
        return ArmSummary(
            arm=arm,
            sizes=sizes,
            mean=tuple(float(v.mean()) for v in values),
            std=tuple(float(v.std()) for v in values),
            low=tuple(float(v.min()) for v in values),
            high=tuple(float(v.max()) for v in values),
        )

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values."""
        return {
            "spec": asdict(self.spec),
            "points": [asdict(p) for p in self.points],
            "class_names": list(self.class_names),
            "n_test": self.n_test,
            "seconds": self.seconds,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class CurveSplits:
    """The fixed test images and, per seed, the training images in drawing order."""

    test: np.ndarray
    train_order: dict[int, dict[int, np.ndarray]]  # seed -> class -> pool, shuffled

    def train(self, seed: int, n_per_class: int) -> np.ndarray:
        """The first ``n_per_class`` images of each class for ``seed`` (nested in n)."""
        return np.sort(np.concatenate([p[:n_per_class] for p in self.train_order[seed].values()]))


def curve_splits(
    labels: np.ndarray,
    seeds: tuple[int, ...],
    test_per_class: int | None = 50,
    split_seed: int = 0,
) -> CurveSplits:
    """Draw the fixed test split (``split_seed``) and each seed's training order.

    The split is the lab's default one (20% validation, 20% test), so the curve's test
    images are among those a default run is tested on; validation images are not used.
    """
    labels = np.asarray(labels)
    split = split_indices(labels, val_fraction=0.2, test_fraction=0.2, seed=split_seed)
    test = split.test
    if test_per_class is not None:
        rng = np.random.default_rng(split_seed)
        test = np.sort(
            np.concatenate(
                [
                    rng.permutation(test[labels[test] == c])[:test_per_class]
                    for c in np.unique(labels)
                ]
            )
        )
    orders = {
        seed: {
            int(c): np.random.default_rng((seed, int(c))).permutation(
                split.train[labels[split.train] == c]
            )
            for c in np.unique(labels)
        }
        for seed in seeds
    }
    return CurveSplits(test, orders)


class _Images:
    """Transformed images of every index the curve touches, loaded once."""

    def __init__(self, dataset: ImageDataset, indices: np.ndarray, spec: CurveSpec) -> None:
        preproc = catalog.preprocessing(spec.model)
        transform = build_transform(preproc, spec.image_size, augment=False, train=False)
        self.indices = np.unique(indices)
        self.tensors = load_images(dataset, self.indices, transform)
        self.labels = torch.as_tensor(dataset.labels[self.indices])

    def rows(self, indices: np.ndarray) -> torch.Tensor:
        """Positions of dataset ``indices`` in :attr:`tensors`."""
        return torch.as_tensor(np.searchsorted(self.indices, indices))


@dataclass(frozen=True)
class _Job:
    spec: CurveSpec
    images: _Images
    features: torch.Tensor | None  # pretrained features of every image, for the head arm
    test_rows: torch.Tensor
    num_classes: int
    device: torch.device


def _train_arm(job: _Job, arm: str, rows: torch.Tensor, seed: int) -> tuple[float, float, int]:
    """Train one model of ``arm`` on image ``rows``; (test acc, train acc, steps)."""
    spec, images = job.spec, job.images
    labels, test_labels = images.labels[rows], images.labels[job.test_rows]
    steps = step_budget(len(rows), spec.batch_size, spec.epochs, spec.min_steps)
    torch.manual_seed(seed)  # the new head (and a scratch model) start alike per seed
    if arm == "feature_extraction":
        assert job.features is not None
        head = nn.Linear(job.features.shape[1], job.num_classes).to(job.device)
        fit_head(head, job.features[rows], labels, steps, spec.batch_size, spec.lr, seed)
        test_acc = accuracy(head, job.features[job.test_rows], test_labels)
        return test_acc, accuracy(head, job.features[rows], labels), steps
    pretrained = arm == "fine_tuning"
    model = catalog.build_model(spec.model, job.num_classes, pretrained, device=job.device)
    fit_network(
        model,
        catalog.layer_groups(model),
        arm,
        images.tensors[rows],
        labels,
        steps,
        batch_size=spec.batch_size,
        lr=spec.lr,
        backbone_lr_factor=spec.backbone_lr_factor,
        trainable_groups=spec.trainable_groups,
        seed=seed,
    )
    test_acc = accuracy(model, images.tensors[job.test_rows], test_labels)
    return test_acc, accuracy(model, images.tensors[rows], labels), steps


def _check_sizes(splits: CurveSplits, spec: CurveSpec, class_names: tuple[str, ...]) -> None:
    for c, pool in splits.train_order[spec.seeds[0]].items():
        if len(pool) < max(spec.sizes):
            raise ValueError(
                f"sizes: {max(spec.sizes)} images per class, but class {class_names[c]!r} "
                f"has {len(pool)} training images; choose sizes up to {len(pool)}"
            )


def data_efficiency(
    spec: CurveSpec | None = None,
    data: ImageDataset | None = None,
    on_point: Callable[[CurvePoint], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> EfficiencyResult:
    """Measure the curve ``spec`` describes (default: :class:`CurveSpec()`).

    ``data`` replaces ``spec.data`` with a loaded data set. Points are measured size by
    size (all seeds and arms of the smallest size first); ``on_point`` gets each one as
    it is done, and ``should_stop`` (checked between points) ends the curve early with
    what it has, marked ``stopped``.
    """
    spec = spec or CurveSpec()
    started = time.perf_counter()
    dataset = data if data is not None else load_dataset(spec.data)
    splits = curve_splits(dataset.labels, spec.seeds, spec.test_per_class, spec.split_seed)
    _check_sizes(splits, spec, dataset.class_names)
    job = _job(spec, dataset, splits)

    def measure(point: tuple[int, int, str]) -> CurvePoint:
        n, seed, arm = point
        t0 = time.perf_counter()
        rows = job.images.rows(splits.train(seed, n))
        with torch.random.fork_rng(devices=[]):  # seeding here leaves the caller's RNG alone
            test_acc, train_acc, steps = _train_arm(job, arm, rows, seed)
        return CurvePoint(arm, n, seed, test_acc, train_acc, steps, time.perf_counter() - t0)

    order = [(n, seed, arm) for n in spec.sizes for seed in spec.seeds for arm in spec.arms]
    points, stopped = each_until_stopped(order, measure, on_point, should_stop)
    return EfficiencyResult(
        spec=spec,
        points=tuple(points),
        class_names=dataset.class_names,
        n_test=len(splits.test),
        seconds=time.perf_counter() - started,
        stopped=stopped,
    )


def _job(spec: CurveSpec, dataset: ImageDataset, splits: CurveSplits) -> _Job:
    """Every image the curve uses, loaded once, and their pretrained features if needed."""
    setup = setup_device(spec.device, amp=False)
    largest = max(spec.sizes)
    used = np.concatenate([splits.test] + [splits.train(s, largest) for s in spec.seeds])
    images = _Images(dataset, used, spec)
    features = None
    if "feature_extraction" in spec.arms:
        backbone = catalog.build_model(spec.model, dataset.num_classes, pretrained=True)
        head = catalog.head_module(backbone)
        cached = penultimate_features(backbone, head, images.tensors, device=str(setup.device))
        features = torch.from_numpy(cached)
    return _Job(spec, images, features, images.rows(splits.test), dataset.num_classes, setup.device)
