"""The weeks of variants 2..N under data/variants/, made from their seeds when missing or outdated.

Each variant's folder holds `data.zip` (its two CSVs, the very bytes students get as
assignment/data/variants/vNN.zip, so git keeps them once), `ground_truth.json` (its answer key) and
`origin.json` (the seed and a digest of the generator code and hints that made it). `ctlab build`
makes a variant again only when its origin differs, so a rebuild reuses what it has; the weeks are
made in parallel processes, one per core.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ctlab import variants
from ctlab.build.autograder_zip import zip_bytes
from ctlab.errors import CtlabError

CSV_FILES = ("cloud_iam.csv", "cloud_api.csv")
ORIGIN = "origin.json"


def csv_zip(folder: Path) -> bytes:
    """The two CSVs of `folder` as the reproducible zip students unpack."""
    return zip_bytes({name: (Path(folder) / name).read_bytes() for name in CSV_FILES})


def _origin(root: Path, variant: int) -> dict[str, Any]:
    from ctlab import data as data_pkg

    h = hashlib.sha256()
    for path in sorted(Path(data_pkg.__file__).parent.rglob("*.py")) + [Path(root) / "solutions" / "hints.yaml"]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return {"seed": variants.seed_of(variant), "generator": h.hexdigest()}


def _current(folder: Path, origin: dict[str, Any]) -> bool:
    try:
        kept = json.loads((folder / ORIGIN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return kept == origin and (folder / variants.DATA_ZIP).is_file() and (folder / variants.TRUTH).is_file()


def _make(root: str, variant: int, origin: dict[str, Any]) -> str:
    """Make one variant's folder (in a worker process); returns its label."""
    from ctlab.data.dataset import build_data

    base = Path(root) / variants.STORED
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".make-", dir=base) as tmp:
        week, folder = Path(tmp) / "week", Path(tmp) / "out"
        build_data(out=week, hints=Path(root) / "solutions" / "hints.yaml", seed=int(origin["seed"]))
        folder.mkdir()
        (folder / variants.DATA_ZIP).write_bytes(csv_zip(week))
        shutil.copyfile(week / variants.TRUTH, folder / variants.TRUTH)
        (folder / ORIGIN).write_text(json.dumps(origin, indent=2) + "\n", encoding="utf-8")
        dest = base / variants.label(variant)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(folder, dest)
    return variants.label(variant)


def ensure(*, root: Path, count: int, jobs: int | None = None) -> list[str]:
    """Make the data of variants 2..count that is missing or outdated; remove variants past count.
    Returns the labels made."""
    root = Path(root).resolve()
    todo = []
    for k in range(2, count + 1):
        origin = _origin(root, k)
        if not _current(root / variants.STORED / variants.label(k), origin):
            todo.append((k, origin))
    made: list[str] = []
    if todo:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        try:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                made = list(pool.map(_make, [str(root)] * len(todo), [k for k, _ in todo], [o for _, o in todo]))
        except CtlabError:
            raise
        except Exception as exc:  # a worker process failed: say which step, once
            raise CtlabError(f"{root / variants.STORED}: could not make the variants' data "
                             f"({type(exc).__name__}: {exc})") from None
    stored = root / variants.STORED
    if stored.is_dir():
        wanted = {variants.label(k) for k in range(2, count + 1)}
        for path in sorted(stored.iterdir()):
            if path.is_dir() and path.name.startswith("v") and path.name not in wanted:
                shutil.rmtree(path)
    return made


def variant_zip(root: Path, variant: int) -> bytes:
    """What students get of a variant: its two CSVs, zipped (variant 1 from data/ itself)."""
    root = Path(root)
    if variant == 1:
        return csv_zip(root / "data")
    return (root / variants.STORED / variants.label(variant) / variants.DATA_ZIP).read_bytes()


def unpacked(root: Path, variant: int, into: Path) -> Path:
    """A folder with the variant's two CSVs and ground_truth.json (what hidden_key reads)."""
    import io
    import zipfile

    root, into = Path(root), Path(into)
    into.mkdir(parents=True, exist_ok=True)
    if variant == 1:
        for name in (*CSV_FILES, variants.TRUTH):
            shutil.copyfile(root / "data" / name, into / name)
        return into
    folder = root / variants.STORED / variants.label(variant)
    with zipfile.ZipFile(io.BytesIO((folder / variants.DATA_ZIP).read_bytes())) as zf:
        for name in CSV_FILES:
            (into / name).write_bytes(zf.read(name))
    shutil.copyfile(folder / variants.TRUTH, into / variants.TRUTH)
    return into
