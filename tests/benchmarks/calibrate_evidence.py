"""How often the review page's evidence check suggests the hand score, on tests/evidence_calibration.py.

    .venv/bin/python tests/benchmarks/calibrate_evidence.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from evidence_calibration import scored  # noqa: E402

from ctlab.review.evidence import evidence, load_answer_key  # noqa: E402


def agreement() -> tuple[dict[str, int], int, list[str]]:
    """({criterion: summaries where the suggestion is the hand score}, summaries, disagreements)."""
    key = load_answer_key(HERE.parents[1])
    agree = {"1": 0, "2": 0, "3": 0}
    off = []
    rows = scored()
    for n, (text, hand) in enumerate(rows, start=1):
        ev = evidence(text, key=key)
        for c, points in hand.items():
            if ev.suggested[c] == points:
                agree[c] += 1
            else:
                off.append(f"summary {n}, criterion {c}: hand {points:g}, suggested {ev.suggested[c]:g} ({ev.why[c]})")
    return agree, len(rows), off


if __name__ == "__main__":
    agree, n, off = agreement()
    for c, k in agree.items():
        print(f"criterion {c}: {k} of {n} suggestions are the hand score")
    print(f"all: {sum(agree.values())} of {3 * n}")
    print("\n".join(off))
