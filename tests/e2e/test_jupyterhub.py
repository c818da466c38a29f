"""The workshop recipe: JupyterHub with ``deploy/jupyterhub/``, three participants at once.

The hub runs on 127.0.0.1 with the repository's config (shared password, one local
single-user server per participant, the dashboard through Voilà). Three people log in
in their own browser contexts, land on their own dashboard, and each trains a small run
to completion. Stopping the hub must end the proxy, the servers and their kernels.
"""

from __future__ import annotations

import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM_ARGS, JupyterServer, free_port
from dashboard_steps import start_small_run, wait_until_usable

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
HUB_CONFIG = REPO_ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
PROXY = REPO_ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "workshop-password"
USERS = ("ada", "grace", "alan")


@pytest.fixture(scope="module")
def hub(server_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    hub_bin = Path(sys.executable).with_name("jupyterhub")
    if not hub_bin.exists():
        pytest.fail("jupyterhub is not installed: pip install -e '.[test]' (make does)")
    if not PROXY.exists():
        pytest.fail(f"{PROXY} is missing: `make install` installs it with npm (package.json)")
    state = tmp_path_factory.mktemp("hub")
    server = server_factory(
        [str(hub_bin), "-f", str(HUB_CONFIG)],
        LAB_HUB_STATE=str(state),
        LAB_HUB_PASSWORD=PASSWORD,
        LAB_HUB_API_PORT=str(free_port()),
        LAB_PROXY_API_PORT=str(free_port()),
    )
    server.state = state
    wait_for_hub_route(server)
    yield server
    server.stop()


def wait_for_hub_route(hub: JupyterServer, timeout_s: float = 60.0) -> None:
    """The proxy listens before the hub has added its route: wait until it answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{hub.url}hub/api", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the hub did not answer {hub.url}hub/api within {timeout_s:.0f} s")
        time.sleep(0.5)


def log_in(browser: Any, hub: JupyterServer, user: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub.url}hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(PASSWORD)
    page.locator("#login_submit").click()  # the hub spawns, then sends them on
    return page


def processes_of(hub: JupyterServer) -> list[Any]:
    import psutil

    assert hub.process is not None
    return [psutil.Process(hub.process.pid), *psutil.Process(hub.process.pid).children(True)]


def test_three_participants_train_on_their_own_dashboards(
    hub: JupyterServer, playwright_driver: Any, chromium_path: Path
) -> None:
    browser = playwright_driver.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
    )
    try:
        pages = {user: log_in(browser, hub, user) for user in USERS}
        for user, page in pages.items():
            wait_until_usable(page, timeout_ms=240_000)
            assert f"/user/{user}/voila/render/dashboard.ipynb" in page.url, page.url
        for page in pages.values():
            start_small_run(page, epochs=1)
        for user, page in pages.items():
            page.locator(".tl-status", has_text="completed").wait_for(timeout=300_000)
            runs = list((hub.state / "users" / user / "runs").glob("*/metrics.jsonl"))
            assert len(runs) == 1, f"{user}'s run is not in their own folder: {runs}"
        processes = processes_of(hub)
    finally:
        browser.close()
    kernels = [p for p in processes if "ipykernel_launcher" in " ".join(p.cmdline())]
    assert len(kernels) >= len(USERS), "each participant's dashboard needs a kernel"
    hub.stop()
    deadline = time.monotonic() + 30
    while any(p.is_running() and p.status() != "zombie" for p in processes):
        assert time.monotonic() < deadline, "stopping the hub left processes running"
        time.sleep(0.5)
