"""A class roster as the LMS exports it, and which student each submission belongs to.

Accepted: Canvas's gradebook export (Student, ID, SIS User ID, SIS Login ID, Section; its
"Points Possible" row is skipped) and Gradescope's roster (Name or First Name + Last Name, SID,
Email; a Role column keeps only students). Column names are matched without regard to case.
A submission is matched by the strongest identity it carries: its Canvas user id, its Gradescope
email or SID, then its file stem against any roster ID, and last its Canvas login against the
student's name. A key that fits more than one student matches none (it is reported).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ctlab.errors import CtlabError
from ctlab.lms import Identity, login_of

MAX_ROSTER_BYTES = 16 * 1024 * 1024
IDENTITY_COLUMNS = ("name", "canvas_id", "sis_user_id", "sis_login_id", "section", "sid", "email")


@dataclass(frozen=True)
class Student:
    name: str
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    sid: str = ""
    email: str = ""

    def label(self) -> str:
        return self.name or self.email or self.sis_user_id or self.sid or self.canvas_id

    def lms_id(self) -> str:
        """The id people know the student by in the LMS, for a tooltip or a column."""
        return self.sis_user_id or self.sid or self.sis_login_id or self.email or self.canvas_id

    def to_dict(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in IDENTITY_COLUMNS}


@dataclass
class Roster:
    students: list[Student]
    source: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "students": [s.to_dict() for s in self.students]}

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Roster:
        if not isinstance(data, dict) or not isinstance(data.get("students"), list):
            raise CtlabError(f"{where}: not a saved roster")
        students = []
        for row in data["students"]:
            if not isinstance(row, dict) or not all(isinstance(row.get(c, ""), str) for c in IDENTITY_COLUMNS):
                raise CtlabError(f"{where}: not a saved roster")
            students.append(Student(**{c: row.get(c, "") for c in IDENTITY_COLUMNS}))
        return cls(students, source=str(data.get("source", "")))


_HEADERS = {
    "student": "name", "name": "name", "student name": "name", "full name": "name",
    "id": "canvas_id", "canvas id": "canvas_id", "canvas user id": "canvas_id",
    "sis user id": "sis_user_id", "sis login id": "sis_login_id", "login id": "sis_login_id",
    "section": "section", "sections": "section",
    "sid": "sid", "student id": "sid", "email": "email", "email address": "email",
    "first name": "first", "last name": "last", "role": "role",
}


def load_roster(path: Path) -> Roster:
    """Read a roster CSV; a clear one-line error naming the file for anything unusable."""
    path = Path(path)
    try:
        raw = path.read_bytes() if path.is_file() else None
    except OSError as exc:
        raise CtlabError(f"{path}: cannot read the roster ({exc.strerror})") from None
    if raw is None:
        raise CtlabError(f"{path}: no such roster file")
    if len(raw) > MAX_ROSTER_BYTES:
        raise CtlabError(f"{path}: roster is over {MAX_ROSTER_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CtlabError(f"{path}: roster is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise CtlabError(f"{path}: roster is not valid CSV ({exc})") from None
    if not rows:
        raise CtlabError(f"{path}: roster is empty")
    header = [_HEADERS.get(h.strip().lower(), "") for h in rows[0]]
    if "name" not in header and not {"first", "last"} & set(header):
        raise CtlabError(f"{path}: roster needs a Student or Name column (Canvas: Student, ID, SIS User ID, "
                         "SIS Login ID, Section; Gradescope: Name, SID, Email)")
    if not {"canvas_id", "sis_user_id", "sis_login_id", "sid", "email"} & set(header):
        raise CtlabError(f"{path}: roster has no identity column (ID, SIS User ID, SIS Login ID, SID or Email)")
    students: list[Student] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = {h: v.strip() for h, v in zip(header, row, strict=False) if h}
        if not any(cells.values()):
            continue
        if cells.get("name", "").strip().lower() in ("points possible", "student, test"):
            continue  # Canvas's points row and its built-in test student
        if cells.get("role") and cells["role"].strip().lower() != "student":
            continue
        name = cells.get("name") or sortable_name(cells.get("first", ""), cells.get("last", ""))
        s = Student(name=name, **{c: cells.get(c, "") for c in IDENTITY_COLUMNS if c != "name"})
        if not (s.canvas_id or s.sis_user_id or s.sis_login_id or s.sid or s.email):
            raise CtlabError(f"{path}: line {line}: {name or 'a student'} has no ID, SIS User ID, SIS Login ID, SID or Email")
        students.append(s)
    if not students:
        raise CtlabError(f"{path}: roster lists no students")
    return Roster(students, source=str(path))


def sortable_name(first: str, last: str) -> str:
    """"Last, First" (as Canvas sorts and shows students), or whichever of the two is given."""
    return ", ".join(p for p in (last.strip(), first.strip()) if p)


@dataclass
class Match:
    """Each submission (by its id) to a student (an index into the roster), and what did not match."""

    student_of: dict[str, int] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)  # submission id -> why
    missing: list[int] = field(default_factory=list)  # students with no submission


def _keys(ident: Identity) -> list[tuple[str, str]]:
    """(roster attribute group, value) pairs to look up, strongest first."""
    if ident.source == "canvas":
        return [("canvas_id", ident.user_id), ("login", ident.key)]
    if ident.source == "gradescope":
        return [("email", ident.email.casefold()), ("sid", ident.sid)]
    return [("any", ident.key.casefold())]


def match(roster: Roster, identities: dict[str, Identity]) -> Match:
    """Match submissions (id -> identity) to roster students."""
    index: dict[tuple[str, str], set[int]] = {}

    def add(kind: str, value: str, i: int) -> None:
        if value:
            index.setdefault((kind, value), set()).add(i)

    for i, s in enumerate(roster.students):
        add("canvas_id", s.canvas_id, i)
        add("login", login_of(s.name), i)
        add("email", s.email.casefold(), i)
        add("sid", s.sid, i)
        add("sid", s.sis_user_id, i)
        for value in (s.sis_user_id, s.sis_login_id, s.sid, s.email, s.canvas_id):
            add("any", value.casefold(), i)
    result = Match()
    for sub_id, ident in identities.items():
        why = "no roster student has this name's ID"
        for kind, value in _keys(ident):
            found = index.get((kind, value), set())
            if len(found) == 1:
                result.student_of[sub_id] = next(iter(found))
                break
            if len(found) > 1:
                why = f"fits {len(found)} roster students"
                break
        else:
            result.unmatched[sub_id] = why
            continue
        if sub_id not in result.student_of:
            result.unmatched[sub_id] = why
    taken = set(result.student_of.values())
    result.missing = [i for i in range(len(roster.students)) if i not in taken]
    return result
