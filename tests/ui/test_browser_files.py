"""The chunked upload and the download button, driven by the messages the page sends."""

from __future__ import annotations

from typing import Any

from lab.core.serving.settings import UploadLimits
from lab.ui.browser_files import CHUNK_BYTES, DownloadButton, FileDrop


def _drop(limits: UploadLimits) -> tuple[FileDrop, list[Any], list[str]]:
    drop = FileDrop(limits)
    got: list[Any] = []
    errors: list[str] = []
    drop.on_upload(got.append)
    drop.on_error(errors.append)
    return drop, got, errors


def _send(drop: FileDrop, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
    drop._on_message(drop, content, [memoryview(b) for b in buffers or []])


def test_chunks_add_up_to_the_files_in_order():
    drop, got, errors = _drop(UploadLimits())
    first, second = b"a" * (CHUNK_BYTES + 10), b"second file"
    files = [{"name": "1.png", "size": len(first)}, {"name": "2.png", "size": len(second)}]
    _send(drop, {"kind": "begin", "id": "t", "files": files})
    _send(drop, {"kind": "chunk", "id": "t", "file": 0}, [first[:CHUNK_BYTES]])
    _send(drop, {"kind": "chunk", "id": "t", "file": 0}, [first[CHUNK_BYTES:]])
    _send(drop, {"kind": "chunk", "id": "t", "file": 1}, [second])
    _send(drop, {"kind": "end", "id": "t"})
    assert got == [[("1.png", first), ("2.png", second)]] and errors == []


def test_an_announced_upload_over_the_limit_is_refused_before_any_chunk():
    drop, got, errors = _drop(UploadLimits(max_bytes=100, max_files=2))
    _send(drop, {"kind": "begin", "id": "t", "files": [{"name": "big.zip", "size": 101}]})
    _send(drop, {"kind": "chunk", "id": "t", "file": 0}, [b"x" * 101])
    _send(drop, {"kind": "end", "id": "t"})
    assert got == [] and len(errors) == 1 and "LAB_UPLOAD_MAX_MB" in errors[0]
    files = [{"name": f"{i}.png", "size": 1} for i in range(3)]
    _send(drop, {"kind": "refused", "files": files})
    assert "LAB_UPLOAD_MAX_FILES" in errors[1]


def test_more_data_than_announced_is_dropped_with_a_message():
    drop, got, errors = _drop(UploadLimits())
    _send(drop, {"kind": "begin", "id": "t", "files": [{"name": "a.png", "size": 3}]})
    _send(drop, {"kind": "chunk", "id": "t", "file": 0}, [b"abcdef"])
    _send(drop, {"kind": "end", "id": "t"})
    assert got == [] and "more data than it announced" in errors[0]
    _send(drop, {"kind": "chunk"})  # malformed: ignored, no exception
    _send(drop, {"kind": "end"})


def test_download_button_sends_the_file_or_the_reason(comm_log):
    errors: list[str] = []
    button = DownloadButton(lambda: ("a.csv", "text/csv", b"x,y\n"), errors.append)
    assert button.make() == ("a.csv", "text/csv", b"x,y\n")
    sent = [m[2].get("content") for m in comm_log.messages if m[2].get("method") == "custom"]
    assert {"kind": "file", "name": "a.csv", "mime": "text/csv"} in sent
    failing = DownloadButton(lambda: (_ for _ in ()).throw(RuntimeError("no run")), errors.append)
    assert failing.make() is None and "no run" in errors[0]
