"""Typed folder paths in dashboard mode: they must resolve inside an allowed data root.

A participant of a served dashboard reaches the server only through the page, so a
path box that reads any folder would show them the server's disk. :func:`resolve_folder`
resolves ``~``, ``..`` and symlinks first, then checks the result against the roots, and
its messages name roots by their folder name, never by their absolute server path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError


@dataclass(frozen=True)
class DataRoot:
    """An allowed folder and the name messages call it by."""

    path: Path
    name: str

    @classmethod
    def of(cls, path: str | Path, name: str | None = None) -> DataRoot:
        resolved = Path(path).expanduser().resolve()
        return cls(resolved, name or resolved.name or "data")


def _candidates(text: str, roots: Sequence[DataRoot]) -> list[Path]:
    typed = Path(text)
    if typed.is_absolute() or text.startswith("~"):
        return [typed.expanduser()]
    # "flowers/train" is looked up in every root; "shared/flowers" may name the root too.
    found = []
    for root in roots:
        if typed.parts and typed.parts[0] == root.name:
            found.append(root.path.joinpath(*typed.parts[1:]))
        found.append(root.path / typed)
    return found


def resolve_folder(text: str, roots: Sequence[DataRoot]) -> tuple[Path, str]:
    """The folder ``text`` names inside one of ``roots``, and how messages may show it.

    A relative path names the first root where it exists (else the first root); an
    absolute path or ``~`` is taken as it is. Either is accepted only if it still lies
    inside a root once ``~``, ``..`` and symbolic links are resolved; otherwise a
    DataError names the allowed roots (by name, not by server path).
    """
    text = text.strip()
    names = ", ".join(repr(root.name) for root in roots)
    if not roots:
        raise DataError(
            "this server allows no typed folder paths (LAB_DATA_ROOTS is empty): "
            "upload your images with 'Your images' instead"
        )
    if not text:
        raise DataError(f"path='': type a folder inside one of the data folders {names}")
    candidates = _candidates(text, roots)
    typed = next((p for p in candidates if p.exists() or p.is_symlink()), candidates[0])
    path = typed.resolve()
    root = next((r for r in roots if _within(path, r.path)), None)
    if root is None:
        raise DataError(
            f"path={text!r} lies outside the data folders this server allows ({names}), "
            "after following '..', '~' and symbolic links: type a folder inside one of "
            "them, e.g. " + repr(f"{roots[0].name}/<your folder>")
        )
    return path, display_path(path, root)


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def display_path(path: Path, root: DataRoot) -> str:
    """``path`` as ``<root name>/<relative part>``: safe to show to a participant."""
    relative = path.relative_to(root.path).as_posix()
    return root.name if relative == "." else f"{root.name}/{relative}"


def scrub(message: str, path: Path, shown: str) -> str:
    """``message`` with the absolute ``path`` replaced by its displayable form."""
    return message.replace(str(path), shown)
