"""The criteria of a hand-graded question, read from the rubric the build writes
(autograder/rubric.md), so that the review page grades by the rubric graders read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ctlab.contract import POINTS

RUBRIC = Path("autograder") / "rubric.md"
_ROW = re.compile(r"^\|\s*(\d+(?:\.\d+)?)\s*\|\s*\*\*(.+?)\*\*\s*\|\s*(.*?)\s*\|\s*$")


@dataclass(frozen=True)
class Criterion:
    id: str  # "1", "2", ... in the rubric's order
    title: str
    points: float
    text: str
    step: float  # the smallest part of a point the rubric allows


def criteria(root: Path, *, question: str = "q8") -> list[Criterion]:
    """The rubric table's rows (`| points | **title** | text |`); when the rubric is missing or has
    no such rows, one criterion worth the whole question."""
    try:
        lines = (Path(root) / RUBRIC).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    found: list[Criterion] = []
    for line in lines:
        m = _ROW.match(line.strip())
        if m:
            pts, title, text = float(m.group(1)), m.group(2).strip(), m.group(3)
            step = 0.5 if re.search(r"\bhalf\b", text, re.I) else pts
            found.append(Criterion(str(len(found) + 1), title, pts, text, step))
    if not found:
        pts = float(POINTS.get(question, 1))
        found = [Criterion("1", f"{question}", pts, "the whole question", 0.5)]
    return found
