"""Fixtures for the browser tests: a Voilà server per notebook and a headless Chromium page.

The browser is Debian's Chromium (``/usr/bin/chromium``) driven by Playwright; Playwright's
own browser downloads are never used. Without Chromium the tests skip, unless
``LAB_REQUIRE_BROWSER=1`` (set by CI), where a missing browser is a failure.

On a failing test the page's screenshot, its console messages and the server's log are
written to ``tests/e2e/artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
ARTIFACTS = E2E_DIR / "artifacts"
CHROMIUM = Path(os.environ.get("LAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT_S = 60.0
# Bottom edge of the lowest visible widget or output, in page pixels (scrolled to the top).
CONTENT_BOTTOM_JS = """() => {
    window.scrollTo(0, 0);
    document.querySelectorAll('*').forEach(el => { if (el.scrollTop) el.scrollTop = 0; });
    const items = document.querySelectorAll('.jupyter-widgets, .jp-OutputArea-output');
    const bottoms = Array.from(items)
        .filter(el => el.offsetParent !== null)
        .map(el => el.getBoundingClientRect().bottom + window.scrollY);
    return Math.ceil(Math.max(document.body.scrollHeight, ...bottoms)) + 40;
}"""


def _browser_missing(reason: str) -> None:
    """Skip, or fail where the environment promises a browser (CI)."""
    if os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (LAB_REQUIRE_BROWSER=1, so the browser tests may not skip)")
    pytest.skip(reason)


def artifact_path(nodeid: str, suffix: str) -> Path:
    """A file under tests/e2e/artifacts/ named after the test, e.g. ``test_x-page.png``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}{suffix}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterServer:
    """A Voilà or JupyterLab process on 127.0.0.1; stop() ends its process group.

    ``argv`` is the command without its port; ``--port=N`` is added on start.
    """

    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name

    def start(self) -> JupyterServer:
        with self.log_path.open("wb") as log:
            # Own process group, so stop() can end the server and anything it spawned.
            self.process = subprocess.Popen(
                [*self.argv, f"--port={self.port}"],
                cwd=REPO_ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_answering()
        return self

    def _wait_until_answering(self) -> None:
        # Probe /api, not /: every GET of Voilà's / runs the notebook in a new kernel.
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode} before "
                    f"answering; log:\n{self.log()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"GET /api HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    if sock.recv(12).startswith(b"HTTP/"):
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not answer on {self.url} within {SERVER_START_TIMEOUT_S:.0f}s; "
            f"log:\n{self.log()}"
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM first (the server then shuts its kernels down), SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        pgid = os.getpgid(self.process.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)


def voila_argv(notebook: Path, *options: str) -> list[str]:
    """How ``make lab`` serves a notebook (``voila.json`` in the repository root holds the
    pool and cull settings), minus the port; ``options`` override settings."""
    voila = Path(sys.executable).with_name("voila")
    return [
        str(voila),
        str(notebook),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--theme=light",
        *options,
    ]


def kernel_processes(server: JupyterServer) -> dict[str, Any]:
    """The server's live kernels as ``{kernel id: psutil.Process}``, from their command lines."""
    import psutil

    assert server.process is not None
    found: dict[str, Any] = {}
    for child in psutil.Process(server.process.pid).children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:  # it ended while we looked
            continue
        match = re.search(r"ipykernel_launcher.*kernel-([0-9a-f-]+)\.json", command)
        if match:
            found[match.group(1)] = child
    return found


def page_kernel_id(page: Any) -> str:
    """The id of the kernel a Voilà page is connected to (from its page config)."""
    config = "document.getElementById('jupyter-config-data').textContent"
    return str(page.evaluate(f"() => JSON.parse({config}).kernelId"))


def jupyterlab_argv(root: Path, state: Path) -> list[str]:
    """JupyterLab on ``root`` without token, network look-ups or writes outside ``state``."""
    lab = Path(sys.executable).with_name("jupyter-lab")
    return [
        str(lab),
        "--no-browser",
        "--allow-root",  # CI containers run as root; harmless otherwise
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
        f"--LabApp.user_settings_dir={state / 'settings'}",
    ]


_RUNNING_SERVERS: list[JupyterServer] = []


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """tests/e2e/artifacts/: screenshots and measurements kept for review (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def server_factory(
    tmp_path_factory: pytest.TempPathFactory, chromium_path: Path
) -> Iterator[Callable[..., JupyterServer]]:
    """``start(argv, **env)`` runs a server and returns it; ``server.stop()`` ends it early,
    the session's end ends it otherwise.

    Depends on ``chromium_path`` so that without a browser nothing is started.
    """
    started: list[JupyterServer] = []

    def start(argv: list[str], **env: str) -> JupyterServer:
        log_dir = tmp_path_factory.mktemp(Path(argv[0]).name)
        server = JupyterServer(argv, log_dir / "server.log", env).start()
        started.append(server)
        _RUNNING_SERVERS.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        _RUNNING_SERVERS.remove(server)


@pytest.fixture(scope="session")
def voila_server_factory(
    server_factory: Callable[..., JupyterServer],
) -> Callable[..., JupyterServer]:
    """``start(notebook, *options, **env)``: a Voilà server for a notebook path (stopped at
    session end); ``options`` are extra command-line settings, ``env`` extra variables."""

    def start(notebook: Path, *options: str, **env: str) -> JupyterServer:
        if not notebook.exists():
            raise FileNotFoundError(f"notebook={notebook}: no such file to serve")
        return server_factory(voila_argv(notebook, *options), **env)

    return start


@pytest.fixture(scope="session")
def jupyterlab_server_factory(
    server_factory: Callable[..., JupyterServer], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Path], JupyterServer]:
    """Start JupyterLab on a folder (stopped at session end); its state stays in a temp dir."""

    def start(root: Path) -> JupyterServer:
        state = tmp_path_factory.mktemp("jupyterlab-state")
        return server_factory(jupyterlab_argv(root, state), JUPYTER_RUNTIME_DIR=str(state))

    return start


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, or skip (fail under LAB_REQUIRE_BROWSER=1) with the reason."""
    if not CHROMIUM.exists():
        _browser_missing(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) "
            "or point LAB_CHROMIUM at a Chromium binary"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _browser_missing("playwright is not installed: pip install -e '.[test]'")
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture
def console_log() -> list[str]:
    """What the page logged, one line each: ``"<type>: text"``, ``"pageerror: ..."``, ..."""
    return []


@pytest.fixture
def page(
    playwright_driver: Any,
    chromium_path: Path,
    tmp_path: Path,
    console_log: list[str],
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """A page in a fresh Chromium profile; its console goes to ``console_log``."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=str(chromium_path),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
    )
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(30_000)
    log = console_log
    page.on("console", lambda msg: log.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: log.append(f"pageerror: {err}"))
    page.on("requestfailed", lambda req: log.append(f"requestfailed: {req.url} {req.failure}"))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _save_failure_artifacts(request.node.nodeid, page, log)
    context.close()


def full_screenshot(page: Any, path: Path) -> None:
    """The whole page: Voilà scrolls inside its own container, so grow the viewport first."""
    viewport = page.viewport_size
    height = page.evaluate(CONTENT_BOTTOM_JS)
    page.set_viewport_size({"width": viewport["width"], "height": min(max(height, 600), 8000)})
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)


@pytest.fixture
def screenshot() -> Callable[[Any, Path], None]:
    """``screenshot(page, path)``: a full-height screenshot of a Voilà page."""
    return full_screenshot


def _save_failure_artifacts(nodeid: str, page: Any, console: list[str]) -> None:
    try:
        full_screenshot(page, artifact_path(nodeid, "-failure.png"))
    except Exception as exc:  # the page may be gone; keep the other artifacts anyway
        console.append(f"(screenshot failed: {exc})")
    artifact_path(nodeid, "-console.txt").write_text("\n".join(console))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, and copy server logs when a test fails."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    if report.failed:
        running = [s for s in _RUNNING_SERVERS if s.process and s.process.poll() is None]
        for index, server in enumerate(running):
            target = artifact_path(item.nodeid, f"-{server.name}{index}.log")
            shutil.copyfile(server.log_path, target)
    return report


# --- kernel messages as the browser receives them -------------------------------------


@dataclass(frozen=True)
class KernelMessage:
    """One message on the kernel websocket: when the browser got it, its type, its content."""

    time: float
    channel: str
    msg_type: str
    content: dict[str, Any]

    @property
    def state_keys(self) -> tuple[str, ...]:
        """For a widget ``comm_msg``: the names of the traits it updates."""
        data = self.content.get("data", {})
        return tuple(sorted(data.get("state", {}))) if isinstance(data, dict) else ()


def parse_kernel_frame(payload: bytes | str) -> KernelMessage:
    """Decode a websocket frame, in the binary v1 protocol of jupyter_server or in JSON."""
    now = time.monotonic()
    if isinstance(payload, str):
        message = json.loads(payload)
        return KernelMessage(
            now, message.get("channel", ""), message["header"]["msg_type"], message["content"]
        )
    count = struct.unpack_from("<Q", payload, 0)[0]
    offsets = [*struct.unpack_from(f"<{count}Q", payload, 8), len(payload)]
    parts = [payload[offsets[i] : offsets[i + 1]] for i in range(count)]
    header, content = json.loads(parts[1]), json.loads(parts[4])
    return KernelMessage(now, parts[0].decode(), header["msg_type"], content)


@pytest.fixture
def kernel_messages(page: Any) -> list[KernelMessage]:
    """Every kernel message the page receives from now on, appended as it arrives."""
    received: list[KernelMessage] = []

    def on_websocket(websocket: Any) -> None:
        if "/api/kernels/" in websocket.url:
            websocket.on("framereceived", lambda frame: received.append(parse_kernel_frame(frame)))

    page.on("websocket", on_websocket)
    return received
