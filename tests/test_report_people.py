"""People in the report, the review queue and the exports: names from the roster ("Last, First", the
LMS id on hover), short ids without one, never a path; each student counted once (their newest
upload); an export never silently replaces the kept roster, nor writes an export that matches nobody."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from ctlab.cli import main
from ctlab.errors import CtlabError
from ctlab.report import write_reports
from ctlab.report.export import export, keep_roster
from ctlab.reveal import PROJECT_HINTS
from ctlab.roster import load_roster

FIXTURES = Path(__file__).parent / "fixtures" / "report"
ROOT = FIXTURES / "root"
REPO = Path(__file__).resolve().parents[1]

# contains_b and contains_c are two uploads of one student (her SIS user id and login id): the newer counts
ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section
"Okafor, Chidi",101,full_marks,cokafor@example.edu,A
"Park, Min",102,contains_a,mpark@example.edu,A
"Ng, Lee",103,contains_b,contains_c,A
"Diaz, Ana",104,no_utc,adiaz@example.edu,A
"Lee, Kim",105,s9999,klee@example.edu,A
"""
OTHER_CLASS = """Student,ID,SIS User ID,SIS Login ID,Section
"Nobody, Here",901,x1,x1@example.edu,B
"""


def _synth(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("report_synth", FIXTURES / "synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    return synth.build(out, ROOT)


@pytest.fixture(scope="module")
def with_roster(tmp_path_factory):
    top = tmp_path_factory.mktemp("people")
    out = _synth(top / "out")
    (top / "roster.csv").write_text(ROSTER)
    keep_roster(out=out, roster=load_roster(top / "roster.csv"))
    summary = write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    return out, summary


def test_each_student_counts_once_by_the_newest_upload(with_roster):
    out, summary = with_roster
    md = (out / "report.md").read_text()
    assert "- Submissions: 9 (one per student; 1 superseded upload(s) not counted, listed under Students)\n" in md
    # the three "contains" answers came from two students now: Park, Min and Ng, Lee (her newer upload)
    assert [(g.description, g.count) for g in summary.wrong_answers["q4"]][0] == \
        ("+4 rows, event_name GetObjectAcl (3), GetObjectTagging (1)", 2)
    assert "### q4 (4 students without full points)" in md
    assert "- superseded uploads (not counted; each student counts once, by their newest upload): 1\n" in md
    assert "- Ng, Lee: contains_b is superseded by contains_c (only the newer one counts)\n" in md
    assert "- q8: 9 of 9 submissions pending hand grading (no points until scored)\n" in md


def test_people_are_named_last_first_with_the_lms_id_on_hover(with_roster):
    out, _ = with_roster
    page = (out / "report.html").read_text()
    assert '<details><summary>who</summary><span class="person" title="Ng, Lee (contains_b)">Ng, Lee</span>; ' \
           '<span class="person" title="Park, Min (contains_a)">Park, Min</span></details>' in page
    assert "- 1 student(s) with no submission: Lee, Kim" in (out / "report.md").read_text()
    for text in (page, (out / "report.md").read_text()):
        assert str(out) not in text and str(REPO) not in text  # never a path


def test_without_a_roster_people_are_short_ids(tmp_path):
    out = _synth(tmp_path / "out")
    (out / "results" / "full_marks.json").write_text(
        (out / "results" / "full_marks.json").read_text().replace('"file": "full_marks.ipynb"',
                                                                  f'"file": "{tmp_path}/deep/full_marks.ipynb"'))
    write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    page = (out / "report.html").read_text()
    assert '<span class="person" title="contains_a">contains_a</span>; ' \
           '<span class="person" title="contains_b">contains_b</span>; ' in page
    assert "contains_a.ipynb" not in page


def test_the_review_queue_holds_each_student_once_by_name(with_roster):
    from ctlab.review.app import page_data
    from ctlab.review.batch import load_batch

    out, _ = with_roster
    data = page_data(load_batch(out=out, root=REPO))
    labels = [(s["label"], s["id"]) for s in data["students"]]
    assert len(labels) == 9 and "contains_b.ipynb" not in [s["file"] for s in data["students"]]
    assert labels[:4] == [("Okafor, Chidi", "full_marks"), ("Park, Min", "contains_a"), ("Ng, Lee", "contains_b"),
                          ("Diaz, Ana", "no_utc")]
    assert labels[4] == ("dropna", "")  # on no roster row: its short id
    assert data["superseded"] == ["Ng, Lee: contains_b is superseded by contains_c (only the newer one counts)"]


# ---------------------------------------------------------------- exports

def test_an_export_never_silently_replaces_the_kept_roster(tmp_path, capsys):
    out = _synth(tmp_path / "out")
    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "other.csv").write_text(OTHER_CLASS)
    export(out=out, fmt="canvas", roster=tmp_path / "roster.csv")
    kept = (out / "roster.json").read_text()
    canvas = (out / "export-canvas.csv").read_text()
    assert main(["export", str(out), "--format", "gradescope", "--roster", str(tmp_path / "other.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ctlab: error: {tmp_path / 'other.csv'}: differs from the roster kept in "
                          f"{out / 'roster.json'} (5 students, from {tmp_path / 'roster.csv'}); nothing was written.")
    assert "--replace-roster" in err and err.count("\n") == 1
    assert (out / "roster.json").read_text() == kept and not (out / "export-gradescope.csv").exists()
    assert (out / "export-canvas.csv").read_text() == canvas
    # replacing it on purpose: this roster matches no submission, so that export is refused too
    with pytest.raises(CtlabError, match=r"export-gradescope\.csv: not written: no submission matches a student "
                                         r"of the roster \(1 students, .*other\.csv\); e\.g\. .*Is it this class's"):
        export(out=out, fmt="gradescope", roster=tmp_path / "other.csv", replace_roster=True)
    assert (out / "roster.json").read_text() == kept and not (out / "export-gradescope.csv").exists()


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_grading_never_silently_replaces_the_kept_roster(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(REPO / "tests" / "submissions" / "demo" / "broken_not_json.ipynb", subs / "s1001.ipynb")
    (tmp_path / "roster.csv").write_text('Student,ID,SIS User ID,SIS Login ID,Section\n"Okafor, Chidi",101,s1001,co,A\n')
    (tmp_path / "other.csv").write_text(OTHER_CLASS)
    out = tmp_path / "out"
    grade = ["grade", str(subs), "-o", str(out), "--root", str(REPO)]
    assert main([*grade, "--roster", str(tmp_path / "roster.csv")]) == 0
    assert "roster: 1 of 1 students have a submission" in capsys.readouterr().out
    before = _files(out)

    assert main([*grade, "--roster", str(tmp_path / "other.csv")]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"ctlab: error: {tmp_path / 'other.csv'}: differs from the roster kept in {out / 'roster.json'} (1 students, "
        f"from {tmp_path / 'roster.csv'}); nothing was written. Leave out --roster to use the kept one, or pass "
        "--replace-roster to use this one from now on\n")
    assert captured.out == "" and _files(out) == before  # nothing graded, nothing written

    assert main([*grade, "--roster", str(tmp_path / "roster.csv")]) == 0  # the kept class again: fine
    assert "roster: 1 of 1 students have a submission" in capsys.readouterr().out
    assert main([*grade, "--roster", str(tmp_path / "other.csv"), "--replace-roster"]) == 0
    assert "roster: 0 of 1 students have a submission" in capsys.readouterr().out
    assert json.loads((out / "roster.json").read_text())["source"] == str(tmp_path / "other.csv")


def test_the_same_class_written_otherwise_is_no_other_roster(tmp_path):
    out = _synth(tmp_path / "out")
    (tmp_path / "roster.csv").write_text(ROSTER)
    export(out=out, fmt="canvas", roster=tmp_path / "roster.csv")
    (tmp_path / "renamed.csv").write_text(ROSTER.replace('"Okafor, Chidi"', '"Okafor, Chidi A."'))
    export(out=out, fmt="canvas", roster=tmp_path / "renamed.csv")  # the same ids: accepted, names updated
    assert (out / "export-canvas.csv").read_text().splitlines()[2].startswith('"Okafor, Chidi A.",101,')


def test_a_canvas_roster_whose_login_ids_are_emails_fills_gradescopes_email(tmp_path):
    out = _synth(tmp_path / "out")
    (tmp_path / "roster.csv").write_text(ROSTER)
    lines = export(out=out, fmt="gradescope", roster=tmp_path / "roster.csv").read_text().splitlines()
    assert lines[:3] == ["Name,SID,Email,Total Score", '"Okafor, Chidi",full_marks,cokafor@example.edu,15',
                         '"Park, Min",contains_a,mpark@example.edu,11.5']
    assert lines[3] == '"Ng, Lee",contains_b,,11'  # her newer upload's score; a login id that is no email: no Email
    assert lines[5] == '"Lee, Kim",s9999,klee@example.edu,'  # no submission: blank, never 0


def test_a_gradescope_roster_with_first_and_last_names_reads_last_first(tmp_path):
    (tmp_path / "r.csv").write_text("First Name,Last Name,SID,Email\nChidi,Okafor,s1,c@example.edu\n")
    assert load_roster(tmp_path / "r.csv").students[0].name == "Okafor, Chidi"


def test_the_export_names_what_is_pending(tmp_path, capsys):
    out = _synth(tmp_path / "out")
    (tmp_path / "roster.csv").write_text(ROSTER)
    assert main(["export", str(out), "--format", "canvas", "--roster", str(tmp_path / "roster.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "note: q8 pending hand grading for 4 of 4 students with a submission; their exported scores leave it out until it is "
        "scored (`ctlab review OUT`, then --apply)")
    assert json.loads((out / "roster.json").read_text())["students"][0]["name"] == "Okafor, Chidi"
    shutil.rmtree(out)


def test_errors_raised_by_cells_say_who_and_the_message(tmp_path):
    out = _synth(tmp_path / "out")
    (tmp_path / "roster.csv").write_text(ROSTER)
    keep_roster(out=out, roster=load_roster(tmp_path / "roster.csv"))
    raised = {"contains_a": [(5, "Traceback (most recent call last):\n  ...\nNameError: name 'susp_iam' is not defined")],
              "no_utc": [(5, "NameError: name 'susp_iam' is not defined"), (9, "KeyError: 'user'")],
              "dropna": [(4, "NameError: name 'grader' is not defined")]}  # otter's own cell: not listed
    for name, errors in raised.items():
        path = out / "results" / f"{name}.json"
        record = json.loads(path.read_text())
        record["cell_errors"] = [{"cell": c, "error": e} for c, e in errors]
        path.write_text(json.dumps(record))
    write_reports(out=out, root=ROOT, hints=PROJECT_HINTS)
    md = (out / "report.md").read_text()
    section = md[md.index("## Errors raised by cells"):].split("\n## ")[0]
    assert section.splitlines()[2:6] == [
        "| cell | error | who |",
        "|---|---|---|",
        "| 5 | NameError: name 'susp_iam' is not defined | 2 students: Diaz, Ana; Park, Min |",
        "| 9 | KeyError: 'user' | 1 student: Diaz, Ana |",
    ]
    assert "grader" not in section
    page = (out / "report.html").read_text()
    assert '<span class="person" title="Diaz, Ana (no_utc)">Diaz, Ana</span>' in page
