"""From the LMS's download to its gradebook import: names, rosters, bulk zips, late work, exports."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from ctlab import lms
from ctlab.build import sources
from ctlab.cli import main
from ctlab.errors import CtlabError
from ctlab.grading import inputs
from ctlab.roster import Roster, Student, load_roster, match

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "lms"
DEMO = REPO / "tests" / "submissions" / "demo"


# ---------------------------------------------------------------- names

@pytest.mark.parametrize("base, expected", [
    ("doejohn_123456_7890123_scenario03b.ipynb",
     lms.Identity(source="canvas", key="doejohn", user_id="123456", submission_id="7890123")),
    ("doejohn_LATE_123456_7890124_scenario03b-1.ipynb",
     lms.Identity(source="canvas", key="doejohn", user_id="123456", submission_id="7890124", attempt=1, late=True)),
    ("vanderberganna_42_43_my_notebook_v2.zip",
     lms.Identity(source="canvas", key="vanderberganna", user_id="42", submission_id="43")),
    ("s1234567.ipynb", lms.Identity(source="file", key="s1234567")),
    ("jdoe@example.edu.ipynb", lms.Identity(source="file", key="jdoe@example.edu")),
    ("doe_john.ipynb", lms.Identity(source="file", key="doe_john")),
])
def test_identity_from_file_names(base, expected):
    assert lms.from_filename(base) == expected


def test_gradescope_metadata_names_submitters_and_times():
    raw = (FIXTURES / "gradescope" / "submission_metadata.yml").read_bytes()
    found = lms.parse_gradescope_metadata(raw)
    assert found["submission_301"] == lms.Identity(
        source="gradescope", key="jdoe@example.edu", submission_id="301", name="John Doe", sid="s1001",
        email="jdoe@example.edu", submitted_at="2026-03-01T20:15:00.123456-08:00")
    assert found["submission_302"].submitted_at == "2026-03-02T09:30:00+01:00"
    assert sorted(found) == ["submission_301", "submission_302", "submission_303"]


@pytest.mark.parametrize("raw, why", [
    (b"- a\n- b\n", "not a mapping of submissions"),
    (b"submission_1: [\n", "not YAML"),
    (b"!!python/object:os.system {}\n", "not YAML"),
    (b"\xff\xfe", "not YAML"),
])
def test_bad_gradescope_metadata_is_refused(raw, why):
    with pytest.raises(lms.MetadataError, match=f"^{why}$"):
        lms.parse_gradescope_metadata(raw)


# ---------------------------------------------------------------- rosters

def test_canvas_roster_skips_points_possible_and_the_test_student():
    roster = load_roster(FIXTURES / "canvas-roster.csv")
    assert roster.students == [
        Student(name="Doe, John", canvas_id="123456", sis_user_id="s1001", sis_login_id="jdoe", section="SEC-A"),
        Student(name="Roe, Jane", canvas_id="223344", sis_user_id="s1002", sis_login_id="jroe", section="SEC-A"),
        Student(name="Smith, Alex", canvas_id="334455", sis_user_id="s1003", sis_login_id="asmith", section="SEC-B"),
        Student(name="Lee, Kim", canvas_id="445566", sis_user_id="s1004", sis_login_id="klee", section="SEC-B"),
    ]


def test_gradescope_roster_keeps_students_only(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "gradescope-roster.csv").read_bytes())  # as Excel saves it
    roster = load_roster(path)
    assert [(s.name, s.sid, s.email, s.section) for s in roster.students] == [
        ("Doe, John", "s1001", "jdoe@example.edu", "SEC-A"),
        ("Roe, Jane", "s1002", "jroe@example.edu", "SEC-A"),
        ("Smith, Alex", "s1003", "asmith@example.edu", "SEC-B"),
    ]


@pytest.mark.parametrize("content, message", [
    (b"", "roster is empty"),
    (b"Email,Score\na@example.edu,1\n", "roster needs a Student or Name column"),
    (b"Student,Section\nDoe,A\n", "roster has no identity column"),
    (b"Student,ID\n\"Doe, John\",\n", "line 2: Doe, John has no ID, SIS User ID, SIS Login ID, SID or Email"),
    (b"Student,ID\n    Points Possible,\n", "roster lists no students"),
    (b"Student,ID\n\xe9,1\n", "roster is not UTF-8 text"),
])
def test_bad_roster_is_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "roster.csv"
    path.write_bytes(content)
    with pytest.raises(CtlabError) as err:
        load_roster(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_matching_by_strongest_identity_and_ambiguity():
    roster = Roster([
        Student(name="Doe, John", canvas_id="1", sis_user_id="s1", email="jdoe@example.edu"),
        Student(name="Doe, John", canvas_id="2", sis_user_id="s2"),  # two students of the same name
        Student(name="Roe, Jane", canvas_id="3", sid="s3", email="Jane.Roe@Example.edu"),
    ])
    ids = {
        "by_canvas_id": lms.from_filename("whoever_2_10_x.ipynb"),
        "by_login_ambiguous": lms.Identity(source="canvas", key="doejohn"),
        "by_email_any_case": lms.Identity(source="gradescope", key="x", email="jane.roe@example.edu"),
        "by_stem_sis_id": lms.from_filename("s1.ipynb"),
        "by_stem_email": lms.from_filename("jdoe@example.edu.ipynb"),
        "nobody": lms.from_filename("s9.ipynb"),
    }
    m = match(roster, ids)
    assert m.student_of == {"by_canvas_id": 1, "by_email_any_case": 2, "by_stem_sis_id": 0, "by_stem_email": 0}
    assert m.unmatched == {"by_login_ambiguous": "fits 2 roster students",
                           "nobody": "no roster student has this name's ID"}
    assert m.missing == []


# ---------------------------------------------------------------- bulk downloads

def _canvas_bulk(path: Path) -> Path:
    """A Canvas "Download Submissions" zip: one upload twice (the newer renamed -1), one late,
    one otter export zip, one from a student not on the roster."""
    export = io.BytesIO()
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("scenario03b.ipynb", (DEMO / "parsed_without_utc.ipynb").read_bytes())
        zf.writestr("data/cloud_iam.csv", "not read\n")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doejohn_123456_7890123_scenario03b.ipynb", (DEMO / "made_up_technique.ipynb").read_bytes())
        zf.writestr("doejohn_123456_7890200_scenario03b-1.ipynb", (DEMO / "full_marks.ipynb").read_bytes())
        zf.writestr("roejane_LATE_223344_7890124_scenario03b.ipynb", (DEMO / "actors_from_api_log.ipynb").read_bytes())
        zf.writestr("smithalex_334455_7890125_scenario03b.zip", export.getvalue())
        zf.writestr("wrongperson_777777_7890126_scenario03b.ipynb", (DEMO / "broken_not_json.ipynb").read_bytes())
    return path


def test_a_bulk_zip_is_a_batch_with_each_member_read_under_the_caps(tmp_path):
    bulk = _canvas_bulk(tmp_path / "submissions.zip")
    subs = inputs.discover([bulk])
    assert [(s.file.rsplit("/", 1)[-1], s.identity.user_id, s.identity.late) for s in subs] == [
        ("doejohn_123456_7890123_scenario03b.ipynb", "123456", False),
        ("doejohn_123456_7890200_scenario03b-1.ipynb", "123456", False),
        ("roejane_LATE_223344_7890124_scenario03b.ipynb", "223344", True),
        ("smithalex_334455_7890125_scenario03b.zip", "334455", False),
        ("wrongperson_777777_7890126_scenario03b.ipynb", "777777", False),
    ]
    for s in subs:
        inputs.load(s)
    assert [s.status for s in subs] == [None, None, None, None, "invalid notebook: not JSON"]
    assert subs[3].cells and subs[3].file == f"{bulk}/smithalex_334455_7890125_scenario03b.zip"


def test_a_bulk_member_that_lies_about_its_size_is_refused(tmp_path):
    bulk = tmp_path / "submissions.zip"
    with zipfile.ZipFile(bulk, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a_1_2_x.ipynb", b"{}")
        zf.writestr("b_3_4_x.ipynb", b" " * (inputs.MAX_NOTEBOOK_BYTES + 10))
    subs = inputs.discover([bulk])
    for s in subs:
        inputs.load(s)
    assert subs[1].status == (f"unsafe zip: 'b_3_4_x.ipynb' expands to {inputs.MAX_NOTEBOOK_BYTES + 10} bytes "
                              f"(limit {inputs.MAX_NOTEBOOK_BYTES})")


def test_a_single_export_zip_stays_one_submission(tmp_path):
    one = tmp_path / "s1001.zip"
    with zipfile.ZipFile(one, "w") as zf:
        zf.writestr("scenario03b.ipynb", (DEMO / "full_marks.ipynb").read_bytes())
        zf.writestr("data/cloud_api.csv", "x\n")
    subs = inputs.discover([one])
    assert [(s.file, s.member, s.identity.key) for s in subs] == [(str(one), "", "s1001")]


def _gradescope_export(top: Path) -> Path:
    folder = top / "assignment_5555_export"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "gradescope" / "submission_metadata.yml", folder)
    for sub, demo in (("301", "full_marks"), ("302", "dropped_nat_rows"), ("303", "getobject_contains")):
        (folder / f"submission_{sub}").mkdir()
        shutil.copy(DEMO / f"{demo}.ipynb", folder / f"submission_{sub}" / "scenario03b.ipynb")
    return folder


def test_gradescope_layout_names_each_submission_by_its_submitter(tmp_path):
    folder = _gradescope_export(tmp_path)
    subs = inputs.discover([folder])
    assert [(s.identity.email, s.identity.sid) for s in subs] == [
        ("jdoe@example.edu", "s1001"), ("jroe@example.edu", "s1002"), ("unknown@example.edu", "s9999")]
    assert len({s.name for s in subs}) == 3  # three scenario03b.ipynb, three ids


# ---------------------------------------------------------------- end to end

@pytest.mark.slow
def test_canvas_bulk_zip_with_roster_to_canvas_import(tmp_path, capsys):
    bulk = _canvas_bulk(tmp_path / "submissions.zip")
    out = tmp_path / "out"
    assert main(["grade", str(bulk), "-o", str(out), "--root", str(REPO), "--jobs", "2",
                 "--roster", str(FIXTURES / "canvas-roster.csv"), "--late-penalty", "10"]) == 0
    printed = capsys.readouterr().out
    assert "roster: 3 of 4 students have a submission" in printed
    assert "  no roster student for wrongperson_777777_7890126_scenario03b.ipynb " \
           "(no roster student has this name's ID)" in printed
    assert "  1 student(s) with no submission: Lee, Kim" in printed
    assert "  not exported (Doe, John has a newer one): doejohn_123456_7890123_scenario03b.ipynb" in printed
    assert main(["export", str(out), "--format", "canvas", "--assignment-id", "4242"]) == 0
    assert (out / "export-canvas.csv").read_text() == (FIXTURES / "expected-canvas.csv").read_text()
    report = (out / "report.md").read_text()
    assert "- late: 1 of 5 submissions (1 with a late penalty)" in report
    assert "- roster: 3 of 4 students have a submission" in report

    # A hand score merged later rewrites the export made before, with no new export command.
    manual = tmp_path / "manual.csv"
    manual.write_text(f"file,q8\n{bulk}/doejohn_123456_7890200_scenario03b-1.ipynb,3\n")
    assert main(["grade", str(bulk), "-o", str(out), "--root", str(REPO), "--late-penalty", "10",
                 "--manual", str(manual)]) == 0
    rows = (out / "export-canvas.csv").read_text().splitlines()
    assert rows[2] == '"Doe, John",123456,s1001,jdoe,SEC-A,20'


@pytest.mark.slow
def test_gradescope_export_folder_with_roster_and_due_time(tmp_path):
    folder = _gradescope_export(tmp_path)
    out = tmp_path / "out"
    assert main(["grade", str(folder), "-o", str(out), "--root", str(REPO), "--jobs", "2",
                 "--due", "2026-03-02T09:00:00+01:00", "--late-penalty", "10"]) == 0
    assert main(["export", str(out), "--format", "gradescope",
                 "--roster", str(FIXTURES / "gradescope-roster.csv")]) == 0
    assert (out / "export-gradescope.csv").read_text() == (FIXTURES / "expected-gradescope.csv").read_text()
    gradebook = (out / "gradebook.csv").read_text().splitlines()
    late = [line for line in gradebook if line.rsplit(",", 1)[0].endswith(",yes,1.65")]  # then the variant
    assert len(late) == 1 and "submission_302" in late[0]
    assert json.loads((out / "roster.json").read_text())["students"][2]["email"] == "asmith@example.edu"


# ---------------------------------------------------------------- stale builds

def test_grading_refuses_tests_older_than_the_master(tmp_path, capsys):
    root = tmp_path / "root"
    for part in ("autograder", "assignment"):
        shutil.copytree(REPO / part, root / part)
    (root / "solutions").mkdir()
    (root / "data").mkdir()
    for rel in sources.SOURCES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)  # data/transfer/ too
        shutil.copy(REPO / rel, root / rel)
    assert sources.changed_since_build(root) == []
    with open(root / "solutions" / "scenario03b.ipynb", "a") as f:
        f.write("\n")
    assert sources.changed_since_build(root) == ["solutions/scenario03b.ipynb"]
    code = main(["grade", str(DEMO / "broken_not_json.ipynb"), "-o", str(tmp_path / "out"), "--root", str(root)])
    err = capsys.readouterr().err
    assert code == 2 and err == (f"ctlab: error: {root / 'autograder' / 'manifest.json'}: autograder/ is older than "
                                 "solutions/scenario03b.ipynb; run `make build` (or pass --allow-stale to grade "
                                 "with the old tests)\n")
    assert not (tmp_path / "out").exists()
    assert main(["grade", str(DEMO / "broken_not_json.ipynb"), "-o", str(tmp_path / "out"), "--root", str(root),
                 "--allow-stale"]) == 0
    assert "warning: graded with the tests of an older build: changed since are solutions/scenario03b.ipynb" \
        in capsys.readouterr().out


def test_roster_lines_never_carry_a_members_control_characters():
    from ctlab.report.export import RosterCheck

    check = RosterCheck(students=2, matched=1, unmatched=[("bulk.zip/a\x1b[2J\nb_1_2_x.ipynb", "fits 2 roster students")],
                        missing=["Doe,\rJohn"], superseded=["bulk.zip/\x07c.ipynb", "bulk.zip/d.ipynb"],
                        whose={"bulk.zip/d.ipynb": "Roe,\x1b[2J Jane"})
    assert check.describe() == [
        "roster: 1 of 2 students have a submission",
        "  no roster student for a [2J b_1_2_x.ipynb (fits 2 roster students)",
        "  1 student(s) with no submission: Doe, John",
        "  not exported (the same student has a newer one): c.ipynb",
        "  not exported (Roe, [2J Jane has a newer one): d.ipynb",
    ]


# ---------------------------------------------------------------- Gradescope identity, only from the top

NESTED = FIXTURES / "gradescope_nested_identity" / "export"
# In submission_302 (Jane Roe's) she left metadata files naming John Doe for 301, 302 and 999, and
# notebooks in folders named like his; submission_400 is a folder the export's metadata does not list.
NESTED_IDENTITIES = {
    "submission_301/scenario03b.ipynb": ("gradescope", "jdoe@example.edu", "2026-03-01T20:15:00.123456-08:00"),
    "submission_302/scenario03b.ipynb": ("gradescope", "jroe@example.edu", "2026-03-02T09:30:00+01:00"),
    "submission_302/submission_301/scenario03b.ipynb": ("file", "scenario03b", ""),
    "submission_302/work/submission_999/scenario03b.ipynb": ("file", "scenario03b", ""),
    "submission_400/jdoe@example.edu.ipynb": ("file", "jdoe@example.edu", ""),
}
NESTED_NOTES = {
    "submission_302/submission_301/scenario03b.ipynb": "below another submission's folder in the Gradescope export",
    "submission_302/work/submission_999/scenario03b.ipynb": "below another submission's folder in the Gradescope export",
    "submission_400/jdoe@example.edu.ipynb": "its folder is not listed in the Gradescope export's metadata",
}


def _identities(subs: list, strip: str) -> dict[str, tuple[str, str, str]]:
    return {s.file.removeprefix(strip): (s.identity.source, s.identity.email or s.identity.key, s.identity.submitted_at)
            for s in subs}


def test_gradescope_identity_comes_only_from_the_exports_top_level():
    notes: list[str] = []
    subs = inputs.discover([NESTED], notes=notes)
    assert _identities(subs, f"{NESTED}/") == NESTED_IDENTITIES
    assert notes == [f"'{NESTED}/{f}': {why}; known by its file name" for f, why in NESTED_NOTES.items()]


def test_gradescope_identity_in_a_bulk_zip_ignores_metadata_in_a_students_folder(tmp_path):
    bulk = tmp_path / "export.zip"
    files = sorted(p for p in NESTED.rglob("*") if p.is_file())
    # the export's own metadata first, the student's later in the zip (the order that used to win)
    files.sort(key=lambda p: p.relative_to(NESTED) != Path(lms.GRADESCOPE_METADATA))
    with zipfile.ZipFile(bulk, "w") as zf:
        for p in files:
            zf.write(p, f"assignment_5555_export/{p.relative_to(NESTED)}")
    notes: list[str] = []
    subs = inputs.discover([bulk], notes=notes)
    assert _identities(subs, f"{bulk}/assignment_5555_export/") == NESTED_IDENTITIES
    assert notes == [f"'{bulk}/assignment_5555_export/{f}': {why}; known by its file name"
                     for f, why in NESTED_NOTES.items()]


def test_a_gradescope_student_matches_the_roster_by_their_own_submission_only():
    subs = inputs.discover([NESTED])
    roster = load_roster(FIXTURES / "gradescope-roster.csv")
    m = match(roster, {s.file.removeprefix(f"{NESTED}/"): s.identity for s in subs})
    doe = next(i for i, st in enumerate(roster.students) if st.email == "jdoe@example.edu")
    # his own, and the file named after him in the unlisted folder (older, so reported as superseded)
    assert sorted(f for f, i in m.student_of.items() if i == doe) == [
        "submission_301/scenario03b.ipynb", "submission_400/jdoe@example.edu.ipynb"]
