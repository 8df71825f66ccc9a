"""Who each submission is, as people read it, and which uploads a newer one of the same student replaces.

With a roster (kept in OUT/roster.json), a submission is shown by its student's name as the roster
gives it ("Okafor, Chidi"), with the LMS id beside it for a tooltip or a column; without one, by its
short id (the name results/ and feedback/ use), never by the path it was found under. Lists of people
are joined with "; ", so "Okafor, Chidi; Park, Min" reads as two people.

Each student counts once: of several uploads by the same roster student (or, without a roster, the
same Canvas user or Gradescope submitter), the newest is current and the older ones are superseded.
Counts, charts, wrong-answer tallies and the review queue use the current ones only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ctlab.grading.results import Graded
from ctlab.roster import match

from .export import identity_of, kept_roster, newness, roster_rows

SEPARATOR = "; "


@dataclass(frozen=True)
class Person:
    label: str  # "Okafor, Chidi", or the submission's short id without a roster
    lms_id: str = ""  # the roster's id for that student (SIS user id, SID, Canvas id or email)

    def hover(self) -> str:
        return f"{self.label} ({self.lms_id})" if self.lms_id else self.label


@dataclass
class Classlist:
    """Every submission's person (by the gradebook's file), and the superseded uploads."""

    people: dict[str, Person] = field(default_factory=dict)
    superseded: dict[str, str] = field(default_factory=dict)  # older file -> the newer file that replaces it
    roster: bool = False

    def person(self, file: str) -> Person:
        return self.people.get(file) or Person(short_id(file))

    def label(self, file: str) -> str:
        return self.person(file).label

    def who(self, files: Iterable[str]) -> str:
        """"Okafor, Chidi; Park, Min": people, in name order."""
        return SEPARATOR.join(sorted((self.label(f) for f in files), key=str.casefold))

    def current(self, subs: list[Graded]) -> list[Graded]:
        return [s for s in subs if s.file not in self.superseded]

    def superseded_lines(self) -> list[str]:
        """One line per superseded upload: whose, and that the newer one counts."""
        return [f"{self.label(old)}: {short_id(old)} is superseded by {short_id(new)} (only the newer one counts)"
                for old, new in sorted(self.superseded.items(), key=lambda kv: (self.label(kv[0]).casefold(), kv[0]))]


def short_id(file: str) -> str:
    """A submission's short id: its file name without folders and without .ipynb/.zip."""
    base = file.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".ipynb", ".zip"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _uploader(s: Graded) -> tuple[str, str] | None:
    """Who uploaded a submission as the LMS says it, for telling re-uploads apart without a roster."""
    ident = s.identity
    if ident is None:
        return None
    if ident.source == "canvas" and ident.user_id:
        return ("canvas", ident.user_id)
    if ident.source == "gradescope" and (ident.email or ident.sid):
        return ("gradescope", ident.email.casefold() or ident.sid)
    return None


def _without_roster(subs: list[Graded]) -> dict[str, str]:
    newest: dict[tuple[str, str], Graded] = {}
    older: dict[str, tuple[str, str]] = {}
    for s in subs:
        key = _uploader(s)
        if key is None:
            continue
        if key in newest:
            old, new = sorted((newest[key], s), key=newness)
            older[old.file] = key
            newest[key] = new
        else:
            newest[key] = s
    return {file: newest[key].file for file, key in older.items()}


def classlist(*, out: Path, subs: list[Graded]) -> Classlist:
    """The people behind a batch's submissions, from OUT's kept roster when there is one."""
    roster = kept_roster(Path(out))
    if roster is None:
        return Classlist({s.file: Person(short_id(s.file)) for s in subs}, _without_roster(subs))
    rows, check = roster_rows(subs, roster)
    found = Classlist(roster=True)
    newer = {i: chosen.file for i, (_, chosen) in enumerate(rows) if chosen is not None}
    m = match(roster, {s.name: identity_of(s) for s in subs})
    for s in subs:
        at = m.student_of.get(s.name)
        if at is None:
            found.people[s.file] = Person(short_id(s.file))
            continue
        st = roster.students[at]
        found.people[s.file] = Person(st.label() or short_id(s.file), st.lms_id())
        if s.file != newer.get(at) and s.file in check.superseded:
            found.superseded[s.file] = newer[at]
    return found
