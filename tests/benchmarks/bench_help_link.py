"""Where a help link's first click lands in a fresh JupyterLab, on a slow machine.

Run from the repository root (about a minute per section and rate on 2 cores):

    PYTHONPATH=tests .venv/bin/python tests/benchmarks/bench_help_link.py [--sections 3,7,8b] [--rates 1,4]
        [--viewport 1280x720] [--assignment assignment]

For each section and CPU slow-down rate (Chromium's CPU throttling: 4 is a machine four times slower):
starts a JupyterLab on a copy of the assignment folder with no workspace state, opens the student
notebook, waits until it has drawn all its cells and its kernel is idle, clicks the link "section N of
the help notebook" (the help notebook is not open yet), then prints, at times after the click, how far
the section's heading is from the top of the view (none: not drawn yet, or the notebook still at the
top), how many of the help notebook's cells JupyterLab has drawn, and the same after a second click.

JupyterLab draws a notebook's cells a few at a time while the browser is idle, and a link waits at most
10 s for its cell (it logs "Item with index N did not appear within 10000 ms"; those lines are printed).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from browser_lab import HEADING_JS, chromium, lab_page, running_lab
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SAMPLES = (2, 6, 10, 14, 20, 30)  # seconds after the first click

def _where(page: Page, section: str) -> object:
    """Where the section's heading is (rounded to a pixel), the view's height, the cells drawn."""
    where = page.evaluate(HEADING_JS, section)
    if isinstance(where, dict) and isinstance(where.get("top"), (int, float)):
        where["top"] = round(where["top"])
    return where


def first_click(page: Page, base: str, workspace: str, section: str) -> list[tuple[object, object]]:
    """Open the student notebook, click section's help link, and sample where its heading is."""
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/scenario03b.ipynb")
    page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length > 40")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    drawn = -1
    while True:  # until the student notebook has drawn all its cells
        now = page.evaluate("document.querySelectorAll('.jp-Notebook .jp-Cell').length")
        if now == drawn:
            break
        drawn = now
        page.wait_for_timeout(2000)
    link = page.locator(f".jp-NotebookPanel:visible a[href$='#cell-id=help-{section}']").first
    link.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    clicked = time.monotonic()
    link.click()
    samples: list[tuple[object, object]] = []
    for at in SAMPLES:
        page.wait_for_timeout(max(0, int((clicked + at - time.monotonic()) * 1000)))
        samples.append((at, _where(page, section)))
    page.locator(".lm-TabBar-tab", has_text="scenario03b.ipynb").first.click()
    page.wait_for_timeout(1000)
    link.click()
    page.wait_for_timeout(3000)
    samples.append(("second click", _where(page, section)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="3,7,8b")
    parser.add_argument("--rates", default="1,4")
    parser.add_argument("--viewport", default="1280x720")
    parser.add_argument("--assignment", type=Path, default=REPO / "assignment")
    args = parser.parse_args()
    width, height = map(int, args.viewport.split("x"))
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory(prefix="bench-help-link-") as tmp:
        with running_lab(Path(tmp), args.assignment) as (base, _), sync_playwright() as p, \
                chromium(p, executable) as browser:
            for i, (rate, section) in enumerate((float(r), s) for r in args.rates.split(",")
                                                for s in args.sections.split(",")):
                page = lab_page(browser, width=width, height=height)  # a window of its own each time
                if rate > 1:
                    page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})
                logged: list[str] = []
                page.on("console", lambda m, logged=logged: logged.append(m.text) if "did not appear" in m.text else None)
                samples = first_click(page, base, f"w{i}", section)
                print(f"section {section}, CPU {rate:g}x slower, {width}x{height}:")
                for at, where in samples:
                    print(f"  {at if isinstance(at, str) else f'{at} s'}: {where}")
                for line in logged:
                    print(f"  JupyterLab: {line}")
                page.context.close()


if __name__ == "__main__":
    main()
