"""What a run leaves behind: run folders written as it goes and read back (damaged
ones too), crash-safe writes, model exports, the standalone training script and the
files a participant takes home.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lab.core.runs.export import export_model
    from lab.core.runs.run_folder import read_run_folder
    from lab.core.runs.saved import LoadedRun, RunRecorder, list_runs, load_run
    from lab.core.runs.script import render_script

__all__ = [
    "LoadedRun",
    "RunRecorder",
    "export_model",
    "list_runs",
    "load_run",
    "read_run_folder",
    "render_script",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".export": ("export_model",),
        ".run_folder": ("read_run_folder",),
        ".saved": ("LoadedRun", "RunRecorder", "list_runs", "load_run"),
        ".script": ("render_script",),
    },
    ("atomic", "export", "run_folder", "saved", "saved_model", "script", "take_home"),
)
