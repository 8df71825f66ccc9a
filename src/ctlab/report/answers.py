"""The answers the reports read beyond the results model (ctlab.grading.results): answer
snapshots, question maxima and error types.

Reports read only what `ctlab grade` wrote (and the autograder's config), so they can be
rebuilt at any time without grading again. A submission here is a `Graded`: a row of the
gradebook joined with its results file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ctlab.contract import question_order
from ctlab.grading.results import Graded

__all__ = ["REPORT_MAX_ROWS", "REPORT_VALUE_FILE_CAP", "Unsaved", "error_type", "load_snapshot_dir", "load_snapshots",
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


def load_snapshot_dir(path: Path) -> dict[str, object]:
    """The answer variables saved for one submission, read by the grader's own loader (so both
    always agree); variables that exist but could not be saved come back as `Unsaved(reason)`."""
    from ctlab.grading.snapshot import load_snapshot_with_problems

    found, problems = load_snapshot_with_problems(path, max_file_bytes=REPORT_VALUE_FILE_CAP, max_rows=REPORT_MAX_ROWS)
    values = dict(found)
    for var, why in problems.items():
        values.setdefault(var, Unsaved(str(why)))
    return values


def load_snapshots(out: Path, subs: list[Graded]) -> dict[str, dict[str, object]]:
    """Snapshots by submission name; submissions without one (or with an unreadable one, which
    is noted on the submission) are left out."""
    found: dict[str, dict[str, object]] = {}
    for sub in subs:
        folder = out / "snapshots" / sub.name
        if not folder.is_dir():
            continue
        try:
            found[sub.name] = load_snapshot_dir(folder)
        except Exception as exc:  # a damaged snapshot costs only this submission's answers
            sub.problems.append(f"its saved answers could not be read ({type(exc).__name__})")
    return found
