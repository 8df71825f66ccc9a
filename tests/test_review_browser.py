"""`ctlab review` in a real browser (headless Chromium): three students graded with the keyboard only,
the scores kept over a reload and found in the regenerated gradebook and Canvas export; a summary
holding a script shows as text."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_lab import chromium
from review_fixture import AUTO_TOTAL, make_out
from test_review_evidence import full_summary

ROOT = Path(__file__).resolve().parents[1]
CTLAB = str(Path(sys.executable).with_name("ctlab"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCRIPT = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> & done'


@contextlib.contextmanager
def review_server(out: Path) -> Iterator[str]:
    """`ctlab review OUT` running for the block: the URL it prints. Stopped however the block ends."""
    proc = subprocess.Popen([CTLAB, "review", str(out), "--root", str(ROOT), "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
    if not match:
        proc.kill()
        raise AssertionError(f"no URL printed: {line!r} {proc.stderr.read()}")
    try:
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="chromium is not installed (make sysdeps installs the Debian package); CI never skips")
def test_grade_three_students_with_the_keyboard(tmp_path):
    from playwright.sync_api import sync_playwright

    out = make_out(tmp_path / "out", {"all_facts": full_summary(), "some_facts": "d.whitfield did something.",
                                      "script": SCRIPT, "ungraded": "nothing yet"})
    from ctlab.report.export import export
    from ctlab.review.apply import apply_scores
    from ctlab.review.evidence import evidence, load_answer_key

    export(out=out, fmt="canvas")
    with review_server(out) as url:
        with sync_playwright() as p, chromium(p, CHROMIUM) as browser:
            page = browser.new_context(bypass_csp=True).new_page()  # the test evaluates its own checks
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            assert page.text_content("#file") == "all_facts"
            assert page.text_content("#total") == "- / 3"
            # the facts of the student's own key, each marked as named
            facts = evidence(full_summary(), key=load_answer_key(ROOT, 1)).facts
            assert page.locator("#facts li").all_text_contents() == [f"{f.label}: {f.expected}" for f in facts]
            assert page.locator("#facts li.yes").count() == len(facts) == sum(f.present for f in facts)

            def saved(n_graded: int) -> None:
                page.wait_for_function(f"document.getElementById('progress').textContent === '{n_graded} of 4 graded'")

            page.keyboard.press("a")  # accept the suggestions: 1 + 1 + 1
            saved(1)
            assert page.text_content("#total") == "3 / 3"
            page.keyboard.press("j")
            assert page.text_content("#file") == "some_facts"
            for key in "11" + "2" + "3":  # criterion 1: full, then half; 2 and 3 full
                page.keyboard.press(key)
            saved(2)
            page.wait_for_function("document.getElementById('total').textContent === '2.5 / 3'")
            page.keyboard.press("j")
            assert page.text_content("#summary") == SCRIPT  # shown as text, never run
            assert page.evaluate("window.pwned") is None
            assert page.locator("#summary *").count() == 0
            for key in "123":
                page.keyboard.press(key)
            saved(3)
            page.keyboard.press("u")  # only those not yet graded: the next is the fourth
            page.keyboard.press("k")
            assert page.text_content("#file") == "script"  # the current one stays in view
            page.keyboard.press("j")
            assert page.text_content("#file") == "ungraded"

            page.reload()
            page.wait_for_selector("body[data-ready='1']")
            assert page.text_content("#progress") == "3 of 4 graded"
            assert page.text_content("#total") == "3 / 3"
            page.keyboard.press("j")
            assert page.text_content("#total") == "2.5 / 3"
            assert page.locator("#criteria li:nth-child(1) button.on").text_content() == "0.5"

    done = apply_scores(out=out, root=ROOT)  # what `ctlab review OUT --apply` prints the summary of
    assert (done.applied, done.students, done.exports) == (3, 4, [out / "export-canvas.csv"])
    with (out / "gradebook.csv").open() as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    got = {f: (r["q8"], r["total_points_earned"], r["percent_correct"]) for f, r in rows.items()}
    full, part = AUTO_TOTAL + 3, AUTO_TOTAL + 2.5
    assert got == {
        "subs/all_facts.ipynb": ("3", f"{full:g}", f"{full / (AUTO_TOTAL + 3):.4f}"),
        "subs/some_facts.ipynb": ("2.5", f"{part:g}", f"{part / (AUTO_TOTAL + 3):.4f}"),
        "subs/script.ipynb": ("3", f"{full:g}", f"{full / (AUTO_TOTAL + 3):.4f}"),
        "subs/ungraded.ipynb": ("", f"{AUTO_TOTAL:g}", "1.0000"),  # pending: blank, not 0
    }
    with (out / "export-canvas.csv").open() as fh:
        canvas = {r["Student"]: r["Scenario 03B"] for r in csv.DictReader(fh)}
    assert canvas == {"    Points Possible": f"{AUTO_TOTAL + 3:g}", "all_facts": f"{full:g}", "some_facts": f"{part:g}",
                      "script": f"{full:g}", "ungraded": f"{AUTO_TOTAL:g}"}
    md = (out / "report.md").read_text()
    assert "q8 (manual)" in md
