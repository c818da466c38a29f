"""The lab's widgets: ``TransferLab()`` shows all seven steps in a notebook or Voilà."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.ui.app import TransferLab

__all__ = ["TransferLab", "dashboard"]


def dashboard(**kwargs: Any) -> TransferLab:
    """The lab in dashboard mode (what ``notebooks/dashboard.ipynb`` shows).

    Typed folders are limited to the data roots, uploads go to a per-session folder
    (deleted when the kernel shuts down), results leave through browser downloads; see
    :mod:`lab.core.serving.settings` for the environment variables the host sets.
    """
    import atexit

    from lab.core.serving import settings
    from lab.ui.app import TransferLab

    app = TransferLab(settings=settings.use(settings.for_mode("dashboard")), **kwargs)
    # A participant's images leave with their kernel (a normal shutdown runs atexit).
    atexit.register(app.data_panel.uploads.store.clear)
    return app


def __getattr__(name: str) -> Any:
    # Imported on first use so the pump and panels load without the whole app.
    if name == "TransferLab":
        from lab.ui.app import TransferLab

        return TransferLab
    raise AttributeError(f"module 'lab.ui' has no attribute {name!r}")
