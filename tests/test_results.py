"""The results model: status sentences rendered from kind and detail, one record format both ways,
and the gradebook row that `ctlab grade` and `ctlab review --apply` both write."""

from __future__ import annotations

import datetime as dt
import json

from ctlab.grading.results import (
    Kind,
    LateRule,
    QuestionPoints,
    Result,
    Status,
    read_result,
    score,
    write_result,
)
from ctlab.grading.results import (
    TestRecord as Record,
)
from ctlab.lms import Identity

UNTESTED = ("the tests took longer than 20 s in q3", ["q3", "q4"])


def test_status_sentences_are_rendered_from_kind_and_detail():
    assert Status.ok().text == "ok" and Status.ok().clean
    noted = Status.ok(["SystemExit in cell 18 ignored, as Jupyter does"])
    assert noted.text == "ok (SystemExit in cell 18 ignored, as Jupyter does)" and not noted.clean and noted.complete
    assert noted.with_untested(*UNTESTED).text == \
        "answers could not be tested: the tests took longer than 20 s in q3; not tested (0 points): q3, q4"
    timeout = Status(Kind.TIMEOUT, "timed out in cell 18 after 20 s: kept answers up to cell 17")
    assert timeout.with_untested(*UNTESTED).text == (
        "timed out in cell 18 after 20 s: kept answers up to cell 17; answers could not be tested: "
        "the tests took longer than 20 s in q3; not tested (0 points): q3, q4")
    assert timeout.with_untested("", []) == timeout and timeout.with_untested(*UNTESTED).phase1 == timeout
    assert Status.grader_error(ValueError("bad")).text == "grader error: ValueError: bad"
    assert Status.grader_error(ValueError("x")).kind.grader_failure and not timeout.kind.grader_failure


def test_a_result_reads_back_as_it_was_written(tmp_path):
    (tmp_path / "results").mkdir()
    result = Result(file="subs/a.ipynb", name="a",
                    status=Status(Kind.MEMORY, "memory limit exceeded in cell 4: kept answers up to cell 3")
                    .with_untested(*UNTESTED),
                    questions={"q1": QuestionPoints(1.0, 1.0), "q8": QuestionPoints(0.0, 0.0)},
                    tests=[Record("q1 - 1", "q1", 1.0, 1.0, False, True, "")], runtime_s=2.5, cells_run=4,
                    cells_total=9, cell_errors=[(4, "MemoryError")], snapshot_cell=3, cpu_s=1.25,
                    identity=Identity(source="file", key="a"), late=True, retested=True)
    write_result(tmp_path, result)
    data = json.loads((tmp_path / "results" / "a.json").read_text())
    assert data["status"] == result.status.text and data["phase1_status"] == result.status.phase1.text
    assert data["tests"] == [{"name": "q1 - 1", "question": "q1", "points": 1.0, "max_points": 1.0, "hidden": False,
                              "passed": True, "message": ""}]
    assert read_result(tmp_path / "results" / "a.json") == result


def test_a_record_without_a_kind_is_shown_but_never_taken_for_ok():
    old = Result.from_dict({"file": "a.ipynb", "status": "ok", "questions": {"q1": "abc", "q2": {"max_points": "x"}},
                            "tests": {"not": "a list"}})
    assert (old.status.kind, old.status.text, old.status.clean) == (Kind.UNKNOWN, "ok", False)
    assert old.questions == {"q2": QuestionPoints(0.0, None)} and old.tests == []


def _result(status: Status, *, late: bool = False) -> Result:
    points = {"q1": 1.0, "q3": 1.5, "q8": 0.0, "q9": 1.0}
    maxima = {"q1": 1.0, "q3": 2.0, "q8": 0.0, "q9": 1.0}
    return Result(file="subs/b.ipynb", name="b", status=status, late=late, runtime_s=3.14159,
                  questions={q: QuestionPoints(points[q], maxima[q]) for q in points})


def test_the_gradebook_row_takes_hand_scores_lateness_and_extra_credit():
    questions = ["q1", "q3", "q8", "q9"]
    rule = LateRule(penalty_percent=10)
    row = score(_result(Status.ok(), late=True), questions, hand={"q8": 2.0}, rule=rule).row(questions)
    # earned 5.5 of 6 (1 + 2 + 3 : q9 is extra credit); 10 % of 5.5 off
    assert row == ["subs/b.ipynb", "1", "1.5", "2", "1", "5.5", "0.9167", "ok", "3.14", "yes", "0.55", ""]  # no variant
    # without a hand score q8 is pending: blank, not 0, and its points are not yet possible
    assert score(_result(Status.ok()), questions, hand=None, rule=LateRule()).row(questions)[1:7] == \
        ["1", "1.5", "", "1", "3.5", "1.1667"]
    refused = _result(Status(Kind.REFUSED, "invalid notebook: not JSON"))
    assert score(refused, questions, hand={"q8": 2.0}, rule=LateRule()).row(questions)[3:7] == \
        ["0", "1", "3.5", "1.1667"]  # a hand score never counts for input that could not be graded


def test_late_is_the_lms_mark_or_a_time_after_the_due_time():
    due = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    rule = LateRule(due=due)
    assert rule.is_late(Identity(source="canvas", key="x", late=True))
    assert rule.is_late(Identity(source="gradescope", key="x", submitted_at="2026-03-02T09:00:01+00:00"))
    assert not rule.is_late(Identity(source="gradescope", key="x", submitted_at="2026-03-02T10:00:00+01:00"))
    assert not LateRule().is_late(Identity(source="gradescope", key="x", submitted_at="2030-01-01T00:00:00+00:00"))
