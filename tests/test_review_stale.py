"""A hand score records the hash of the summary it graded; when the summary changes (the student
re-submitted and the batch was graded again), the score is marked stale in the review page's data,
the report and the summary line, until a grader scores it again."""

from __future__ import annotations

from pathlib import Path

from review_fixture import make_out
from starlette.testclient import TestClient

from ctlab.grading import manual_scores as hand_scores
from ctlab.grading.snapshot import write_snapshot
from ctlab.report import write_reports
from ctlab.review.app import create_app, page_data
from ctlab.review.batch import load_batch

ROOT = Path(__file__).resolve().parents[1]


def _grade_through_the_page(out: Path, index: int, criteria: dict[str, float]) -> dict:
    client = TestClient(create_app(batch=load_batch(out=out, root=ROOT), token="t"), base_url="http://127.0.0.1")
    r = client.put("/api/score", json={"index": index, "criteria": criteria}, headers={"X-Review-Token": "t"})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_changed_summary_marks_its_hand_score_stale_until_scored_again(tmp_path):
    out = make_out(tmp_path / "out", {"kept": "The role session maint made keys.", "changed": "First version."})
    assert _grade_through_the_page(out, 0, {"1": 1, "2": 1, "3": 1})["stale"] is False
    assert _grade_through_the_page(out, 1, {"1": 1, "2": 0, "3": 1})["stale"] is False
    stored = hand_scores.read(out)
    assert stored["changed"]["q8"].graded_sha256 == hand_scores.answer_sha256("First version.")
    assert [s["stale"] for s in page_data(load_batch(out=out, root=ROOT))["students"]] == [False, False]

    # the student re-submits; grading again writes the new answer's snapshot
    write_snapshot({"triage_summary": "Second version, rewritten."}, ["triage_summary"],
                   out / "snapshots" / "changed", cell=1)
    assert [s["stale"] for s in page_data(load_batch(out=out, root=ROOT))["students"]] == [False, True]
    summary = write_reports(out=out, root=ROOT)
    line = ("q8: 1 hand score is stale (graded an earlier summary; the submission changed since; check "
            "them in the review page): changed")
    assert f"- {line}\n" in (out / "report.md").read_text()
    assert f"stale:    {line}" in summary.describe()

    # scoring it again grades the answer as it is now
    assert _grade_through_the_page(out, 1, {"2": 1})["stale"] is False
    assert [s["stale"] for s in page_data(load_batch(out=out, root=ROOT))["students"]] == [False, False]
    assert "stale" not in write_reports(out=out, root=ROOT).describe()


def test_a_score_from_a_csv_records_no_answer_and_is_never_stale(tmp_path):
    out = make_out(tmp_path / "out", {"a": "Some summary."})
    hand_scores.merge_points(out, {"a": {"q8": 2.0}})
    write_snapshot({"triage_summary": "Another summary."}, ["triage_summary"], out / "snapshots" / "a", cell=1)
    assert page_data(load_batch(out=out, root=ROOT))["students"][0]["stale"] is False
    assert "stale" not in (write_reports(out=out, root=ROOT).describe())
