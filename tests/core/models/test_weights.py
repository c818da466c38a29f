"""Offline weights: seeding torch hub's cache, refusing bad files, the friendly error when
nothing can be downloaded, and proof on real photos that the packaged weights are real.

Every test runs with TORCH_HOME in a temporary folder and torch hub's download replaced by
one that fails as it would with no network.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
import torchvision
from PIL import Image
from torchvision.models import MobileNet_V2_Weights
from torchvision.transforms import InterpolationMode, v2

from lab.core.models import catalog, efficientnet_lite, weights

MOBILENET = "mobilenet_v2.IMAGENET1K_V1"
LITE0 = "tf_efficientnet_lite0.in1k"


@pytest.fixture(autouse=True)
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache, and downloads that fail like a machine without network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(url: str, *args: object, **kwargs: object) -> None:
        raise URLError(f"no network for {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "torch" / "hub" / "checkpoints"


def mobilenet_file_name() -> str:
    return os.path.basename(MobileNet_V2_Weights.IMAGENET1K_V1.url)


def test_install_seeds_the_cache_so_the_plain_torchvision_call_works_offline(
    offline_hub: Path,
) -> None:
    assert weights.hub_checkpoint_dir() == offline_hub
    seeded = offline_hub / mobilenet_file_name()

    assert weights.install_offline_weights() == [seeded]
    assert weights.matches_hash_prefix(seeded)
    assert weights.install_offline_weights() == []  # idempotent: nothing rewritten

    model = torchvision.models.mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1)
    packaged = weights.packaged_file(MOBILENET)
    assert packaged is not None and packaged.name == seeded.name
    reference = torch.load(packaged, map_location="cpu", weights_only=True)
    assert torch.equal(model.features[0][0].weight, reference["features.0.0.weight"])
    assert not list(offline_hub.glob(".*"))  # no temporary files left behind

    built = catalog.build_model(MOBILENET, 3)  # the catalog goes through the same call
    assert torch.equal(built.features[0][0].weight, reference["features.0.0.weight"])
    assert catalog.head_module(built).out_features == 3


def test_an_existing_user_file_is_never_overwritten(offline_hub: Path) -> None:
    offline_hub.mkdir(parents=True)
    mine = offline_hub / mobilenet_file_name()
    mine.write_bytes(b"my own file")
    assert weights.install_offline_weights() == []
    assert mine.read_bytes() == b"my own file"


def test_a_packaged_file_that_fails_its_hash_is_refused(
    offline_hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = mobilenet_file_name()
    corrupt = tmp_path / "package" / name
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"not the weights")
    source = weights.OfflineSource(MOBILENET, name, "some-package", lambda: corrupt, True)
    monkeypatch.setattr(weights, "offline_sources", lambda: {MOBILENET: source})

    with pytest.warns(UserWarning, match="does not match the sha256 prefix"):
        assert weights.install_offline_weights() == []
    assert not (offline_hub / name).exists()
    with pytest.warns(UserWarning):
        assert weights.availability(catalog.get_entry(MOBILENET)) == "download"


def test_hash_prefix_check(tmp_path: Path) -> None:
    import hashlib

    content = b"some bytes"
    prefix = hashlib.sha256(content).hexdigest()[:8]
    good, bad = tmp_path / f"w-{prefix}.pth", tmp_path / "w-00000000.pth"
    good.write_bytes(content)
    bad.write_bytes(content)
    assert weights.matches_hash_prefix(good) and not weights.matches_hash_prefix(bad)
    with pytest.raises(ValueError, match="sha256 prefix"):
        weights.matches_hash_prefix(good, "weights.pth")


def test_availability_offline_cached_download(offline_hub: Path) -> None:
    assert catalog.get_entry(MOBILENET).availability == "offline"
    assert catalog.get_entry(LITE0).availability == "offline"
    resnet = catalog.get_entry("resnet18.IMAGENET1K_V1")
    assert resnet.availability == "download"
    offline_hub.mkdir(parents=True)
    (offline_hub / resnet.file_name).write_bytes(b"")
    assert resnet.availability == "cached"
    assert {MOBILENET, LITE0} <= set(weights.offline_models())


def test_no_network_gives_an_error_saying_where_to_put_the_file(offline_hub: Path) -> None:
    entry = catalog.get_entry("resnet18.IMAGENET1K_V1")
    with pytest.raises(weights.WeightsUnavailableError) as caught:
        catalog.build_model(entry.key, 3)
    error = caught.value
    assert isinstance(error, RuntimeError) and isinstance(error.__cause__, URLError)
    message = str(error)
    for part in (entry.key, entry.file_name, str(offline_hub), MOBILENET, '"random init"'):
        assert part in message
    assert error.file_name == entry.file_name and error.directory == offline_hub
    assert not (offline_hub / entry.file_name).exists()


def test_lite_without_its_package_tries_timm_and_fails_kindly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import timm

    def no_download(name: str, pretrained: bool = False, **kwargs: object) -> torch.nn.Module:
        raise OSError("no network") if pretrained else AssertionError("unused")

    monkeypatch.setattr(weights, "packaged_file", lambda key: None)
    monkeypatch.setattr(timm, "create_model", no_download)
    with pytest.raises(weights.WeightsUnavailableError, match=catalog.get_entry(LITE0).file_name):
        catalog.build_model(LITE0, 3)


def test_importing_the_core_pulls_in_no_ui_libraries() -> None:
    code = (
        "import sys, lab.core, lab.core.models.catalog, lab.core.models.weights;"
        "bad = {'ipywidgets', 'plotly', 'IPython'} & set(sys.modules);"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the weights are real: ImageNet photos shipped by foolbox ------------------------------


def imagenet_photos() -> list[tuple[Path, int]]:
    """foolbox's 20 ImageNet JPEGs, ``imagenet_<i>_<label>.jpg``, read as plain files."""
    spec = importlib.util.find_spec("foolbox")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("foolbox is not installed: pip install --no-deps foolbox==3.3.4")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    photos = sorted(folder.glob("imagenet_*.jpg"))
    return [(path, int(path.stem.rsplit("_", 1)[1])) for path in photos]


def top5_hits(model: torch.nn.Module, preproc: catalog.Preprocessing) -> tuple[int, int]:
    transform = v2.Compose(
        [
            v2.Resize(preproc.resize_size, InterpolationMode(preproc.interpolation)),
            v2.CenterCrop(preproc.crop_size),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(preproc.mean), list(preproc.std)),
        ]
    )
    photos = imagenet_photos()
    batch = torch.stack([transform(Image.open(path).convert("RGB")) for path, _ in photos])
    with torch.no_grad():
        top5 = model.eval()(batch).topk(5).indices.tolist()
    hits = sum(label in best for (_, label), best in zip(photos, top5, strict=True))
    return hits, len(photos)


@pytest.mark.slow
def test_offline_mobilenet_ranks_the_true_class_in_its_top5() -> None:
    weights.install_offline_weights()
    model = torchvision.models.mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1)
    hits, total = top5_hits(model, catalog.preprocessing(MOBILENET))
    assert total == 20 and hits >= 15, f"{hits}/{total} photos with the true class in the top 5"


@pytest.mark.slow
def test_packaged_efficientnet_lite0_maps_by_position_onto_timm() -> None:
    spec = efficientnet_lite.lite_specs()[0]
    path = weights.packaged_file(spec.key)
    assert path is not None
    model = efficientnet_lite.create(spec.arch)
    efficientnet_lite.load_file(model, path)
    hits, total = top5_hits(model, catalog.preprocessing(spec.key))
    assert hits >= 15, f"{hits}/{total} photos with the true class in the top 5"

    built = catalog.build_model(spec.key, 3)  # the catalog path loads the same tensors
    assert torch.equal(built.conv_stem.weight, model.conv_stem.weight)
    assert built.classifier.out_features == 3


def test_position_mapping_refuses_a_shape_mismatch() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    state = {"a": torch.zeros(3, 2), "b": torch.zeros(4)}
    with pytest.raises(ValueError, match="does not fit"):
        efficientnet_lite.load_by_position(model, state)
    with pytest.raises(ValueError, match="another architecture"):
        efficientnet_lite.load_by_position(model, {"a": torch.zeros(3, 2)})
