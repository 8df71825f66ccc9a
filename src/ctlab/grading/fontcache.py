"""matplotlib's list of fonts for the grading workers, built once and kept between runs.

The first import of matplotlib in a config folder scans the system's fonts and writes what it
found there (fontlist-vNNN.json). A worker's config folder is new every time (a fresh tmpfs in
bubblewrap, a fresh folder in the fallback modes), so every worker scanned the fonts again: 0.25-0.3 s
of its start-up on the 2-core machine, on the path of every one-submission run. The list
is built here instead, once per Python environment and set of system fonts, in a fresh
interpreter that sees the fonts a worker sees (the system's and the environment's; its home is
an empty folder, as a worker's is), kept in the user's cache folder, and copied into each
worker's inbox; the zygote puts it in its config folder before it imports matplotlib
(worker/zygote.py). Without a kept list the workers scan the fonts themselves, as before.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/etc/fonts")  # adding a font changes one
MAX_BYTES = 4 << 20
NAME = re.compile(r"fontlist-v[0-9][0-9.]*\.json")
BUILD_TIMEOUT = 120.0


@functools.cache
def _key_dir() -> Path | None:
    """This environment's folder in the cache: keyed by the Python environment, matplotlib's
    version and the font folders' times. None when there is no matplotlib or no cache folder."""
    try:
        version = importlib.metadata.version("matplotlib")
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except (importlib.metadata.PackageNotFoundError, RuntimeError, KeyError, OSError):
        return None
    seen = []
    for d in FONT_DIRS:
        try:
            seen.append((d, os.stat(d).st_mtime_ns))
        except OSError:
            continue
    key = hashlib.sha256(repr((os.path.realpath(sys.prefix), version, seen)).encode()).hexdigest()[:24]
    return base / "ctlab" / f"fonts-{key}"


def font_list() -> Path | None:
    """The kept font list of this environment, or None when there is none (or none fit to use)."""
    d = _key_dir()
    if d is None:
        return None
    try:
        for p in d.iterdir():
            if NAME.fullmatch(p.name) and not p.is_symlink() and p.is_file() and p.stat().st_size <= MAX_BYTES:
                return p
    except OSError:
        return None
    return None


def build_font_list() -> Path | None:
    """Build and keep the font list unless it is kept already; its path, or None when it cannot be
    built or kept (the workers then scan the fonts themselves). Takes about half a second, once."""
    kept = font_list()
    d = _key_dir()
    if kept is not None or d is None:
        return kept
    try:
        d.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=d.parent, prefix=".fonts-") as tmp:
            config = Path(tmp, "matplotlib")
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8",
                   "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(config)}
            subprocess.run([sys.executable, "-I", "-c", "import matplotlib.font_manager"], env=env, cwd=tmp,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=BUILD_TIMEOUT, check=True)
            made = [p for p in config.iterdir() if NAME.fullmatch(p.name)]
            if len(made) != 1 or made[0].stat().st_size > MAX_BYTES:
                return None
            d.mkdir(exist_ok=True, mode=0o700)
            os.replace(made[0], d / made[0].name)  # whole or not at all
            return d / made[0].name
    except (OSError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":  # `python -m ctlab.grading.fontcache`: build it ahead (e.g. in an image's set-up)
    path = build_font_list()
    print(path if path is not None else "matplotlib's font list could not be built here; workers will scan the fonts")
