"""Feedback files and the batch report, on synthetic grading outputs (tests/fixtures/report/)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest

from ctlab.errors import CtlabError
from ctlab.report import write_reports
from ctlab.report.reference import reference_answers
from ctlab.report.wrong_answers import describe_frame, describe_list, describe_q2
from ctlab.reveal import PROJECT_HINTS

FIXTURES = Path(__file__).parent / "fixtures" / "report"
ROOT = FIXTURES / "root"


def _synth():
    spec = importlib.util.spec_from_file_location("report_synth", FIXTURES / "synth.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    _synth().build(out, ROOT)
    summary = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    return out, summary


def _groups(summary, q):
    return [(g.description, g.count) for g in summary.wrong_answers[q]]


def test_wrong_answers_grouped_and_ranked(graded):
    _, summary = graded
    assert _groups(summary, "q4") == [
        ("+4 rows, event_name GetObjectAcl (3), GetObjectTagging (1)", 3),
        ("-1 row (timestamp missing)", 1),
        ("susp_api not defined", 1),
    ]
    assert _groups(summary, "q1") == [
        ("cloud_iam_df: -2 rows (timestamp missing); cloud_api_df: -2 rows (timestamp missing)", 1)
    ]
    assert _groups(summary, "q2") == [
        ("cloud_iam_df: 0 NaT (expected 2); cloud_api_df: 0 NaT (expected 2)", 1),
        ("cloud_iam_df: timestamp has no timezone (expected UTC); "
         "cloud_api_df: timestamp has no timezone (expected UTC)", 1),
    ]
    assert _groups(summary, "q7") == [("extra T9999", 1), ("mitre_techniques not defined", 1)]
    assert _groups(summary, "q5")[1][0].startswith("actors: extra alice, bob; related_api: +6 rows")
    assert "q8" not in summary.wrong_answers  # manual
    groups = summary.wrong_answers["q4"]
    assert groups[0].files == ["contains_a.ipynb", "contains_b.ipynb", "contains_c.ipynb"]


def test_report_markdown_content(graded):
    out, _ = graded
    md = (out / "report.md").read_text()
    assert "1. +4 rows, event_name GetObjectAcl (3), GetObjectTagging (1): 3 students\n" in md
    assert "2. -1 row (timestamp missing): 1 student\n" in md
    assert "### q4 (5 students without full points)" in md
    assert "- Runtime per submission: median 1.88 s, max 3.00 s" in md
    assert "| ok | 8 |" in md
    assert "| invalid notebook: not JSON | 1 |" in md
    assert "| timed out after cell 9: kept answers up to cell 8 | 1 |" in md
    assert "| q4 | 2 | 4 of 10 | 40% | 0.90 |" in md
    assert "| q8 |" not in md  # no manual scores entered yet
    assert "- q8: 10 of 10 submissions pending hand grading (no points until scored)\n" in md
    for svg in ("score_distribution.svg", "pass_rates.svg"):
        assert f"](report_files/{svg})" in md
        assert ElementTree.parse(out / "report_files" / svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert sorted(p.name for p in (out / "report_files").glob("[!.]*")) == ["pass_rates.svg", "score_distribution.svg"]


def test_report_html_is_self_contained(graded):
    out, _ = graded
    page = (out / "report.html").read_text()
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == 2 and all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert "<link" not in page and "http://" not in page and "https://" not in page
    assert "`" not in page  # Markdown's code marks are no markup in HTML
    assert "+4 rows, event_name GetObjectAcl (3), GetObjectTagging (1): " in page


def test_feedback_public_messages_and_status(graded):
    out, summary = graded
    assert len(list((out / "feedback").glob("*.md"))) == 10
    assert len(list((out / "feedback").glob("*.html"))) == 10
    md = (out / "feedback" / "contains_a.md").read_text()
    assert "- FAILED: q4 - 1: 4 rows have an event_name that starts with GetObject but is not GetObject" in md
    assert "## q4: 0 / 2" in md
    assert "- Hidden tests: 0 of 1 points." in md
    assert "## q8: pending / 3" in md
    assert "Your notebook ran from top to bottom" in md
    broken = (out / "feedback" / "broken.md").read_text()
    assert "Your submission could not be graded: invalid notebook: not JSON." in broken
    timeout = (out / "feedback" / "timeout.html").read_text()
    assert "timed out after cell 9: kept answers up to cell 8" in timeout
    assert "hidden tests: points" in summary.describe()
    assert "pending:  q8: 10 of 10 submissions pending hand grading (no points until scored)" in summary.describe()


def test_feedback_reveals_no_hidden_test_or_reference(graded):
    out, _ = graded
    synth = _synth()
    hidden_src = (ROOT / "autograder" / "tests" / "q4.py").read_text()
    hidden_fn = hidden_src[hidden_src.index("def test_q4_hidden_exact_rows"):]
    code_lines = [ln.strip() for ln in hidden_fn.splitlines() if len(ln.strip()) > 12]
    secrets = ["203.0.113.66", synth.SECRET_HIDDEN_MESSAGE, "test_q4_hidden_exact_rows", "T1530", "dana"]
    for path in sorted((out / "feedback").iterdir()):
        text = path.read_text()
        for secret in secrets + code_lines:
            assert secret not in text, (path.name, secret)


def _with_config(tmp_path, config):
    root = tmp_path / "root"
    shutil.copytree(ROOT, root)
    (root / "autograder" / "otter_config.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    _synth().build(out, ROOT)
    return out, write_reports(out=out, root=root, hints=PROJECT_HINTS)


def test_a_project_without_its_reveal_code_still_gets_reports(tmp_path):
    """An installed ctlab grading a folder with no solutions/: the reports say why there is no reference."""
    out = tmp_path / "out"
    _synth().build(out, ROOT)
    summary = write_reports(out=out, root=ROOT)
    assert summary.reference_source is None
    md = (out / "report.md").read_text()
    assert "No solutions/hints.yaml under the project folder, so answers are described without a reference." in md
    assert (out / "report.html").is_file() and len(summary.feedback_files) == 2 * summary.submissions


def test_hidden_as_pass_fail_when_show_hidden(tmp_path):
    out, summary = _with_config(tmp_path, {"show_hidden": True})
    assert summary.hidden_mode == "pass_fail"
    md = (out / "feedback" / "dropna.md").read_text()
    assert "## q3: 1 / 2\n\n- passed: q3 - 1\n- Hidden tests: not all passed.\n" in md
    assert "## q5: 2 / 2\n\n- passed: q5 - 1\n- Hidden tests: passed.\n" in md


def test_hidden_withheld(tmp_path):
    out, summary = _with_config(tmp_path, {"hidden_feedback": "withhold"})
    md = (out / "feedback" / "dropna.md").read_text()
    assert "Hidden tests" not in md.replace("Hidden tests are not shown here", "").replace(
        "Hidden test results are withheld", "")
    assert "## q3: 1 / 1 (public tests)" in md
    assert "Public tests: 6 of 7.5 points." in md


def test_bad_config_and_missing_gradebook(tmp_path):
    with pytest.raises(CtlabError, match="gradebook.csv"):
        write_reports(out=tmp_path, root=ROOT, hints=PROJECT_HINTS)
    with pytest.raises(CtlabError, match="hidden_feedback"):
        _with_config(tmp_path, {"hidden_feedback": "everything"})


# ---------------------------------------------------------------- the difference descriptions

@pytest.fixture(scope="module")
def ref():
    return reference_answers(ROOT / "assignment" / "data", hints=PROJECT_HINTS)


def test_describe_frame(ref):
    api = ref["cloud_api_df"]
    assert describe_frame(ref["susp_api"], ref["susp_api"]) == "same rows as the right answer"
    wrong = api[api["event_name"].str.contains("GetObject")]
    assert describe_frame(wrong, ref["susp_api"]) == (
        "+4 rows, event_name GetObjectAcl (3), GetObjectTagging (1); "
        "-5 rows, event_name DescribeInstances (1), DescribeRegions (1), ListBuckets (1), ListObjectsV2 (1), 1 more"
    )
    # any index, order, int-like ids written as floats, duplicated rows
    shuffled = pd.concat([ref["susp_api"].iloc[::-1], ref["susp_api"].iloc[:1]]).reset_index(drop=True)
    assert describe_frame(shuffled, ref["susp_api"]) == "1 duplicated row"
    assert describe_frame([1, 2], ref["susp_api"]) == "not a DataFrame (list)"
    assert describe_frame(api.drop(columns="event_id"), ref["susp_api"]) == "no event_id column"


def test_describe_list():
    assert describe_list(("t1078 ", "T1098", "T1530"), ["T1078", "T1098", "T1530"], upper=True) == (
        "same items as the right answer")
    assert describe_list(["T1078", "T1098"], ["T1078", "T1098", "T1530"], upper=True) == "missing T1530"
    assert describe_list({"dana", "bob"}, ["dana"]) == "extra bob"
    assert describe_list("dana", ["dana"]) == "a single string ('dana'), not a list"
    assert describe_list(["dana", "dana"], ["dana"]) == "repeated dana"


def test_describe_q2(ref):
    ns = {"cloud_iam_df": ref["cloud_iam_df"].copy(), "cloud_api_df": ref["cloud_api_df"]}
    assert describe_q2(ns, ref) == "timestamps and hours match the right answer"
    shifted = ref["cloud_iam_df"].copy()
    shifted["timestamp"] = shifted["timestamp"].dt.tz_convert("Europe/Paris")
    shifted["hour"] = shifted["timestamp"].dt.hour
    assert describe_q2({"cloud_iam_df": shifted, "cloud_api_df": ref["cloud_api_df"]}, ref) == (
        "cloud_iam_df: timestamp in timezone Europe/Paris (expected UTC), hour differs in 8 rows")
    raw = ref["cloud_iam_df"].copy()
    raw["timestamp"] = raw["timestamp"].astype(str)
    raw = raw.drop(columns="hour")
    assert describe_q2({"cloud_iam_df": raw, "cloud_api_df": ref["cloud_api_df"]}, ref) == (
        "cloud_iam_df: timestamp not parsed (dtype str), no hour column")
    naive = ref["cloud_api_df"].copy()  # parsed without utc=True, three instants an hour late
    naive["timestamp"] = naive["timestamp"].dt.tz_localize(None)
    naive.loc[naive.index[:3], "timestamp"] += pd.Timedelta(hours=1)
    assert describe_q2({"cloud_iam_df": ref["cloud_iam_df"], "cloud_api_df": naive}, ref) == (
        "cloud_api_df: timestamp has no timezone (expected UTC), 3 timestamps off from the UTC time")


def test_unchanged_inputs_keep_the_reports_and_a_change_rewrites_them(tmp_path):
    out = tmp_path / "out"
    _synth().build(out, ROOT)
    first = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert first.unchanged is False and first.wrong_answers
    (out / "report.md").write_text("marker")  # a re-run that rewrote it would lose this
    again = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert again.unchanged is True and (out / "report.md").read_text() == "marker"
    assert sorted(again.feedback_files) == sorted(first.feedback_files)
    assert "(inputs unchanged: kept)" in again.describe()
    gradebook = out / "gradebook.csv"
    gradebook.write_text(gradebook.read_text().replace("\n", "\r\n", 1))  # any change to what it reads
    changed = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert changed.unchanged is False and (out / "report.md").read_text() != "marker"
    (out / "feedback" / first.feedback_files[0].name).unlink()  # a missing output is written again
    assert write_reports(out=out, root=ROOT, hints=PROJECT_HINTS).unchanged is False


def test_part_8b_answer_key_added_edited_or_removed_means_the_reports_are_written_again(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(ROOT, root)
    out = tmp_path / "out"
    _synth().build(out, root)
    write_reports(out=out, root=root, hints=PROJECT_HINTS)
    assert "Part 8b" not in (out / "report.md").read_text()  # no answer key here: no line
    truth = root / "data" / "transfer" / "ground_truth.json"
    truth.parent.mkdir(parents=True)
    key = json.loads((Path(__file__).resolve().parents[1] / "data" / "transfer" / "ground_truth.json").read_text())
    truth.write_text(json.dumps(key))
    added = write_reports(out=out, root=root, hints=PROJECT_HINTS)
    line = "Part 8b (a second account): 0 of 10 students found all three answers (the principal 0, the key 0, the objects 0)"
    assert added.unchanged is False and line in (out / "report.md").read_text()
    assert write_reports(out=out, root=root, hints=PROJECT_HINTS).unchanged is True
    truth.write_text(json.dumps({**key, "principal": "someone-else"}))
    assert write_reports(out=out, root=root, hints=PROJECT_HINTS).unchanged is False
    truth.unlink()
    removed = write_reports(out=out, root=root, hints=PROJECT_HINTS)
    assert removed.unchanged is False and "Part 8b" not in (out / "report.md").read_text()


# ------------------------------------------------------------------ feedback in words, no grading

def _sub(points: dict, *, errors=(), status="ok"):
    from ctlab.contract import POINTS
    from ctlab.grading.results import Graded, TestRecord

    tests = [TestRecord(name=f"{q} - 1", question=q, points=p, max_points=POINTS[q], hidden=True, passed=p == POINTS[q],
                         message="") for q, p in points.items() if q != "q8"]
    return Graded(file="s1.ipynb", name="s1", status=status, runtime_s=1.0, points=dict(points),
                      max_points={q: float(POINTS[q]) for q in points if q != "q8"}, total=sum(v or 0 for v in points.values()),
                      percent=None, tests=tests, has_results=True, cell_errors=list(errors))


def _fb(sub):
    from ctlab.contract import POINTS
    from ctlab.report.config import FeedbackConfig
    from ctlab.report.feedback import build_feedback, render_markdown

    maxima = {q: float(p) for q, p in POINTS.items()}
    return render_markdown(build_feedback(sub, maxima, FeedbackConfig()))


FULL_REGULAR = {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q11": 4}


def test_feedback_score_reads_out_of_the_total_with_extra_credit_and_pending_hand_grading():
    md = _fb(_sub({**FULL_REGULAR, "q3": 1.5, "q8": None, "q9": 1, "q10": 0}))  # a blank gradebook cell
    assert "Score: 16.5 of 20 points (+1 extra credit; q8 pending hand grading).\n" in md
    assert "| q8 | 8 | pending / 3 | graded by hand |\n" in md
    assert "| q9 | 9 | 1 / 1 | extra credit |\n" in md
    assert "| q11 | 6b | 4 / 4 |  |\n" in md
    md = _fb(_sub({**FULL_REGULAR, "q8": 2.5, "q9": 0.5, "q10": 1}))
    assert "Score: 19.5 of 20 points (+1.5 extra credit).\n" in md


def test_a_hand_score_of_0_is_a_score_and_the_comment_always_reaches_the_student():
    sub = _sub({**FULL_REGULAR, "q8": 0.0})
    sub.comments = {"q8": "No timeline: name when the keys were made."}
    md = _fb(sub)
    assert "| q8 | 8 | 0 / 3 | graded by hand |\n" in md
    assert "Score: 17 of 20 points (+0 extra credit).\n" in md
    assert "- Graded by hand. Your grader's comment: No timeline: name when the keys were made.\n" in md
    assert "pending" not in md
    waiting = _sub({**FULL_REGULAR, "q8": None})  # no score yet, but a comment: the student still reads it
    waiting.comments = {"q8": "Started; will finish after the break."}
    md = _fb(waiting)
    assert "| q8 | 8 | pending / 3 | graded by hand |\n" in md
    assert ("- Graded by hand; no score has been entered yet. Your grader's comment: Started; will finish after "
            "the break.\n") in md


def test_feedback_tells_which_cells_raised_errors():
    errors = [(1, "FileNotFoundError: [Errno 2] No such file or directory: 'scenario03b.ipynb'"),
              (4, "NameError: name 'grader' is not defined"),  # otter's own cells: not the student's errors
              (5, "NameError: name 'susp_iam' is not defined"), (7, "KeyError: 'user'"),
              (9, "NameError: name 'actors' is not defined")]
    md = _fb(_sub({"q1": 1, "q3": 0}, errors=errors))
    assert ("Your notebook ran to the end, but 3 cells raised errors (code cells, counted from the top): "
            "cell 5 NameError: name 'susp_iam' is not defined; cell 7 KeyError: 'user'; "
            "cell 9 NameError: name 'actors' is not defined.") in md
    assert "every answer was graded" not in md
    assert "Your notebook ran from top to bottom and every answer was graded." in _fb(_sub({"q1": 1}))
    assert "Your notebook ran from top to bottom and every answer was graded." in _fb(_sub({"q1": 1}, errors=errors[:2]))
    many = _fb(_sub({"q1": 1}, errors=[(i, "ValueError: x") for i in range(1, 8)]))
    assert "7 cells raised errors" in many and "cell 5 ValueError: x; and 2 more." in many


def test_feedback_and_report_inline_one_stylesheet(graded):
    out, _ = graded
    css = (Path(__file__).parents[1] / "src" / "ctlab" / "report" / "templates" / "pages.css").read_text().strip()
    for page in (out / "report.html", out / "feedback" / "contains_a.html"):
        text = page.read_text()
        assert text.count("<style>") == 1 and f"<style>{css}</style>" in text, page.name
        assert "<link" not in text


HOSTILE = "x\n## Regrade <img src=x onerror=alert(1)> [r](javascript:alert(1)) 'q'"


def test_hostile_text_is_escaped_in_both_feedback_outputs():
    from ctlab.contract import POINTS
    from ctlab.grading.results import Graded, TestRecord
    from ctlab.report.config import FeedbackConfig
    from ctlab.report.feedback import build_feedback, render_html, render_markdown

    sub = Graded(file=f"subs/{HOSTILE}.ipynb", name="s1", status=HOSTILE, runtime_s=1.0, points={"q4": 0.0, "q8": 1.0},
                     max_points={"q4": 2.0}, total=1.0, percent=None, has_results=True, comments={"q8": HOSTILE},
                     tests=[TestRecord(name=HOSTILE, question="q4", points=0.0, max_points=1.0, hidden=False,
                                        passed=False, message=f"AssertionError: {HOSTILE}")])
    fb = build_feedback(sub, {q: float(p) for q, p in POINTS.items()}, FeedbackConfig())
    page, md = render_html(fb), render_markdown(fb)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "&#x27;q&#x27;" in page
    assert page.count("<h1>") == 1 and "<h2>q4: 0 / 2</h2>" in page
    assert md.startswith("# Scenario 03B feedback: x ## Regrade \\<img src=x onerror=alert(1)\\> "
                         "\\[r\\](javascript:alert(1)) 'q'.ipynb\n")
    assert ("\n- FAILED: x ## Regrade \\<img src=x onerror=alert(1)\\> \\[r\\](javascript:alert(1)) 'q': "
            "## Regrade \\<img src=x") in md
    assert [ln for ln in md.splitlines() if ln.startswith("#")] == [md.splitlines()[0]] + [
        f"## {q}: {p}" for q, p in re.findall(r"^## (q\d+): (.*)$", md, flags=re.M)]


def test_a_template_edit_means_the_reports_are_written_again(graded, tmp_path, monkeypatch):
    from ctlab.report import _inputs_key, pages
    from ctlab.report.config import FeedbackConfig

    out, _ = graded
    copy = tmp_path / "templates"
    shutil.copytree(pages.TEMPLATES, copy)
    monkeypatch.setattr(pages, "TEMPLATES", copy)
    hints = tmp_path / "hints.yaml"
    hints.write_bytes(PROJECT_HINTS.read_bytes())
    before = _inputs_key(out, FeedbackConfig(), None, hints)
    assert _inputs_key(out, FeedbackConfig(), None, hints) == before
    (copy / "pages.css").write_text("body{color:red}\n")
    after_css = _inputs_key(out, FeedbackConfig(), None, hints)
    assert after_css != before
    hints.write_text(hints.read_text() + "\n# edited\n")  # the reveal code the reference comes from
    assert _inputs_key(out, FeedbackConfig(), None, hints) != after_css


def test_hidden_feedback_names_the_part_that_lost_points_without_the_right_values():
    from ctlab.contract import POINTS
    from ctlab.grading.results import Graded, TestRecord
    from ctlab.report.config import FeedbackConfig
    from ctlab.report.feedback import build_feedback, render_markdown
    from ctlab.report.parts import load_parts

    repo = Path(__file__).resolve().parents[1]
    parts = load_parts(repo / "autograder" / "tests")
    # q11: 1 shape, 2 in the logs (public); 3-10 hidden: principals all/only, access keys all/only,
    # source IPs all/only, regions, buckets. q7: 1 format (public); 2-6 hidden steps of coverage x precision
    lost11, lost7 = {3, 9}, {5, 6}
    tests = [TestRecord(name=f"q11 - {n}", question="q11", points=0.0 if n in lost11 else 0.5, max_points=0.5,
                        hidden=n > 2, passed=n not in lost11, message="") for n in range(1, 11)]
    tests += [TestRecord(name=f"q7 - {n}", question="q7", points=0.0 if n in lost7 else 0.5, max_points=0.5,
                         hidden=n > 1, passed=n not in lost7, message="") for n in range(1, 7)]
    sub = Graded(file="s1.ipynb", name="s1", status="ok", runtime_s=1.0, points={"q11": 3.0, "q7": 2.0},
                 max_points={"q11": 4.0, "q7": 3.0}, total=5.0, percent=None, tests=tests, has_results=True)
    answers = {"mitre_techniques": ["T1078", "t1098 ", "T9999"]}
    md = render_markdown(build_feedback(sub, {"q7": float(POINTS["q7"]), "q11": float(POINTS["q11"])},
                                        FeedbackConfig(), parts=parts, answers=answers))
    assert ("- Hidden tests: 3 of 4 points. Points lost on: principals (one or more missing); regions.\n") in md
    assert ("- Hidden tests: 1.5 of 2.5 points. Points lost on: coverage (a kind of behaviour the incident shows "
            "has no technique listed); precision (a listed ID is not supported by the logs).\n") in md
    gt = json.loads((repo / "data" / "ground_truth.json").read_text())
    for secret in [*gt["attacker_principals"], gt["attacker_region"], "T1530", "T1078.004"]:
        assert secret not in md, secret
    # a fully mapped answer loses nothing to name; one that only misses coverage names only that
    assert "Points lost" not in render_markdown(build_feedback(
        Graded(file="s2.ipynb", name="s2", status="ok", runtime_s=1.0, points={"q7": 3.0}, max_points={"q7": 3.0},
               total=3.0, percent=None, tests=[t for t in tests if t.question == "q7" and t.passed], has_results=True),
        {"q7": 3.0}, FeedbackConfig(), parts=parts, answers={"mitre_techniques": ["T1078"]}))


def test_answers_are_read_to_describe_a_wrong_one_and_equal_ones_are_described_once(tmp_path, monkeypatch):
    from ctlab.report import answers, wrong_answers

    out = _synth().build(tmp_path / "out", ROOT)
    read: list[tuple[str, tuple[str, ...]]] = []
    load = answers.load_snapshot_dir

    def counting_load(path, only=None):
        read.append((path.name, tuple(only or ())))
        return load(path, only)

    described: list[tuple[str, str]] = []
    describe = wrong_answers.describe_answer

    def counting_describe(q, ns, ref):
        described.append((q, ns.folder.name))
        return describe(q, ns, ref)

    monkeypatch.setattr(answers, "load_snapshot_dir", counting_load)
    monkeypatch.setattr(wrong_answers, "describe_answer", counting_describe)
    summary = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert all(len(only) == 1 for _, only in read) and len(read) == len(set(read))  # one variable, once
    assert {only for name, only in read if name == "full_marks"} <= {("triage_summary",)}  # nothing it got right
    same = [g for g in summary.wrong_answers["q4"] if g.description.startswith("+4 rows")]
    assert [len(g.files) for g in same] == [3]  # contains_a, _b and _c saved the same susp_api ...
    assert [n for q, n in described if q == "q4" and n.startswith("contains_")] == ["contains_a"]  # ... described once


def test_charts_are_drawn_again_only_when_what_they_show_changed(tmp_path, monkeypatch):
    from ctlab.report import batch_report

    out = _synth().build(tmp_path / "out", ROOT)
    drawn: list[int] = []
    draw = batch_report.make_charts
    monkeypatch.setattr(batch_report, "make_charts", lambda stats: drawn.append(stats.count) or draw(stats))
    write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    svg = (out / "report_files" / "score_distribution.svg").read_bytes()
    record = json.loads((out / "results" / "full_marks.json").read_text())
    record["runtime_s"] = 99.0  # the report changes (its runtimes), the charts do not
    (out / "results" / "full_marks.json").write_text(json.dumps(record))
    again = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert not again.unchanged and len(drawn) == 1
    assert (out / "report_files" / "score_distribution.svg").read_bytes() == svg
    assert f"base64,{__import__('base64').b64encode(svg).decode()}" in (out / "report.html").read_text()
    (out / "report_files" / "pass_rates.svg").unlink()  # a chart gone: drawn again
    record["runtime_s"] = 98.0
    (out / "results" / "full_marks.json").write_text(json.dumps(record))
    write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert len(drawn) == 2 and (out / "report_files" / "pass_rates.svg").is_file()
    rates = (out / "report_files" / "pass_rates.svg").read_bytes()
    record["questions"]["q1"]["max_points"] = 5.0  # what a chart shows changed (q1's full points): drawn again
    (out / "results" / "full_marks.json").write_text(json.dumps(record))
    write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert len(drawn) == 3 and (out / "report_files" / "pass_rates.svg").read_bytes() != rates


def test_an_older_reports_png_charts_are_removed(tmp_path):
    out = _synth().build(tmp_path / "out", ROOT)
    (out / "report_files").mkdir()
    for old in ("score_distribution.png", "pass_rates.png"):  # what the report linked before its charts were SVG
        (out / "report_files" / old).write_bytes(b"\x89PNG\r\n\x1a\n")
    write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert sorted(p.name for p in (out / "report_files").glob("[!.]*")) == ["pass_rates.svg", "score_distribution.svg"]
    assert ".png" not in (out / "report.md").read_text() + (out / "report.html").read_text()


def test_writing_the_reports_loads_no_plotting_library(tmp_path):
    out = _synth().build(tmp_path / "out", ROOT)
    code = ("import sys; from pathlib import Path; from ctlab.report import write_reports; "
            "from ctlab.reveal import PROJECT_HINTS; "
            f"write_reports(out=Path({str(out)!r}), root=Path({str(ROOT)!r}), hints=PROJECT_HINTS); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'), "
            "'pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[] True"  # the answers were read (pandas), no chart library came with it
    assert (out / "report_files" / "pass_rates.svg").is_file()


def test_a_class_without_wrong_answers_runs_no_reveal_code(tmp_path, monkeypatch):
    from ctlab.report import REFERENCE_NOTE, reference

    out = _synth().build(tmp_path / "out", ROOT)
    gradebook = out / "gradebook.csv"
    header, *rows = gradebook.read_text().splitlines()
    gradebook.write_text("\n".join([header, *[r for r in rows if r.startswith("full_marks.ipynb,")]]) + "\n")

    def not_needed(*args, **kwargs):
        raise AssertionError("the reference answers were computed for a class without wrong answers")

    monkeypatch.setattr(reference, "reference_answers", not_needed)
    summary = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    assert summary.submissions == 1 and summary.wrong_answers == {q: [] for q in summary.wrong_answers}
    assert REFERENCE_NOTE in (out / "report.md").read_text()
    assert summary.reference_source == str(ROOT / "assignment" / "data")
    gradebook.write_text("\n".join([header, *rows]) + "\n")  # the whole class again: its wrong answers need it
    with pytest.raises(AssertionError, match="were computed"):
        write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
