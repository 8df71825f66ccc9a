"""Finding submissions and reading their code cells, with a clear status for bad input.

Everything here treats a submission as hostile bytes under a hostile name. Only regular
files are ever opened (never a FIFO, device, socket or folder, and never through a symbolic
link); sizes and cell counts are capped before anything is parsed; a zip is read in memory,
one bounded member at a time. Whatever is wrong becomes that submission's status, never an
exception. Names are data: each submission's files under OUT use an id made here from
[A-Za-z0-9._-] only.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import msgspec

from ctlab import lms
from ctlab.errors import CtlabError
from ctlab.safetext import one_line, quoted

MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
MAX_CELLS = 2000
MAX_ZIP_BYTES = 32 * 1024 * 1024
MAX_ZIP_UNCOMPRESSED = 100 * 1024 * 1024
MAX_ZIP_MEMBERS = 10_000
MAX_BULK_ZIP_BYTES = 4 * 1024 * 1024 * 1024  # an LMS's download of a whole class
MAX_BULK_UNCOMPRESSED = 8 * 1024 * 1024 * 1024
SUFFIXES = (".ipynb", ".zip")
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
ZIP_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 9: "deflate64", 93: "zstandard"}
NOT_GRADED = "not graded: "
# a submission is opened only as itself: never through a link, never waiting on a FIFO or becoming a terminal
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


@dataclass
class Upload:
    """One submission as handed in: where it is, its id and its code cells, or why it cannot be
    graded (`status`, the sentence shown). What grading made of it is a results.Result."""

    path: Path  # absolute, symbolic links not resolved
    file: str  # as given (as shown in the gradebook)
    name: str = ""  # unique id: results/<name>.json, snapshots/<name>/, feedback/<name>.*
    cells: list[str] = field(default_factory=list)
    status: str | None = None  # set when the input cannot be graded
    sha256: str = ""
    member: str = ""  # its name inside a bulk zip (an LMS's download of many submissions), if in one
    identity: lms.Identity = field(default_factory=lambda: lms.Identity(source="file", key=""))
    unread: bool = False  # hashed but not parsed: an earlier run's result for these bytes stands (load)


def _shown(path: str | os.PathLike[str]) -> str:
    """A path as text that can always be written out (bytes that are not UTF-8 as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _named_like_submission(name: str) -> bool:
    return name.lower().endswith(SUFFIXES) and not name.startswith(".")


def _walk(top: Path, notes: list[str]) -> list[Path]:
    """Every entry under `top` named like a submission, whatever its type (each gets a row);
    folders named like one are not entered, nor are symbolic links to folders."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        keep = []
        for d in sorted(dirnames):
            p = Path(dirpath) / d
            if d == ".ipynb_checkpoints" or d == "__MACOSX":
                continue
            if _named_like_submission(d):
                found.append(p)
            elif p.is_symlink():
                notes.append(f"{quoted(_shown(p), limit=200)}: a symbolic link to a folder, not followed")
            else:
                keep.append(d)
        dirnames[:] = keep
        found += [Path(dirpath) / f for f in filenames if _named_like_submission(f)]
    return sorted(found)


def discover(paths: list[Path], *, notes: list[str] | None = None) -> list[Upload]:
    """Expand folders (recursively) into entries named .ipynb/.zip; keep the given order
    otherwise. A folder named on the command line is expanded (through a link, too: the
    instructor named it); anything else named like a submission gets a row, whatever it is.
    A zip named on the command line that holds several submissions (an LMS's bulk download)
    is a batch: each member is a submission, read from the zip under the same rules."""
    notes = [] if notes is None else notes
    found: list[Upload] = []
    seen: set[str] = set()
    for given in paths:
        p = Path(given)
        try:
            os.lstat(p)
        except FileNotFoundError:
            raise CtlabError(f"{_shown(p)}: no such file or folder") from None
        except OSError as exc:
            raise CtlabError(f"{_shown(p)}: cannot be read ({exc.strerror})") from None
        top: Path | None = None
        if p.is_dir() and not _named_like_submission(p.name):
            members = _walk(p, notes)
            if not members:
                raise CtlabError(f"{_shown(p)}: folder holds no .ipynb or .zip submissions")
            top = Path(os.path.abspath(p))
        else:
            bulk = _bulk_members(p) if p.name.lower().endswith(".zip") else None
            if bulk is not None:
                key = os.path.abspath(p)
                if key not in seen:
                    seen.add(key)
                    found += _bulk_submissions(Path(key), _shown(p), bulk, notes)
                continue
            members = [p]
        for q in members:
            key = os.path.abspath(q)
            if key in seen:
                continue
            seen.add(key)
            found.append(Upload(path=Path(key), file=_shown(q)))
            found[-1].identity = _identity_on_disk(Path(key), top, notes)
    _assign_names(found)
    return found


_METADATA_CACHE: dict[str, dict[str, lms.Identity]] = {}


def _metadata_at(root: Path, notes: list[str]) -> dict[str, lms.Identity]:
    meta_path = root / lms.GRADESCOPE_METADATA
    key = str(meta_path)
    if key not in _METADATA_CACHE:
        try:
            _METADATA_CACHE[key] = lms.gradescope_metadata(meta_path)
        except lms.MetadataError as exc:
            notes.append(f"{quoted(_shown(meta_path), limit=200)}: {exc}; submissions there are known by file name")
            _METADATA_CACHE[key] = {}
    return _METADATA_CACHE[key]


def _export_roots(parts: tuple[str, ...], has_metadata: Callable[[tuple[str, ...]], bool]) -> tuple[str, ...] | None:
    """The Gradescope export a file at `parts` (folders below where the search starts, then the
    file's name) belongs to: the outermost folder holding the export's metadata, never one inside
    a `submission_<id>/` folder (a student's own files: a metadata file there is theirs)."""
    for depth in range(len(parts)):
        if depth and lms.GRADESCOPE_FOLDER.fullmatch(parts[depth - 1]):
            return None
        if has_metadata(parts[:depth]):
            return parts[:depth]
    return None


def gradescope_place(parts: tuple[str, ...], root: tuple[str, ...]) -> tuple[str, str]:
    """(submission folder, why it is not the file's identity or "") for a file at `parts` in the
    Gradescope export at `root`: only the export's top-level `submission_<id>/` folders are
    submissions, and a notebook below another submission folder inside one is its own."""
    rel = parts[len(root):]
    folder = rel[0] if len(rel) >= 2 and lms.GRADESCOPE_FOLDER.fullmatch(rel[0]) else ""
    if not folder:
        return "", "not in a submission folder of the Gradescope export"
    if any(lms.GRADESCOPE_FOLDER.fullmatch(p) for p in rel[1:-1]):
        return "", "below another submission's folder in the Gradescope export"
    return folder, ""


def _identity_on_disk(path: Path, top: Path | None, notes: list[str]) -> lms.Identity:
    """From the Gradescope export the file lies in (its metadata at the export's top level, the
    file's top-level `submission_<id>/` folder in it), else from the file's name. A file named
    on the command line (`top` None) may be the export's `submission_<id>/<notebook>`."""
    own = lms.from_filename(_shown(path.name))
    if top is not None and lms.GRADESCOPE_FOLDER.fullmatch(top.name):
        return own  # one submission's own folder: any metadata file in it is the student's
    if top is None:
        top = path.parent.parent
        if not lms.GRADESCOPE_FOLDER.fullmatch(path.parent.name) or lms.GRADESCOPE_FOLDER.fullmatch(top.name):
            return own
    parts = path.relative_to(top).parts
    root = _export_roots(parts, lambda p: os.path.lexists(top.joinpath(*p, lms.GRADESCOPE_METADATA)))
    if root is None:
        return own
    folder, why = gradescope_place(parts, root)
    ident = _metadata_at(top.joinpath(*root), notes).get(folder) if folder else None
    if ident is None:
        why = why or "its folder is not listed in the Gradescope export's metadata"
        notes.append(f"{quoted(_shown(path), limit=200)}: {why}; known by its file name")
        return own
    return ident


def _bulk_members(path: Path) -> list[zipfile.ZipInfo] | None:
    """The submissions in `path` if it is an LMS's bulk download (more than one notebook or zip
    inside, or a Gradescope export's metadata), else None (then it is one student's export)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return None  # graded (and refused, with its reason) as one submission
    if len(infos) > MAX_ZIP_MEMBERS:
        return None
    usable = [i for i in infos if not i.is_dir() and "__MACOSX" not in i.filename
              and ".ipynb_checkpoints" not in i.filename]
    candidates = [i for i in usable if _named_like_submission(PurePosixPath(i.filename.replace("\\", "/")).name)]
    has_metadata = any(PurePosixPath(i.filename).name == lms.GRADESCOPE_METADATA for i in usable)
    if len(candidates) > 1 or (has_metadata and candidates):
        return candidates
    return None


def _zip_parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "/", "."))


def _bulk_submissions(path: Path, shown: str, members: list[zipfile.ZipInfo], notes: list[str]) -> list[Upload]:
    """Each member of a bulk zip, known by the metadata of the Gradescope export it lies in (the
    outermost metadata file outside any submission folder; a second one inside a student's
    folder, wherever in the zip, is that student's file and never read) or by its name."""
    metas: dict[tuple[str, ...], dict[str, lms.Identity]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {_zip_parts(i.filename): i for i in zf.infolist()
                     if not i.is_dir() and PurePosixPath(i.filename).name == lms.GRADESCOPE_METADATA}
            for parts, info in infos.items():
                root = parts[:-1]
                if _export_roots((*root, ""), lambda p: (*p, lms.GRADESCOPE_METADATA) in infos) != root:
                    continue  # inside another export's submission folder, or below another metadata file
                try:
                    metas[root] = lms.parse_gradescope_metadata(_member_bytes(zf, info, lms.MAX_METADATA_BYTES))
                except (ValueError, lms.MetadataError) as exc:
                    notes.append(f"{quoted(shown + '/' + info.filename, limit=200)}: {exc}; "
                                 "submissions there are known by file name")
                    metas[root] = {}
    except (OSError, zipfile.BadZipFile):
        pass
    subs = []
    for info in members:
        member = info.filename
        parts = _zip_parts(member)
        own = lms.from_filename(parts[-1] if parts else member)
        export = _export_roots(parts, lambda p: p in metas)
        ident = None
        if export is not None:
            folder, why = gradescope_place(parts, export)
            ident = metas[export].get(folder) if folder else None
            if ident is None:
                why = why or "its folder is not listed in the Gradescope export's metadata"
                notes.append(f"{quoted(shown + '/' + member, limit=200)}: {why}; known by its file name")
        subs.append(Upload(path=path, file=f"{shown}/{member}", member=member, identity=ident or own))
    return subs


# ---------------------------------------------------------------- ids

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def stem_of(file: str) -> str:
    """The file name without its folder and its .ipynb/.zip suffix."""
    base = file.rsplit("/", 1)[-1]
    for suffix in SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def plain_id(stem: str) -> bool:
    """Whether a stem can be an id as it is (ctlab's own files never end in .tmp)."""
    return bool(SAFE_ID.fullmatch(stem)) and not stem.lower().endswith(".tmp")


def hashed_id(file: str, *, digits: int = 10) -> str:
    """A readable id for a name that is not one: the stem's safe characters and a hash of the
    path as given (so the same path gets the same id in every run)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", stem_of(file))
    base = re.sub(r"^[^A-Za-z0-9]+", "", base)[:40] or "submission"
    digest = hashlib.sha256(file.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{base}-{digest[:digits]}"


def _assign_names(subs: list[Upload]) -> None:
    """Ids unique within the batch, case-insensitively (OUT may live on such a file system):
    the stem where it is safe and no other submission has it, otherwise stem and hash."""
    stems = Counter(stem_of(s.file).casefold() for s in subs)
    used: set[str] = set()
    for s in subs:
        stem = stem_of(s.file)
        if plain_id(stem) and stems[stem.casefold()] == 1:
            s.name = stem
            used.add(stem.casefold())
    for s in sorted((s for s in subs if not s.name), key=lambda s: s.file):
        digits = 10
        name = hashed_id(s.file, digits=digits)
        while name.casefold() in used:  # a stem chosen to look like another's id
            digits += 6
            name = hashed_id(s.file, digits=digits) if digits <= 64 else f"{name}-{len(used)}"
        s.name = name
        used.add(name.casefold())


# ---------------------------------------------------------------- reading

def _kind(mode: int) -> str | None:
    """Why an entry of this type is no submission, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder named like a submission, not a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    return "not a regular file"


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, at most `limit` + 1 of them; raises ValueError(status).
    Never opens anything else: the type is checked before opening and again on the open file."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise ValueError(f"unreadable submission: {exc.strerror or exc}") from None
    why = _kind(st.st_mode)
    if why == "a symbolic link":
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise ValueError(f"{NOT_GRADED}a symbolic link (to {quoted(_shown(target))}); submit the file itself")
    if why:
        raise ValueError(NOT_GRADED + why)
    if st.st_size > limit:
        raise ValueError(f"invalid submission: file is {st.st_size} bytes (limit {limit})")
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as exc:
        raise ValueError(f"unreadable submission: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the check above
            raise ValueError(NOT_GRADED + "not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"invalid submission: file is over {limit} bytes (limit {limit})")
    return data


class _Head(msgspec.Struct):
    cells: list[msgspec.Raw] | None = None


def _cell_count(raw: bytes) -> int:
    """How many cells the notebook's top-level list holds, without building them (the keys
    counted above can be written with escapes); 0 when that cannot be told, for the full
    parse below to say why."""
    try:
        return len(msgspec.json.decode(raw, type=_Head).cells or ())
    except (msgspec.DecodeError, RecursionError):
        return 0


def _notebook_cells(raw: bytes, where: str = "") -> list[str]:
    """Code cells of a notebook given as bytes; raises ValueError(status) if it is not one.
    The caps come first, the cheapest first: bytes, a count of cell markers, then the parsed
    cell list, and only then the notebook format's validation."""
    from ctlab.grading.worker.imports import import_without_iri_checker

    import_without_iri_checker("nbformat")
    import nbformat

    prefix = f"invalid notebook{where}: "
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise ValueError(prefix + f"over {MAX_NOTEBOOK_BYTES} bytes (limit {MAX_NOTEBOOK_BYTES})")
    if not raw.strip():
        raise ValueError(prefix + "empty file")
    too_many = prefix + f"more than {MAX_CELLS} cells (limit {MAX_CELLS})"
    if raw.count(b'"cell_type"') > MAX_CELLS or _cell_count(raw) > MAX_CELLS:
        raise ValueError(too_many)
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
        raise ValueError(prefix + f"nbformat {one_line(major, limit=20)} notebook "
                         "(nbformat 4 needed; open and save it in Jupyter)")
    if isinstance(data.get("cells"), list) and len(data["cells"]) > MAX_CELLS:  # the markers can be escaped
        raise ValueError(too_many)
    try:
        nb = nbformat.v4.to_notebook_json(data)  # type: ignore[no-untyped-call]  # nbformat is untyped
        nbformat.validate(nb)
    except Exception as exc:  # nbformat.ValidationError and friends
        msg = one_line(exc, limit=120) or type(exc).__name__
        raise ValueError(prefix + f"does not match the notebook format ({msg})") from None
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _damage(exc: BaseException) -> str:
    """What a zip error says, in fixed words (its own message may quote a member's name)."""
    msg = str(exc)
    if isinstance(exc, zlib.error):
        return "its compressed data is corrupt"
    if isinstance(exc, EOFError):
        return "its compressed data ends early"
    if "CRC" in msg:
        return "bad CRC-32 (the data is damaged)"
    if "file header" in msg:
        return "bad local file header"
    if "differ" in msg:
        return "its local header does not match the zip's directory"
    if "Overlapped" in msg or "overlap" in msg:
        return "overlapping entries (a zip bomb)"
    return f"damaged ({type(exc).__name__})"


def _open_zip(raw: bytes) -> zipfile.ZipFile:
    if raw.count(b"PK\x01\x02") > MAX_ZIP_MEMBERS:  # each entry of the directory starts with it
        raise ValueError(f"invalid zip: more than {MAX_ZIP_MEMBERS} entries")
    try:
        return zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        if "not a zip file" in str(exc):
            raise ValueError("invalid zip: not a zip file") from None
        raise ValueError(f"invalid zip: its directory is damaged ({_damage(exc)})") from None
    except Exception as exc:  # anything else the directory can provoke
        raise ValueError(f"invalid zip: its directory cannot be read ({type(exc).__name__})") from None


def _member_bytes(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """One member's bytes, bounded; raises ValueError(status). Read as if the header allowed more
    than the cap: a member that expands past what its header says (a zip bomb with a lying
    header) is caught after at most cap + 1 bytes."""
    shown = quoted(info.filename)
    if info.flag_bits & 0x1:
        raise ValueError(f"invalid zip: {shown} is encrypted; submit it without a password")
    if info.compress_type not in ZIP_METHODS:
        method = ZIP_METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise ValueError(f"invalid zip: {shown} uses compression {method}, which is not accepted "
                         "(save the zip with the standard deflate compression)")
    if info.file_size > limit:
        raise ValueError(f"unsafe zip: {shown} expands to {info.file_size} bytes (limit {limit})")
    probe = copy.copy(info)
    probe.file_size = limit + 2
    try:
        with zf.open(probe) as f:
            data = f.read(limit + 1)
    except Exception as exc:  # zlib.error, BadZipFile, EOFError, ...: all mean damaged input
        raise ValueError(f"invalid zip: {shown}: {_damage(exc)}") from None
    if len(data) > limit:
        raise ValueError(f"unsafe zip: {shown} expands past {limit} bytes (its header says {info.file_size})")
    if len(data) != info.file_size:
        raise ValueError(f"unsafe zip: {shown} expands to {len(data)} bytes, not the {info.file_size} its header says")
    if zlib.crc32(data) != info.CRC:
        raise ValueError(f"invalid zip: {shown}: bad CRC-32 (the data is damaged)")
    return data


def _zip_notebook(raw: bytes) -> tuple[bytes, str]:
    """The one notebook in an export zip, read in memory and bounded; raises ValueError(status)."""
    zf = _open_zip(raw)
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ValueError(f"invalid zip: more than {MAX_ZIP_MEMBERS} entries")
        total = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or (parts and re.match(r"[A-Za-z]:", parts[0])):
                raise ValueError(f"unsafe zip: entry {quoted(info.filename)} escapes its folder")
            total += info.file_size
        if total > MAX_ZIP_UNCOMPRESSED:
            raise ValueError(f"unsafe zip: expands to {total} bytes (limit {MAX_ZIP_UNCOMPRESSED})")
        usable = [i for i in infos if not i.is_dir() and "__MACOSX" not in i.filename
                  and ".ipynb_checkpoints" not in i.filename]
        notebooks = [i for i in usable if i.filename.lower().endswith(".ipynb")]
        if not notebooks:
            inner = [i for i in usable if i.filename.lower().endswith(".zip")]
            if inner:
                raise ValueError(f"invalid zip: no notebook inside, only another zip ({quoted(inner[0].filename)}); "
                                 "zips inside zips are not opened")
            raise ValueError("invalid zip: no notebook (.ipynb) inside")
        if len(notebooks) > 1:
            names = ", ".join(quoted(i.filename, limit=40) for i in notebooks[:3])
            raise ValueError(f"invalid zip: {len(notebooks)} notebooks inside ({names}); expected one")
        info = notebooks[0]
        return _member_bytes(zf, info, MAX_NOTEBOOK_BYTES), info.filename


def _bulk_member(sub: Upload) -> bytes:
    """A bulk zip member's bytes: the zip is opened again (never through a link) and the member
    read under the same caps as a submission of its kind on disk; raises ValueError(status)."""
    limit = MAX_ZIP_BYTES if sub.member.lower().endswith(".zip") else MAX_NOTEBOOK_BYTES
    try:
        fd = os.open(sub.path, READ_FLAGS)
    except OSError as exc:
        raise ValueError(f"unreadable submission: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(NOT_GRADED + "not a regular file")
        if st.st_size > MAX_BULK_ZIP_BYTES:
            raise ValueError(f"invalid zip: the bulk download is {st.st_size} bytes (limit {MAX_BULK_ZIP_BYTES})")
        try:
            with zipfile.ZipFile(f) as zf:
                info = zf.getinfo(sub.member)
                return _member_bytes(zf, info, limit)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
            raise ValueError(f"invalid zip: the bulk download cannot be read ({type(exc).__name__})") from None


def load(sub: Upload, *, known: Callable[[Upload], bool] | None = None) -> None:
    """Fill in cells, sha256 and (for bad input) status. A submission for which `known` holds
    once its bytes are hashed is not parsed (`unread`): an earlier result for the same bytes
    stands, and parsing is most of what reading a class costs."""
    is_zip = (sub.member or sub.path.name).lower().endswith(".zip")
    try:
        if sub.member:
            raw = _bulk_member(sub)
        else:
            raw = _read_regular(sub.path, MAX_ZIP_BYTES if is_zip else MAX_NOTEBOOK_BYTES)
    except ValueError as exc:
        sub.status = str(exc)
        return
    sub.sha256 = hashlib.sha256(raw).hexdigest()
    if known is not None and known(sub):
        sub.unread = True
        return
    try:
        if is_zip:
            data, inner = _zip_notebook(raw)
            sub.cells = _notebook_cells(data, where=f" ({quoted(inner)} in zip)")
        else:
            sub.cells = _notebook_cells(raw)
    except ValueError as exc:
        sub.status = str(exc)
