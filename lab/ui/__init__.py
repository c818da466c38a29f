"""The lab's widgets: ``TransferLab()`` shows all seven steps in a notebook or Voilà."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.ui.app import TransferLab

__all__ = ["TransferLab"]


def __getattr__(name: str) -> Any:
    # Imported on first use so the pump and panels load without the whole app.
    if name == "TransferLab":
        from lab.ui.app import TransferLab

        return TransferLab
    raise AttributeError(f"module 'lab.ui' has no attribute {name!r}")
