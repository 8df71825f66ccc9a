"""The hand scores kept in OUT/manual_scores.json: points per manual question, and for the review
page the points per rubric criterion and a comment.

`ctlab grade --manual` and `ctlab review` both write here, possibly at the same time (two graders
on one OUT), so every change is a read-modify-write under an exclusive lock (flock) on the OUT folder itself,
and the file is replaced in one rename: readers see the old store or the new one, and no update is lost.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic
from ctlab.errors import CtlabError

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

    def as_json(self) -> dict:
        return {"points": self.points, "criteria": dict(self.criteria), "comment": self.comment}


Store = dict[str, dict[str, Score]]  # {student key: {question: Score}}


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
            store.setdefault(str(key), {})[str(q)] = Score(
                points=None if pts is None else _number(pts, where),
                criteria={str(c): _number(v, where) for c, v in crit.items()},
                comment=str(value.get("comment") or "")[:MAX_COMMENT],
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
    atomic.write_text(Path(out) / FILE, json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", mode=0o640)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    fd = os.open(Path(out), os.O_RDONLY | os.O_DIRECTORY)  # no lock file to leave behind
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def merge_points(out: Path, update: dict[str, dict[str, float]],
                 comments: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, float]]:
    """Merge whole-question points (the `--manual` CSV): each overrides that student's earlier score
    for the question, whose criteria no longer add up to it and are dropped (the comment stays,
    unless `comments` gives a new one). Returns the complete points of the whole store."""
    comments = comments or {}
    if not update and not comments:
        return points(read(out))
    with _locked(out):
        store = read(out)
        for key, scores in update.items():
            for q, pts in scores.items():
                old = store.get(key, {}).get(q, Score())
                store.setdefault(key, {})[q] = Score(points=float(pts), comment=old.comment)
        for key, notes in comments.items():
            for q, text in notes.items():
                old = store.get(key, {}).get(q, Score())
                store.setdefault(key, {})[q] = Score(points=old.points, criteria=dict(old.criteria),
                                                     comment=text[:MAX_COMMENT])
        _write(out, store)
    return points(store)


def set_score(out: Path, *, key: str, question: str, criteria: dict[str, float], comment: str | None,
              all_criteria: list[str]) -> Score:
    """Record one student's criteria (those not given keep their stored value) and comment; the
    question's points are their sum once every criterion in `all_criteria` has one."""
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
                      comment=old.comment if comment is None else comment[:MAX_COMMENT])
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


def lookup(scores: dict[str, dict[str, float]] | Store, *, file: str, name: str, stem: str, base: str,
           stem_unique: bool):
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
