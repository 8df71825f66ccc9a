"""The batch report for a large class: mistakes by kind, extra credit apart, tests, errors, late work."""

from __future__ import annotations

from ctlab.grading.results import Graded
from ctlab.grading.results import TestRecord as Outcome
from ctlab.report.batch_report import compute_stats, render_html, render_markdown
from ctlab.report.wrong_answers import WrongAnswerGroup

MAXIMA = {"q1": 1.0, "q5": 2.0, "q9": 1.0}


def _sub(n: int, *, q1: float, q5: float, q9: float, late: bool = False, errors=(), tests=()) -> Graded:
    total = q1 + q5 + q9
    return Graded(file=f"s{n}.ipynb", name=f"s{n}", status="ok", runtime_s=1.0,
                      points={"q1": q1, "q5": q5, "q9": q9}, max_points=MAXIMA, total=total,
                      percent=100 * total / 3, tests=list(tests), has_results=True, late=late,
                      cell_errors=list(errors))


def _t(name: str, q: str, passed: bool, hidden: bool = False) -> Outcome:
    return Outcome(name=name, question=q, points=1.0 if passed else 0.0, max_points=1.0, hidden=hidden,
                       passed=passed, message="")


SUBS = [
    _sub(1, q1=1, q5=2, q9=1, tests=[_t("q1 - 1", "q1", True), _t("q5 - 1", "q5", True, hidden=True)]),
    _sub(2, q1=1, q5=0, q9=0, late=True, errors=[(5, "NameError"), (7, "KeyError")],
         tests=[_t("q1 - 1", "q1", True), _t("q5 - 1", "q5", False, hidden=True)]),
    _sub(3, q1=0, q5=0, q9=0, late=True, errors=[(5, "NameError")],
         tests=[_t("q1 - 1", "q1", False), _t("q5 - 1", "q5", False, hidden=True)]),
    _sub(4, q1=1, q5=1, q9=0.5, errors=[(5, "NameError"), (5, "NameError")]),
]
GROUPS = {"q5": [
    WrongAnswerGroup("q5", "actors: extra alice, bob", 4, ["a.ipynb"] * 4),
    WrongAnswerGroup("q5", "actors: extra carol", 2, ["b.ipynb", "c.ipynb"]),
    WrongAnswerGroup("q5", "actors: extra dave", 1, ["d.ipynb"]),
    WrongAnswerGroup("q5", "actors: extra erin; missing frank", 1, ["e.ipynb"]),
    WrongAnswerGroup("q5", "actors: extra " + "x" * 300, 1, ["f.ipynb"]),
    WrongAnswerGroup("q5", "not a list (int)", 3, ["g.ipynb", "h.ipynb", "i.ipynb"]),
]}


def test_stats_keep_required_and_extra_apart():
    stats = compute_stats(SUBS, MAXIMA, 4)
    assert [round(p, 2) for p in stats.required_percents] == [100.0, 33.33, 0.0, 66.67]
    assert stats.extra_points == [1, 0, 0, 0.5]
    assert [(q.question, q.stretch) for q in stats.questions] == [("q1", False), ("q5", False), ("q9", True)]
    assert [(t.question, t.name, t.hidden, t.passed, t.run) for t in stats.tests] == [
        ("q1", "q1 - 1", False, 2, 3), ("q5", "q5 - 1", True, 1, 3)]
    assert stats.exceptions == [(5, "NameError", 3), (7, "KeyError", 1)]
    assert (stats.late_totals, stats.on_time_totals) == ([1, 0], [4, 2.5])


def test_markdown_summarises_wrong_answers_by_kind():
    md = render_markdown(compute_stats(SUBS, MAXIMA, 4), GROUPS, "note")
    assert "\n".join([
        "### q5 (12 students without full points)",
        "",
        "1. actors: extra ...: 8 students, 4 different answers; most common:",
        "    - actors: extra alice, bob: 4 students",
        "    - actors: extra carol: 2 students",
        "    - actors: extra dave: 1 student",
        "    - and 1 more (all of them, with who, in report.html)",
        "2. not a list (int): 3 students",
        "3. actors: extra erin; missing frank: 1 student",
    ]) in md
    assert "| q9 (extra credit) | 1 | 1 of 4 | 25% | 0.38 |" in md
    assert "| q5 | q5 - 1 | hidden | 1 of 3 (33%) |" in md
    assert "| 5 | NameError | 3 |\n| 7 | KeyError | 1 |" in md
    assert "- Extra credit: 2 of 4 submissions earned stretch points" in md
    assert "- On time: 2, median 3.25 points; late: 2, median 0.5 points (before any penalty)" in md


def test_html_folds_every_answer_with_who():
    page = render_html(compute_stats(SUBS, MAXIMA, 4), GROUPS, {"score_distribution.png": b"",
                                                               "pass_rates.png": b""}, "note")
    assert "<details><summary>all 4, with who</summary><ol>" in page
    assert ('<li>actors: extra carol: 2 students<details><summary>who</summary><span class="person" title="b">b</span>; '
            '<span class="person" title="c">c</span></details></li>') in page
    long = "actors: extra " + "x" * 300
    assert (f"<li>{long}: 1 student<details><summary>who</summary>"
            '<span class="person" title="f">f</span></details></li>') in page


def test_a_long_answer_is_cut_short_with_the_whole_of_it_folded():
    long = "not a DataFrame " + "y" * 300
    page = render_html(compute_stats(SUBS, MAXIMA, 4), {"q5": [WrongAnswerGroup("q5", long, 1, ["z.ipynb"])]},
                       {"score_distribution.png": b"", "pass_rates.png": b""}, "note")
    assert (f'<li>{long[:237]}...: <span class="count">1 student</span>'
            f'<details><summary>who</summary><p>{long}</p><span class="person" title="z">z</span></details></li>') in page
