"""Fixtures shared by the core, widget and browser tests: files a participant might upload,
and a cache folder of the tests' own."""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True, scope="session")
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Latencies the tests measure, under the suite's own load, stay out of the user's
    cache, where ``make lab`` would show them; servers the tests start inherit this."""
    before = os.environ.get("LAB_CACHE_DIR")
    os.environ["LAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("lab-cache"))
    yield
    if before is None:
        os.environ.pop("LAB_CACHE_DIR", None)
    else:
        os.environ["LAB_CACHE_DIR"] = before


class UploadFiles:
    """Builds uploads in memory: small PNGs, zips of class folders, hostile files."""

    def png(self, size: int = 12, seed: int = 0, colour: int | None = None) -> bytes:
        rng = np.random.default_rng(seed)
        pixels = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        if colour is not None:
            pixels[..., colour] = 255  # a class the model can tell apart
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        return buffer.getvalue()

    def class_zip(
        self, classes: dict[str, int], top: str = "", extra: Iterable[tuple[str, bytes]] = ()
    ) -> bytes:
        """A zip of ``<top>/<class>/<i>.png``, each class a different dominant colour."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for c, (name, count) in enumerate(classes.items()):
                for i in range(count):
                    path = f"{top}/{name}/{i}.png" if top else f"{name}/{i}.png"
                    archive.writestr(path, self.png(seed=100 * c + i, colour=c % 3))
            for name, data in extra:
                archive.writestr(name, data)
        return buffer.getvalue()

    def zip_with_link(self, classes: dict[str, int], name: str, target: str) -> bytes:
        """A class zip plus a symbolic link entry ``name`` -> ``target``."""
        buffer = io.BytesIO(self.class_zip(classes))
        with zipfile.ZipFile(buffer, "a") as archive:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
        return buffer.getvalue()

    def empty_zip(self) -> bytes:
        buffer = io.BytesIO()
        zipfile.ZipFile(buffer, "w").close()
        return buffer.getvalue()

    def bomb_png(self, side: int = 15000) -> bytes:
        """A real ``side`` x ``side`` one-bit PNG: a few kB that decode to ``side**2`` pixels."""
        row = b"\x00" + b"\x00" * ((side + 7) // 8)
        compressor = zlib.compressobj(9)
        body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

        def chunk(kind: bytes, data: bytes) -> bytes:
            crc = zlib.crc32(kind + data) & 0xFFFFFFFF
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

        header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", body)
            + chunk(b"IEND", b"")
        )


@pytest.fixture
def uploads() -> UploadFiles:
    """Builders for uploaded files (see :class:`UploadFiles`)."""
    return UploadFiles()
