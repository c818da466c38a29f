"""Images that participants upload: safety checks on zips and images, and the store.

``archive`` reads a zip of class folders without trusting it, ``checks`` decides whether
one uploaded file is a usable image, and ``store`` keeps a session's classes and images
in a folder that loads like any image folder.
"""

from .archive import ArchiveEntry, read_class_zip
from .checks import UploadError, check_image_bytes, check_upload_size, safe_name
from .store import UploadReport, UploadStore

__all__ = [
    "ArchiveEntry",
    "UploadError",
    "UploadReport",
    "UploadStore",
    "check_image_bytes",
    "check_upload_size",
    "read_class_zip",
    "safe_name",
]
