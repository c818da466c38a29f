"""'Your images': upload a zip of class folders, or build classes one by one in the page.

Everything lands in the session's :class:`~lab.core.serving.uploads.UploadStore`; this panel
only turns clicks and uploads into store calls and shows what happened. Refused files
are named in the message, the rest of an upload still comes in, and nothing uploaded
before is touched by a refused upload.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from lab.core.data import DataError
from lab.core.data.images import open_rgb
from lab.core.serving.uploads import UploadReport, UploadStore
from lab.ui.browser_files import FileDrop
from lab.ui.errors import guard
from lab.ui.widgets_common import (
    clear_error,
    error_box,
    help_line,
    image_grid_png,
    show_error,
    show_png,
)
from lab.ui.widgets_common import with_classes as css

THUMBNAILS = 8


class UploadPanel(widgets.VBox):
    """The 'your images' source of the data panel; ``on_change`` hears every change."""

    def __init__(self, store: UploadStore, on_change: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.store, self.on_change = store, on_change or (lambda: None)
        self.zip_drop = css(
            FileDrop(store.limits, description="Upload a zip of class folders", accept=".zip"),
            "tl-data-upload",
        )
        self.zip_drop.on_upload(guard(self, self._on_zip))
        self.zip_drop.on_error(self.fail)
        self.new_class = css(widgets.Text(placeholder="class name, e.g. cat"), "tl-new-class")
        self.add_button = css(widgets.Button(description="Add class", icon="plus"), "tl-add-class")
        self.add_button.on_click(guard(self, lambda _b: self.create_class(self.new_class.value)))
        self.rows = css(widgets.VBox([]), "tl-class-rows")
        self.message = css(widgets.HTML(""), "tl-upload-message")
        self.error = error_box()
        editor = css(
            widgets.VBox([widgets.HBox([self.new_class, self.add_button]), self.rows]),
            "tl-class-editor",
        )
        self.children = [help_line("upload"), self.zip_drop, editor, self.message, self.error]
        css(self, "tl-upload-panel")
        self.refresh()

    # -- user actions (kernel main thread) ----------------------------------------
    def create_class(self, name: str) -> bool:
        """Create a class; False (and a message) if the name is unusable."""
        return self._act(lambda: f"added class {self.store.add_class(name)!r}", clear_name=True)

    def rename_class(self, old: str, new: str) -> bool:
        """Rename a class; its images move with it."""
        return self._act(lambda: f"renamed {old!r} to {self.store.rename_class(old, new)!r}")

    def delete_class(self, name: str) -> bool:
        """Delete a class and its images."""

        def remove() -> str:
            self.store.remove_class(name)
            return f"removed class {name!r}"

        return self._act(remove)

    def delete_image(self, class_name: str, file_name: str) -> bool:
        """Delete one image of a class."""

        def remove() -> str:
            self.store.remove_image(class_name, file_name)
            return f"removed {file_name!r} from {class_name!r}"

        return self._act(remove)

    def upload_images(self, class_name: str, files: list[tuple[str, bytes]]) -> bool:
        """Add uploaded images to a class (what a class row's upload button calls)."""
        return self._act(lambda: self._report(self.store.add_images(class_name, files)))

    def upload_zip(self, data: bytes) -> bool:
        """Add the images of a zip of class folders."""
        return self._act(lambda: self._report(self.store.add_zip(data), from_zip=True))

    def fail(self, message: str) -> None:
        """Show why an action or upload was refused (what was there stays)."""
        self.message.value = ""
        show_error(self.error, message)

    def _on_zip(self, files: list[tuple[str, bytes]]) -> None:
        if files:
            self.upload_zip(files[0][1])

    def _act(self, action: Callable[[], str], clear_name: bool = False) -> bool:
        clear_error(self.error)
        try:
            text = action()
        except DataError as error:
            self.fail(str(error))
            return False
        except OSError as error:
            self.fail(f"could not write the upload ({error.strerror}): try again or ask the host")
            return False
        if clear_name:
            self.new_class.value = ""
        self.refresh()
        self.message.value = html.escape(text)
        self.on_change()
        return True

    def _report(self, report: UploadReport, from_zip: bool = False) -> str:
        text = report.summary()
        classes = self.store.classes()
        if from_zip and len(report.added) == 1:
            only = next(iter(report.added))
            text += (
                f" · this zip holds a single class ({only!r}): a classifier needs at least "
                "two, so add another class or upload a zip with one folder per class"
            )
        elif len(classes) == 1:
            only = next(iter(classes))
            text += f" · only one class so far ({only!r}): a classifier needs at least two"
        if report.refused and not report.n_added:
            raise DataError(text)
        return text

    # -- drawing ------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw one row per class: name, count, thumbnails, its controls."""
        for row in self.rows.children:
            row.close()
        self.rows.children = [
            self._row(name, files) for name, files in self.store.classes().items()
        ]

    def _row(self, name: str, files: list[str]) -> widgets.Widget:
        count = css(
            widgets.HTML(f"<b>{html.escape(name)}</b> · {len(files)} image(s)"), "tl-class-count"
        )
        drop = css(
            FileDrop(self.store.limits, description="Add images", accept="image/*", multiple=True),
            "tl-class-upload",
        )
        drop.on_upload(guard(self, lambda uploaded: self.upload_images(name, uploaded)))
        drop.on_error(self.fail)
        rename = css(widgets.Text(value=name, layout={"width": "140px"}), "tl-class-rename")
        rename_button = css(widgets.Button(description="Rename"), "tl-rename-class")
        rename_button.on_click(guard(self, lambda _b: self.rename_class(name, rename.value)))
        remove = css(widgets.Button(description="Remove class", icon="trash"), "tl-remove-class")
        remove.on_click(guard(self, lambda _b: self.delete_class(name)))
        pick = css(widgets.Dropdown(options=files, layout={"width": "160px"}), "tl-image-select")
        drop_image = css(widgets.Button(description="Remove image"), "tl-remove-image")
        drop_image.on_click(
            guard(self, lambda _b: pick.value and self.delete_image(name, pick.value))
        )
        thumbs = css(widgets.Image(format="png"), "tl-class-thumbs")
        self._thumbnails(thumbs, name)
        controls = widgets.HBox([drop, rename, rename_button, remove, pick, drop_image])
        return css(widgets.VBox([count, thumbs, controls]), "tl-class-row")

    def _thumbnails(self, target: widgets.Image, name: str) -> None:
        images = []
        for path in self.store.files(name)[:THUMBNAILS]:
            try:
                images.append(open_rgb(path))
            except DataError:
                continue  # checked on upload; a file changed since is left out of the strip
        if images:
            show_png(target, image_grid_png([("", images)], cell=48, label_width=4))
        else:
            target.layout.display = "none"
