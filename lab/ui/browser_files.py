"""Files between the browser and the kernel: a chunked upload and a download button.

Both ride on the widget's comm. Jupyter's server (Tornado) closes a websocket whose
message exceeds ``websocket_max_message_size`` (10 MiB by default), and ipywidgets'
``FileUpload`` sends all its files in one message: an upload over that limit drops the
connection with no word to the user. :class:`FileDrop` instead checks the limits in the
browser before anything is sent, states them next to the button, and sends each file
in 1 MiB binary chunks; the kernel checks the same limits again. :class:`DownloadButton`
asks the kernel for a file when clicked and saves the answer with a Blob download, so
the file never needs a server path (messages from the kernel to the page are not
subject to that limit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anywidget
from traitlets import Bool, Int, Unicode

from lab.core.serving.settings import UploadLimits
from lab.core.serving.uploads import UploadError, check_upload_size

CHUNK_BYTES = 2**20

_UPLOAD_ESM = """
function mb(n) { return (n / 1048576).toFixed(1) + ' MB'; }
function render({ model, el }) {
  const input = document.createElement('input');
  input.type = 'file';
  input.accept = model.get('accept');
  input.multiple = model.get('multiple');
  input.style.display = 'none';
  const button = document.createElement('button');
  button.className = 'jupyter-button widget-button';
  button.textContent = model.get('description');
  button.addEventListener('click', () => input.click());
  const note = document.createElement('span');
  note.className = 'tl-upload-note';
  note.style.cssText = 'color:#666;font-size:90%;margin-left:8px';
  const limits = () => 'up to ' + mb(model.get('max_bytes')) + ' and ' +
    model.get('max_files') + ' files per upload';
  note.textContent = limits();
  input.addEventListener('change', async () => {
    const files = Array.from(input.files);
    input.value = '';
    if (!files.length) return;
    const meta = files.map(f => ({ name: f.name, size: f.size }));
    const total = meta.reduce((s, f) => s + f.size, 0);
    if (files.length > model.get('max_files') || total > model.get('max_bytes')) {
      // Nothing large goes over the socket: the kernel words the refusal.
      model.send({ kind: 'refused', files: meta });
      return;
    }
    const id = String(Date.now()) + Math.random().toString(16).slice(2);
    model.send({ kind: 'begin', id, files: meta });
    const chunk = model.get('chunk_bytes');
    for (let i = 0; i < files.length; i++) {
      note.textContent = 'sending ' + files[i].name + ' (' + (i + 1) + '/' + files.length + ')';
      const data = await files[i].arrayBuffer();
      for (let at = 0; at < data.byteLength; at += chunk) {
        model.send({ kind: 'chunk', id, file: i }, undefined, [data.slice(at, at + chunk)]);
      }
    }
    model.send({ kind: 'end', id });
    note.textContent = limits();
  });
  el.append(button, input, note);
}
export default { render };
"""

_DOWNLOAD_ESM = """
function render({ model, el }) {
  const button = document.createElement('button');
  button.className = 'jupyter-button widget-button';
  const label = () => { button.textContent = '\u2b07 ' + model.get('description'); };
  label();
  model.on('change:description', label);
  button.addEventListener('click', () => {
    button.disabled = true;
    model.send({ kind: 'request' });
  });
  model.on('msg:custom', (msg, buffers) => {
    button.disabled = false;
    if (msg.kind !== 'file' || !buffers.length) return;
    const blob = new Blob([buffers[0]], { type: msg.mime || 'application/octet-stream' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = msg.name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });
  el.append(button);
}
export default { render };
"""

#: Receives the uploaded ``(file name, bytes)`` pairs.
UploadHandler = Callable[[list[tuple[str, bytes]]], object]
#: Receives a message about an upload that was refused.
ErrorHandler = Callable[[str], None]


@dataclass
class _Transfer:
    names: list[str]
    sizes: list[int]
    parts: list[list[bytes]] = field(default_factory=list)
    received: int = 0


class FileDrop(anywidget.AnyWidget):
    """An upload button that checks limits in the browser and sends files in chunks."""

    _esm = _UPLOAD_ESM
    description = Unicode("Upload", help="The button's label.").tag(sync=True)
    accept = Unicode("", help="File types the browser offers, e.g. '.zip' or 'image/*'.").tag(
        sync=True
    )
    multiple = Bool(False, help="Whether several files may be chosen at once.").tag(sync=True)
    max_bytes = Int(UploadLimits().max_bytes, help="Total bytes one upload may hold.").tag(
        sync=True
    )
    max_files = Int(UploadLimits().max_files, help="Files one upload may hold.").tag(sync=True)
    chunk_bytes = Int(CHUNK_BYTES, help="Bytes per message while sending.").tag(sync=True)

    def __init__(self, limits: UploadLimits | None = None, **kwargs: Any) -> None:
        limits = limits or UploadLimits()
        super().__init__(max_bytes=limits.max_bytes, max_files=limits.max_files, **kwargs)
        self._handlers: list[UploadHandler] = []
        self._error_handlers: list[ErrorHandler] = []
        self._transfers: dict[str, _Transfer] = {}
        self.on_msg(self._on_message)

    @property
    def limits(self) -> UploadLimits:
        return UploadLimits(self.max_bytes, self.max_files)

    def on_upload(self, handler: UploadHandler) -> None:
        """Call ``handler(files)`` with each complete upload."""
        self._handlers.append(handler)

    def on_error(self, handler: ErrorHandler) -> None:
        """Call ``handler(message)`` when an upload is refused."""
        self._error_handlers.append(handler)

    def receive(self, files: Sequence[tuple[str, bytes]]) -> None:
        """Hand over a complete upload (what the browser's chunks add up to)."""
        try:
            check_upload_size([len(data) for _, data in files], self.limits)
        except UploadError as error:
            self._refuse(str(error))
            return
        for handler in self._handlers:
            handler(list(files))

    def _refuse(self, message: str) -> None:
        for handler in self._error_handlers:
            handler(message)

    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("kind")
        files = content.get("files") or []
        if kind == "refused":
            sizes = [int(f.get("size", 0)) for f in files]
            try:
                check_upload_size(sizes, self.limits)
            except UploadError as error:
                self._refuse(str(error))
        elif kind == "begin":
            self._begin(str(content.get("id", "")), files)
        elif kind == "chunk":
            self._chunk(str(content.get("id", "")), int(content.get("file", 0)), buffers)
        elif kind == "end":
            self._end(str(content.get("id", "")))

    def _begin(self, transfer_id: str, files: list[dict[str, Any]]) -> None:
        sizes = [int(f.get("size", 0)) for f in files]
        try:
            check_upload_size(sizes, self.limits)
        except UploadError as error:
            self._refuse(str(error))
            return
        names = [str(f.get("name", "file")) for f in files]
        self._transfers[transfer_id] = _Transfer(names, sizes, [[] for _ in files])

    def _chunk(self, transfer_id: str, index: int, buffers: list[Any]) -> None:
        transfer = self._transfers.get(transfer_id)
        if transfer is None or not 0 <= index < len(transfer.parts):
            return  # refused at the start, or not announced: dropped
        for buffer in buffers:
            data = bytes(buffer)
            transfer.received += len(data)
            transfer.parts[index].append(data)
        if transfer.received > sum(transfer.sizes):
            del self._transfers[transfer_id]
            self._refuse("the upload sent more data than it announced: upload it again")

    def _end(self, transfer_id: str) -> None:
        transfer = self._transfers.pop(transfer_id, None)
        if transfer is None:
            return
        files = [(n, b"".join(p)) for n, p in zip(transfer.names, transfer.parts, strict=True)]
        self.receive(files)


#: Makes a download on request: ``() -> (file name, MIME type, bytes)``.
FileMaker = Callable[[], tuple[str, str, bytes]]


class DownloadButton(anywidget.AnyWidget):
    """A button that downloads the file ``maker()`` returns, in the browser."""

    _esm = _DOWNLOAD_ESM
    description = Unicode("Download", help="The button's label.").tag(sync=True)

    def __init__(self, maker: FileMaker, on_error: ErrorHandler, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.maker, self._on_error = maker, on_error
        self.on_msg(self._on_message)

    def make(self) -> tuple[str, str, bytes] | None:
        """Build the file and send it to the page; None (and a message) if it fails."""
        try:
            name, mime, data = self.maker()
        except Exception as error:  # noqa: BLE001 - shown in the panel, the kernel lives
            self._on_error(f"Could not prepare {self.description}: {error}")
            self.send({"kind": "failed"})
            return None
        self.send({"kind": "file", "name": name, "mime": mime}, [data])
        return name, mime, data

    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if content.get("kind") == "request":
            self.make()
