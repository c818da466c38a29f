"""The model catalog: metadata from the weights API, head replacement and layer groups,
checked over every entry on the meta device (shapes only, no memory, no downloads)."""

from __future__ import annotations

import math
import threading

import pytest
import torch
import torchvision
from torch import nn

from lab.core.models import catalog, efficientnet_lite
from lab.core.models.heads import head_path, replace_head
from lab.core.models.meta_init import parameters_on_meta

ENTRIES = catalog.list_models()
NUM_CLASSES = 7


def test_catalog_holds_every_torchvision_classifier_weight_and_the_lite_extras() -> None:
    expected = set()
    skipped = set()
    for arch in torchvision.models.list_models(module=torchvision.models):
        for member in torchvision.models.get_model_weights(arch):
            target = expected if member.meta.get("categories") else skipped
            target.add(f"{arch}.{member.name}")
    lite = {f"tf_efficientnet_lite{n}.in1k" for n in range(3)}
    assert {e.key for e in ENTRIES} == expected | lite
    assert len(ENTRIES) == len(expected) + 3  # keys are unique
    assert skipped == {"vgg16.IMAGENET1K_FEATURES"}  # a feature extractor, no classifier


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.key)
def test_entry_metadata_is_present_and_sane(entry: catalog.ModelEntry) -> None:
    assert entry.key == f"{entry.arch}.{entry.weights_name}"
    assert entry.params > 1e6 and entry.file_size_mb > 1 and entry.gflops > 0.01
    assert 40 < entry.acc1 < entry.acc5 <= 100
    assert 32 <= entry.input_size <= entry.resize_size <= 1024
    assert len(entry.mean) == len(entry.std) == 3
    assert all(0 < m < 1 for m in entry.mean) and all(0 < s < 1 for s in entry.std)
    assert entry.interpolation in {"bilinear", "bicubic", "nearest"}
    assert entry.categories_count == 1000
    assert entry.file_name.endswith(".pth") and entry.url.startswith("https://")
    assert entry.availability in {"offline", "cached", "download"}
    if entry.weights is not None:  # read from torchvision's weights API, not retyped
        meta = entry.weights.meta
        assert entry.params == meta["num_params"] and entry.gflops == meta["_ops"]
        assert entry.acc1 == meta["_metrics"]["ImageNet-1K"]["acc@1"]
        assert entry.url == entry.weights.url and entry.url.endswith("/" + entry.file_name)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.key)
def test_every_entry_builds_with_a_new_head_and_complete_layer_groups(
    entry: catalog.ModelEntry,
) -> None:
    model = catalog.build_model(entry.key, NUM_CLASSES, pretrained=False, device="meta")
    assert all(p.is_meta for p in model.parameters())

    x = torch.empty(2, 3, entry.input_size, entry.input_size, device="meta")
    assert model.eval()(x).shape == (2, NUM_CLASSES)

    head = catalog.head_module(model)
    width = head.in_features if isinstance(head, nn.Linear) else head.in_channels
    with_bias = head.bias is not None
    count = sum(p.numel() for p in model.parameters())
    swapped = entry.params - (width + with_bias) * 1000 + (width + with_bias) * NUM_CLASSES
    if hasattr(model, "aux_logits"):  # Inception's published count includes its aux head
        assert count <= swapped
    else:  # random init builds exactly the architecture the weights were published for
        assert count == swapped

    groups = catalog.layer_groups(model)
    assert groups[0].name == "stem" and groups[-1].name == "head"
    assert any(m is head for m in groups[-1].modules)
    assert len({g.name for g in groups}) == len(groups) >= 3
    in_groups = [id(p) for g in groups for p in g.parameters()]
    assert len(in_groups) == len(set(in_groups))  # no parameter in two groups
    assert set(in_groups) == {id(p) for p in model.parameters()}  # none left out
    assert all(g.num_params > 0 for g in groups)


def test_resnet_groups_are_stem_then_blocks_then_head() -> None:
    model = catalog.build_model("resnet18.IMAGENET1K_V1", 3, pretrained=False, device="meta")
    groups = catalog.layer_groups(model)
    blocks = [f"layer{s}.{b}" for s in range(1, 5) for b in range(2)]
    assert [g.name for g in groups] == ["stem", *blocks, "head"]
    assert groups[0].modules == (model.conv1, model.bn1)  # bn joins the conv it normalises
    assert groups[-1].modules == (model.fc,)


def test_vit_embeddings_join_the_stem_and_final_norm_the_last_block() -> None:
    model = catalog.build_model("vit_b_16.IMAGENET1K_V1", 3, pretrained=False, device="meta")
    groups = catalog.layer_groups(model)
    stem_ids = {id(p) for p in groups[0].parameters()}
    assert {id(model.class_token), id(model.encoder.pos_embedding)} <= stem_ids
    assert groups[0].modules == (model.conv_proj,)
    assert model.encoder.ln in groups[-2].modules
    assert len(groups) == 12 + 2


def test_squeezenet_head_is_its_classifier_convolution() -> None:
    model = catalog.build_model("squeezenet1_1.IMAGENET1K_V1", 5, pretrained=False, device="meta")
    head = catalog.head_module(model)
    assert isinstance(head, nn.Conv2d) and head.out_channels == 5
    assert head is model.classifier[1]


@pytest.mark.parametrize("key", ["googlenet.IMAGENET1K_V1", "inception_v3.IMAGENET1K_V1"])
def test_aux_heads_are_dropped_so_training_returns_plain_logits(key: str) -> None:
    model = catalog.build_model(key, 4, pretrained=False, device="meta")
    assert not any(name.lower().startswith("aux") for name, _ in model.named_modules())
    size = catalog.get_entry(key).input_size
    out = model.train()(torch.empty(2, 3, size, size, device="meta"))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 4)


def test_random_init_builds_a_real_trainable_model() -> None:
    torch.manual_seed(0)
    model = catalog.build_model("mobilenet_v3_small.IMAGENET1K_V1", 3, pretrained=False)
    out = model.eval()(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 3) and torch.isfinite(out).all()
    assert all(p.device.type == "cpu" and p.requires_grad for p in model.parameters())


def test_vit_from_scratch_matches_the_entry_input_size() -> None:
    key = "vit_b_16.IMAGENET1K_SWAG_E2E_V1"
    model = catalog.build_model(key, 3, pretrained=False, device="meta")
    assert model.image_size == catalog.get_entry(key).input_size == 384


def test_meta_device_needs_random_init() -> None:
    with pytest.raises(ValueError, match="pretrained=False"):
        catalog.build_model(catalog.DEFAULT_MODEL, 3, pretrained=True, device="meta")


def test_replace_head_refuses_zero_classes() -> None:
    with pytest.raises(ValueError, match="num_classes=0"):
        replace_head(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4, 2)), 0)


def test_head_is_last_linear_and_keeps_its_width() -> None:
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Sequential(nn.Linear(5, 9)))
    assert head_path(model) == "2.0"
    new = replace_head(model, 4)
    assert model[2][0] is new and (new.in_features, new.out_features) == (5, 4)


def test_unknown_key_names_close_matches() -> None:
    with pytest.raises(KeyError, match=r"mobilenet_v2\.IMAGENET1K_V1"):
        catalog.get_entry("mobilenet_v2.IMAGENET1K")


def test_preprocessing_comes_from_the_weights_transforms() -> None:
    for key in (catalog.DEFAULT_MODEL, "vit_h_14.IMAGENET1K_SWAG_E2E_V1"):
        entry = catalog.get_entry(key)
        assert entry.weights is not None
        expected = entry.weights.transforms()
        got = catalog.preprocessing(key)
        assert [got.crop_size] == list(expected.crop_size)
        assert [got.resize_size] == list(expected.resize_size)
        assert list(got.mean) == list(expected.mean) and list(got.std) == list(expected.std)
        assert got.interpolation == expected.interpolation.value


def test_imagenet_categories() -> None:
    names = catalog.imagenet_categories(catalog.DEFAULT_MODEL)
    assert len(names) == 1000 == len(set(names))
    assert catalog.imagenet_categories("tf_efficientnet_lite0.in1k") == names


@pytest.mark.parametrize("spec", efficientnet_lite.lite_specs(), ids=lambda s: s.key)
def test_lite_data_file_agrees_with_timm_and_the_model(spec: efficientnet_lite.LiteSpec) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    model = efficientnet_lite.create(spec.arch)
    cfg = model.pretrained_cfg
    assert cfg["input_size"][-1] == spec.input_size
    assert math.floor(spec.input_size / cfg["crop_pct"]) == spec.resize_size
    assert tuple(cfg["mean"]) == spec.mean and tuple(cfg["std"]) == spec.std
    assert cfg["interpolation"] == spec.interpolation
    assert sum(p.numel() for p in model.parameters()) == spec.params
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, 3, spec.input_size, spec.input_size))
    # multiply-adds, torchvision's convention for _ops
    assert round(counter.get_total_flops() / 2e9, 3) == spec.gflops
    assert spec.acc_source.startswith("https://") and spec.paper_source.startswith("https://")
    assert abs(spec.acc1 - spec.paper_acc1) < 1


def test_meta_parameters_stay_on_the_building_thread() -> None:
    elsewhere: list[torch.device] = []
    with parameters_on_meta():
        here = nn.Linear(2, 2)
        worker = threading.Thread(target=lambda: elsewhere.append(nn.Linear(2, 2).weight.device))
        worker.start()
        worker.join()
    assert here.weight.is_meta and elsewhere == [torch.device("cpu")]
    assert nn.Linear(2, 2).weight.device.type == "cpu"
