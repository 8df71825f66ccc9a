"""Copied-work detection: the calibration corpus's copies are found at the threshold, and own code
excludes the template and the reveal code."""

from __future__ import annotations

from pathlib import Path

from calibrate_similarity import precision_recall, scores  # tests/benchmarks/calibrate_similarity.py
from similarity_corpus import documents

from ctlab.report.similarity import SUMMARY_THRESHOLD, Pair, code_tokens, copied_work, own_code, shared_lines, words

ROOT = Path(__file__).resolve().parents[1]


def test_threshold_separates_the_corpus():
    rows = scores()
    precision, recall = precision_recall(rows, SUMMARY_THRESHOLD)
    assert precision == 1.0 and recall >= 0.85  # 42 of 48 with the course data: six paraphrases missed
    assert precision_recall(rows, SUMMARY_THRESHOLD, paraphrase=False) == (1.0, 1.0)


def test_copied_summaries_are_paired_with_their_scores():
    docs = documents()
    texts = {n: docs[n][1] for n in ("s0", "s0_edited", "s1", "s2")} | {"short": "d.whitfield did it"}
    found = copied_work(texts, {}, root=ROOT).summaries
    assert [(p.a, p.b) for p in found] == [("s0", "s0_edited")]
    assert 80 <= found[0].score < 100


def test_own_code_leaves_out_the_template_and_the_reveal_code():
    shared = shared_lines(ROOT)
    from reveal_answers import REVEAL

    reveal = [REVEAL[q] for q in sorted(REVEAL)]
    assert own_code(reveal, shared) == ""
    mine = "weird = cloud_api_df.groupby('user')['event_name'].nunique()\nprint(weird.sort_values().tail(3))"
    assert own_code(reveal + [mine], shared) == mine.replace('"', "'")
    long = "\n".join(f"x{i} = cloud_api_df[cloud_api_df['event_name'] == 'E{i}'].shape[0] * {i}" for i in range(12))
    other = "\n".join(f"y{i} = cloud_iam_df['user'].value_counts().head({i}).index.tolist()" for i in range(12))
    work = copied_work({}, {"a": reveal + [long], "b": reveal + [long], "c": reveal + [other], "d": reveal},
                       root=ROOT)
    assert work.code == [Pair("a", "b", 100.0)]
    assert len(code_tokens(long)) > 40 and words("A.b c") == ["a.b", "c"]
