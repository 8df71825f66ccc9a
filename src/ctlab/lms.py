"""Who a submission belongs to, read from how a learning-management system names and files it.

Canvas's "Download Submissions" names each file `<login>_[LATE_]<user id>_<submission id>_<original>`,
where `<login>` is the student's sortable name in lower case without spaces or punctuation and a
re-uploaded file's original name gains `-1`, `-2`, ... before its suffix. Gradescope's "Export
Submissions" puts each submission in a `submission_<id>/` folder beside `submission_metadata.yml`,
which names the submitters (name, SID, email) and the submission time. Any other file is known by its
stem alone, which the instructor may have made a student ID, login or email.

Everything here is parsing of untrusted names and files as data: nothing is opened but the one
metadata file, size-capped, read as YAML without tags.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 8 * 1024 * 1024
CANVAS_NAME = re.compile(
    r"(?P<login>[^_/]+?)_(?:(?P<late>LATE)_)?(?P<user_id>\d+)_(?P<submission_id>\d+)_(?P<original>.+)")
RESUBMISSION = re.compile(r"-(?P<n>\d+)$")
GRADESCOPE_FOLDER = re.compile(r"submission_(?P<id>\d+)")


@dataclass(frozen=True)
class Identity:
    """What the LMS says of a submission's author. `source` is "canvas", "gradescope" or "file"."""

    source: str
    key: str  # the stem (file) or the login (canvas) or first submitter's email/SID (gradescope)
    user_id: str = ""  # Canvas user id
    submission_id: str = ""
    attempt: int = 0  # Canvas's -N suffix on a re-uploaded file
    late: bool = False  # the LMS marked it late
    name: str = ""
    sid: str = ""
    email: str = ""
    submitted_at: str = ""  # ISO 8601 with offset, when the LMS gives it

    def to_dict(self) -> dict[str, str | int | bool]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> Identity | None:
        """An identity read back from a results file: written by ctlab, still checked as data."""
        if not isinstance(data, dict) or not isinstance(data.get("source"), str) or not isinstance(data.get("key"), str):
            return None
        template = cls(source="file", key="")
        kept = {}
        for name in cls.__dataclass_fields__:
            if name in data:
                if type(data[name]) is not type(getattr(template, name)):
                    return None
                kept[name] = data[name]
        return cls(**kept)

    def submitted(self) -> dt.datetime | None:
        if not self.submitted_at:
            return None
        try:
            when = dt.datetime.fromisoformat(self.submitted_at)
        except ValueError:
            return None
        return when if when.tzinfo else None


def _stem(base: str) -> str:
    for suffix in (".ipynb", ".zip"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def login_of(name: str) -> str:
    """Canvas's file-name form of a student's sortable name: "Doe, John" -> "doejohn"."""
    folded = unicodedata.normalize("NFKD", name)
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c)).lower()


def from_filename(base: str) -> Identity:
    """The identity a file's own name carries (`base` without folders)."""
    m = CANVAS_NAME.fullmatch(base)
    if m:
        original = _stem(m["original"])
        r = RESUBMISSION.search(original)
        return Identity(source="canvas", key=m["login"], user_id=m["user_id"],
                        submission_id=m["submission_id"], attempt=int(r["n"]) if r else 0,
                        late=bool(m["late"]))
    return Identity(source="file", key=_stem(base))


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _when(value: object) -> str:
    """Gradescope's `created_at` (`2026-03-02 09:15:00.123456000 +0100`, or a YAML timestamp)."""
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.tzinfo else ""
    if not isinstance(value, str):
        return ""
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    for fmt in ("%Y-%m-%d %H:%M:%S.%f %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return ""


class MetadataError(ValueError):
    """A Gradescope metadata file that cannot be read as one; the message names no path."""


def gradescope_metadata(path: Path) -> dict[str, Identity]:
    """{`submission_<id>` folder name: identity} from a Gradescope export's metadata file, which
    is opened only if it is a regular file (never through a link, never a FIFO)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise MetadataError(f"cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MetadataError("not a regular file")
        raw = f.read(MAX_METADATA_BYTES + 1)
    return parse_gradescope_metadata(raw)


def parse_gradescope_metadata(raw: bytes) -> dict[str, Identity]:
    if len(raw) > MAX_METADATA_BYTES:
        raise MetadataError(f"over {MAX_METADATA_BYTES} bytes")
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError):
        raise MetadataError("not YAML") from None
    if not isinstance(data, dict):
        raise MetadataError("not a mapping of submissions")
    found: dict[str, Identity] = {}
    for folder, entry in data.items():
        if not isinstance(folder, str) or not GRADESCOPE_FOLDER.fullmatch(folder) or not isinstance(entry, dict):
            continue
        entry = {str(k).lstrip(":"): v for k, v in entry.items()}
        submitters = entry.get("submitters")
        first = submitters[0] if isinstance(submitters, list) and submitters else {}
        first = {str(k).lstrip(":"): v for k, v in first.items()} if isinstance(first, dict) else {}
        email, sid = _text(first.get("email")), _text(first.get("sid"))
        found[folder] = Identity(source="gradescope", key=email or sid or folder,
                                 submission_id=folder.split("_", 1)[1], name=_text(first.get("name")),
                                 sid=sid, email=email, submitted_at=_when(entry.get("created_at")))
    return found
