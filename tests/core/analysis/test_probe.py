"""Transferability probe: scoring, sampling, unavailable candidates, and a real ranking."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from lab.core.analysis import probe as probe_module
from lab.core.analysis.probe import (
    Candidate,
    ProbeReport,
    ProbeResult,
    probe,
    probe_sample,
    random_twin,
    score_features,
)
from lab.core.data import ArrayImageDataset, load_dataset, split_indices
from lab.core.models import catalog, weights

MOBILENET = catalog.DEFAULT_MODEL


def blobs(n_per_class: int, n_classes: int, dim: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 5
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return centres[labels] + rng.normal(scale=spread, size=(len(labels), dim)), labels


def test_separable_features_score_near_perfect_and_noise_near_chance() -> None:
    features, labels = blobs(20, 4, 16, spread=0.5)
    good = score_features(features, labels)
    assert good.linear_acc == pytest.approx(1.0)
    assert good.knn_acc == pytest.approx(1.0)
    assert good.folds == 5
    noise = np.random.default_rng(1).normal(size=features.shape)
    bad = score_features(noise, labels)
    assert bad.linear_acc < 0.5 and bad.knn_acc < 0.5  # chance is 0.25


def test_every_score_has_an_interval_around_it() -> None:
    features, labels = blobs(20, 4, 16, spread=12.0)
    scores = score_features(features, labels)
    for name in ("linear", "knn", "logme"):
        low, high = scores.interval(name)
        assert low <= scores.value(name) <= high and low < high, name
    shuffled = score_features(features, np.random.default_rng(2).permutation(labels))
    assert shuffled.logme_high < scores.logme_low  # LogME sees the labels are noise
    assert shuffled.linear_high < scores.linear_low


def test_scores_do_not_depend_on_feature_scale() -> None:
    # A random network's activations can be ~1e-8: standardizing (linear) and cosine
    # distance (k-NN) must make the scale irrelevant.
    features, labels = blobs(10, 3, 8, spread=2.0)
    small = score_features(features * 1e-8, labels)
    big = score_features(features, labels)
    assert small.linear_acc == pytest.approx(big.linear_acc)
    assert small.knn_acc == pytest.approx(big.knn_acc)
    assert small.logme == pytest.approx(big.logme)


def test_fewer_folds_when_a_class_is_small() -> None:
    features, labels = blobs(3, 2, 4, spread=0.1)
    assert score_features(features, labels, folds=5).folds == 3


@pytest.mark.parametrize(
    ("features", "labels", "match"),
    [
        (np.full((6, 2), np.nan), np.array([0, 0, 0, 1, 1, 1]), "NaN"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), "at least 2 classes"),
        (np.zeros((3, 2)), np.array([0, 1, 1]), "2 images each"),
        (np.zeros((4, 2)), np.array([0, 1, 0]), "N = len"),
    ],
)
def test_score_features_refuses_bad_input(features, labels, match) -> None:
    with pytest.raises(ValueError, match=match):
        score_features(features, labels)


def test_probe_sample_is_stratified_and_stays_out_of_the_test_split() -> None:
    dataset = load_dataset("animal_shapes")
    sample = probe_sample(dataset, 20, seed=3)
    assert np.all(np.bincount(dataset.labels[sample]) == 20)
    test = split_indices(dataset.labels, seed=3).test
    assert not set(sample) & set(test)
    assert np.array_equal(sample, probe_sample(dataset, 20, seed=3))
    with pytest.raises(ValueError, match="n_per_class=1"):
        probe_sample(dataset, 1)


def tiny_dataset(n_per_class: int = 12) -> ArrayImageDataset:
    """Three classes of 16x16 images: a bright square top-left, bottom-right, or none."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 40, size=(3 * n_per_class, 16, 16), dtype=np.uint8)
    labels = np.repeat(np.arange(3), n_per_class)
    images[labels == 0, :8, :8] = 255
    images[labels == 1, 8:, 8:] = 255
    return ArrayImageDataset("tiny", images, labels, ("top", "bottom", "none"))


def test_unknown_and_unavailable_candidates_are_listed_not_raised(monkeypatch) -> None:
    missing = "resnet18.IMAGENET1K_V1"
    real = weights.availability
    monkeypatch.setattr(
        weights, "availability", lambda e: "download" if e.key == missing else real(e)
    )
    seen: list[ProbeResult] = []
    report = probe(
        [MOBILENET, missing, "no_such_model"],
        data=tiny_dataset(),
        n_per_class=6,
        image_size=32,
        folds=3,
        on_result=seen.append,
    )
    assert [r.label for r in seen] == [MOBILENET, missing, "no_such_model"]
    by_key = {r.key: r for r in report.results}
    assert by_key[missing].status == "unavailable"
    assert "allow_download=True" in by_key[missing].message
    assert by_key[missing].params == catalog.get_entry(missing).params  # metadata still shown
    assert by_key["no_such_model"].status == "failed"
    assert "not in the catalog" in by_key["no_such_model"].message
    assert by_key[MOBILENET].status == "ok"
    assert [r.key for r in report.ranking] == [MOBILENET]
    assert report.results[0].key == MOBILENET  # scored ones first
    assert by_key[MOBILENET].feature_dim == 1280
    assert report.n_images == 18 and report.class_names == ("top", "bottom", "none")
    assert "unavailable" in report.table()
    assert {row["key"] for row in report.to_rows()} == {MOBILENET, missing, "no_such_model"}


def test_random_twin_alone_gets_batchnorm_statistics_of_the_sample(monkeypatch) -> None:
    calls: list[int] = []
    real = probe_module.recalibrate
    monkeypatch.setattr(
        probe_module, "recalibrate", lambda model, batches: calls.append(real(model, batches))
    )
    report = probe(
        [MOBILENET, random_twin(MOBILENET)],
        data=tiny_dataset(),
        n_per_class=6,
        image_size=32,
        device="auto",
    )
    assert calls == [18]  # once, for the twin, over the 18 sampled images
    assert [r.status for r in report.results] == ["ok", "ok"]
    assert report.n_images == 18
    text = report.table()
    assert "LogME" in text and "group" in text and "[" in text  # intervals in the table
    assert report.verdict() in text
    assert report.score == "linear" and "ranked by linear probe" in text


def test_probe_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="score='best'"):
        probe([MOBILENET], data=tiny_dataset(), score="best")
    with pytest.raises(ValueError, match="candidates"):
        probe([], data=tiny_dataset())


def test_random_twin_is_labelled_and_has_no_imagenet_accuracy() -> None:
    twin = random_twin(MOBILENET)
    assert twin == Candidate(MOBILENET, pretrained=False)
    assert twin.label == f"{MOBILENET} (random init)"


@pytest.mark.slow
def test_mobilenet_ranks_above_its_random_twin_on_animal_shapes() -> None:
    started = time.perf_counter()
    report: ProbeReport = probe(
        [MOBILENET, "tf_efficientnet_lite0.in1k", random_twin(MOBILENET)],
        data="animal_shapes",
        n_per_class=20,
        image_size=96,
    )
    seconds = time.perf_counter() - started
    print(f"\nprobe of 3 candidates, 200 images at 96 px: {seconds:.1f} s\n{report.table()}")
    pretrained, twin = report.rank_of(MOBILENET), report.rank_of(random_twin(MOBILENET).label)
    assert pretrained is not None and twin is not None and pretrained < twin
    scores = {r.label: r.score("linear") for r in report.results}
    assert scores[MOBILENET] >= scores[random_twin(MOBILENET).label] + 0.15
    assert report.results[-1].acc1 is None  # the twin has no ImageNet accuracy to show


@pytest.mark.parametrize("shape", [(6, 28, 28), (6, 28, 28, 3)])
def test_sample_images_equal_the_per_image_transform(shape) -> None:
    from lab.core.analysis.sample_features import load_images
    from lab.core.data import build_transform

    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    data = ArrayImageDataset("noise", images, np.arange(6) % 2, ("a", "b"))
    transform = build_transform(catalog.preprocessing(MOBILENET), 40, train=False)
    loaded = load_images(data, [5, 0, 3], transform)
    assert torch.equal(loaded, torch.stack([transform(data.image(i)) for i in (5, 0, 3)]))
