"""A hand score records the hash of the summary it graded; when the summary changes (the student
re-submitted and the batch was graded again), the score is marked stale in the review page's data,
the report and the summary line, until a grader scores it again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_lab import chromium
from review_fixture import make_out
from starlette.testclient import TestClient
from test_review_browser import CHROMIUM, review_server

from ctlab.cli import main
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


def _stale(out: Path) -> list[bool]:
    return [s["stale"] for s in page_data(load_batch(out=out, root=ROOT))["students"]]


def _load_csv_scores(out: Path, scores: dict[str, float]) -> None:
    """As `ctlab grade --manual` loads a CSV: each score records the summary OUT holds at that moment."""
    hand_scores.merge_points(out, {k: {"q8": v} for k, v in scores.items()},
                             graded={k: hand_scores.saved_answer_sha256(out, k) for k in scores})


def test_a_score_from_a_csv_records_the_summary_it_was_loaded_against_and_turns_stale(tmp_path, capsys):
    out = make_out(tmp_path / "out", {"a": "Some summary.", "b": "Untouched summary."})
    _load_csv_scores(out, {"a": 2.0, "b": 3.0})
    assert hand_scores.read(out)["a"]["q8"].graded_sha256 == hand_scores.answer_sha256("Some summary.")
    assert _stale(out) == [False, False]

    write_snapshot({"triage_summary": "Another summary."}, ["triage_summary"], out / "snapshots" / "a", cell=1)
    assert _stale(out) == [True, False]
    line = ("q8: 1 hand score is stale (graded an earlier summary; the submission changed since; check "
            "them in the review page): a")
    summary = write_reports(out=out, root=ROOT)
    assert f"stale:    {line}" in summary.describe()
    assert f"- {line}\n" in (out / "report.md").read_text()

    assert main(["export", str(out), "--format", "canvas"]) == 0  # the export says so too
    assert f"note: {line}\n" in capsys.readouterr().out

    # the same CSV loaded again (the same command line re-run) does not vouch for the new summary
    _load_csv_scores(out, {"a": 2.0, "b": 3.0})
    assert _stale(out) == [True, False]
    # a new score for it, loaded after the summary changed, grades the summary as it is now
    _load_csv_scores(out, {"a": 1.5})
    assert _stale(out) == [False, False]
    assert "stale" not in write_reports(out=out, root=ROOT).describe()


def test_a_csv_score_of_a_submission_not_yet_graded_records_nothing_until_it_is(tmp_path):
    out = make_out(tmp_path / "out", {"a": "Some summary."})
    hand_scores.merge_points(out, {"new": {"q8": 1.0}}, graded={"new": None})
    assert hand_scores.read(out)["new"]["q8"].graded_sha256 == ""
    hand_scores.record_graded(out, {"new": hand_scores.answer_sha256("Its first summary."), "a": "0" * 64})
    assert hand_scores.read(out)["new"]["q8"].graded_sha256 == hand_scores.answer_sha256("Its first summary.")
    assert "a" not in hand_scores.read(out)  # no score: nothing recorded
    hand_scores.record_graded(out, {"new": "f" * 64})  # a recorded one stays what it graded
    assert hand_scores.read(out)["new"]["q8"].graded_sha256 == hand_scores.answer_sha256("Its first summary.")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed (make sysdeps installs the Debian package); CI never skips")
def test_the_review_page_shows_a_csv_score_and_marks_it_stale(tmp_path):
    from playwright.sync_api import sync_playwright

    out = make_out(tmp_path / "out", {"kept": "The role session maint made keys.", "changed": "First version."})
    _load_csv_scores(out, {"kept": 2.5, "changed": 2.0})
    write_snapshot({"triage_summary": "Second version, rewritten."}, ["triage_summary"],
                   out / "snapshots" / "changed", cell=1)
    with review_server(out) as url:
        with sync_playwright() as p, chromium(p, CHROMIUM) as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            assert page.text_content("#total") == "2.5 / 3 (a whole score, from a CSV)"
            assert page.is_hidden("#stale")
            assert page.locator("#list div").nth(1).get_attribute("class").split() == ["done", "stale"]
            page.keyboard.press("j")
            assert page.text_content("#total") == "2 / 3 (a whole score, from a CSV)"
            assert page.is_visible("#stale")
