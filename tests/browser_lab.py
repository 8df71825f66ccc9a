"""A JupyterLab server for the browser tests and the help-link benchmark, and what they read off its page."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# where section n's heading is in the help notebook's view (None: not drawn, or the notebook elsewhere)
HEADING_JS = """(n) => {
  const p = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null
      && [...p.querySelectorAll('h1')].some(h => h.innerText.includes('help notebook')));
  if (!p) return null;
  const outer = p.querySelector('.jp-WindowedPanel-outer');
  const h = [...p.querySelectorAll('h2')].find(h => h.innerText.startsWith(n + '. '));
  return {top: h ? h.getBoundingClientRect().top - outer.getBoundingClientRect().top : null,
          view: outer.clientHeight, cells: p.querySelectorAll('.jp-Cell').length};
}"""


PATIENCE_MS = 120_000  # a JupyterLab step's time limit: it starts kernels and draws long notebooks slowly


@contextlib.contextmanager
def chromium(playwright: Any, executable: str | None) -> Iterator[Any]:
    """Headless Chromium (the Debian package's `executable`), closed however the block ends."""
    browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
    try:
        yield browser
    finally:
        browser.close()


def lab_page(browser: Any, *, width: int = 1400, height: int = 1000) -> Any:
    """A new window of `browser` of that size, each step of which may take PATIENCE_MS."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(PATIENCE_MS)
    return page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(tmp: Path, assignment: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on the loopback, serving a copy of `assignment` made under `tmp` (its own
    settings and workspaces, no news): (its base URL, the copy). Raises AssertionError with the end of
    its log when it does not start within 90 s."""
    work = tmp / "assignment"
    shutil.copytree(assignment, work)
    settings = tmp / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false"}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"))
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
           f"--ServerApp.root_dir={work}", "--IdentityProvider.token=", "--ServerApp.password=",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    log_path = tmp / "jupyterlab.log"
    log = log_path.open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("JupyterLab did not start: " + log_path.read_text()[-2000:]) from None
                time.sleep(0.2)
        yield base, work
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
