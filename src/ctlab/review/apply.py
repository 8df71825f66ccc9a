"""`ctlab review OUT --apply`: the stored hand scores into the gradebook, feedback, report and exports,
without grading again.

Each gradebook row is scored again from its results file by the same step `ctlab grade` writes the
gradebook with (ctlab.grading.results.score): each manual question's column becomes the stored
score (or its autograded points when there is none), and the total, percentage and late penalty
follow. A row without a readable results file stays as it was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ctlab.contract import MANUAL_QUESTIONS, QUESTIONS
from ctlab.grading import manual_scores as hand_scores
from ctlab.grading.inputs import stem_of
from ctlab.grading.results import LateRule, Scored, read_gradebook, read_results, score, write_gradebook


@dataclass
class ApplySummary:
    gradebook: Path
    applied: int
    students: int
    exports: list[Path]
    report: str

    def describe(self) -> str:
        lines = [f"hand scores applied to {self.applied} of {self.students} submission(s) -> {self.gradebook}"]
        return "\n".join(lines + [self.report])  # the report's lines name each export rewritten


def _num(text: str | None) -> float:
    try:
        return float(text or "")
    except ValueError:
        return 0.0


def _as_read(row: dict[str, str], questions: list[str]) -> Scored:
    """A gradebook row with no results file behind it, kept as it is."""
    return Scored(file=row.get("file") or "", points={q: _num(row.get(q)) for q in questions},
                  total=_num(row.get("total_points_earned")), percent=_num(row.get("percent_correct")),
                  status=row.get("grading_status") or "", runtime_s=_num(row.get("runtime_s")),
                  late=row.get("late") == "yes", late_penalty=_num(row.get("late_penalty")),
                  pending=frozenset(q for q in questions if q in MANUAL_QUESTIONS and not (row.get(q) or "").strip()),
                  variant=int(_num(row.get("variant"))))


def apply_scores(*, out: Path, root: Path) -> ApplySummary:
    out = Path(out)
    book = read_gradebook(out)  # CtlabError naming OUT/gradebook.csv when it is missing
    questions = book.questions or list(QUESTIONS)
    scores = hand_scores.points(hand_scores.read(out))
    rule = LateRule.read(out)
    results = read_results(out)
    stems = Counter(stem_of(row.get("file") or "") for row in book.rows)
    applied = 0
    rows: list[Scored] = []
    for row in book.rows:
        file = row.get("file") or ""
        result = results.find(file)
        if result is None:
            rows.append(_as_read(row, questions))
            continue
        hand = None if result.refused else hand_scores.for_submission(scores, file=file, name=result.name,
                                                                       stems=stems)
        applied += any(q in MANUAL_QUESTIONS and q in questions for q in hand or ())
        rows.append(score(result, questions, hand=hand, rule=rule))
    write_gradebook(out, questions, rows)

    from ctlab.report import write_reports

    written = write_reports(out=out, root=root)  # also rewrites every export made before
    return ApplySummary(gradebook=out / "gradebook.csv", applied=applied, students=len(rows),
                        exports=written.exports, report=written.describe())
