"""What the review page shows, read once from a graded OUT: each student's summary, its evidence,
the stored hand scores and the pairs of possibly copied work."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ctlab.contract import MANUAL_QUESTIONS, QUESTIONS
from ctlab.grading import kept_code
from ctlab.grading import manual_scores as hand_scores
from ctlab.grading.inputs import stem_of
from ctlab.grading.results import Graded, load_graded
from ctlab.report.similarity import copied_work, own_code, shared_lines
from ctlab.report.students import classlist

from .evidence import AnswerKey, Evidence, evidence, load_answer_key
from .rubric import Criterion, criteria

(QUESTION,) = MANUAL_QUESTIONS  # the one question graded by hand, and the answer it reads
(VARIABLE,) = QUESTIONS[QUESTION]
MAX_SHOWN = 20_000  # characters of a summary the page shows


@dataclass
class Student:
    index: int
    file: str  # the gradebook's path as given
    name: str  # the submission's id: the key its scores are stored under
    status: str
    summary: str  # as written ("" when there is none)
    note: str  # why there is no summary, or that it was cut
    evidence: Evidence | None
    stored_key: str | None  # where its score is in the store now (may be a CSV's stem)
    pairs: list[int] = field(default_factory=list)
    label: str = ""  # who, as people read it: "Okafor, Chidi" with a roster, else the short id
    lms_id: str = ""  # the roster's id for the student, shown on hover
    answer_hash: str = ""  # answer_sha256 of the whole summary (or of "" when there is none)
    flag: str = ""  # its answers fit another variant, or its STUDENT_ID is not its author's
    variant: int = 1  # the variant whose key its summary is checked against


@dataclass(frozen=True)
class PairView:
    kind: str
    a: int
    b: int
    score: float


@dataclass
class Batch:
    out: Path
    root: Path
    students: list[Student]
    criteria: list[Criterion]
    key: AnswerKey | None
    key_note: str
    pairs: list[PairView]
    superseded: list[str] = field(default_factory=list)  # older uploads of a student: not in the queue


def summary_of(out: Path, name: str) -> tuple[str, str, str]:
    """The summary as shown (cut to MAX_SHOWN), why there is none, and the hash a hand score
    records of it (answer_sha256 of the whole of it, or of "" when there is none)."""
    text, note, whole = _read_summary(out, name)
    return text, note, hand_scores.answer_sha256(whole)


def _read_summary(out: Path, name: str) -> tuple[str, str, str]:
    saved = hand_scores.saved_answer(out, name)
    if saved is None:
        return "", "no saved answers", ""
    value, note = saved
    if len(value) > MAX_SHOWN:
        return value[:MAX_SHOWN], f"cut to its first {MAX_SHOWN} characters", value
    return value, note, value


def load_batch(*, out: Path, root: Path) -> Batch:
    """Everything the page needs, read once; the scores are read again on every change."""
    out, root = Path(out), Path(root)
    subs = load_graded(out)
    keys: dict[int, AnswerKey | None] = {}  # each summary is checked against its own variant's key
    notes: list[str] = []
    for v in sorted({max(s.variant, 1) for s in subs} | {1}):
        try:
            keys[v] = load_answer_key(root, v)
        except Exception as exc:
            keys[v] = None
            notes.append(f"no evidence: {exc}")
    key, key_note = keys[1], "; ".join(dict.fromkeys(notes))
    store = hand_scores.read(out)
    stems = Counter(stem_of(s.file) for s in subs)
    people = classlist(out=out, subs=subs)
    subs = people.current(subs)  # each student once, by their newest upload
    students: list[Student] = []
    for i, s in enumerate(subs):
        text, note, answer_hash = summary_of(out, s.name)
        stem = stem_of(s.file)
        stored = next((k for k in (s.name, s.file, s.file.rsplit("/", 1)[-1], stem)
                       if k in store and (k in (s.file, s.name) or stems[stem] == 1)), None)
        person = people.person(s.file)
        own = keys[max(s.variant, 1)]
        students.append(Student(i, s.file, s.name, s.status, text, note,
                                evidence(text, key=own) if own and text else None, stored,
                                label=person.label, lms_id=person.lms_id, answer_hash=answer_hash,
                                variant=max(s.variant, 1)))
    _flag(out, root, subs, students)
    index = {s.name: s.index for s in students}
    work = copied_work({s.name: s.summary for s in students if s.summary},
                       {s.name: c for s, sub in zip(students, subs, strict=True) if not sub.refused
                        and (c := kept_code.load(out, s.name))}, root=root)
    pairs = [PairView(kind, index[p.a], index[p.b], p.score)
             for kind, found in (("summary", work.summaries), ("own code", work.code)) for p in found]
    for n, p in enumerate(pairs):
        students[p.a].pairs.append(n)
        students[p.b].pairs.append(n)
    return Batch(out, root, students, criteria(root, question=QUESTION), key, key_note, pairs,
                 superseded=people.superseded_lines())


def _flag(out: Path, root: Path, subs: list[Graded], students: list[Student]) -> None:
    """Mark the students whose answers fit another variant's key, or whose id is not the LMS's."""
    from ctlab import variants
    from ctlab.report.answers import load_snapshots
    from ctlab.report.export import kept_roster
    from ctlab.report.variant_fit import foreign_ids, misfits

    keys = variants.answer_keys(root)
    if not keys:
        return
    by_file = {s.file: s for s in students}
    for m in misfits(subs, load_snapshots(out, subs), keys):
        by_file[m.file].flag = m.line
    for f in foreign_ids(subs, kept_roster(out)):
        by_file[f.file].flag = "; ".join(x for x in (by_file[f.file].flag, f.line) if x)


def own_code_of(batch: Batch, index: int) -> str:
    cells = kept_code.load(batch.out, batch.students[index].name) or []
    return own_code(cells, shared_lines(batch.root))
