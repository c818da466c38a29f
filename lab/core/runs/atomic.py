"""Writes that survive a crash or a full disk.

A file is written to ``name.tmp`` in the same folder, flushed and fsynced, then moved
onto its final name with ``os.replace``: a reader sees the old file or the new one,
never half of one. A failed write removes the temporary file and keeps the last good
file. A full disk (``ENOSPC``, ``EDQUOT``, or torch's own words for it) becomes a
:class:`DiskFull` that says where, how much was needed and how much was free.

A writer holds a lock on its temporary file while it writes it, so a process killed
mid-write leaves one that nobody holds: :func:`remove_stale` takes those away.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: stale temporaries are then judged by their age alone
    fcntl = None  # type: ignore[assignment]

TEMP_SUFFIX = ".tmp"
#: Where earlier versions wrote their temporaries; nothing writes these names now.
LEGACY_SUFFIXES = (".partial",)
# No writer of this process made a file older than this.
_LOADED = time.time()
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# torch's zip writer reports a short write (a full disk) as a RuntimeError.
_TORCH_SHORT_WRITE = ("unexpected pos", "file write failed", "inline_container")


class DiskFull(OSError):
    """Writing ``path`` failed because its disk (or quota) is full."""

    def __init__(self, path: Path, needed: int | None = None) -> None:
        self.path, self.needed = Path(path), needed
        self.free = free_bytes(self.path.parent)
        super().__init__(errno.ENOSPC, self._message())

    def _message(self) -> str:
        need = f"; it needed {_size(self.needed)}" if self.needed else ""
        free = f", {_size(self.free)} free" if self.free is not None else ""
        return (
            f"the disk is full: could not write {self.path}{need}{free}. Free some space "
            f"in {self.path.parent} (or set runs_dir to a disk with room) and try again"
        )

    def __str__(self) -> str:
        return self._message()


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def free_bytes(folder: Path) -> int | None:
    """Free space where ``folder`` lives, or None when it cannot be asked."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or quota) is full, whichever layer raised it."""
    if isinstance(exc, DiskFull):
        return True
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(s in text for s in _TORCH_SHORT_WRITE)


def temp_path(path: Path) -> Path:
    """The temporary name ``path`` is written under before it is renamed into place."""
    return path.with_name(path.name + TEMP_SUFFIX)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# One name for every write of this module: tests put a full disk here.
_write = os.write


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[_write(fd, view) :]


def _full(exc: BaseException, path: Path, needed: int | None) -> BaseException:
    return DiskFull(path, needed) if is_disk_full(exc) and not isinstance(exc, DiskFull) else exc


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _locked_temporary(tmp: Path) -> Iterator[int]:
    """``tmp`` created empty and locked until the block ends; yields its descriptor."""
    while True:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            break  # a file system without locks: a cleaner cannot lock it either
        if fcntl is None or _same_file(tmp, fd):
            break
        os.close(fd)  # removed as stale between our open and our lock: make another
    try:
        os.ftruncate(fd, 0)  # under the lock: a second writer waits instead of cutting in
        yield fd
    except BaseException:
        if _same_file(tmp, fd):  # a failed write leaves nothing behind
            tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        with _locked_temporary(tmp) as fd:
            _write_all(fd, data)
            os.fsync(fd)
            os.replace(tmp, path)
    except BaseException as exc:
        error = _full(exc, path, len(data))
        if error is exc:
            raise
        raise error from exc
    _fsync_dir(path.parent)
    return path


def replace_with(path: str | Path, produce: Callable[[Path], Any]) -> Path:
    """``produce(tmp)`` writes a file (a library that wants a path); then it moves into place."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        # The library opens the file again by name: the same file, so our lock covers it.
        with _locked_temporary(tmp):
            produce(tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
    except BaseException as exc:
        error = _full(exc, path, None)
        if error is exc:
            raise
        raise error from exc
    _fsync_dir(path.parent)
    return path


def _remove_if_unheld(tmp: Path, legacy: bool) -> bool:
    try:
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False  # gone already, a link, or not ours to open
    try:
        if (fcntl is None or legacy) and os.fstat(fd).st_mtime >= _LOADED:
            return False  # no lock to ask: only a file older than this process is surely stale
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # a writer holds it
        if not _same_file(tmp, fd):
            return False
        tmp.unlink()  # still under the lock: a writer that opened it meanwhile starts anew
        return True
    except OSError:
        return False  # a folder we may read but not change
    finally:
        os.close(fd)


def remove_stale(folder: str | Path, names: Iterable[str]) -> list[str]:
    """Remove the temporaries of ``names`` in ``folder`` that no writer holds any more.

    A process killed mid-write leaves its temporary behind; one being written (by this
    process or another) is locked and stays. Returns the names of the removed files.
    """
    removed = []
    for name in names:
        for suffix in (TEMP_SUFFIX, *LEGACY_SUFFIXES):
            tmp = Path(folder) / (name + suffix)
            if (
                tmp.is_file()
                and not tmp.is_symlink()
                and _remove_if_unheld(tmp, suffix != TEMP_SUFFIX)
            ):
                removed.append(tmp.name)
    return removed


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, values: Any) -> Path:
    """Write ``values`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(values, indent=2))


def serialize_torch(obj: Any, save: Callable[..., Any] | None = None, **kwargs: Any) -> bytes:
    """What ``torch.save(obj)`` (or ``save(obj, file, **kwargs)``) would write, in memory.

    Serialising first tells how many bytes the file needs, which a full disk's message
    then names.
    """
    import torch

    buffer = io.BytesIO()
    (save or torch.save)(obj, buffer, **kwargs)
    return buffer.getvalue()


def write_torch(path: str | Path, obj: Any) -> Path:
    """``torch.save(obj)`` to ``path`` atomically."""
    return write_bytes(path, serialize_torch(obj))


class AppendLog:
    """An append-only log of lines: each line goes whole or not at all.

    A failed append (a full disk) cuts the file back to where it was, so no half line
    is left for the next one to be glued onto.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, line: str) -> None:
        """Append ``line`` (with its newline)."""
        if self._fd is None:
            raise ValueError(f"{self.path}: the log is closed")
        data = line.encode("utf-8")
        start = os.fstat(self._fd).st_size
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)
            error = _full(exc, self.path, len(data))
            if error is exc:
                raise
            raise error from exc

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
