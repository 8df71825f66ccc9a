"""Atomic file writes: readers see the old file or the new one, never half of either. Files are
the instructor's alone (0600) unless a caller says otherwise: OUT holds scores and names."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ctlab.safetext import safe_str


@contextmanager
def replacing(path: Path, *, mode: int = 0o600) -> Iterator[Path]:
    """Yield a temp path beside `path` to write; when the block ends without an error, the temp
    file takes `path`'s place in one rename, and on any error it is removed and `path` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes, *, mode: int = 0o600, durable: bool = True) -> None:
    """Replace `path` with `data` in one rename. `durable=False` skips waiting for the disk (an
    fsync costs ~10 ms): for files made again from OUT whenever they are missing or stale (the
    feedback, the kept code), which a power cut may leave empty but never half-written by a crash."""
    with replacing(path, mode=mode) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())


def write_text(path: Path, text: str, *, mode: int = 0o600, durable: bool = True) -> None:
    """UTF-8, whatever `text` holds: a lone surrogate (from a submission's cell, answer or
    message) is written as U+FFFD rather than stopping the write."""
    write_bytes(path, safe_str(text).encode("utf-8"), mode=mode, durable=durable)


def make_private(folder: Path) -> None:
    """`folder` and everything in it readable by its owner only (folders 0700, files 0600).

    OUT holds every student's scores, names and answers; in the fallback sandbox the
    submissions run as other users of the same host, so nothing there may be open to them."""
    folder = Path(folder)
    os.chmod(folder, 0o700)  # first: from here on nothing inside can be reached by others
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
