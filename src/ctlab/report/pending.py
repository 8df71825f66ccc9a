"""Hand scores still to come, and hand scores that graded an earlier answer, in words.

Apart from the batch report so that a re-run with nothing changed can say them without loading
what drawing the report needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ctlab.contract import MANUAL_QUESTIONS
from ctlab.grading.results import Graded

__all__ = ["pending_counts", "pending_line", "stale_line"]


def pending_counts(subs: Sequence[Graded]) -> dict[str, int]:
    """How many submissions wait for a hand score, per hand-graded question."""
    found = Counter(q for s in subs for q in s.pending)
    return {q: found[q] for q in sorted(MANUAL_QUESTIONS) if found[q]}


def stale_line(who: list[str]) -> str:
    """"q8: 2 hand scores are stale ...: Okafor, Chidi; Park, Min", or ""."""
    if not who:
        return ""
    n = len(who)
    return (f"q8: {n} hand score{'s are' if n != 1 else ' is'} stale (graded an earlier summary; the submission "
            f"changed since; check them in the review page): " + "; ".join(sorted(who, key=str.casefold)))


def pending_line(pending: dict[str, int], count: int) -> str:
    """"q8: 12 of 40 submissions pending hand grading (counted as no points until scored)", or ""."""
    return "; ".join(f"{q}: {n} of {count} submissions pending hand grading (no points until scored)"
                     for q, n in pending.items())
