"""`ctlab export OUT --format canvas|gradescope|csv`: the gradebook in the LMS's own import formats.

- canvas:     OUT/export-canvas.csv  Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID,
              Section, then one column "<assignment> (<assignment id>)"; a "Points Possible" row first
              (the required questions: stretch questions are extra credit).
- gradescope: OUT/export-gradescope.csv  Gradescope's score upload: Name, SID, Email, Total Score.
- csv:        OUT/export-csv.csv  file, student, late, q1..., required, extra_credit, total, late_penalty, score,
              required_percent (0-100: the required points earned of those possible), status.

Students come from a roster (`--roster`, kept in OUT/roster.json by `ctlab grade --roster` or an
earlier export): every roster student gets a row, with the score of their newest submission and a
blank where they have none (a blank never overwrites a grade in either LMS). Without a roster, a row
per submission, identified by what its LMS file name says (Canvas user id and login; Gradescope
email and SID) or else by its file name's stem. Scores are after any late penalty.

The settings of each export made (format, assignment name and id) are kept in OUT/exports.json, and
every later change of scores (`ctlab grade`, a hand-score merge, a review) rewrites those exports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic
from ctlab.contract import QUESTIONS, STRETCH_QUESTIONS
from ctlab.errors import CtlabError
from ctlab.grading.results import Graded, load_graded
from ctlab.lms import Identity
from ctlab.roster import Roster, Student, load_roster, match
from ctlab.safetext import csv_text, one_line

from ._format import fmt_points
from .answers import max_points_by_question

FORMATS = ("canvas", "gradescope", "csv")
ASSIGNMENT = "Scenario 03B"
ROSTER_KEPT = "roster.json"
SETTINGS = "exports.json"


@dataclass
class ExportSettings:
    fmt: str
    assignment_name: str = ASSIGNMENT
    assignment_id: str = ""


@dataclass
class RosterCheck:
    """How the batch's submissions met the roster."""

    students: int = 0
    matched: int = 0
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (submission file, why)
    missing: list[str] = field(default_factory=list)  # students with no submission
    superseded: list[str] = field(default_factory=list)  # older submissions of a student with a newer one
    whose: dict[str, str] = field(default_factory=dict)  # a superseded submission's student, by the roster's name

    def describe(self, *, superseded: bool = True) -> list[str]:
        """The summary's lines; without the superseded uploads when the caller lists them itself."""
        # file names come from submissions (and a bulk zip's members): one line each, no control characters
        lines = [f"roster: {self.matched} of {self.students} students have a submission"]
        lines += [f"  no roster student for {one_line(_base(f))} ({why})" for f, why in self.unmatched]
        if self.missing:  # "Last, First" names: people are separated by "; "
            lines.append(f"  {len(self.missing)} student(s) with no submission: "
                         + "; ".join(one_line(m, limit=200) for m in self.missing))
        for f in self.superseded if superseded else []:  # by the student's name: a person is meant
            who = one_line(self.whose[f], limit=200) if self.whose.get(f) else "the same student"
            lines.append(f"  not exported ({who} has a newer one): {one_line(_base(f))}")
        return lines


def _base(file: str) -> str:
    """A submission's file name without the folders it was found in (never an absolute path)."""
    return file.replace("\\", "/").rsplit("/", 1)[-1]


def _pts(value: float | None) -> str:
    return "" if value is None else fmt_points(round(value, 4))


def keep_roster(*, out: Path, roster: Roster) -> None:
    """Keep a roster in OUT, so later exports and reports use it."""
    atomic.write_text(Path(out) / ROSTER_KEPT, json.dumps(roster.to_dict(), indent=1, ensure_ascii=False) + "\n",
                      mode=0o600)


def kept_roster(out: Path) -> Roster | None:
    path = Path(out) / ROSTER_KEPT
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CtlabError(f"{path}: cannot read the kept roster ({exc})") from None
    return Roster.from_dict(data, where=str(path))


def _identity(s: Graded) -> Identity:
    from ctlab.grading.inputs import stem_of

    return s.identity or Identity(source="file", key=stem_of(s.file))


def identity_of(s: Graded) -> Identity:
    """Who the LMS says a submission is from; the file's stem when it says nothing."""
    return _identity(s)


def newness(s: Graded) -> tuple[float, int, int, str]:
    """Sorts uploads oldest first: by the LMS's time, then submission id, then Canvas's re-upload number."""
    return _newness(s)


def _newness(s: Graded) -> tuple[float, int, int, str]:
    ident = _identity(s)
    when = ident.submitted()
    return (when.timestamp() if when else float("-inf"),
            int(ident.submission_id) if ident.submission_id.isdigit() else -1, ident.attempt, s.file)


def roster_rows(subs: list[Graded], roster: Roster) -> tuple[list[tuple[Student, Graded | None]], RosterCheck]:
    """Each roster student with their newest submission (or None), and how the batch met the roster."""
    by_name = {s.name: s for s in subs}
    m = match(roster, {s.name: _identity(s) for s in subs})
    check = RosterCheck(students=len(roster.students))
    chosen: dict[int, Graded] = {}
    for sub_name, i in m.student_of.items():
        s = by_name[sub_name]
        if i in chosen:
            older, newer = sorted((chosen[i], s), key=_newness)
            check.superseded.append(older.file)
            check.whose[older.file] = roster.students[i].label()
            chosen[i] = newer
        else:
            chosen[i] = s
    check.matched = len(chosen)
    check.unmatched = [(by_name[n].file, why) for n, why in m.unmatched.items()]
    check.missing = [roster.students[i].label() for i in m.missing]
    check.superseded.sort()
    return [(st, chosen.get(i)) for i, st in enumerate(roster.students)], check


def check_roster(*, out: Path) -> RosterCheck | None:
    roster = kept_roster(out)
    if roster is None:
        return None
    return roster_rows(load_graded(out), roster)[1]


def _possible(subs: list[Graded]) -> float:
    maxima = max_points_by_question(subs)
    return sum(mx for q, mx in maxima.items() if q in QUESTIONS and q not in STRETCH_QUESTIONS)


def _score(s: Graded | None) -> str:
    return "" if s is None else _pts(s.final)


def _canvas(subs: list[Graded], roster: Roster | None, settings: ExportSettings) -> tuple[list[str], list[list[str]]]:
    name = settings.assignment_name.strip() or ASSIGNMENT
    column = f"{name} ({settings.assignment_id})" if settings.assignment_id else name
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    rows = [["    Points Possible", "", "", "", "", _pts(_possible(subs))]]
    if roster is not None:
        for st, s in roster_rows(subs, roster)[0]:
            rows.append([st.name, st.canvas_id, st.sis_user_id, st.sis_login_id, st.section, _score(s)])
        return header, rows
    for s in subs:
        ident = _identity(s)
        if ident.source == "canvas":
            rows.append([ident.key, ident.user_id, "", "", "", _score(s)])
        else:
            rows.append([ident.name or ident.key, "", ident.sid or ident.key, "", "", _score(s)])
    return header, rows


def _gradescope(subs: list[Graded], roster: Roster | None) -> tuple[list[str], list[list[str]]]:
    header = ["Name", "SID", "Email", "Total Score"]
    rows = []
    if roster is not None:
        for st, s in roster_rows(subs, roster)[0]:
            rows.append([st.name, st.sid or st.sis_user_id, email_of(st), _score(s)])
        return header, rows
    for s in subs:
        ident = _identity(s)
        if ident.source == "gradescope":
            rows.append([ident.name, ident.sid, ident.email, _score(s)])
        else:
            email = ident.key if "@" in ident.key else ""
            rows.append([ident.key, "" if email else ident.key, email, _score(s)])
    return header, rows


def email_of(st: Student) -> str:
    """A student's email: the roster's Email, else a Canvas login id that is an email address."""
    if st.email:
        return st.email
    return st.sis_login_id if "@" in st.sis_login_id else ""


def _plain(subs: list[Graded], roster: Roster | None) -> tuple[list[str], list[list[str]]]:
    questions = [q for q in QUESTIONS if any(q in s.points for s in subs)]
    student_of: dict[str, str] = {}
    if roster is not None:
        m = match(roster, {s.name: _identity(s) for s in subs})
        student_of = {n: roster.students[i].label() for n, i in m.student_of.items()}
    header = ["file", "student", "late", *questions, "required", "extra_credit", "total", "late_penalty", "score",
              "required_percent", "status"]
    rows = [
        [s.file, student_of.get(s.name, ""), "yes" if s.late else "",
         *[_pts(s.points.get(q)) for q in questions], _pts(s.total - s.extra_credit), _pts(s.extra_credit),
         _pts(s.total), _pts(s.late_penalty) if s.late_penalty else "", _pts(s.final),
         "" if (p := s.required_percent) is None else f"{p:.2f}", s.status]
        for s in subs
    ]
    return header, rows


def _settings(out: Path) -> dict[str, ExportSettings]:
    path = out / SETTINGS
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {fmt: ExportSettings(fmt=fmt, assignment_name=str(v.get("assignment_name", ASSIGNMENT)),
                                    assignment_id=str(v.get("assignment_id", "")))
                for fmt, v in data.items() if fmt in FORMATS and isinstance(v, dict)}
    except (OSError, ValueError, AttributeError) as exc:
        raise CtlabError(f"{path}: cannot read the export settings ({exc})") from None


def choose_roster(*, out: Path, given: Path | None, replace: bool) -> tuple[Roster | None, bool]:
    """(the roster to use, whether to keep it in OUT): `given` (loaded and checked), else the one OUT
    keeps. A roster of other students than the kept one is refused unless `replace`: neither
    `ctlab grade` nor `ctlab export` ever silently changes which class OUT is of. The same students
    written otherwise (names, sections) are kept as given."""
    out = Path(out)
    kept = kept_roster(out)
    if given is None:
        return kept, False
    loaded = load_roster(given)
    if kept is not None and not _same_students(kept, loaded) and not replace:
        raise CtlabError(
            f"{given}: differs from the roster kept in {out / ROSTER_KEPT} ({len(kept.students)} students, from "
            f"{one_line(kept.source or 'an earlier run', limit=200)}); nothing was written. Leave out --roster to "
            "use the kept one, or pass --replace-roster to use this one from now on")
    return loaded, kept is None or kept.students != loaded.students


def _same_students(a: Roster, b: Roster) -> bool:
    """Whether two rosters list the same students by their ids (names and sections may be written
    differently, as an older ctlab wrote Gradescope's First and Last Name)."""
    def ids(r: Roster) -> list[tuple[str, ...]]:
        return sorted((s.canvas_id, s.sis_user_id, s.sis_login_id, s.sid, s.email.casefold()) for s in r.students)
    return ids(a) == ids(b)


def _unusable(subs: list[Graded], roster: Roster | None, rows: list[list[str]], fmt: str) -> str:
    """Why an export would be of no use (no submission matches the roster, every score is blank),
    or "". Such an export is refused rather than written."""
    if not subs:
        return "the gradebook has no submissions"
    if roster is not None:
        m = match(roster, {s.name: _identity(s) for s in subs})
        if not m.student_of:
            file, why = next(iter(m.unmatched.items()), ("", ""))
            example = next((s.file for s in subs if s.name == file), file)
            return (f"no submission matches a student of the roster ({len(roster.students)} students, "
                    f"{one_line(roster.source or 'kept in OUT', limit=200)}); e.g. {one_line(_base(example))}: {why}. "
                    "Is it this class's roster?")
    if fmt in ("canvas", "gradescope"):
        scores = [r[-1] for r in rows if not r[0].startswith("    Points Possible")]
        if not any(scores):
            return "every score in it would be blank"
    return ""


def pending_note(subs: list[Graded], roster: Roster | None) -> str:
    """"q8 pending hand grading for 12 of 40 students; their exported scores leave it out", or ""."""
    current = subs
    if roster is not None:
        current = [s for _, s in roster_rows(subs, roster)[0] if s is not None]
    pending = [s for s in current if s.pending]
    if not pending:
        return ""
    questions = sorted({q for s in pending for q in s.pending})
    return (f"{' and '.join(questions)} pending hand grading for {len(pending)} of {len(current)} "
            f"{'students with a submission' if roster is not None else 'submissions'}; their exported scores leave it out until "
            "it is scored (`ctlab review OUT`, then --apply)")


def export_note(*, out: Path) -> str:
    """What an instructor should know about the exports of OUT now, or "": hand scores still
    pending, and hand scores that graded an earlier summary than the one graded now (stale)."""
    from . import stale_hand_scores
    from .pending import stale_line
    from .students import classlist

    out = Path(out)
    subs = load_graded(out)
    people = classlist(out=out, subs=subs)
    stale = stale_line([people.label(f) for f in stale_hand_scores(out, people.current(subs))])
    return "; ".join(n for n in (pending_note(subs, kept_roster(out)), stale) if n)


def export(*, out: Path, fmt: str, roster: Path | None = None, assignment_id: str | None = None,
           assignment_name: str | None = None, replace_roster: bool = False) -> Path:
    """Write OUT/export-<fmt>.csv and remember its settings so that score changes rewrite it.
    Refused, with nothing written: a roster other than the kept one (unless `replace_roster`), and
    an export that matches no roster student or whose scores are all blank."""
    out = Path(out)
    if fmt not in FORMATS:
        raise CtlabError(f"unknown export format {fmt!r} (choose one of {', '.join(FORMATS)})")
    subs = load_graded(out)  # CtlabError naming OUT/gradebook.csv when missing
    roster_obj, keep = choose_roster(out=out, given=roster, replace=replace_roster)
    settings = _settings(out)
    current = settings.get(fmt, ExportSettings(fmt=fmt))
    if assignment_id is not None:
        if assignment_id and not assignment_id.isdigit():
            raise CtlabError(f"--assignment-id must be the number in the assignment's Canvas URL, not {assignment_id!r}")
        current.assignment_id = assignment_id
    if assignment_name is not None:
        current.assignment_name = assignment_name
    settings[fmt] = current
    why = _unusable(subs, roster_obj, _rows(subs, roster_obj, current)[1], fmt)
    if why:
        raise CtlabError(f"{out / f'export-{fmt}.csv'}: not written: {why}")
    if keep and roster_obj is not None:
        keep_roster(out=out, roster=roster_obj)
    target = _write(out, subs, roster_obj, current)
    atomic.write_text(out / SETTINGS, json.dumps(
        {f: {"assignment_name": st.assignment_name, "assignment_id": st.assignment_id} for f, st in sorted(settings.items())},
        indent=1) + "\n", mode=0o600)
    return target


def _rows(subs: list[Graded], roster: Roster | None, settings: ExportSettings) -> tuple[list[str], list[list[str]]]:
    if settings.fmt == "canvas":
        return _canvas(subs, roster, settings)
    if settings.fmt == "gradescope":
        return _gradescope(subs, roster)
    return _plain(subs, roster)


def _write(out: Path, subs: list[Graded], roster: Roster | None, settings: ExportSettings) -> Path:
    header, rows = _rows(subs, roster, settings)
    target = out / f"export-{settings.fmt}.csv"
    atomic.write_text(target, csv_text(header, rows))  # every cell: no spreadsheet formula
    return target


def refresh_exports(*, out: Path) -> list[Path]:
    """Rewrite every export made before in OUT with the current scores."""
    out = Path(out)
    settings = _settings(out)
    if not settings:
        return []
    subs = load_graded(out)
    roster = kept_roster(out)
    return [_write(out, subs, roster, st) for _, st in sorted(settings.items())]
