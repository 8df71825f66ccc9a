"""Pictures of the report and the review page for a 40-student Canvas class with its roster, to look
at them as an instructor does (issue 22's check): no test asserts what a page looks like.

Run from the repository root (tests/ on the import path, for the fixtures):

    PYTHONPATH=tests .venv/bin/python tests/benchmarks/screenshot_class.py [--into DIR]

Writes the class of tests/fixtures/report/classroom.py (graded OUT, roster kept) into a temporary
folder, then gives it what an instructor's week gives it: hand scores for three students from a
`--manual`-style CSV load (each recording the summary it graded), one of them a 0 with a comment,
and then a re-submitted summary for one of them (her score turns stale). It writes the reports and
`export-csv.csv` and saves, in DIR (default: a new temporary folder, printed):

    report.png          report.html, the whole page, in a 1,400 px wide window
    review.png          the review page in 1,400 x 900, the stale student open
    review-compare.png  the same with the side-by-side pane open (key s)

and prints export-csv.csv's first lines and the summary line of the reports.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from browser_lab import chromium
from test_review_browser import CHROMIUM, review_server
from test_review_class_browser import class_with_roster

from ctlab.grading import manual_scores as hand_scores
from ctlab.grading.snapshot import write_snapshot
from ctlab.report import write_reports
from ctlab.report.export import export

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--into", type=Path, default=None, help="folder for the PNGs (default: a new temporary one)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    into = args.into or Path(tempfile.mkdtemp(prefix="ctlab-screens-"))
    into.mkdir(parents=True, exist_ok=True)
    top = Path(tempfile.mkdtemp(prefix="ctlab-class-"))
    try:
        out = class_with_roster(top)
        ids = {p.stem.split("_")[0]: p.stem for p in sorted((out / "results").glob("*.json"))}
        scored = {ids["novakmin"]: 2.0, ids["khanlee"]: 0.0, ids["okaforchidi"]: 3.0}
        hand_scores.merge_points(out, {k: {"q8": v} for k, v in scored.items()},
                                 {ids["khanlee"]: {"q8": "No timeline: say when the keys were made."}},
                                 graded={k: hand_scores.saved_answer_sha256(out, k) for k in scored})
        write_snapshot({"triage_summary": "Rewritten after the deadline: keys were made, then data left."},
                       ["triage_summary"], out / "snapshots" / ids["novakmin"], cell=1)
        from ctlab.review.apply import apply_scores

        print(apply_scores(out=out, root=REPO).describe())
        print("\n".join((export(out=out, fmt="csv")).read_text().splitlines()[:4]))
        write_reports(out=out, root=REPO)
        with review_server(out) as url:
            with sync_playwright() as p, chromium(p, CHROMIUM) as browser:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto((out / "report.html").as_uri())
                page.screenshot(path=str(into / "report.png"), full_page=True)
                page.goto(url)
                page.wait_for_selector("body[data-ready='1']")
                page.keyboard.press("j")  # Novak, Min: her score graded an earlier summary
                page.screenshot(path=str(into / "review.png"))
                page.keyboard.press("k")
                page.keyboard.press("s")
                page.wait_for_selector("#compare:not([hidden])")
                page.screenshot(path=str(into / "review-compare.png"))
    finally:
        shutil.rmtree(top, ignore_errors=True)
    print(f"pictures in {into}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
