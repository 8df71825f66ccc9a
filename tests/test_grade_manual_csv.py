"""`ctlab grade --manual`: every bad line of a hand-score CSV is listed and nothing is merged."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from ctlab.cli import main
from ctlab.grading import manual_scores as hand_scores
from ctlab.review.app import page_data
from ctlab.review.batch import load_batch

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "tests" / "submissions" / "demo"


@pytest.fixture
def batch(tmp_path):
    folder = tmp_path / "subs"
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
        shutil.copy(DEMO / "broken_not_json.ipynb", folder / sub / "scenario03b.ipynb")
    shutil.copy(DEMO / "broken_not_json.ipynb", folder / "s1001.ipynb")
    shutil.copy(DEMO / "broken_not_json.ipynb", folder / "s1002.ipynb")
    return folder


def test_every_bad_line_is_listed_and_nothing_changes(tmp_path, batch, capsys):
    manual = tmp_path / "manual.csv"
    manual.write_text(
        "file,q8\n"
        "s1001,5\n"                      # 2: above the question's 3 points
        "s1002,-2\n"                     # 3: below 0
        "s1O01.ipynb,2\n"                # 4: misspelled (a letter O)
        "scenario03b,1\n"                # 5: fits both a/ and b/
        f"{batch}/s1001.ipynb,abc\n"     # 6: not a number
        "s1002.ipynb,2\n"                # 7: fine
        "s1002,2.5\n"                    # 8: the same submission again
        "s1001,nan\n"                    # 9: not a score
    )
    out = tmp_path / "out"
    code = main(["grade", str(batch), "-o", str(out), "--root", str(REPO), "--manual", str(manual)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"ctlab: error: {manual}: 7 bad line(s); no hand score was merged:\n"
        "  line 2: q8 = 5 is outside 0..3\n"
        "  line 3: q8 = -2 is outside 0..3\n"
        "  line 4: no submission in this batch is 's1O01.ipynb'\n"
        f"  line 5: 'scenario03b' fits 2 submissions ('{batch}/a/scenario03b.ipynb', '{batch}/b/scenario03b.ipynb'); "
        "use the file as the gradebook shows it\n"
        f"  line 6: q8 is not a number: 'abc'\n"
        "  line 8: scores the same submission as line 7\n"
        "  line 9: q8 = nan is outside 0..3\n"
    )
    assert not out.exists()


def test_keys_are_one_identity_so_a_correction_replaces(tmp_path, batch):
    out = tmp_path / "out"
    first = tmp_path / "first.csv"
    first.write_text(f"file,q8\n{batch}/s1001.ipynb,1\n")
    assert main(["grade", str(batch), "-o", str(out), "--root", str(REPO), "--manual", str(first)]) == 0
    fix = tmp_path / "fix.csv"
    fix.write_text("file,q8\ns1001,2.5\n")
    assert main(["grade", str(batch), "-o", str(out), "--root", str(REPO), "--manual", str(fix)]) == 0
    kept = json.loads((out / "manual_scores.json").read_text())
    # a notebook that is not JSON has no summary: the score graded none
    assert kept["scores"] == {"s1001": {"q8": {"points": 2.5, "criteria": {}, "comment": "",
                                               "graded_sha256": hand_scores.answer_sha256("")}}}


def test_a_comment_reaches_the_students_feedback_as_text(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(DEMO / "full_marks.ipynb", subs / "s2001.ipynb")
    manual = tmp_path / "manual.csv"
    manual.write_text('file,q8,q8_comment\ns2001,2.5,"Good timeline; name the role session. <b>x</b>"\n')
    out = tmp_path / "out"
    assert main(["grade", str(subs), "-o", str(out), "--root", str(REPO), "--manual", str(manual)]) == 0
    kept = json.loads((out / "manual_scores.json").read_text())
    assert kept["scores"]["s2001"]["q8"] == {"points": 2.5, "criteria": {},
                                            "comment": "Good timeline; name the role session. <b>x</b>",
                                            "graded_sha256": hand_scores.answer_sha256(_summary(subs / "s2001.ipynb"))}
    md = (out / "feedback" / "s2001.md").read_text()
    assert "- Graded by hand. Your grader's comment: Good timeline; name the role session. \\<b\\>x\\</b\\>" in md
    page = (out / "feedback" / "s2001.html").read_text()
    assert "Graded by hand. Your grader&#x27;s comment: Good timeline; name the role session. &lt;b&gt;x&lt;/b&gt;" in page


def _summary_cell(nb: dict) -> dict:
    return next(c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).startswith("triage_summary"))


def _summary(notebook: Path) -> str:
    """The summary a notebook's part 8 cell assigns, read from its source."""
    source = "".join(_summary_cell(json.loads(notebook.read_text()))["source"])
    return ast.literal_eval(source.split("=", 1)[1].split("\nprint(")[0].strip())


def test_a_csv_score_turns_stale_when_the_summary_it_graded_changes(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(DEMO / "full_marks.ipynb", subs / "s2001.ipynb")
    shutil.copy(DEMO / "made_up_technique.ipynb", subs / "s2002.ipynb")
    manual = tmp_path / "q8.csv"
    manual.write_text("file,q8\ns2001,2\ns2002,1\n")
    out = tmp_path / "out"
    grade = ["grade", str(subs), "-o", str(out), "--root", str(REPO), "--manual", str(manual)]
    assert main(grade) == 0  # OUT had no summaries yet: the scores grade the ones this run saved
    assert "stale: " not in capsys.readouterr().out
    kept = hand_scores.read(out)
    assert kept["s2001"]["q8"].graded_sha256 == hand_scores.answer_sha256(_summary(subs / "s2001.ipynb"))
    assert kept["s2002"]["q8"].graded_sha256 == hand_scores.answer_sha256(_summary(subs / "s2002.ipynb"))

    # s2001 re-submits with another summary; the same command line grades the batch again
    nb = json.loads((subs / "s2001.ipynb").read_text())
    _summary_cell(nb)["source"] = 'triage_summary = """The whole story, written again."""\nprint(triage_summary)'
    (subs / "s2001.ipynb").write_text(json.dumps(nb))
    assert main(grade) == 0
    line = ("q8: 1 hand score is stale (graded an earlier summary; the submission changed since; check "
            "them in the review page): s2001")
    assert f"stale:    {line}" in capsys.readouterr().out
    assert f"- {line}\n" in (out / "report.md").read_text()
    assert [s["stale"] for s in page_data(load_batch(out=out, root=REPO))["students"]] == [True, False]
    assert (out / "gradebook.csv").read_text().splitlines()[1].split(",")[8] == "2"  # the score still counts

    # a new score for it grades the summary as it is now
    manual.write_text("file,q8\ns2001,2.5\n")
    assert main(grade) == 0
    assert "stale: " not in capsys.readouterr().out
    assert [s["stale"] for s in page_data(load_batch(out=out, root=REPO))["students"]] == [False, False]
