"""The settings object and the data-root check of dashboard mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.core.data import DataError
from lab.core.data.roots import DataRoot, resolve_folder
from lab.core.serving import settings
from lab.core.serving.settings import LabSettings, SettingsError


def test_defaults_are_jupyterlab_mode_with_downloads():
    values = LabSettings.from_env({})
    assert values.mode == "jupyterlab" and not values.dashboard and values.allow_downloads
    assert values.data_roots == () and values.limits.max_bytes == 10 * 2**20


def test_dashboard_mode_from_the_environment(tmp_path):
    env = {
        "LAB_MODE": "dashboard",
        "LAB_DATA_ROOTS": f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}",
        "LAB_UPLOAD_ROOT": str(tmp_path / "up"),
        "LAB_UPLOAD_MAX_MB": "2.5",
        "LAB_UPLOAD_MAX_FILES": "7",
        "LAB_MAX_PIXELS": "1000",
    }
    values = LabSettings.from_env(env)
    assert values.dashboard and not values.allow_downloads  # the dashboard default
    assert values.roots == ((tmp_path / "a").resolve(), (tmp_path / "b").resolve())
    assert values.upload_root == tmp_path / "up"
    assert values.limits.max_bytes == int(2.5 * 2**20) and values.limits.max_files == 7
    assert LabSettings.from_env({**env, "LAB_ALLOW_DOWNLOADS": "yes"}).allow_downloads


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LAB_MODE": "kiosk"}, "LAB_MODE"),
        ({"LAB_ALLOW_DOWNLOADS": "maybe"}, "LAB_ALLOW_DOWNLOADS"),
        ({"LAB_UPLOAD_MAX_MB": "-1"}, "LAB_UPLOAD_MAX_MB"),
        ({"LAB_MAX_PIXELS": "lots"}, "LAB_MAX_PIXELS"),
    ],
)
def test_bad_values_name_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        LabSettings.from_env(env)


def test_for_mode_keeps_the_operators_variables(monkeypatch):
    monkeypatch.setenv("LAB_UPLOAD_MAX_FILES", "9")
    monkeypatch.delenv("LAB_ALLOW_DOWNLOADS", raising=False)
    chosen = settings.for_mode("dashboard")
    assert chosen.dashboard and not chosen.allow_downloads and chosen.limits.max_files == 9
    try:
        assert settings.use(chosen) is settings.current()
    finally:
        settings.use(None)
    assert settings.current().limits.max_files == 9


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    (tmp_path / "shared" / "flowers" / "rose").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (tmp_path / "shared" / "escape").symlink_to(tmp_path / "secret")
    return DataRoot.of(tmp_path / "shared")


def test_paths_inside_a_root_resolve_and_show_without_the_server_path(root):
    path, shown = resolve_folder("flowers", [root])
    assert path == root.path / "flowers" and shown == "shared/flowers"
    assert resolve_folder("shared/flowers", [root])[0] == path
    assert resolve_folder(str(root.path / "flowers" / "rose" / ".."), [root])[0] == path


@pytest.mark.parametrize(
    "typed", ["/etc", "../secret", "flowers/../../secret", "escape", "~", "~/x", "/"]
)
def test_paths_that_leave_the_roots_are_refused_naming_the_roots_only(root, typed):
    with pytest.raises(DataError) as error:
        resolve_folder(typed, [root])
    message = str(error.value)
    assert "'shared'" in message and "outside" in message
    assert str(root.path) not in message and str(root.path.parent) not in message


def test_no_roots_means_uploads_only(root):
    with pytest.raises(DataError, match="LAB_DATA_ROOTS"):
        resolve_folder("flowers", [])
