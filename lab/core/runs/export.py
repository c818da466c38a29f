"""Exporting a trained model: state dict with metadata, TorchScript, ONNX (if installed)."""

from __future__ import annotations

import copy
import importlib.util
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lab.core.models.finetune import unlock_eval
from lab.core.runs import atomic

EXPORT_FORMAT = "transfer-lab-model/1"
FORMATS = ("state_dict", "torchscript", "onnx")


def onnx_available() -> bool:
    """ONNX export needs the ``onnx`` package, which the lab does not require."""
    return importlib.util.find_spec("onnx") is not None


def _example(
    preprocessing: dict[str, Any] | None, example_input: torch.Tensor | None
) -> torch.Tensor:
    if example_input is not None:
        return example_input
    size = None
    if preprocessing:
        size = preprocessing.get("image_size") or preprocessing.get("crop_size")
    if not size:
        raise ValueError(
            "example_input: pass an example batch (e.g. torch.zeros(1, 3, 224, 224)); "
            "it cannot be derived without preprocessing"
        )
    return torch.zeros(1, 3, int(size), int(size))


def _plain_copy(model: nn.Module) -> nn.Module:
    """An eval-mode CPU copy without the lab's frozen-group locks (tracers need none)."""
    clone = copy.deepcopy(model).cpu().eval()
    for module in clone.modules():
        unlock_eval(module)
    return clone


def export_model(
    model: nn.Module,
    out_dir: str | Path,
    *,
    class_names: Sequence[str],
    preprocessing: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    example_input: torch.Tensor | None = None,
    formats: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write ``model`` to ``out_dir`` in each of ``formats``; return format -> path.

    Default formats: state dict and TorchScript, plus ONNX when ``onnx`` is installed.
    The state dict file also holds class names, preprocessing and the run config; the
    TorchScript file carries the class names as an extra file ``class_names.json``.
    """
    chosen = (
        list(formats) if formats is not None else [*FORMATS[:2], *(["onnx"] * onnx_available())]
    )
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats={unknown}: choose from {', '.join(FORMATS)}")
    if "onnx" in chosen and not onnx_available():
        raise ValueError("formats=['onnx']: ONNX export needs the onnx package (pip install onnx)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    names = list(class_names)
    if "state_dict" in chosen:
        written["state_dict"] = out / "model_state.pt"
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        meta = {"class_names": names, "preprocessing": preprocessing, "config": config}
        atomic.write_torch(
            written["state_dict"], {"format": EXPORT_FORMAT, "state_dict": state, **meta}
        )
    if "torchscript" in chosen or "onnx" in chosen:
        clone, example = _plain_copy(model), _example(preprocessing, example_input).cpu()
        if "torchscript" in chosen:
            written["torchscript"] = out / "model_torchscript.pt"
            _save_torchscript(clone, example, names, written["torchscript"])
        if "onnx" in chosen:
            written["onnx"] = out / "model.onnx"
            _save_onnx(clone, example, written["onnx"])
    return written


def _save_torchscript(
    model: nn.Module, example: torch.Tensor, names: list[str], path: Path
) -> None:
    with warnings.catch_warnings():
        # Tracing warns about Python control flow it cannot record; these models have none
        # that depends on the input values.
        warnings.simplefilter("ignore")
        # torch marks TorchScript as deprecated in favour of torch.export, but it is still
        # the format C++ and mobile runtimes load.
        traced = torch.jit.trace(model, example)
        extra = {"class_names.json": json.dumps(names)}
        atomic.write_bytes(path, atomic.serialize_torch(traced, torch.jit.save, _extra_files=extra))


def _save_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    # The dynamo exporter needs onnxscript as well; the classic one needs only onnx.
    dynamo = importlib.util.find_spec("onnxscript") is not None
    atomic.replace_with(
        path,
        lambda tmp: torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=dynamo,
        ),
    )
