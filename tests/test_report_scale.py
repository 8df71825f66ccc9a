"""The batch report for a large class: mistakes by kind, extra credit apart, tests, errors, late work."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from ctlab.grading.results import Graded
from ctlab.grading.results import TestRecord as Outcome
from ctlab.report import charts
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
    _sub(2, q1=1, q5=0, q9=0, late=True, errors=[(5, "NameError: name 'actors' is not defined"), (7, "KeyError")],
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
    assert [(e.cell, e.message, e.files) for e in stats.exceptions] == [
        (5, "NameError", ("s3.ipynb", "s4.ipynb")), (5, "NameError: name 'actors' is not defined", ("s2.ipynb",)),
        (7, "KeyError", ("s2.ipynb",))]
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
    assert ("| 5 | NameError | 2 students: s3; s4 |\n"
            "| 5 | NameError: name 'actors' is not defined | 1 student: s2 |\n| 7 | KeyError | 1 student: s2 |") in md
    assert "- Extra credit: 2 of 4 submissions earned stretch points" in md
    assert "- On time: 2, median 3.25 points; late: 2, median 0.5 points (before any penalty)" in md


def test_html_folds_every_answer_with_who():
    page = render_html(compute_stats(SUBS, MAXIMA, 4), GROUPS, {"score_distribution.svg": b"",
                                                               "pass_rates.svg": b""}, "note")
    assert "<details><summary>all 4, with who</summary><ol>" in page
    assert ('<li>actors: extra carol: 2 students<details><summary>who</summary><span class="person" title="b">b</span>; '
            '<span class="person" title="c">c</span></details></li>') in page
    long = "actors: extra " + "x" * 300
    assert (f"<li>{long}: 1 student<details><summary>who</summary>"
            '<span class="person" title="f">f</span></details></li>') in page


def test_a_long_answer_is_cut_short_with_the_whole_of_it_folded():
    long = "not a DataFrame " + "y" * 300
    page = render_html(compute_stats(SUBS, MAXIMA, 4), {"q5": [WrongAnswerGroup("q5", long, 1, ["z.ipynb"])]},
                       {"score_distribution.svg": b"", "pass_rates.svg": b""}, "note")
    assert (f'<li>{long[:237]}...: <span class="count">1 student</span>'
            f'<details><summary>who</summary><p>{long}</p><span class="person" title="z">z</span></details></li>') in page


def test_tests_are_named_by_what_they_check_and_sorted_naturally(tmp_path):
    from ctlab.report.batch_report import test_titles

    (tmp_path / "q11.py").write_text("from otter.test_files import test_case\n\n@test_case(points=1, hidden=False)\n"
                                     "def test_q11_by_kind(x):\n    pass\n\n"
                                     "@test_case(points=1, hidden=True)\ndef test_q11_hidden_rows_kept(x):\n    pass\n")
    titles = test_titles(tmp_path)
    assert titles == {("q11", "q11 - 1"): "by kind", ("q11", "q11 - 2"): "hidden rows kept"}
    subs = [_sub(1, q1=1, q5=2, q9=1, tests=[_t(f"q11 - {n}", "q11", True) for n in (10, 2, 1)])]
    stats = compute_stats(subs, {**MAXIMA, "q11": 4.0}, 1, titles=titles)
    assert [(t.name, t.title) for t in stats.tests] == [("q11 - 1", "by kind"), ("q11 - 2", "hidden rows kept"),
                                                        ("q11 - 10", "")]
    md = render_markdown(stats, {}, "note")
    assert "| q11 | by kind | public | 1 of 1 (100%) |\n| q11 | hidden rows kept | public |" in md


def test_the_summary_keeps_required_and_extra_credit_apart_and_explains_percent_correct():
    md = render_markdown(compute_stats(SUBS, MAXIMA, 4), {}, "note")
    assert "- Required questions: median 50.0% of the required points\n" in md
    assert "- Extra credit: 2 of 4 submissions earned stretch points (median 0.25)\n" in md
    assert ("- percent_correct (the gradebook's column, as otter writes it: every point earned, extra credit "
            "included, over the required points possible, so it can pass 100%): median 58.3%\n") in md


SVG = "{http://www.w3.org/2000/svg}"


def _svg(chart) -> ElementTree.Element:
    return ElementTree.fromstring(charts.render(chart))  # raises unless it is well-formed XML


def _bars(panel: ElementTree.Element) -> list[tuple[float, str, str]]:
    """(height, fill, hover text) of each bar, left to right."""
    return [(float(r.get("height")), r.get("fill"), r.find(f"{SVG}title").text)
            for r in panel.iter(f"{SVG}rect") if r.get("class") == "bar"]


def _texts(panel: ElementTree.Element, kind: str) -> list[str]:
    return [t.text for t in panel.iter(f"{SVG}text") if t.get("class") == kind]


PLOT = charts.BOTTOM - charts.TOP  # the plot frames' height, 250 px


def test_the_score_chart_is_a_histogram_of_ten_bins_beside_the_extra_credit():
    stats = compute_stats(SUBS, MAXIMA, 4)
    stats.required_percents = [5.0, 15.0, 19.99, 95.0, 100.0, 250.0, -3.0, float("nan")]
    stats.count = 8
    svg = _svg(charts.score_chart(stats))
    assert (svg.get("viewBox"), svg.get("role")) == ("0 0 760 340", "img")
    assert svg.find(f"{SVG}title").text == "Score distribution (8 submissions)"
    assert svg.find(f"{SVG}desc").text.startswith("Histogram of 8 submissions by percent of the required points, "
                                                   "in ten-point bins: 0-10%: 2, 10-20%: 2, 20-30%: 0, ")
    hist, extra = svg.findall(f"{SVG}g")
    assert _texts(hist, "title") == ["Score distribution (8 submissions)"]
    assert _texts(hist, "label") == ["percent of the required points", "submissions"]
    assert _texts(hist, "tick") == ["0", "1", "2", "3", "0", "20", "40", "60", "80", "100"]  # whole counts only
    # 0-10: 5 and -3; 10-20: 15 and 19.99; 90-100: 95, 100 and 250; NaN in none. The axis reaches 3 x 1.05.
    heights = [h for h, _, _ in _bars(hist)]
    assert heights == [pytest.approx(PLOT * n / 3.15, abs=0.005) for n in (2, 2, 0, 0, 0, 0, 0, 0, 0, 3)]
    assert {fill for _, fill, _ in _bars(hist)} == {"#3b6ea8"}
    assert _texts(extra, "title") == ["Extra credit"]
    assert _texts(extra, "label") == ["extra-credit points (of 1)"]
    assert _texts(extra, "tick") == ["0", "1", "2", "0", "0.5", "1"]
    assert _bars(extra) == [(pytest.approx(PLOT * n / 2.1, abs=0.005), "#c08a2e", f"{v}: {n}")
                            for v, n in (("0", 2), ("0.5", 1), ("1", 1))]


def test_the_pass_rate_chart_has_a_bar_per_question_coloured_by_kind():
    graded = [_sub(n, q1=1, q5=2 if n == 0 else 0, q9=0.5 * n) for n in range(4)]
    for s, q8 in zip(graded, (3.0, 1.5, 3.0, None), strict=True):
        s.points["q8"] = q8
    svg = _svg(charts.pass_rate_chart(compute_stats(graded, {**MAXIMA, "q8": 3.0}, 4)))
    required, extra = svg.findall(f"{SVG}g")
    assert _texts(required, "title") == ["Required questions"] and _texts(extra, "title") == ["Extra credit"]
    assert _texts(required, "label") == ["% with full points"] and _texts(extra, "label") == []
    assert _bars(required) == [(PLOT, "#2e8b57", "q1: 100% (4 of 4)"), (PLOT / 4, "#2e8b57", "q5: 25% (1 of 4)"),
                               (pytest.approx(PLOT * 2 / 3, abs=0.005), "#8c6bb1", "q8: 67% (2 of 3)")]
    assert _texts(required, "value") == ["100%", "25%", "67%"]
    assert _bars(extra) == [(PLOT / 2, "#c08a2e", "q9: 50% (2 of 4)")]  # 1 and 1.5 points of 1
    assert _texts(extra, "tick") == ["0", "20", "40", "60", "80", "100", "q9"]
    assert svg.find(f"{SVG}desc").text == ("Percent of submissions with full points, per question. Required "
                                           "questions: q1: 100% (4 of 4), q5: 25% (1 of 4), q8: 67% (2 of 3). "
                                           "Extra credit: q9: 50% (2 of 4).")


def _frame(panel: ElementTree.Element) -> tuple[float, float]:
    frame = next(r for r in panel.iter(f"{SVG}rect") if r.get("class") == "frame")
    return float(frame.get("x")), float(frame.get("width"))


def test_each_pass_rate_panel_is_at_least_three_bars_wide_and_inside_the_picture():
    subs = [_sub(n, q1=1, q5=2, q9=1) for n in range(3)]
    maxima = {f"q{i}": 1.0 for i in range(1, 13) if i != 8}  # q9, q10 and q12 are the extra-credit ones
    required, extra = _svg(charts.pass_rate_chart(compute_stats(subs, maxima, 3))).findall(f"{SVG}g")
    (rx, rw), (ex, ew) = _frame(required), _frame(extra)
    assert len(_bars(required)) == 8 and len(_bars(extra)) == 3
    assert rw / 8 == pytest.approx(ew / 3, abs=0.01) and 0 < rx and rx + rw < ex and ex + ew < 760
    one = _svg(charts.pass_rate_chart(compute_stats(subs, {"q1": 1.0, "q9": 1.0}, 3))).findall(f"{SVG}g")
    assert [_frame(g)[1] for g in one] == [pytest.approx(_frame(one[0])[1], abs=0.01)] * 2  # one bar each: three wide


def test_chart_text_from_the_results_is_escaped_and_stays_valid_xml():
    name = 'q1<script>&"\x00\u202e' + "x" * 30
    sub = Graded(file="s.ipynb", name="s", status="ok", runtime_s=1.0, points={name: 1.0}, max_points={name: 1.0},
                 total=1.0, percent=100.0, has_results=True)
    text = charts.render(charts.pass_rate_chart(compute_stats([sub], {name: 1.0}, 1)))
    assert "<script" not in text and "\x00" not in text and "\u202e" not in text
    (panel,) = ElementTree.fromstring(text).findall(f"{SVG}g")
    assert _texts(panel, "tick")[-1] == 'q1<script>'  # cut to ten characters under the bar
    assert _bars(panel)[0][2] == 'q1<script>&" ' + "x" * 30 + ": 100% (1 of 1)"  # whole in its hover text


def test_q8_statistics_count_the_hand_graded_only():
    graded = [_sub(n, q1=1, q5=2, q9=0) for n in range(4)]
    for s, q8 in zip(graded, (3.0, 1.5, None, None), strict=True):
        s.points["q8"] = q8
    stats = compute_stats(graded, {**MAXIMA, "q8": 3.0}, 4)
    q8 = next(q for q in stats.questions if q.question == "q8")
    assert (q8.full_marks, q8.graded, q8.mean_points) == (1, 2, 2.25)
    assert stats.pending == {"q8": 2}
