"""Step 4's "Show code", and a config the dashboard saved, trained from the command line."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ui_helpers import wait_until

from lab import cli
from lab.core.runs.saved import list_runs, load_run
from lab.ui import TransferLab
from tests.core.shape_images import write_shapes


@pytest.fixture
def make_app() -> Iterator[Callable[..., TransferLab]]:
    apps: list[TransferLab] = []

    def make(runs_dir: Path) -> TransferLab:
        app = TransferLab(runs_dir=str(runs_dir))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def on_shapes(app: TransferLab, folder: Path) -> None:
    data = app.data_panel
    data.dataset_name, data.path = "folder", str(folder)
    data.n_per_class, data.image_size, data.val_fraction = 10, 64, 0.25
    app.train_panel.epochs, app.train_panel.batch_size = 1, 8


def test_show_code_highlights_the_script_and_offers_it_as_a_download(make_app, tmp_path):
    app = make_app(tmp_path / "runs")
    on_shapes(app, write_shapes(tmp_path / "shapes", n_per_class=6))
    show = app.show_code
    assert show in app.train_panel.children and "tl-show-code" in show.button._dom_classes
    show.button.click()
    source = app.config().to_script()
    assert show.source == source and "<span" in show.code.value and "build_model" in show.code.value
    link = re.search(
        r'class="tl-download-script" download="train.py" href="([^"]+)"', show.download.value
    )
    assert link is not None and "tl-download-script" in show.download._dom_classes
    encoded = link.group(1).removeprefix("data:text/x-python;base64,")
    assert base64.b64decode(encoded).decode() == source
    assert show.error.layout.display == "none"


def test_show_code_explains_a_model_it_cannot_write_out(make_app, tmp_path):
    app = make_app(tmp_path / "runs")
    app.model_panel.model_key = "tf_efficientnet_lite0.in1k"
    app.show_code.button.click()
    assert app.show_code.error.layout.display != "none"
    assert "torchvision" in app.show_code.error.value and app.show_code.code.value == ""


def test_a_config_the_dashboard_saved_trains_headless_into_the_compare_tab(
    make_app, tmp_path, capsys
):
    app = make_app(tmp_path / "runs")
    on_shapes(app, write_shapes(tmp_path / "shapes", n_per_class=8))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(app.config().to_dict()))  # what each run's config.json holds
    assert cli.main(["train", str(path), "--quiet"]) == 0
    assert re.search(r"^val_acc=\d\.\d{4}$", capsys.readouterr().out, re.M)
    (run_dir,) = list_runs(tmp_path / "runs")
    run = load_run(run_dir)
    assert run.config == app.config() and run.history.state == "completed" and run.model
    again = make_app(tmp_path / "runs")
    again.compare_panel.load_button.click()
    wait_until(lambda: "saved run" in again.compare_panel.info.value, what="saved runs")
    assert again.compare_panel.select.options == (run_dir.name,)
