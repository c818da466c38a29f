"""Each participant's single-user server: the dashboard through Voilà's server extension,
with the same kernel culling and shutdown settings as ``make lab`` (read from the
repository's ``voila.json``, so they are set in one place)."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVING = json.loads((REPO / "voila.json").read_text())

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by Jupyter Server

for section in ("MappingKernelManager", "KernelManager"):
    for name, value in SERVING[section].items():
        setattr(c[section], name, value)
c.VoilaConfiguration.theme = "light"
# Participants see the dashboard only: no file browser or notebooks behind it.
c.ServerApp.default_url = "/voila/render/dashboard.ipynb"
# No terminals for participants (the dashboard needs none).
c.ServerApp.terminals_enabled = False
