"""How fast the review page is for a large class, measured in headless Chromium.

Run from the repository root (tests/ on the import path, for the review page's test fixture):

    PYTHONPATH=tests .venv/bin/python tests/benchmarks/bench_review.py [--n 500]

Writes a graded OUT of N submissions (summaries from tests/similarity_corpus.py, varied), starts
`ctlab review OUT --no-browser`, and measures in the browser: the page's open time (navigation start
to the first student on screen, after layout) and the time from a key press to the next student on
screen, over 100 presses. Goals: open < 1 s, next < 100 ms; exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from browser_lab import chromium
from review_fixture import make_out
from similarity_corpus import documents
from test_review_browser import CHROMIUM, review_server


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    rng = random.Random(3)
    texts = [t for _, t in documents().values()]
    summaries = {}
    for i in range(args.n):
        words = rng.choice(texts).split()
        rng.shuffle(words)  # independent-looking texts: the page, not the pairs, is measured
        summaries[f"s{i:04d}"] = " ".join(words)
    tmp = Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        out = make_out(tmp / "out", summaries)
        t0 = time.monotonic()
        with review_server(out) as url:
            startup = time.monotonic() - t0
            with sync_playwright() as p, chromium(p, CHROMIUM) as browser:
                page = browser.new_context(bypass_csp=True).new_page()
                opens = []
                for _ in range(3):
                    page.goto(url)
                    page.wait_for_function("window.reviewTimings && window.reviewTimings.ready !== null")
                    opens.append(page.evaluate("window.reviewTimings.ready"))  # ms since navigation start
                for _ in range(100):
                    page.keyboard.press("j")
                page.wait_for_function("window.reviewTimings.nav.length >= 100")
                nav = page.evaluate("window.reviewTimings.nav")
                size = page.evaluate("document.documentElement.outerHTML.length")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    nav.sort()
    print(f"{args.n} submissions: server start (load, evidence, pairs) {startup:.2f} s; page {size / 1e6:.2f} MB")
    print(f"page open: {', '.join(f'{x:.0f}' for x in opens)} ms (goal < 1000)")
    print(f"next student: median {statistics.median(nav):.1f} ms, p95 {nav[94]:.1f} ms, max {nav[-1]:.1f} ms (goal < 100)")
    return 0 if max(opens) < 1000 and nav[94] < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
