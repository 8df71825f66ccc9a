"""The review page for a 40-student Canvas class with its roster, in a real browser (headless Chromium):
students listed once each by "Last, First" with the LMS id on hover and never a path, the superseded
uploads out of the queue and counted in the top bar, a stale hand score marked, and the side-by-side
pane whole: beside the rubric, not under it, and scrollable to its end in a window of 1,100 x 700."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from browser_lab import chromium
from test_review_browser import CHROMIUM, review_server

from ctlab.grading import manual_scores as hand_scores
from ctlab.report.export import keep_roster
from ctlab.roster import load_roster

CLASSROOM = Path(__file__).parent / "fixtures" / "report" / "classroom.py"


def class_with_roster(top: Path) -> Path:
    """The graded class of fixtures/report/classroom.py under `top`, its roster kept in OUT."""
    spec = importlib.util.spec_from_file_location("classroom", CLASSROOM)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out, roster = mod.build_class(top / "out")
    keep_roster(out=out, roster=load_roster(roster))
    return out


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed (make sysdeps installs the Debian package); CI never skips")
def test_a_40_student_class_by_name_with_a_whole_side_by_side_pane(tmp_path):
    from playwright.sync_api import sync_playwright

    out = class_with_roster(tmp_path)
    # Novak, Min was graded on a summary she has since replaced
    novak = next(p.stem for p in (out / "results").glob("novakmin_*.json"))
    hand_scores.set_score(out, key=novak, question="q8", criteria={"1": 1, "2": 1, "3": 1}, comment=None,
                          all_criteria=["1", "2", "3"], answer_hash=hand_scores.answer_sha256("an earlier summary"))
    with review_server(out) as url:
        with sync_playwright() as p, chromium(p, CHROMIUM) as browser:
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            rows = page.locator("#list div")
            assert rows.count() == 39  # 41 uploads, two of them superseded
            names = rows.all_text_contents()
            assert names[:3] == ["Okafor, Chidi", "Novak, Min", "Khan, Lee"]
            assert not [n for n in names if "/" in n or ".ipynb" in n or "_" in n]
            assert rows.nth(0).get_attribute("title") == "Okafor, Chidi (s100200)"
            assert page.text_content("#superseded") == "2 superseded upload(s) not in the queue"
            assert page.text_content("#file") == "Okafor, Chidi"
            assert "stale" in rows.nth(1).get_attribute("class")
            assert page.is_hidden("#stale")
            page.keyboard.press("j")
            assert page.is_visible("#stale")
            page.keyboard.press("k")

            page.keyboard.press("s")  # Okafor, Chidi's summary was copied by two others
            page.wait_for_selector("#compare:not([hidden])")
            assert page.text_content("#compare-right-file") in ("Lee, Priya", "Ramos, Omar")
            box = page.locator("#compare").bounding_box()
            rubric = page.locator("#rubric").bounding_box()
            assert box["x"] + box["width"] <= rubric["x"] + 1  # beside the rubric, never under it
            page.evaluate("document.getElementById('student').scrollTop = 1e6")
            end = page.locator("#compare-right").bounding_box()
            assert end["y"] + end["height"] <= 700 + 1  # its end can be scrolled into the window


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed (make sysdeps installs the Debian package); CI never skips")
def test_the_class_report_names_people_and_fits_a_1400_px_window(tmp_path):
    from playwright.sync_api import sync_playwright

    from ctlab.report import write_reports

    out = class_with_roster(tmp_path)
    write_reports(out=out, root=Path(__file__).resolve().parents[1])
    with sync_playwright() as p, chromium(p, CHROMIUM) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto((out / "report.html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400
        table = page.locator("table.copied")
        assert table.bounding_box()["width"] <= 1400
        rows = [r.locator("td").all_text_contents() for r in table.locator("tbody tr").all()]
        assert [r[:3] for r in rows] == [["summary", "Okafor, Chidi", "Lee, Priya"],
                                         ["summary", "Okafor, Chidi", "Ramos, Omar"],
                                         ["summary", "Ramos, Omar", "Lee, Priya"]]
        assert table.locator(".person").first.get_attribute("title") == "Okafor, Chidi (s100200)"
        text = page.inner_text("body")
        assert "/home/instructor" not in text and ".ipynb" not in text
        assert "Berg, Tomas: bergtomas_100207_7007_scenario03b is superseded by" in text
