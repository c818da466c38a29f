"""'Show code': the current run as a plain PyTorch script, highlighted and downloadable.

The script comes from :meth:`RunConfig.to_script`; the download is a ``data:`` link,
so it works in a Voilà dashboard where the participant has only a browser.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from lab.core.training.config import RunConfig
from lab.ui.errors import guard
from lab.ui.widgets_common import clear_error, error_box, show_error, with_classes

SCRIPT_NAME = "train.py"
_BOX_STYLE = "max-height:420px;overflow:auto;border:1px solid #ddd;font-size:85%"


def script_html(source: str) -> str:
    """``source`` highlighted as Python (inline styles: no stylesheet needed)."""
    formatter = HtmlFormatter(noclasses=True, style="friendly")
    return f'<div style="{_BOX_STYLE}">{highlight(source, PythonLexer(), formatter)}</div>'


def download_link(source: str, name: str = SCRIPT_NAME) -> str:
    """An ``<a download>`` link carrying ``source`` in a data URL."""
    data = base64.b64encode(source.encode()).decode("ascii")
    return (
        f'<a class="tl-download-script" download="{html.escape(name)}" '
        f'href="data:text/x-python;base64,{data}">&#11015; Download {html.escape(name)}</a>'
    )


class ShowCode(widgets.VBox):
    """A "Show code" button; the script of ``config()`` appears below it with a download."""

    def __init__(self, config: Callable[[], RunConfig], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config = config
        self.button = with_classes(
            widgets.Button(description="Show code", icon="code", tooltip=_TOOLTIP),
            "tl-show-code",
        )
        self.button.on_click(guard(self, self._on_show_clicked))
        self.download = with_classes(widgets.HTML(""), "tl-download-script")
        self.code = with_classes(widgets.HTML(""), "tl-script-code")
        self.error = error_box()
        self.source = ""
        self.children = [self.button, self.error, self.download, self.code]
        with_classes(self, "tl-show-code-box")

    def _on_show_clicked(self, _button: widgets.Button) -> None:
        self.show()

    def show(self) -> str | None:
        """Render the script of the current settings; on bad settings show why instead."""
        try:
            source = self._config().to_script()
        except (ValueError, KeyError) as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            show_error(self.error, str(message))
            return None
        clear_error(self.error)
        self.source = source
        with self.hold_sync():
            self.download.value = download_link(source)
            self.code.value = script_html(source)
        return source


_TOOLTIP = (
    "The run as a plain PyTorch script (torch, torchvision, numpy, Pillow): read it, "
    "download it, run it with `python train.py`."
)
