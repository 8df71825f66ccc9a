"""OUT/code/<name>.json: each graded submission's code cells, kept as data (never run from
here), so that the report and the review page can compare students' own code without the
submission files at hand."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ctlab import atomic

if TYPE_CHECKING:
    from ctlab.grading.inputs import Upload

DIR = "code"
MAX_CHARS = 1_000_000  # a submission's code past this is not compared (the course's takes ~5 KB)


def save(out: Path, subs: list[Upload]) -> None:
    """Write the code cells of every submission that could be read; unchanged files stay as they are."""
    folder = Path(out) / DIR
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for s in subs:
        if s.status is not None:
            (folder / f"{s.name}.json").unlink(missing_ok=True)
            continue
        if s.unread:  # kept from an earlier run for the same bytes (is_kept)
            continue
        cells, total = [], 0
        for c in s.cells:
            total += len(c)
            if total > MAX_CHARS:
                break
            cells.append(c)
        text = json.dumps({"file": s.file, "sha256": s.sha256, "cells": cells}, ensure_ascii=False)
        path = folder / f"{s.name}.json"
        try:
            if path.read_text(encoding="utf-8") == text:
                continue
        except (OSError, UnicodeDecodeError):
            pass
        atomic.write_text(path, text, mode=0o600, durable=False)  # made again when it does not match (is_kept)


def is_kept(out: Path, s: Upload) -> bool:
    """Whether OUT already holds the code of these very bytes under this submission's id."""
    try:
        data = json.loads((Path(out) / DIR / f"{s.name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("sha256") == s.sha256 and data.get("file") == s.file


def load(out: Path, name: str) -> list[str] | None:
    """The code cells kept for submission `name`, or None."""
    try:
        data = json.loads((Path(out) / DIR / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    return [c for c in cells if isinstance(c, str)] if isinstance(cells, list) else None
