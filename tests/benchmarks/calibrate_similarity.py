"""Precision and recall of the copied-summary threshold on tests/similarity_corpus.py.

Run from the repository root (tests/ on the import path, for the corpus):

    PYTHONPATH=tests .venv/bin/python tests/benchmarks/calibrate_similarity.py

Every pair of the corpus is scored; a pair is "copied" when both summaries come from the same
original (verbatim, lightly edited or paraphrased). Prints each kind's score range and, per threshold,
precision and recall over all copies and over copies that were not paraphrased.
"""

from __future__ import annotations

from similarity_corpus import documents, pairs

from ctlab.report.similarity import SUMMARY_THRESHOLD, words


def scores() -> list[tuple[str, str, bool, float]]:
    from rapidfuzz import fuzz

    docs = documents()
    return [(a, b, c, fuzz.ratio(words(docs[a][1]), words(docs[b][1]))) for a, b, c in pairs()]


def kind(a: str, b: str) -> str:
    k = {x.split("_", 1)[1] if "_" in x else "original" for x in (a, b)}
    return "paraphrased" if "paraphrased" in k else "edited" if "edited" in k else "identical"


def precision_recall(rows, threshold: float, *, paraphrase: bool = True) -> tuple[float, float]:
    rows = [r for r in rows if paraphrase or not (r[2] and kind(r[0], r[1]) == "paraphrased")]
    tp = sum(1 for r in rows if r[2] and r[3] >= threshold)
    fp = sum(1 for r in rows if not r[2] and r[3] >= threshold)
    fn = sum(1 for r in rows if r[2] and r[3] < threshold)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def main() -> None:
    rows = scores()
    by: dict[str, list[float]] = {}
    for a, b, c, s in rows:
        by.setdefault(kind(a, b) if c else "independent", []).append(s)
    for k, v in by.items():
        print(f"{k:12} {len(v):4} pairs  score {min(v):5.1f} .. {max(v):5.1f}")
    for t in (40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90):
        p, r = precision_recall(rows, t)
        p2, r2 = precision_recall(rows, t, paraphrase=False)
        mark = "  <- SUMMARY_THRESHOLD" if t == SUMMARY_THRESHOLD else ""
        print(f"threshold {t:3}: precision {p:.2f} recall {r:.2f} (without paraphrases: {p2:.2f} / {r2:.2f}){mark}")


if __name__ == "__main__":
    main()
