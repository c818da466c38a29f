"""How the lab is hosted: the one settings object (JupyterLab or dashboard mode, data
roots, upload limits), the uploads of a dashboard session, and runs that stop and save
when their process ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lab.core.serving.settings import LabSettings, SettingsError, UploadLimits
    from lab.core.serving.uploads import UploadError, UploadStore

__all__ = [
    "LabSettings",
    "SettingsError",
    "UploadError",
    "UploadLimits",
    "UploadStore",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".settings": ("LabSettings", "SettingsError", "UploadLimits"),
        ".uploads": ("UploadError", "UploadStore"),
    },
    ("settings", "shutdown", "uploads"),
)
