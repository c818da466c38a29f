"""The lab's one settings object: which mode is on, where data may come from, the limits.

Two modes:

- ``jupyterlab`` (default): the user's own machine. Any folder path, any model the
  user can download.
- ``dashboard``: the participant has only a browser (Voilà, JupyterHub, Binder). Typed
  folder paths must resolve inside the data roots, uploads land in a per-session folder
  under the upload root, messages never show absolute server paths, and the operator
  decides whether new weights may be downloaded.

Settings come from environment variables read once (:meth:`LabSettings.from_env`);
panels ask :func:`current` and never read the environment themselves.

=======================  ==========================================  ======================
variable                 meaning                                     default
=======================  ==========================================  ======================
``LAB_MODE``             ``jupyterlab`` or ``dashboard``             ``jupyterlab``
``LAB_DATA_ROOTS``       folders typed paths may lie in (``:``-sep)  none (uploads only)
``LAB_UPLOAD_ROOT``      where per-session upload folders go         temp dir/transfer-lab-uploads
``LAB_ALLOW_DOWNLOADS``  may new pretrained weights be downloaded    1 (jupyterlab), 0 (dashboard)
``LAB_UPLOAD_MAX_MB``    total size of one upload, MiB               10
``LAB_UPLOAD_MAX_FILES`` files in one upload (zip entries included)  500
``LAB_MAX_PIXELS``       pixels per uploaded image                   25,000,000
=======================  ==========================================  ======================
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

Mode = Literal["jupyterlab", "dashboard"]
MODES: tuple[Mode, ...] = ("jupyterlab", "dashboard")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value the lab cannot use; the message names the variable."""


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may hold. Every limit is checked before a file is written."""

    max_bytes: int = 10 * 2**20
    max_files: int = 500
    max_pixels: int = 25_000_000

    @property
    def max_mb(self) -> float:
        return self.max_bytes / 2**20


@dataclass(frozen=True)
class LabSettings:
    """Mode, data roots, upload root, weight downloads and upload limits."""

    mode: Mode = "jupyterlab"
    data_roots: tuple[Path, ...] = ()
    upload_root: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "transfer-lab-uploads"
    )
    allow_downloads: bool = True
    limits: UploadLimits = field(default_factory=UploadLimits)

    @property
    def dashboard(self) -> bool:
        """Whether the participant reaches the server only through a browser."""
        return self.mode == "dashboard"

    @property
    def roots(self) -> tuple[Path, ...]:
        """The data roots with symlinks, ``..`` and ``~`` resolved.

        The upload root is not one of them: each session may read only its own upload
        folder, which the data panel adds for itself.
        """
        return tuple(dict.fromkeys(Path(r).expanduser().resolve() for r in self.data_roots))

    def replace(self, **changes: object) -> LabSettings:
        """A copy with ``changes`` applied (settings are immutable)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LabSettings:
        """Settings from ``env`` (default ``os.environ``); see the module docstring."""
        env = os.environ if env is None else env
        mode = env.get("LAB_MODE", "jupyterlab").strip().lower() or "jupyterlab"
        if mode not in MODES:
            raise SettingsError(f"LAB_MODE={mode!r}: choose one of {', '.join(MODES)}")
        defaults = cls()
        upload_root = Path(env["LAB_UPLOAD_ROOT"]) if env.get("LAB_UPLOAD_ROOT") else None
        roots = tuple(Path(p) for p in env.get("LAB_DATA_ROOTS", "").split(os.pathsep) if p)
        limits = UploadLimits(
            max_bytes=int(_number(env, "LAB_UPLOAD_MAX_MB", defaults.limits.max_mb) * 2**20),
            max_files=int(_number(env, "LAB_UPLOAD_MAX_FILES", defaults.limits.max_files)),
            max_pixels=int(_number(env, "LAB_MAX_PIXELS", defaults.limits.max_pixels)),
        )
        return cls(
            mode=mode,
            data_roots=roots,
            upload_root=upload_root or defaults.upload_root,
            allow_downloads=_flag(env, "LAB_ALLOW_DOWNLOADS", mode != "dashboard"),
            limits=limits,
        )


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise SettingsError(f"{name}={value!r}: use 1 (yes) or 0 (no)")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: give a positive number") from None
    if number <= 0:
        raise SettingsError(f"{name}={value!r}: give a positive number")
    return number


_current: LabSettings | None = None


def current() -> LabSettings:
    """The settings in force: the environment's, unless :func:`use` chose others."""
    global _current
    if _current is None:
        _current = LabSettings.from_env()
    return _current


def for_mode(mode: Mode, env: Mapping[str, str] | None = None) -> LabSettings:
    """The environment's settings with ``mode`` chosen (what a dashboard page calls).

    Defaults that depend on the mode (weight downloads) follow ``mode``; variables the
    operator set still apply.
    """
    values = dict(os.environ if env is None else env)
    values["LAB_MODE"] = mode
    return LabSettings.from_env(values)


def use(settings: LabSettings | None = None, **changes: object) -> LabSettings:
    """Put ``settings`` (or the current ones with ``changes``) in force and return them.

    ``use(mode="dashboard")`` is what the dashboard notebook calls; ``use(None)`` with no
    changes goes back to the environment's settings.
    """
    global _current
    if settings is None and not changes:
        _current = None
        return current()
    _current = (settings or current()).replace(**changes)
    return _current
