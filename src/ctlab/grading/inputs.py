"""Finding submissions and reading their code cells, with a clear status for bad input."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ctlab.errors import CtlabError

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_ZIP_UNCOMPRESSED = 100 * 1024 * 1024
MAX_ZIP_MEMBERS = 10_000
SUFFIXES = (".ipynb", ".zip")


@dataclass
class Submission:
    path: Path  # absolute
    file: str  # as shown in the gradebook
    name: str = ""  # unique key: results/<name>.json, snapshots/<name>/
    cells: list[str] = field(default_factory=list)
    status: str | None = None  # set when the input cannot be graded
    sha256: str = ""


def discover(paths: list[Path]) -> list[Submission]:
    """Expand folders (recursively) into .ipynb/.zip files; keep the given order otherwise."""
    found: list[Submission] = []
    seen: set[Path] = set()
    for given in paths:
        p = Path(given)
        if p.is_dir():
            members = sorted(
                q for q in p.rglob("*")
                if q.is_file() and q.suffix.lower() in SUFFIXES
                and ".ipynb_checkpoints" not in q.parts and not q.name.startswith(".")
            )
            if not members:
                raise CtlabError(f"{p}: folder holds no .ipynb or .zip submissions")
        elif p.exists():
            members = [p]
        else:
            raise CtlabError(f"{p}: no such file or folder")
        for q in members:
            a = q.resolve()
            if a in seen:
                continue
            seen.add(a)
            found.append(Submission(path=a, file=str(q)))
    _assign_names(found)
    return found


def _assign_names(subs: list[Submission]) -> None:
    by_stem: dict[str, list[Submission]] = {}
    for s in subs:
        by_stem.setdefault(s.path.stem, []).append(s)
    used: set[str] = set()
    for stem, group in by_stem.items():
        if len(group) == 1:
            group[0].name = stem
            used.add(stem)
            continue
        for i, s in enumerate(group, start=1):
            others = ", ".join(o.file for o in group if o is not s)
            s.status = f"duplicate submission name '{stem}' (also {others}): not graded"
            name = f"{stem}~{i}"
            while name in used:
                name += "_"
            s.name = name
            used.add(name)


def _notebook_cells(raw: bytes, where: str = "") -> list[str]:
    """Code cells of a notebook given as bytes; raises ValueError(status) if it is not one."""
    import nbformat

    prefix = f"invalid notebook{where}: "
    if not raw.strip():
        raise ValueError(prefix + "empty file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(prefix + "not UTF-8 text") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError(prefix + "not JSON") from None
    if not isinstance(data, dict) or "nbformat" not in data or "cells" not in data and "worksheets" not in data:
        raise ValueError(prefix + "JSON but not a notebook")
    major = data.get("nbformat")
    if major != 4:
        raise ValueError(prefix + f"nbformat {major} notebook (nbformat 4 needed; open and save it in Jupyter)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat.ValidationError and friends
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(prefix + f"does not match the notebook format ({msg[:120]})") from None
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _zip_notebook(path: Path) -> bytes:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ValueError("invalid zip: not a zip file") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ValueError(f"invalid zip: more than {MAX_ZIP_MEMBERS} entries")
        total = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise ValueError(f"unsafe zip: entry '{info.filename}' escapes its folder")
            total += info.file_size
        if total > MAX_ZIP_UNCOMPRESSED:
            raise ValueError(f"unsafe zip: expands to {total} bytes (limit {MAX_ZIP_UNCOMPRESSED})")
        notebooks = [
            i for i in infos
            if not i.is_dir() and i.filename.lower().endswith(".ipynb")
            and "__MACOSX" not in i.filename and ".ipynb_checkpoints" not in i.filename
        ]
        if not notebooks:
            raise ValueError("invalid zip: no notebook (.ipynb) inside")
        if len(notebooks) > 1:
            names = ", ".join(i.filename for i in notebooks[:3])
            raise ValueError(f"invalid zip: {len(notebooks)} notebooks inside ({names}); expected one")
        info = notebooks[0]
        with zf.open(info) as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)  # the header's size can lie: read bounded
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"unsafe zip: {info.filename} expands past {MAX_NOTEBOOK_BYTES} bytes")
        return data, info.filename


def load(sub: Submission) -> None:
    """Fill in cells, sha256 and (for bad input) status."""
    try:
        size = sub.path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES * 2:
            sub.status = f"invalid submission: file is {size} bytes (limit {MAX_NOTEBOOK_BYTES * 2})"
            return
        raw = sub.path.read_bytes()
    except OSError as exc:
        sub.status = f"unreadable submission: {exc.strerror or exc}"
        return
    sub.sha256 = hashlib.sha256(raw).hexdigest()
    if sub.status:  # duplicate name: hashed, not graded
        return
    try:
        if sub.path.suffix.lower() == ".zip":
            data, inner = _zip_notebook(sub.path)
            sub.cells = _notebook_cells(data, where=f" ({inner} in zip)")
        else:
            sub.cells = _notebook_cells(raw)
    except ValueError as exc:
        sub.status = str(exc)
