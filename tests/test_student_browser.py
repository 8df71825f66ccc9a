"""The student workflow in a real JupyterLab, driven by headless Chromium through Playwright.

A student opens assignment/scenario03b.ipynb, types their id (which picks variant 2) and the help
notebook's reveals into the answer cells without saving, runs all cells (the last one exports), and
hands in the zip: `ctlab grade` must give
that zip exactly the points of the typed answers, so the export saved what was on screen. Then a link
under part 3 must open the help notebook on section 3, with its hints and reveal folded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from browser_lab import HEADING_JS, chromium, lab_page, running_lab
from reveal_answers import help_reveals
from student_ids import BLANK, SETTINGS, id_for

ROOT = Path(__file__).resolve().parents[1]
STUDENT = id_for(2)  # an id of variant 2: the set-up cell must switch the logs away from data/'s
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FULL = {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3}
# the first line of each part's answer cell, as the student notebook hands it out
PROMPTS = {"q1": "cloud_iam_df = ...", "q2": "...", "q3": "susp_iam = ...", "q4": "susp_api = ...",
           "q5": "actors = ...", "q6": "susp_users = ...", "q7": "mitre_techniques = ...",
           "q8": 'triage_summary = """'}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="chromium is not installed (make sysdeps installs the Debian package); CI never skips"),
]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on the loopback, serving a copy of assignment/ (its own settings, no news)."""
    with running_lab(tmp_path, ROOT / "assignment") as served:
        yield served


# the visible notebook panel's cells: [first line of the source, shown text, top, view height, output text]
CELLS_JS = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null);
  const view = panel.querySelector('.jp-WindowedPanel-outer').getBoundingClientRect();
  return [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => {
    const r = c.getBoundingClientRect();
    const editor = c.querySelector('.cm-content');
    const shown = c.offsetParent !== null && r.height > 0;
    const out = c.querySelector('.jp-OutputArea');
    return [editor ? editor.innerText.split('\\n')[0] : '', shown ? c.innerText : '', r.top - view.top, view.height,
            out ? out.innerText : ''];
  });
}"""


SCROLL_JS = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null);
  const outer = panel.querySelector('.jp-WindowedPanel-outer');
  outer.scrollTop += outer.clientHeight / 2;
}"""


def _type_answer(page, prompt: str, code: str) -> None:
    """Replace the answer cell that starts with prompt by code, typed (no paste, no save)."""
    for _ in range(60):  # JupyterLab draws a cell's editor only once it has been scrolled near
        found = [i for i, c in enumerate(page.evaluate(CELLS_JS)) if c[0] == prompt]
        if found:
            break
        page.evaluate(SCROLL_JS)
        page.wait_for_timeout(100)
    index = found[0]
    editor = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")


def test_student_types_runs_all_exports_and_the_zip_grades_what_was_on_screen(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, work = lab
    reveals = help_reveals(ROOT / "solutions" / "hints.yaml")
    saved = (work / "scenario03b.ipynb").read_bytes()
    with sync_playwright() as p:
        with chromium(p, CHROMIUM) as browser:
            page = lab_page(browser)
            page.goto(base + "/lab/tree/scenario03b.ipynb")
            page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length > 40")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")

            # the id first, as the student's LMS knows them (case and spaces as typed): it picks variant 2
            _type_answer(page, BLANK, f'STUDENT_ID = "  {STUDENT.upper()} "')
            for q, prompt in PROMPTS.items():
                _type_answer(page, prompt, reveals[q])
            assert (work / "scenario03b.ipynb").read_bytes() == saved, "the test must not save before exporting"
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            page.wait_for_selector("text=Your submission has been exported", timeout=240_000)
            export_output = page.evaluate(CELLS_JS)[-1][4]
            assert "Running your submission against local test cases" in export_output
            assert "NOT SAVED" not in export_output
            assert "without encryption" not in export_output  # the local test run's kernel: noise to a student
            newest = max(work.glob("scenario03b_*.zip"), key=lambda p: p.stat().st_mtime).name
            assert f"Submit this file: {newest} (the newest zip here" in export_output
            with zipfile.ZipFile(ROOT / "assignment" / "data" / "variants" / "v02.zip") as zf:
                assert (work / "data" / "cloud_iam.csv").read_bytes() == zf.read("cloud_iam.csv")

            # part 3's link opens the help notebook on section 3, every level folded
            link = page.locator(".jp-NotebookPanel:visible a[href*='scenario03b-help.ipynb'][href$='#cell-id=help-3']")
            link.click()
            page.wait_for_function("document.querySelectorAll('.jp-NotebookPanel').length == 2")
            page.wait_for_function("""() => {
              const p = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null);
              return p && p.querySelectorAll('.jp-Notebook .jp-Cell').length > 50 && p.querySelector('h2');
            }""")
            time.sleep(1.0)  # let the scroll to the linked cell settle
            cells = page.evaluate(CELLS_JS)
            at = next(i for i, c in enumerate(cells) if c[1].startswith("3. Investigating IAM events"))
            top, view = cells[at][2], cells[at][3]
            assert -5 <= top < view / 3, f"section 3's heading is {top:.0f}px from the top of a {view:.0f}px view"

            def section():  # the shown cells from section 3's heading to section 4's
                shown = [c[1].strip() for c in page.evaluate(CELLS_JS)[at:] if c[1]]
                return shown[1: next(i for i, t in enumerate(shown) if t.startswith("4. "))]

            goal = "Goal: Identify suspicious IAM changes."
            assert section() == [f"{goal}\n\nFirst hint\nSecond hint", "Reveal (optional)\n2 cells hidden"]
            # "First hint" opens the first hint, and only it
            page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(at + 1) \
                .locator("summary", has_text="First hint").click()
            page.wait_for_timeout(500)
            assert section() == [f"{goal}\n\nFirst hint\n\nLook for events that modify privileges or authentication."
                                 "\n\nSecond hint", "Reveal (optional)\n2 cells hidden"]

    zips = sorted(work.glob("scenario03b_*.zip"))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as zf:
        nb = json.loads(zf.read("scenario03b.ipynb"))
    sources = ["".join(c["source"]) for c in nb["cells"]]
    setup = next(c for c in nb["cells"] if "".join(c["source"]).startswith("# Your own week of logs"))
    shown = "".join("".join(o.get("text", "")) for o in setup["outputs"])
    assert shown == f"STUDENT_ID '{STUDENT}': your logs are variant 2 of {SETTINGS.count}.\n"
    assert reveals["q3"] in sources and reveals["q7"] in sources
    assert all(c.get("outputs") for c in nb["cells"] if "".join(c["source"]).startswith("grader.check(")), \
        "the zip should hold the outputs of Run All"

    out = tmp_path / "graded"
    proc = subprocess.run([str(Path(sys.executable).with_name("ctlab")), "grade", str(zips[0]), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [result] = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert result["status"] == "ok"
    assert (result["variant"], result["student_id"]) == (2, STUDENT)
    points = {q: v["points"] for q, v in result["questions"].items()}
    assert points == {**FULL, "q8": 0, "q9": 0, "q10": 0, "q11": 0, "q12": 0}  # parts 6b and 8b are left as handed out


# every section's hints (open <details>) and the reveal headings JupyterLab shows folded, in the help notebook
FOLDING_JS = """() => {
  const p = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null);
  return {details: p.querySelectorAll('.jp-Notebook details').length,
          open: [...p.querySelectorAll('.jp-Notebook details[open] summary')].map(s => s.innerText),
          folded: p.querySelectorAll('.jp-Notebook .jp-MarkdownHeadingCollapsed').length};
}"""


def test_help_notebook_is_folded_again_after_a_hint_was_opened_and_the_notebook_saved(lab):
    """A student opens a hint and the notebook is saved (autosave does it: the kernel's language_info
    marks the notebook modified as soon as it opens): the next time it opens, every hint is folded again
    and the file on disk still folds every reveal."""
    from playwright.sync_api import sync_playwright

    base, work = lab
    path = work / "scenario03b-help.ipynb"
    shipped = json.loads(path.read_text())
    sections = sum(1 for c in shipped["cells"] if c["id"].endswith("-reveal"))
    assert sections == 10
    with sync_playwright() as p:
        with chromium(p, CHROMIUM) as browser:
            page = lab_page(browser)
            page.goto(base + "/lab/workspaces/first/tree/scenario03b-help.ipynb")
            page.wait_for_function("document.querySelectorAll('.jp-Notebook details').length == 20")
            # JupyterLab draws the cells in idle time: the last reveal's heading may come after the hints
            page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-MarkdownHeadingCollapsed').length == 10")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty")  # the kernel's language_info: modified on open
            assert page.evaluate(FOLDING_JS) == {"details": 2 * sections, "open": [], "folded": sections}
            page.locator(".jp-NotebookPanel:visible summary", has_text="First hint").first.click()
            assert page.evaluate(FOLDING_JS)["open"] == ["First hint"]
            page.keyboard.press("Control+s")  # the focus is in the notebook since the click
            page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty", state="detached")
            saved = json.loads(path.read_text())
            assert saved["metadata"]["language_info"]["name"] == "python"  # written back by JupyterLab
            assert [(c["id"], c["source"], c["metadata"]) for c in saved["cells"]] == \
                [(c["id"], c["source"], c["metadata"]) for c in shipped["cells"]]

            page = lab_page(browser)  # a fresh JupyterLab window
            page.goto(base + "/lab/workspaces/second/tree/scenario03b-help.ipynb")
            page.wait_for_function("document.querySelectorAll('.jp-Notebook details').length == 20")
            page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-MarkdownHeadingCollapsed').length == 10")
            assert page.evaluate(FOLDING_JS) == {"details": 2 * sections, "open": [], "folded": sections}


def test_first_click_on_the_last_help_link_shows_its_section_on_a_slow_machine(lab):
    """A fresh JupyterLab, the help notebook not open yet, a laptop-sized window and a CPU four times
    slower: the first click on the last section's link (8b, the farthest down the help notebook) shows
    that section's heading. JupyterLab waits at most 10 s for a linked cell while it draws the notebook's
    cells in idle time; with one cell per hint level the cell was not there in time, and the help
    notebook stayed at its top until a second click."""
    from playwright.sync_api import sync_playwright

    base, work = lab
    cells = len(json.loads((work / "scenario03b-help.ipynb").read_text())["cells"])
    with sync_playwright() as p:
        with chromium(p, CHROMIUM) as browser:
            page = lab_page(browser, width=1280, height=720)
            page.goto(base + "/lab/workspaces/fresh/tree/scenario03b.ipynb")
            page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length > 40")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            drawn = -1
            while True:  # until the student notebook has drawn all its cells, as after a while of work
                now = page.evaluate("document.querySelectorAll('.jp-Notebook .jp-Cell').length")
                if now == drawn:
                    break
                drawn = now
                page.wait_for_timeout(2000)
            page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
            page.locator(".jp-NotebookPanel:visible a[href$='#cell-id=help-8b']").click()
            page.wait_for_function(f"(n) => {{ const w = ({HEADING_JS})(n); return w && w.cells == {cells}; }}", arg="8b")
            page.wait_for_timeout(2000)  # what JupyterLab does once every cell is there
            where = page.evaluate(HEADING_JS, "8b")
            assert where["top"] is not None, "the help notebook is not on section 8b"
            assert 0 <= where["top"] < where["view"] - 60, f"section 8b's heading is at {where['top']:.0f}px of {where['view']}px"
