"""Where computation happens: the device and precision, memory layout, freeing memory.

Used by data, models and training alike, so it imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lab.core.hardware.device import DEVICE_CHOICES, DeviceSetup, resolve_device, setup_device
    from lab.core.hardware.layout import LAYOUTS, choose_layout
    from lab.core.hardware.memory import release_memory

__all__ = [
    "DEVICE_CHOICES",
    "DeviceSetup",
    "LAYOUTS",
    "choose_layout",
    "release_memory",
    "resolve_device",
    "setup_device",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".device": ("DEVICE_CHOICES", "DeviceSetup", "resolve_device", "setup_device"),
        ".layout": ("LAYOUTS", "choose_layout"),
        ".memory": ("release_memory",),
    },
    ("device", "layout", "memory"),
)
