"""JupyterHub for a workshop: one single-user server per participant, each showing the
Transfer Lab dashboard through Voilà.

From the repository root (after ``make install``)::

    LAB_HUB_PASSWORD='a shared secret' \
        .venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Participants open ``http://<server>:8000``, log in with any user name and the shared
password, and land on their own dashboard. Every setting below can be changed with an
environment variable, so the same file serves a try-out on a laptop and a room of 30.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DASHBOARD = REPO / "notebooks" / "dashboard.ipynb"
STATE = Path(os.environ.get("LAB_HUB_STATE", REPO / ".hub")).resolve()
STATE.mkdir(parents=True, exist_ok=True)

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by JupyterHub

# -- where it listens ------------------------------------------------------------------
# 127.0.0.1 by default: set LAB_HUB_IP=0.0.0.0 (behind TLS) to open it to the room.
c.JupyterHub.ip = os.environ.get("LAB_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("LAB_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("LAB_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('LAB_PROXY_API_PORT', '8001')}"
proxy = REPO / "node_modules" / ".bin" / "configurable-http-proxy"  # installed by make
if proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(proxy)]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")

# -- who gets in -------------------------------------------------------------------------
# One password for the room (8+ characters), any user name. Swap in a real authenticator
# (GitHub, LDAP, the university's) for anything longer-lived than a workshop.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("LAB_HUB_PASSWORD", "")
c.Authenticator.allow_all = True

# -- one server per participant ------------------------------------------------------------
# Every participant's server runs as the hub's system user, in its own folder under
# LAB_HUB_STATE/users (runs and uploads stay apart, but nothing isolates them: use
# LocalProcessSpawner with system users, or DockerSpawner, where participants are not
# trusted).
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "users" / "{username}")
# The hub passes a minimal environment, so the command is an absolute path.
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.args = [f"--config={HERE / 'jupyter_server_config.py'}"]
if os.geteuid() == 0:
    c.Spawner.args.append("--allow-root")
c.Spawner.default_url = "/voila/render/dashboard.ipynb"
# Weights downloaded (or seeded offline) once serve every participant.
torch_home = os.environ.get("TORCH_HOME", str(Path.home() / ".cache" / "torch"))
# One malloc arena per kernel: run threads keep large batches in the main heap
# (lab/core/hardware/memory.py).
c.Spawner.environment = {"TORCH_HOME": torch_home, "MALLOC_ARENA_MAX": "1"}
c.Spawner.env_keep.extend(["LAB_MODE", "LAB_DATA_ROOTS"])  # the lab's own settings
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def copy_dashboard(spawner: object) -> None:
    """Put the dashboard notebook in the participant's folder (kept if already there)."""
    home = Path(spawner.home_dir)  # type: ignore[attr-defined]
    home.mkdir(parents=True, exist_ok=True)
    if not (home / DASHBOARD.name).exists():
        shutil.copy(DASHBOARD, home / DASHBOARD.name)


c.Spawner.pre_spawn_hook = copy_dashboard
# Workshop size: how many servers may start at once, and how many may run in all.
c.JupyterHub.concurrent_spawn_limit = int(os.environ.get("LAB_HUB_SPAWN_LIMIT", "10"))
c.JupyterHub.active_server_limit = int(os.environ.get("LAB_HUB_MAX_SERVERS", "40"))
