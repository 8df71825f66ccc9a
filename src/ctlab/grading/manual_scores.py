"""Hand scores: the `--manual` CSV read and checked, and the store kept in OUT/manual_scores.json
(points per manual question, and for the review page the points per rubric criterion and a comment).

`ctlab grade --manual` and `ctlab review` both write here, possibly at the same time (two graders
on one OUT), so every change is a read-modify-write under an exclusive lock (flock) on the OUT folder itself,
and the file is replaced in one rename: readers see the old store or the new one, and no update is lost.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import math
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ctlab import atomic, contract, safetext
from ctlab.errors import CtlabError
from ctlab.grading.inputs import Upload, stem_of

FILE = "manual_scores.json"
VERSION = 2
MAX_COMMENT = 4000


@dataclass(frozen=True)
class Score:
    """One student's hand score for one question. `points` is None until every criterion has one
    (or a CSV gave the total directly)."""

    points: float | None = None
    criteria: dict[str, float] = field(default_factory=dict)
    comment: str = ""
    graded_sha256: str = ""  # the SHA-256 of the answer the grader read ("" when not known: a store from before)

    def as_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"points": self.points, "criteria": dict(self.criteria), "comment": self.comment}
        if self.graded_sha256:
            doc["graded_sha256"] = self.graded_sha256
        return doc

    def stale(self, answer_hash: str | None) -> bool:
        """Whether this score graded another answer than the one whose answer_sha256 is `answer_hash`
        (the student's answer now): the submission changed and was graded again since. A score with
        no recorded hash is never stale."""
        return bool(self.graded_sha256) and answer_hash is not None and self.graded_sha256 != answer_hash


def answer_sha256(text: str) -> str:
    """What a hand score records of the answer it graded."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


ANSWER_VARIABLE = "triage_summary"  # what q8, the hand-graded question, reads
ANSWER_FILE_CAP = 80_000  # bytes of a saved summary read at most (the review page shows 20,000 characters)
ANSWER_MAX_ROWS = 1_000_000


def saved_answer(out: Path, name: str) -> tuple[str, str] | None:
    """(the summary as saved in OUT/snapshots/<name>, why there is none) for one submission, or None
    when OUT holds no snapshot of it yet (not graded, or refused). The one reading of the summary
    the review page shows and hand scores record the hash of."""
    from ctlab.grading.snapshot import load_snapshot_with_problems

    folder = Path(out) / "snapshots" / name
    if not (folder / "manifest.json").is_file():
        return None
    try:
        values, problems = load_snapshot_with_problems(folder, only={ANSWER_VARIABLE}, max_file_bytes=ANSWER_FILE_CAP,
                                                      max_rows=ANSWER_MAX_ROWS)
    except Exception as exc:  # a damaged snapshot costs only this student's summary
        return "", f"its saved answers could not be read ({type(exc).__name__})"
    if ANSWER_VARIABLE not in values:
        return "", f"{ANSWER_VARIABLE} {problems.get(ANSWER_VARIABLE, 'was not defined')}"
    value = values[ANSWER_VARIABLE]
    if not isinstance(value, str):
        return "", f"{ANSWER_VARIABLE} is not text (a {type(value).__name__})"
    return value, ""


def saved_answer_sha256(out: Path, name: str) -> str | None:
    """answer_sha256 of the summary OUT holds for a submission now ("" hashed when it has none), or
    None when OUT has no snapshot of it yet."""
    saved = saved_answer(out, name)
    return None if saved is None else answer_sha256(saved[0])


Store = dict[str, dict[str, Score]]  # {student key: {question: Score}}
V = TypeVar("V")


def _number(v: object, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise CtlabError(f"{where}: not a number: {v!r}")
    return float(v)


def _parse(data: object, path: Path) -> Store:
    """Both layouts: version 2 ({"version": 2, "scores": {key: {q: {...}}}}) and the first one,
    {key: {q: points}}."""
    if not isinstance(data, dict):
        raise CtlabError(f"{path}: not a hand-score store")
    version2 = data.get("version") == VERSION
    entries = data.get("scores", {}) if version2 else data
    if not isinstance(entries, dict):
        raise CtlabError(f"{path}: not a hand-score store")
    store: Store = {}
    for key, questions in entries.items():
        if not isinstance(questions, dict):
            raise CtlabError(f"{path}: the entry for {key!r} is not an object")
        for q, value in questions.items():
            where = f"{path}: {key!r} {q}"
            if not version2:
                store.setdefault(str(key), {})[str(q)] = Score(points=_number(value, where))
                continue
            if not isinstance(value, dict):
                raise CtlabError(f"{where}: not an object")
            pts = value.get("points")
            crit = value.get("criteria") or {}
            if not isinstance(crit, dict):
                raise CtlabError(f"{where}: criteria are not an object")
            sha = value.get("graded_sha256")
            store.setdefault(str(key), {})[str(q)] = Score(
                points=None if pts is None else _number(pts, where),
                criteria={str(c): _number(v, where) for c, v in crit.items()},
                comment=str(value.get("comment") or "")[:MAX_COMMENT],
                graded_sha256=sha if isinstance(sha, str) and len(sha) == 64 else "",
            )
    return store


def read(out: Path) -> Store:
    """The store as it is now ({} when there is none)."""
    path = Path(out) / FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CtlabError(f"{path}: cannot read the kept hand scores ({exc})") from None
    return _parse(data, path)


def points(store: Store) -> dict[str, dict[str, float]]:
    """{student key: {question: points}} for the scores that are complete: what the gradebook merges."""
    found: dict[str, dict[str, float]] = {}
    for key, questions in store.items():
        done = {q: s.points for q, s in questions.items() if s.points is not None}
        if done:
            found[key] = done
    return found


def _write(out: Path, store: Store) -> None:
    doc = {"version": VERSION,
           "scores": {k: {q: s.as_json() for q, s in sorted(qs.items())} for k, qs in sorted(store.items())}}
    atomic.write_text(Path(out) / FILE, json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", mode=0o600)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    fd = os.open(Path(out), os.O_RDONLY | os.O_DIRECTORY)  # no lock file to leave behind
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def merge_points(out: Path, update: dict[str, dict[str, float]],
                 comments: dict[str, dict[str, str]] | None = None,
                 graded: Mapping[str, str | None] | None = None) -> dict[str, dict[str, float]]:
    """Merge whole-question points (the `--manual` CSV): each overrides that student's earlier score
    for the question, whose criteria no longer add up to it and are dropped (the comment stays,
    unless `comments` gives a new one). Returns the complete points of the whole store.

    `graded` gives, per student, answer_sha256 of the answer OUT holds when the CSV is loaded: a new
    or changed score records it as what it graded, so the score turns stale when that answer changes
    later. The same points loaded again keep what the score recorded before (re-running the same
    command line never hides a change the score has not seen); None, or a student not in `graded`,
    records nothing yet (see record_graded)."""
    comments = comments or {}
    graded = graded or {}
    if not update and not comments:
        return points(read(out))
    with _locked(out):
        store = read(out)
        for key, scores in update.items():
            for q, pts in scores.items():
                old = store.get(key, {}).get(q, Score())
                same = old.points == float(pts) and bool(old.graded_sha256)
                store.setdefault(key, {})[q] = Score(points=float(pts), comment=old.comment,
                                                     graded_sha256=old.graded_sha256 if same else graded.get(key) or "")
        for key, notes in comments.items():
            for q, text in notes.items():
                old = store.get(key, {}).get(q, Score())
                store.setdefault(key, {})[q] = Score(points=old.points, criteria=dict(old.criteria),
                                                     comment=text[:MAX_COMMENT], graded_sha256=old.graded_sha256)
        _write(out, store)
    return points(store)


def record_graded(out: Path, graded: Mapping[str, str]) -> None:
    """Record, for scores that record no answer yet, the answer they graded ({student key: answer_sha256}):
    a CSV score for a submission OUT had not graded when the CSV was loaded grades what this run graded."""
    if not graded:
        return
    with _locked(out):
        store = read(out)
        changed = False
        for key, sha in graded.items():
            for q, old in store.get(key, {}).items():
                if q in contract.MANUAL_QUESTIONS and not old.graded_sha256 and old.points is not None:
                    store[key][q] = Score(points=old.points, criteria=dict(old.criteria), comment=old.comment,
                                          graded_sha256=sha)
                    changed = True
        if changed:
            _write(out, store)


def set_score(out: Path, *, key: str, question: str, criteria: dict[str, float], comment: str | None,
              all_criteria: list[str], answer_hash: str | None = None) -> Score:
    """Record one student's criteria (those not given keep their stored value) and comment; the
    question's points are their sum once every criterion in `all_criteria` has one. `answer_hash`
    (answer_sha256 of what the grader read) is kept, so a later change of the answer marks the score stale."""
    with _locked(out):
        store = read(out)
        old = store.get(key, {}).get(question, Score())
        crit = {c: v for c, v in old.criteria.items() if c in all_criteria}
        for c, v in criteria.items():
            if c not in all_criteria:
                raise CtlabError(f"unknown rubric criterion {c!r}")
            crit[c] = _number(v, f"criterion {c}")
        complete = all(c in crit for c in all_criteria)
        pts = sum(crit[c] for c in all_criteria) if complete else (old.points if not old.criteria and not crit else None)
        score = Score(points=pts, criteria=crit,
                      comment=old.comment if comment is None else comment[:MAX_COMMENT],
                      graded_sha256=answer_hash if answer_hash is not None and criteria else old.graded_sha256)
        store.setdefault(key, {})[question] = score
        _write(out, store)
    return score


def clear(out: Path, *, key: str, question: str) -> None:
    """Forget one student's score for one question."""
    with _locked(out):
        store = read(out)
        if store.get(key, {}).pop(question, None) is not None:
            if not store[key]:
                del store[key]
            _write(out, store)


def lookup(scores: Mapping[str, V], *, file: str, name: str, stem: str, base: str,
           stem_unique: bool) -> V | None:
    """The entry for one submission: keyed by its id (as the review page keeps them) or its path as
    given, or by its bare file name or stem when no other submission in the batch shares that."""
    for k in (name, file):
        if k in scores:
            return scores[k]
    if stem_unique:
        for k in (base, stem):
            if k in scores:
                return scores[k]
    return None


def for_submission(scores: dict[str, dict[str, float]], *, file: str, name: str,
                   stems: Counter[str]) -> dict[str, float] | None:
    """The hand scores for one submission of a batch whose files' stems are counted in `stems` (see lookup)."""
    stem = stem_of(file)
    return lookup(scores, file=file, name=name, stem=stem, base=file.rsplit("/", 1)[-1], stem_unique=stems[stem] == 1)


# ---------------------------------------------------------------- the --manual CSV

ManualRow = tuple[int, str, dict[str, float], dict[str, str]]  # line, file key, {q: points}, {q: comment}


def _load_manual(manual: Path, manual_q: frozenset[str]) -> tuple[list[ManualRow], list[str]]:
    """The CSV's rows, from a `file` column, manual question columns (`q8`) and optional comment
    columns (`q8_comment`, or `comment` beside a single question), and what is wrong with any line."""
    try:
        text = Path(manual).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CtlabError(f"{manual}: cannot read manual scores ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CtlabError(f"{manual}: manual scores are not UTF-8 text (save them as CSV UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "file" not in reader.fieldnames:
        raise CtlabError(f"{manual}: needs a 'file' column and one column per manual question ({', '.join(sorted(manual_q))})")
    cols = [c for c in reader.fieldnames if c in manual_q]
    notes = {f"{c}_comment": c for c in cols if f"{c}_comment" in reader.fieldnames}
    if "comment" in reader.fieldnames and len(cols) == 1:
        notes["comment"] = cols[0]
    if not cols:
        raise CtlabError(f"{manual}: no manual question column ({', '.join(sorted(manual_q))})")
    rows: list[ManualRow] = []
    bad: list[str] = []
    for row in reader:
        line = reader.line_num
        key = safetext.csv_value((row.get("file") or "").strip())  # as ctlab's own CSVs wrote it
        entry: dict[str, float] = {}
        bad_before = len(bad)
        for c in cols:
            v = (row.get(c) or "").strip()
            if v == "":
                continue
            try:
                value = float(v)
            except ValueError:
                bad.append(f"line {line}: {c} is not a number: {safetext.quoted(v, limit=40)}")
                continue
            top = float(contract.POINTS[c])
            if not 0 <= value <= top:  # also refuses nan
                bad.append(f"line {line}: {c} = {v} is outside 0..{top:g}")
                continue
            entry[c] = value
        if not key:
            if entry or any((row.get(c) or "").strip() for c in notes):
                bad.append(f"line {line}: no file named")
            continue
        said = {q: (row.get(column) or "").strip() for column, q in notes.items() if (row.get(column) or "").strip()}
        if len(bad) == bad_before:  # a line with a bad value is reported once, for its value
            rows.append((line, key, entry, said))
    return rows, bad


def _resolve_manual(manual: Path, rows: list[ManualRow], bad: list[str], subs: list[Upload]
                    ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """({submission id: {q: points}}, {submission id: {q: comment}}): each row's key matched to
    exactly one submission of this batch (its file as the gradebook shows it, its id, its file name
    or its stem). Any bad line stops the merge, with every bad line listed, before anything is written."""
    keys: dict[str, set[str]] = {}
    for s in subs:
        base = s.file.rsplit("/", 1)[-1]
        for key in {s.file, s.name, base, stem_of(s.file)}:
            keys.setdefault(key, set()).add(s.name)
    files = {s.name: s.file for s in subs}
    resolved: dict[str, dict[str, float]] = {}
    comments: dict[str, dict[str, str]] = {}
    first_line: dict[str, int] = {}
    bad = list(bad)
    for line, key, entry, said in rows:
        found = keys.get(key, set())
        shown = safetext.quoted(key, limit=80)
        if not found:
            bad.append(f"line {line}: no submission in this batch is {shown}")
        elif len(found) > 1:
            names = ", ".join(safetext.quoted(f, limit=200) for f in sorted(files[n] for n in found)[:3])
            bad.append(f"line {line}: {shown} fits {len(found)} submissions ({names}); use the file as the gradebook shows it")
        else:
            sid = next(iter(found))
            if sid in first_line:
                bad.append(f"line {line}: scores the same submission as line {first_line[sid]}")
            else:
                first_line[sid] = line
                if entry:
                    resolved[sid] = entry
                if said:
                    comments[sid] = said
    if bad:
        bad.sort(key=lambda b: int(b.split(":", 1)[0].split()[1]))
        raise CtlabError(f"{manual}: {len(bad)} bad line(s); no hand score was merged:\n  " + "\n  ".join(bad))
    return resolved, comments


def read_csv(manual: Path, subs: list[Upload]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """The `--manual` CSV's scores and comments, by submission id; CtlabError listing every bad line."""
    return _resolve_manual(manual, *_load_manual(manual, contract.MANUAL_QUESTIONS), subs)
