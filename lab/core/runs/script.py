"""A run as plain PyTorch: :func:`render_script` writes a standalone training script.

The script reproduces a :class:`~lab.core.training.config.RunConfig` with torch, torchvision,
numpy and Pillow only: the same image order, stratified split and seeds, the weights'
preprocessing, the head replaced for that architecture, the same frozen groups and
discriminative learning rates, and the same step order as the lab's training loop. It
is filled in from one template (``resources/train_script.py.tmpl``): the settings
become constants at the top, and only the architecture's head and layer groups are
written out per model.
"""

from __future__ import annotations

import shutil
import string
import subprocess
import sys
import warnings
from importlib import resources
from pathlib import Path

from torch import nn

from lab.core.data.registry import FOLDER
from lab.core.data.transforms import allows_flip
from lab.core.models.meta_init import parameters_on_meta
from lab.core.training.config import ConfigError, RunConfig

TEMPLATE = "train_script.py.tmpl"
_WORDS = {
    "feature_extraction": "feature extraction",
    "fine_tuning": "fine-tuning",
    "scratch": "from scratch",
}
#: The data folder named in a script for a built-in data set (see ``write_image_folder``).
DATA_ROOT = "data"


def render_script(
    config: RunConfig, data_dir: str | Path | None = None, script_name: str = "train.py"
) -> str:
    """The training script for ``config``, formatted with ruff when it is installed.

    ``data_dir`` is the image folder the script reads; by default the config's own
    folder, or ``data/<name>`` for a built-in data set (write it out with
    ``transfer-lab export-data <name> data/<name>``).
    """
    from lab.core.models import catalog

    entry = catalog.get_entry(config.model)
    if entry.source != "torchvision":
        raise ConfigError(
            f"model={config.model!r}: the script builds models with torchvision only; "
            "choose a torchvision model (e.g. mobilenet_v2.IMAGENET1K_V1) to show its code"
        )
    model = catalog.build_model(config.model, num_classes=2, pretrained=False, device="meta")
    with parameters_on_meta(), warnings.catch_warnings():  # as torchvision builds it
        warnings.simplefilter("ignore", FutureWarning)  # GoogLeNet's note on its init
        aux = aux_heads(entry.builder(weights=None))
    folder, note = _data_folder(config, data_dir)
    values = {
        "TITLE": f"Train {entry.arch} on {Path(folder).name}: {_WORDS[config.approach]}.",
        "SCRIPT_NAME": script_name,
        "DATA_NOTE": note,
        "DATA_DIR": repr(str(folder)),
        "ARCH": repr(entry.arch),
        "WEIGHTS": repr(entry.weights_name if config.uses_pretrained else None),
        "PRESET": repr(entry.weights_name),
        **_settings(config),
        "LAYER_GROUPS": repr(group_paths(model)),
        "BUILD_MODEL": build_model_code(model, aux),
    }
    template = resources.files("lab.core.runs").joinpath("resources", TEMPLATE).read_text()
    return format_python(string.Template(template).substitute(values))


def _settings(config: RunConfig) -> dict[str, str]:
    """The run's training and data settings, as the script's constants."""
    spec = config.data
    return {
        "APPROACH": repr(config.approach),
        "TRAINABLE_GROUPS": repr(config.trainable_groups),
        "EPOCHS": repr(config.epochs),
        "FREEZE_EPOCHS": repr(config.freeze_epochs),
        "GRADUAL": repr(config.gradual),
        "BATCH_SIZE": repr(config.batch_size),
        "OPTIMIZER": repr(config.optimizer),
        "LR": repr(config.lr),
        "BACKBONE_LR_FACTOR": repr(config.effective_backbone_lr_factor),
        "SCHEDULE": repr(config.schedule),
        "WEIGHT_DECAY": repr(config.weight_decay),
        "SEED": repr(config.seed),
        "SPLIT_SEED": repr(spec.seed),
        "VAL_FRACTION": repr(spec.val_fraction),
        "TEST_FRACTION": repr(spec.test_fraction),
        "N_PER_CLASS": repr(spec.n_per_class),
        "IMAGE_SIZE": repr(spec.image_size),
        "AUGMENT": repr(spec.augment),
        "FLIP": repr(allows_flip(spec.name)),
        "AMP": repr(config.amp),
        "CPU_BF16": repr(config.cpu_bf16),
    }


def _data_folder(config: RunConfig, data_dir: str | Path | None) -> tuple[str, str]:
    spec = config.data
    if spec.name == FOLDER and spec.path:
        folder = str(data_dir or spec.path)
        return folder, "# The images: one sub-folder per class, as the lab read them."
    folder = str(data_dir or Path(DATA_ROOT) / spec.name)
    note = (
        f"# The lab's data set {spec.name!r}, written out as an image folder (once) with\n"
        f"#     transfer-lab export-data {spec.name} {folder}"
    )
    return folder, note


def group_paths(model: nn.Module) -> list[tuple[str, list[str]]]:
    """``(group name, [module or parameter paths])`` of the model's layer groups."""
    from lab.core.models import catalog

    module_names = {id(m): name for name, m in model.named_modules()}
    param_names = {id(p): name for name, p in model.named_parameters()}
    out = []
    for group in catalog.layer_groups(model):
        paths = [module_names[id(m)] for m in group.modules]
        paths += [param_names[id(p)] for p in group.extra_parameters]
        out.append((group.name, paths))
    return out


def attribute_code(path: str, root: str = "model") -> str:
    """``"classifier.1"`` -> ``"model.classifier[1]"``: a module path as Python."""
    code = root
    for part in path.split("."):
        code += f"[{part}]" if part.isdigit() else f".{part}"
    return code


def aux_heads(model: nn.Module) -> list[str]:
    """Names of the auxiliary classifiers (GoogLeNet, Inception v3) a model trains with."""
    if not getattr(model, "aux_logits", False):
        return []
    return [name for name, child in model.named_children() if name.lower().startswith("aux")]


def build_model_code(model: nn.Module, aux: list[str]) -> str:
    """Lines (indented for the template's ``build_model``) that fit the head to the data."""
    from lab.core.models.heads import head_module, head_path

    lines = []
    if aux:
        lines.append("# Training would also return the auxiliary classifiers' outputs: drop them.")
        lines.append("model.aux_logits = False")
        lines += [f"model.{name} = None" for name in aux]
    head, target = head_module(model), attribute_code(head_path(model))
    lines.append(f"old_head = {target}")
    if isinstance(head, nn.Linear):
        bias = "" if head.bias is not None else ", bias=False"
        lines.append(f"{target} = nn.Linear(old_head.in_features, num_classes{bias})")
    else:
        assert isinstance(head, nn.Conv2d)
        lines.append(
            f"{target} = nn.Conv2d(old_head.in_channels, num_classes, "
            "kernel_size=old_head.kernel_size, stride=old_head.stride, "
            f"padding=old_head.padding{'' if head.bias is not None else ', bias=False'})"
        )
    return "\n".join("    " + line for line in lines)


def format_python(source: str) -> str:
    """``source`` formatted by ruff (line length 100); unchanged when ruff is missing."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        return source
    try:
        done = subprocess.run(
            [ruff, "format", "--isolated", "--line-length", "100", "-"],
            input=source,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return source
    return done.stdout if done.returncode == 0 and done.stdout else source
