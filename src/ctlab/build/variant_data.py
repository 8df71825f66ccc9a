"""The weeks of variants 2..N under data/variants/, made from their seeds when missing or outdated.

Each variant's folder holds `data.zip` (its two CSVs, the very bytes students get as
assignment/data/variants/vNN.zip, so git keeps them once), `ground_truth.json` (its answer key) and
`origin.json` (the seed and a digest of the generator code and hints that made it). `ctlab build`
makes a variant again only when its origin differs, so a rebuild reuses what it has; the weeks are
made in parallel processes, one per core.

Every week the build ships (variant 1 from data/, the others from their zips) then goes through the
data check (``ctlab.data.invariants``: the consistency invariants and the story's giveaway and method
checks) before anything is written; a week that fails stops the build with one line naming the
variant and the failed check. A week that passed is recorded in data/variants/checks.json under a
digest of its origin, its bytes, the reveal code and the checking code, so an unchanged rebuild does
not check it again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctlab import atomic, variants
from ctlab.build.autograder_zip import zip_bytes
from ctlab.errors import CtlabError

if TYPE_CHECKING:
    from ctlab.data.invariants import CheckReport

CSV_FILES = ("cloud_iam.csv", "cloud_api.csv")
ORIGIN = "origin.json"
CHECKS = "checks.json"  # under data/variants/: {label: digest of the week that passed the data check}


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
    """Make the data of variants 2..count that is missing or outdated; remove variants past count; then
    run the data check on every week shipped (``check``), which raises on the first that fails.
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
    check(root=root, count=count, jobs=jobs)
    return made


def _checker_digest(root: Path) -> str:
    """What a week's check depends on besides the week: the checking code and the reveal code it runs."""
    from ctlab import data as data_pkg
    from ctlab import reveal
    from ctlab.build import answer_key

    h = hashlib.sha256()
    code = sorted(Path(data_pkg.__file__).parent.glob("*.py")) + [Path(reveal.__file__), Path(answer_key.__file__)]
    for path in [*code, Path(root) / "solutions" / "hints.yaml"]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _week_digest(root: Path, variant: int, checker: str) -> str:
    """The digest a passed check is recorded under: the variant's origin, its shipped bytes and key,
    and the checker's digest."""
    h = hashlib.sha256(checker.encode())
    try:
        if variant > 1:
            h.update(json.dumps(_origin(root, variant), sort_keys=True).encode())
        h.update(variant_zip(root, variant))
        h.update(variants.truth_path(root, variant).read_bytes())
    except OSError:
        return ""  # a file is missing: checked (and reported) again
    return h.hexdigest()


def where(root: Path, variant: int) -> Path:
    """The folder a variant's data is kept in (data/ for variant 1)."""
    return Path(root) / ("data" if variant == 1 else variants.STORED / variants.label(variant))


def check_variant(*, root: Path, variant: int) -> CheckReport:
    """The data check of one variant, as shipped: its zipped CSVs with its answer key."""
    from ctlab.data.invariants import check_week

    root = Path(root)
    if variant < 1:
        raise CtlabError(f"variant must be at least 1, not {variant}")
    folder = where(root, variant)
    needed = [folder / n for n in (*(CSV_FILES if variant == 1 else (variants.DATA_ZIP,)), variants.TRUTH)]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        raise CtlabError(f"{missing[0]}: variant {variant} has no such file (run `ctlab build --variants N` "
                         f"with N >= {variant} to make it)")
    with tempfile.TemporaryDirectory(prefix="ctlab-check-") as tmp:
        try:
            week = unpacked(root, variant, Path(tmp) / "week")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise CtlabError(f"{needed[0]}: not the variant's data ({type(exc).__name__}: {exc})") from None
        try:
            report = check_week(path=week, hints=root / "solutions" / "hints.yaml")
        except CtlabError as exc:  # name the variant's own files, not the unpacked copy
            raise CtlabError(str(exc).replace(str(week), str(folder))) from None
    report.path = folder
    return report


def _check_one(root: str, variant: int) -> list[str]:
    """The violations of one variant (in a worker process); a week that cannot be checked is one."""
    try:
        return check_variant(root=Path(root), variant=variant).violations
    except CtlabError as exc:
        return [f"unreadable: {exc}"]
    except Exception as exc:  # a week the checker cannot read (a column missing...): a violation too
        return [f"unreadable: {type(exc).__name__}: {exc}"]


def check(*, root: Path, count: int, jobs: int | None = None) -> list[str]:
    """Run the data check on variants 1..count, except those recorded as passed with the same digest.
    Raises CtlabError naming the first variant that fails and its first violation; returns the labels
    checked."""
    root = Path(root).resolve()
    checker = _checker_digest(root)
    record = root / variants.STORED / CHECKS
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
        passed = {str(k): str(v) for k, v in kept.items()} if isinstance(kept, dict) else {}
    except (OSError, ValueError):
        passed = {}
    digests = {k: _week_digest(root, k, checker) for k in range(1, count + 1)}
    todo = [k for k in range(1, count + 1) if not digests[k] or passed.get(variants.label(k)) != digests[k]]
    results: list[list[str]] = []
    if todo:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        if workers == 1:
            results = [_check_one(str(root), k) for k in todo]
        else:
            try:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    results = list(pool.map(_check_one, [str(root)] * len(todo), todo))
            except Exception as exc:  # a worker process failed: say which step, once
                raise CtlabError(f"{root / variants.STORED}: could not check the variants' data "
                                 f"({type(exc).__name__}: {exc})") from None
    now = {variants.label(k): digests[k] for k in range(1, count + 1)
           if digests[k] and (k not in todo or not results[todo.index(k)])}
    if now != passed:
        atomic.write_bytes(record, (json.dumps(now, indent=1, sort_keys=True) + "\n").encode(), mode=0o644)
    for k, bad in zip(todo, results, strict=True):
        if bad:
            more = f" (and {len(bad) - 1} more: `ctlab data check --variant {k}` lists them)" if len(bad) > 1 else ""
            raise CtlabError(f"{where(root, k)}: variant {k} fails the data check: {bad[0]}{more}")
    return [variants.label(k) for k in todo]


def variant_zip(root: Path, variant: int) -> bytes:
    """What students get of a variant: its two CSVs, zipped (variant 1 from data/ itself)."""
    root = Path(root)
    if variant == 1:
        return csv_zip(root / "data")
    return (root / variants.STORED / variants.label(variant) / variants.DATA_ZIP).read_bytes()


def unpacked(root: Path, variant: int, into: Path) -> Path:
    """A folder with the variant's two CSVs and ground_truth.json (what hidden_key reads)."""
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
