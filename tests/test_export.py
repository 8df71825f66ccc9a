"""`ctlab export OUT --format canvas|gradescope|csv` on synthetic grading outputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ctlab.cli import main
from ctlab.errors import CtlabError
from ctlab.report.export import export

FIXTURES = Path(__file__).parent / "fixtures" / "report"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("report_synth", FIXTURES / "synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    return synth.build(tmp_path_factory.mktemp("export") / "out", FIXTURES / "root")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_plain_csv(out):
    path = export(out=out, fmt="csv")
    assert path == out / "export-csv.csv"
    lines = _lines(path)
    assert lines[0] == ("file,student,late,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,required,extra_credit,total,late_penalty,"
                        "score,required_percent,status")
    # percent_correct 0.9375 is 15 of 16 points possible, 2 of them extra credit: 13 of 16 required
    assert lines[1] == "full_marks.ipynb,,,1,2,2,2,2,1,3,,1,1,13,2,15,,15,81.25,ok"
    assert lines[2] == "contains_a.ipynb,,,1,2,2,0,2,1,3,,0.5,0,11,0.5,11.5,,11.5,68.75,ok"
    assert lines[9] == "timeout.ipynb,,,1,2,2,0,0,0,0,,0,0,5,0,5,,5,31.25,timed out after cell 9: kept answers up to cell 8"
    assert lines[10] == "broken.ipynb,,,0,0,0,0,0,0,0,,0,0,0,0,0,,0,0.00,invalid notebook: not JSON"
    assert len(lines) == 11


def test_canvas(out):
    lines = _lines(export(out=out, fmt="canvas"))
    assert lines[:3] == [
        "Student,ID,SIS User ID,SIS Login ID,Section,Scenario 03B",
        "    Points Possible,,,,,16",
        "full_marks,,full_marks,,,15",
    ]
    assert _lines(export(out=out, fmt="canvas", assignment_id="4711"))[0] == \
        "Student,ID,SIS User ID,SIS Login ID,Section,Scenario 03B (4711)"
    assert _lines(export(out=out, fmt="canvas"))[0] == "Student,ID,SIS User ID,SIS Login ID,Section,Scenario 03B (4711)"
    with pytest.raises(CtlabError, match="--assignment-id must be the number in the assignment's Canvas URL"):
        export(out=out, fmt="canvas", assignment_id="https://x")


def test_gradescope_csv(out):
    lines = _lines(export(out=out, fmt="gradescope"))
    assert lines[0] == "Name,SID,Email,Total Score"
    assert lines[5] == "no_utc,no_utc,,11"


def test_email_stems_go_to_the_email_column(tmp_path):
    (tmp_path / "gradebook.csv").write_text(
        "file,q1,total_points_earned,percent_correct,grading_status,runtime_s\n"
        "ada@example.edu.ipynb,1,1,100.0,ok,1.0\n"
    )
    lines = _lines(export(out=tmp_path, fmt="gradescope"))
    assert lines == ["Name,SID,Email,Total Score", "ada@example.edu,,ada@example.edu,1"]


def test_missing_gradebook_names_the_file(tmp_path, capsys):
    with pytest.raises(CtlabError, match=r"gradebook\.csv"):
        export(out=tmp_path, fmt="csv")
    assert main(["export", str(tmp_path), "--format", "canvas"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ctlab: error: ") and "gradebook.csv" in err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_writes_and_prints(out, capsys):
    assert main(["export", str(out), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {out / 'export-csv.csv'} (rewritten whenever scores change)",
        "note: q8 pending hand grading for 10 of 10 submissions; their exported scores leave it out until it is "
        "scored (`ctlab review OUT`, then --apply)"]


def test_extra_credit_is_its_own_column_and_the_percent_never_passes_100(tmp_path):
    """A student with every required point and 5 extra-credit points: otter's percent_correct is 1.25;
    the export gives the required points, the extra credit and the score apart, and the percent of
    the required points (100, not 125), before the late penalty (which `score` has taken off)."""
    from review_fixture import make_out

    out = make_out(tmp_path / "out", {"ace": "A summary.", "late": "Another."})
    book = (out / "gradebook.csv").read_text().splitlines()
    assert book[0] == ("file,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,total_points_earned,percent_correct,"
                       "grading_status,runtime_s")
    book[0] += ",late,late_penalty"
    book[1] = "subs/ace.ipynb,1,2,2,2,2,1,3,3,1,1,4,3,25,1.2500,ok,1.00,,"
    book[2] = "subs/late.ipynb,1,2,2,2,2,1,3,2,0,1,4,0,20,1.0000,ok,1.00,yes,2"  # 19 of 20 required, 1 extra
    (out / "gradebook.csv").write_text("\n".join(book) + "\n")
    lines = _lines(export(out=out, fmt="csv"))
    assert lines == [
        "file,student,late,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,required,extra_credit,total,late_penalty,score,"
        "required_percent,status",
        "subs/ace.ipynb,,,1,2,2,2,2,1,3,3,1,1,4,3,20,5,25,,25,100.00,ok",
        "subs/late.ipynb,,yes,1,2,2,2,2,1,3,2,0,1,4,0,19,1,20,2,18,95.00,ok",
    ]


def test_an_export_with_no_score_to_import_is_refused(tmp_path, capsys):
    (tmp_path / "gradebook.csv").write_text("file,q1,total_points_earned,percent_correct,grading_status,runtime_s\n")
    for fmt in ("canvas", "gradescope", "csv"):
        assert main(["export", str(tmp_path), "--format", fmt]) == 2
        assert capsys.readouterr().err == (f"ctlab: error: {tmp_path / f'export-{fmt}.csv'}: not written: "
                                           "the gradebook has no submissions\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv"]
