"""Atomic file writes: readers see the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path, *, mode: int = 0o644) -> Iterator[Path]:
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


def write_bytes(path: Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replace `path` with `data` in one rename. `durable=False` skips waiting for the disk (an
    fsync costs ~10 ms): for files made again from OUT whenever they are missing or stale (the
    feedback, the kept code), which a power cut may leave empty but never half-written by a crash."""
    with replacing(path, mode=mode) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())


def write_text(path: Path, text: str, *, mode: int = 0o644, durable: bool = True) -> None:
    write_bytes(path, text.encode("utf-8"), mode=mode, durable=durable)
