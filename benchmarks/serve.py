"""First paint and memory of the served dashboard: ``python -m benchmarks.serve``
(``make bench-serve``).

Serves ``notebooks/dashboard.ipynb`` as ``make lab`` does (``voila.json``: preheated
kernels, culling), waits until the kernel pool is full (the server is warm), then opens
the page in headless Chromium five times, one visitor after the other, and records the
seconds from the request to a visible, enabled Start button. Each visitor comes once the
pool is refilled and quiet again (``--gap-s N``: N seconds after the previous one
instead, a burst whose loads share the CPU with the refilling). Each visitor leaves the
page before the next comes, so its kernel's shutdown is exercised too. After the last
load one small run trains, and the resident memory of that kernel is taken before and
after. Writes ``benchmarks/results/serve.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lab.core.hardware.memory import SERVER_ENV
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO_ROOT,
    JupyterServer,
    kernel_processes,
    page_kernel_id,
    voila_argv,
)
from tests.e2e.dashboard_steps import start_small_run, wait_until_usable

RESULTS = Path(__file__).parent / "results" / "serve.json"
DASHBOARD = REPO_ROOT / "notebooks" / "dashboard.ipynb"
LOADS = 5
RECORDED = (1, 2, 5)
WARM_TIMEOUT_S = 300.0
WARM_CPU_S = 3.0
QUIET_S = 2.0
MIB = 1024 * 1024


def wait_until_warm(server: JupyterServer, pool_size: int) -> float:
    """Seconds until the server holds just its pool, every kernel having run the notebook.

    A pooled kernel counts as warm once it has used over ``WARM_CPU_S`` of CPU (importing
    torch and building the panels; a bare kernel uses under one second) and then stays
    below 5 % CPU for ``QUIET_S``. A kernel still shutting down makes one too many.
    """
    import psutil

    began = time.monotonic()
    while time.monotonic() - began < WARM_TIMEOUT_S:
        try:
            if _pool_is_quiet(list(kernel_processes(server).values()), pool_size):
                return time.monotonic() - began
        except psutil.NoSuchProcess:  # a kernel ended while we looked: look again
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the pool of {pool_size} kernels was not warm after {WARM_TIMEOUT_S}s")


def _pool_is_quiet(kernels: list[Any], pool_size: int) -> bool:
    if len(kernels) != pool_size or not all(_worked(k) for k in kernels):
        return False
    for kernel in kernels:
        kernel.cpu_percent(None)
    time.sleep(QUIET_S)
    return all(k.cpu_percent(None) < 5 for k in kernels)


def _worked(kernel: Any) -> bool:
    times = kernel.cpu_times()
    return bool(times.user + times.system > WARM_CPU_S)


def first_paint(browser: Any, url: str) -> tuple[float, Any]:
    """Seconds from the request to a clickable Start button, and the open page."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    began = time.monotonic()
    page.goto(url, wait_until="commit", timeout=120_000)
    wait_until_usable(page)
    return time.monotonic() - began, page


def leave(page: Any, server: JupyterServer) -> float:
    """Leave the page (Voilà then asks for its kernel's shutdown); seconds until it ended."""
    kernel_id = page_kernel_id(page)
    began = time.monotonic()
    page.goto("about:blank")
    page.close()
    while kernel_id in kernel_processes(server):
        if time.monotonic() - began > 120:
            raise TimeoutError(f"kernel {kernel_id} still runs 120 s after its page was left")
        time.sleep(0.2)
    return round(time.monotonic() - began, 1)


def rss_mib(server: JupyterServer, kernel_id: str) -> float:
    return float(kernel_processes(server)[kernel_id].memory_info().rss / MIB)


def measure(pool_size: int, gap_s: float | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    notebook = Path(shutil.copy(DASHBOARD, folder / DASHBOARD.name))
    server = JupyterServer(
        voila_argv(notebook, f"--pool_size={pool_size}"), folder / "voila.log", env=SERVER_ENV
    ).start()
    try:
        warm_s = wait_until_warm(server, pool_size)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            times, gone_after = [], []
            for _ in range(LOADS):
                if times and gap_s is None:
                    wait_until_warm(server, pool_size)
                elif times:
                    time.sleep(gap_s)
                seconds, page = first_paint(browser, server.url)
                times.append(seconds)
                if len(times) < LOADS:
                    gone_after.append(leave(page, server))
            kernel_id = page_kernel_id(page)
            after_load = rss_mib(server, kernel_id)
            start_small_run(page, epochs=1)
            page.locator(".tl-status", has_text="completed").wait_for(timeout=300_000)
            after_run = rss_mib(server, kernel_id)
            browser.close()
        return {f"load_{n}_start_visible_s": round(times[n - 1], 2) for n in RECORDED} | {
            "load_times_s": [round(t, 2) for t in times],
            "pool_size": pool_size,
            "visitors_arrive": "at a warm server" if gap_s is None else f"{gap_s} s apart",
            "warm_after_s": round(warm_s, 1),
            "kernel_gone_after_leaving_s": gone_after,
            "kernel_rss_mib_after_load": round(after_load),
            "kernel_rss_mib_after_small_run": round(after_run),
            "met": {"load_2_within_5_s": times[1] <= 5.0},
        }
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    # A SIGTERM (e.g. from `timeout`) unwinds through measure(), which stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool-size", type=int, default=int(os.environ.get("POOL_SIZE", 2)))
    parser.add_argument(
        "--gap-s",
        type=float,
        default=None,
        help="seconds from one usable page to the next visit (default: once the pool is refilled)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = measure(args.pool_size, args.gap_s)
    results["context"] = {"cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
