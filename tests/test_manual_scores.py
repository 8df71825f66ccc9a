"""The hand-score store: per-criterion scores, comments, both file layouts, and no update lost when
two graders write at once."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from ctlab.errors import CtlabError
from ctlab.grading import manual_scores as store

CRITERIA = ["1", "2", "3"]


def test_points_only_once_every_criterion_is_scored(tmp_path):
    s = store.set_score(tmp_path, key="a.ipynb", question="q8", criteria={"1": 1.0}, comment="good start",
                        all_criteria=CRITERIA)
    assert (s.points, s.criteria, s.comment) == (None, {"1": 1.0}, "good start")
    assert store.points(store.read(tmp_path)) == {}
    s = store.set_score(tmp_path, key="a.ipynb", question="q8", criteria={"2": 0.5, "3": 0.0}, comment=None,
                        all_criteria=CRITERIA)
    assert (s.points, s.comment) == (1.5, "good start")
    assert store.points(store.read(tmp_path)) == {"a.ipynb": {"q8": 1.5}}
    with pytest.raises(CtlabError, match="unknown rubric criterion '9'"):
        store.set_score(tmp_path, key="a.ipynb", question="q8", criteria={"9": 1}, comment=None, all_criteria=CRITERIA)


def test_a_csv_score_overrides_the_criteria_and_keeps_the_comment(tmp_path):
    store.set_score(tmp_path, key="a", question="q8", criteria={"1": 1, "2": 1, "3": 1}, comment="note",
                    all_criteria=CRITERIA)
    assert store.merge_points(tmp_path, {"a": {"q8": 2.0}, "b": {"q8": 1.0}}) == {"a": {"q8": 2.0}, "b": {"q8": 1.0}}
    assert store.read(tmp_path)["a"]["q8"] == store.Score(points=2.0, criteria={}, comment="note")


def test_the_first_layout_is_still_read(tmp_path):
    (tmp_path / store.FILE).write_text(json.dumps({"s1": {"q8": 2.5}}))
    assert store.points(store.read(tmp_path)) == {"s1": {"q8": 2.5}}
    (tmp_path / store.FILE).write_text("{not json")
    with pytest.raises(CtlabError, match=r"manual_scores.json: cannot read the kept hand scores"):
        store.read(tmp_path)


def _grader(out: str, who: int, n: int) -> None:
    for i in range(n):
        store.set_score(out, key=f"g{who}-s{i}", question="q8", criteria={"1": 1, "2": 0.5, "3": 0},
                        comment=f"by {who}", all_criteria=CRITERIA)


def test_two_graders_at_once_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    graders = [ctx.Process(target=_grader, args=(str(tmp_path), who, 25)) for who in (1, 2)]
    for g in graders:
        g.start()
    store.merge_points(tmp_path, {"csv-student": {"q8": 3.0}})  # and a --manual run in between
    for g in graders:
        g.join(60)
    assert [g.exitcode for g in graders] == [0, 0]
    pts = store.points(store.read(tmp_path))
    assert len(pts) == 51 and set(v["q8"] for k, v in pts.items() if k != "csv-student") == {1.5}
