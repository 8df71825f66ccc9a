"""The answers the reports read beyond the results model (ctlab.grading.results): answer
snapshots, question maxima and error types.

Reports read only what `ctlab grade` wrote (and the autograder's config), so they can be
rebuilt at any time without grading again. A submission here is a `Graded`: a row of the
gradebook joined with its results file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ctlab.contract import question_order
from ctlab.grading.results import Graded

__all__ = ["REPORT_MAX_ROWS", "REPORT_VALUE_FILE_CAP", "SavedAnswers", "Unsaved", "error_type", "load_snapshot_dir",
           "load_snapshots",
           "manual_maxima", "max_points_by_question", "question_order"]

_ERROR_TYPE = re.compile(r"([A-Za-z_][A-Za-z0-9_.]{0,79})(?::|$)")


def error_type(text: str) -> str:
    """The exception's type from a cell's error text (its last line starts `Type: message`)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    m = _ERROR_TYPE.match(lines[-1].strip()) if lines else None
    return m.group(1).rsplit(".", 1)[-1] if m else "an error"


def manual_maxima() -> dict[str, float]:
    """Points of the hand-graded questions (they have no test file to give a maximum)."""
    from ctlab.contract import MANUAL_QUESTIONS, POINTS

    return {q: float(POINTS[q]) for q in sorted(MANUAL_QUESTIONS)}


def max_points_by_question(subs: list[Graded]) -> dict[str, float]:
    """Question maxima as the results files give them; questions worth 0 points are left out
    (no test file for them), except the hand-graded ones, whose maximum is the course's."""
    from ctlab.contract import MANUAL_QUESTIONS

    maxima: dict[str, float] = {}
    for sub in subs:
        for q, mp in sub.max_points.items():
            maxima[q] = max(maxima.get(q, 0.0), mp)
    manual = manual_maxima()
    for q in MANUAL_QUESTIONS:
        if not maxima.get(q) and q in manual:
            maxima[q] = manual[q]
    maxima = {q: mp for q, mp in maxima.items() if mp > 0}
    return {q: maxima[q] for q in question_order(maxima)}


@dataclass(frozen=True)
class Unsaved:
    """A variable the student defined but the grader could not save (e.g. still `...`)."""

    reason: str


# An answer saved in a file past this is not described in the report: the course's own frames
# take well under 1 MiB, and describing a crafted giant would cost the whole report minutes.
REPORT_VALUE_FILE_CAP = 8 * 1024 * 1024
# Nor is a frame of more rows than this, whatever its size on disk: the course's largest answer
# (the API log) has under 7,000 rows, and Parquet's encodings pack millions of crafted rows
# into a few hundred KiB, which the report would spend minutes and gigabytes describing.
REPORT_MAX_ROWS = 1_000_000


def load_snapshot_dir(path: Path, only: list[str] | None = None) -> dict[str, object]:
    """The answer variables saved for one submission (those in `only`, when given), read by the
    grader's own loader (so both always agree); variables that exist but could not be saved come
    back as `Unsaved(reason)`."""
    from ctlab.grading.snapshot import load_snapshot_with_problems

    found, problems = load_snapshot_with_problems(path, only, max_file_bytes=REPORT_VALUE_FILE_CAP, max_rows=REPORT_MAX_ROWS)
    values = dict(found)
    for var, why in problems.items():
        values.setdefault(var, Unsaved(str(why)))
    return values


class SavedAnswers(Mapping[str, object]):
    """One submission's saved answers, each variable read (by the grader's own loader) when it is
    first looked at: a report describes only the answers that lost points, so most frames of a
    class are never read. Variables that exist but could not be saved read as `Unsaved(reason)`.
    When reading fails, the snapshot is `broken` from then on (nothing more is read from it, and
    `problems`, the submission's, says so once)."""

    def __init__(self, folder: Path, problems: list[str] | None = None) -> None:
        from ctlab.grading.snapshot import read_manifest

        self.folder = folder
        variables = read_manifest(folder)["variables"]  # raises SnapshotError when it is damaged
        self._entries = {n: e for n, e in variables.items() if isinstance(n, str) and isinstance(e, dict)}
        self._names = list(self._entries)
        self._read: dict[str, object] = {}
        self._digests: dict[str, str | None] = {}  # by variable, as digests() found them
        self._problems = problems if problems is not None else []
        self.broken = False

    def __getitem__(self, name: str) -> object:
        if name not in self._read:
            if self.broken or name not in self._names:
                raise KeyError(name)
            try:
                self._read.update(load_snapshot_dir(self.folder, only=[name]))
            except Exception as exc:  # a damaged snapshot costs only this submission's answers
                self.broken = True
                self._problems.append(f"its saved answers could not be read ({type(exc).__name__})")
                raise KeyError(name) from None
        if name not in self._read:
            raise KeyError(name)
        return self._read[name]

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]  # any object may be asked about
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return (n for n in self._names if n in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def digests(self, names: tuple[str, ...]) -> tuple[str, ...] | None:
        """A key of each named variable's saved content: equal keys, equal answers. A hash of its file
        (see runner.value_digests); for a variable the notebook never set, that fact; for one saved
        without a file (a value that could not be saved), its manifest entry, all the loader reads of
        it. None when a file could not be hashed."""
        import json

        from ctlab.grading.runner import value_digests

        wanted = [n for n in names if n not in self._digests]
        if wanted:  # each file hashed once per submission, whichever questions ask for it
            found = value_digests(str(self.folder), wanted)
            self._digests.update({n: found.get(n) for n in wanted})
        found = {n: d for n in names if (d := self._digests[n]) is not None}
        keys = []
        for n in names:
            entry = self._entries.get(n)
            if n in found:
                keys.append(found[n])
            elif entry is None:
                keys.append("not set")
            elif "file" not in entry:
                keys.append("entry " + json.dumps(entry, sort_keys=True, default=str))
            else:
                return None
        return tuple(keys)


def load_snapshots(out: Path, subs: list[Graded]) -> dict[str, Mapping[str, object]]:
    """Snapshots by submission name, each read lazily (SavedAnswers); submissions without one
    (or with an unreadable one, which is noted on the submission) are left out."""
    found: dict[str, Mapping[str, object]] = {}
    for sub in subs:
        folder = out / "snapshots" / sub.name
        if not folder.is_dir():
            continue
        try:
            found[sub.name] = SavedAnswers(folder, sub.problems)
        except Exception as exc:  # a damaged snapshot costs only this submission's answers
            sub.problems.append(f"its saved answers could not be read ({type(exc).__name__})")
    return found
