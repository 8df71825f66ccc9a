"""Serving the review page on the loopback address until interrupted."""

from __future__ import annotations

import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from ctlab.errors import CtlabError

from .app import create_app
from .batch import load_batch


def serve(*, out: Path, root: Path, port: int, open_browser: bool, announce: Callable[[str], None]) -> None:
    """Load OUT, bind 127.0.0.1:`port` (0: any free port), call `announce(url)` and serve."""
    import uvicorn

    if not (Path(out) / "gradebook.csv").is_file():
        raise CtlabError(f"{Path(out) / 'gradebook.csv'}: no gradebook here; run `ctlab grade ... -o {out}` first")
    batch = load_batch(out=out, root=root)
    token = secrets.token_urlsafe(32)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        raise CtlabError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
    sock.listen(128)  # from here on a request waits for the server instead of being refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    config = uvicorn.Config(create_app(batch=batch, token=token), log_level="warning", access_log=False,
                            lifespan="off")
    server = uvicorn.Server(config)
    announce(url)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
