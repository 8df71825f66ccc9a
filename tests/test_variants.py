"""Every student their own incident: ids choose variants, the build ships them, and each submission is
graded against its own variant's data and key. Expected values come from each variant's own answer key
or reveal code, never from literals, so these hold whatever the generator varies."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from reveal_answers import REVEAL, paste_reveals
from student_ids import BLANK, SETTINGS, fill, id_for, id_line

from ctlab import variants
from ctlab.build import variant_data
from ctlab.build.answer_key import transfer_key, week_key
from ctlab.cli import main as cli_main
from ctlab.errors import CtlabError
from ctlab.grading import student_ids
from ctlab.grading.batch import grade
from ctlab.reveal import HINTS, run_reveals

ROOT = Path(__file__).resolve().parents[1]
STUDENT_NB = ROOT / "assignment" / "scenario03b.ipynb"
REGULAR = ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q11")


# ---------------------------------------------------------------- ids and variants

def test_the_variant_ignores_case_and_surrounding_spaces_and_is_stable():
    count = 12
    assert variants.variant_of("  Ana.Lopez@Uni.EDU ", count) == variants.variant_of("ana.lopez@uni.edu", count)
    chosen = {variants.variant_of(f"s{n}@example.edu", count) for n in range(200)}
    assert chosen == set(range(1, count + 1))  # every variant is used
    assert all(variants.variant_of(f"s{n}@example.edu", 1) == 1 for n in range(20))


@pytest.mark.parametrize(("raw", "problem"), [
    ("", "STUDENT_ID is blank"),
    ("   ", "STUDENT_ID is blank"),
    ("ana lopez", "STUDENT_ID holds spaces or control characters inside"),
    ("a\x00b", "STUDENT_ID holds spaces or control characters inside"),
    ("x" * 201, "STUDENT_ID is 201 characters long (at most 200)"),
    (42, "STUDENT_ID should be text in quotes, not int"),
])
def test_a_blank_or_malformed_id_chooses_no_variant(raw, problem):
    assert variants.problem_with(raw) == problem
    with pytest.raises(variants.BadStudentId, match=re.escape(problem)):
        variants.variant_of(raw, 12)  # type: ignore[arg-type]


def _run_setup(tmp_path: Path, student_id: object) -> dict[str, object]:
    """Run the committed student notebook's set-up cell in a copy of assignment/, as a student does."""
    shutil.copytree(ROOT / "assignment" / "data", tmp_path / "data")
    nb = nbformat.read(STUDENT_NB, as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code" and "hashlib" in c.source)
    namespace: dict[str, object] = {"STUDENT_ID": student_id}
    import contextlib

    with contextlib.chdir(tmp_path):
        exec(setup, namespace)
    return namespace


def test_the_setup_cell_puts_the_ids_variant_at_data(tmp_path):
    student = id_for(2)
    _run_setup(tmp_path, "  " + student.upper() + " ")
    with zipfile.ZipFile(ROOT / variants.SHIPPED / "v02.zip") as zf:
        for name in ("cloud_iam.csv", "cloud_api.csv"):
            assert (tmp_path / "data" / name).read_bytes() == zf.read(name)
    assert (tmp_path / "data" / "cloud_iam.csv").read_bytes() != (ROOT / "data" / "cloud_iam.csv").read_bytes()


@pytest.mark.parametrize("raw", ["", "  ", "two words"])
def test_the_setup_cell_stops_on_a_blank_or_malformed_id(tmp_path, raw):
    with pytest.raises(ValueError) as caught:
        _run_setup(tmp_path, raw)
    assert str(caught.value) == (f"Set STUDENT_ID in the cell above to {SETTINGS.id_words} (in quotes), "
                                 "then run this cell again.")
    assert (tmp_path / "data" / "cloud_iam.csv").read_bytes() == (ROOT / "data" / "cloud_iam.csv").read_bytes()


# ---------------------------------------------------------------- the build

def test_the_committed_build_ships_twelve_variants_and_no_key_to_students():
    assert SETTINGS.count >= 12
    assert SETTINGS.id_words == variants.DEFAULT_ID_WORDS
    shipped = sorted(p.name for p in (ROOT / variants.SHIPPED).iterdir())
    assert shipped == [f"{variants.label(k)}.zip" for k in range(1, SETTINGS.count + 1)]
    everything = [p for p in (ROOT / "assignment").rglob("*") if p.is_file()]
    assert not [p for p in everything if "key" in p.name or "truth" in p.name]
    for path in (ROOT / variants.SHIPPED).iterdir():
        with zipfile.ZipFile(path) as zf:
            assert sorted(zf.namelist()) == ["cloud_api.csv", "cloud_iam.csv"]
    with zipfile.ZipFile(ROOT / "autograder" / "scenario03b-autograder.zip") as zf:
        names = set(zf.namelist())
    assert "answer_keys.json" in names and "files/data/answer_key.json" not in names
    assert {f"files/data/variants/{variants.label(k)}.zip" for k in range(1, SETTINGS.count + 1)} <= names


def test_each_variants_key_is_its_own_ground_truths(tmp_path):
    keys = variants.answer_keys(ROOT)
    assert sorted(keys) == [variants.label(k) for k in range(1, SETTINGS.count + 1)]
    for k in (1, 2, SETTINGS.count):
        folder = variant_data.unpacked(ROOT, k, tmp_path / str(k))
        # its own week, and part 8b's recorded incident (data/transfer/), the same in every variant
        assert keys[variants.label(k)] == {**week_key(data=folder), "transfer": transfer_key(data=ROOT / "data")}
        assert json.loads((folder / "ground_truth.json").read_text())["siem_export"]["seed"] == variants.seed_of(k)
    assert len({json.dumps(keys[v]["iocs"]["access_keys"]) for v in keys}) == len(keys)  # the facts differ


def test_the_student_notebook_asks_for_the_id_before_part_1():
    nb = nbformat.read(STUDENT_NB, as_version=4)
    sources = [c.source for c in nb.cells]
    at = sources.index(BLANK)
    part1 = next(i for i, s in enumerate(sources) if s.startswith("## Part 1"))
    assert at < part1
    assert nb.cells[at - 1].cell_type == "markdown" and SETTINGS.id_words in sources[at - 1]
    assert "hashlib" in sources[at + 1] and len(sources[at + 1].splitlines()) <= 12


@pytest.mark.slow
def test_build_with_three_variants_records_them(tmp_path):
    from ctlab.build.generate import build

    for folder in ("solutions", "src"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("v04", "v0[5-9]", "v1*"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    summary = build(root=tmp_path, count=3, id_words="your university login")
    written = {path for path, _, _ in summary.written}
    assert {f"assignment/data/variants/v0{k}.zip" for k in (1, 2, 3)} <= written
    assert not any("v04" in p for p in written)
    assert variants.recorded(tmp_path) == variants.Settings(count=3, id_words="your university login")
    assert sorted(variants.answer_keys(tmp_path)) == ["v01", "v02", "v03"]
    nb = nbformat.read(tmp_path / "assignment" / "scenario03b.ipynb", as_version=4)
    assert any("your university login" in c.source for c in nb.cells if c.cell_type == "markdown")
    assert any("% 3 + 1" in c.source for c in nb.cells if c.cell_type == "code")
    with pytest.raises(CtlabError, match="--variants must be at least 1, not 0"):
        build(root=tmp_path, count=0)


# ---------------------------------------------------------------- ctlab variant

def test_ctlab_variant_prints_the_variant_its_data_and_key(capsys):
    student = id_for(3)
    assert cli_main(["variant", student, "--json", "--root", str(ROOT)]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found == {"variant": 3, "data_dir": str(ROOT / "data" / "variants" / "v03"),
                     "answer_key": str(ROOT / "data" / "variants" / "v03" / "ground_truth.json")}
    assert cli_main(["variant", id_for(1), "--root", str(ROOT)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [f"variant 1 of {SETTINGS.count}", f"data: {ROOT / 'data'}"]
    assert cli_main(["variant", " ", "--root", str(ROOT)]) != 0
    assert capsys.readouterr().err.strip() == "ctlab: error: STUDENT_ID is blank"


# ---------------------------------------------------------------- reading the id on the trusted side

@pytest.mark.parametrize(("cells", "problem"), [
    (["x = 1"], "not graded: the notebook sets no STUDENT_ID (its cell before part 1 is gone); "
                "put it back, type your id and run the notebook again"),
    (['STUDENT_ID = ""'], "not graded: STUDENT_ID is blank; type your id in the STUDENT_ID cell before part 1 "
                          "and run the notebook again"),
    (['STUDENT_ID = "a@x.org"', 'STUDENT_ID = "b@x.org"'],
     "not graded: STUDENT_ID changes between cells (cell 1: 'a@x.org', cell 2: 'b@x.org'); "
     "keep only the one before part 1"),
    (['STUDENT_ID = input()'], "not graded: STUDENT_ID is set by code in cell 1, not typed in quotes; "
                               "put your id in the STUDENT_ID cell before part 1"),
    (['STUDENT_ID = "a@x.org"', 'for STUDENT_ID in ["b"]: pass'],
     "not graded: STUDENT_ID is set by code in cell 2, not typed in quotes; "
     "put your id in the STUDENT_ID cell before part 1"),
])
def test_a_notebook_without_one_plain_id_is_not_graded(cells, problem):
    assert student_ids.read(cells, count=12) == student_ids.Reading(problem=problem)


def test_the_same_id_twice_in_other_case_is_one_id():
    reading = student_ids.read(['STUDENT_ID = " A@X.org"', "print(STUDENT_ID)", 'STUDENT_ID = "a@x.org"'], count=12)
    assert reading == student_ids.Reading(student_id="a@x.org", variant=variants.variant_of("a@x.org", 12))


@pytest.mark.parametrize("padding", [0, student_ids.CACHED_CHARS])  # a cell parsed once per process, and a long one
def test_a_cell_read_again_gives_the_same_reading(padding):
    cell = "#" * padding + '\nSTUDENT_ID = "b@x.org"'
    for _ in range(2):
        assert student_ids.read([cell], count=12) == student_ids.Reading(
            student_id="b@x.org", variant=variants.variant_of("b@x.org", 12))
    by_code = "#" * padding + "\nSTUDENT_ID = 'b' + '@x.org'"
    for _ in range(2):
        assert student_ids.read([by_code], count=12).problem.startswith("not graded: STUDENT_ID is set by code in cell 1")


# ---------------------------------------------------------------- grading: done when

def _student_notebook(student_id: str, *, literal_from: int, summary: bool = False) -> nbformat.NotebookNode:
    """The student notebook with the id typed in, the reveals pasted for parts 1-7, and q11's IOCs and
    q9's answers written as values: those the reveal code and key give on variant `literal_from`; with
    `summary`, a part-8 summary that names that variant's facts."""
    nb = fill(nbformat.read(STUDENT_NB, as_version=4), student_id)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = variant_data.unpacked(ROOT, literal_from, Path(tmp))
        iocs = run_reveals(hints=ROOT / HINTS, data_dir=data,
                           questions=["q1", "q2", "q3", "q4", "q5", "q6", "q11"])["iocs"]
    key = variants.answer_keys(ROOT)[variants.label(literal_from)]
    told = ""
    if summary:
        from ctlab.review.evidence import load_answer_key

        facts = load_answer_key(ROOT, literal_from)
        told = (f"triage_summary = 'User {facts.user} (key {facts.access_key}) was used from {' and '.join(facts.ips)} "
                f"in {facts.region}; it read {facts.bucket}.'")
    pasted = paste_reveals(nb, {**REVEAL, "q11": f"iocs = {iocs!r}", **({"q8": told} if told else {})})
    assert "q11" in pasted and ("q8" in pasted) == summary
    q9 = [c for c in nb.cells if c.cell_type == "code" and c.source == "compromised_user = ...\nattacker_ip = ..."]
    assert len(q9) == 1
    q9[0].source = f"compromised_user = {key['compromised_user']!r}\nattacker_ip = {key['attacker_ips'][0]!r}"
    return nb


LOOKALIKE = ("isin(['GetObject'])", "str.contains('GetObject')")  # part 4's common mistake


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        return {Path(r["file"]).stem: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    a, b = id_for(1), id_for(2)
    subs = tmp_path_factory.mktemp("subs")
    notebooks = {
        "own_a": _student_notebook(a, literal_from=1, summary=True),
        "own_b": _student_notebook(b, literal_from=2, summary=True),
        "copy_of_a_under_b": _student_notebook(b, literal_from=1),
        "blank_id": _student_notebook("", literal_from=1),
    }
    wrong_data = _student_notebook(b, literal_from=2)
    q1 = next(c for c in wrong_data.cells if c.cell_type == "code" and c.source.startswith("cloud_iam_df = pd.read_csv"))
    q1.source = ('import zipfile\nzipfile.ZipFile("data/variants/v01.zip").extractall("data")  # a friend\'s files\n'
                 + q1.source)
    notebooks["data_of_another_variant"] = wrong_data
    # The plain assignment the grader reads says b; the running notebook (and its set-up cell) sees a.
    swapped = _student_notebook(b, literal_from=1)
    id_cell = next(c for c in swapped.cells if c.cell_type == "code" and c.source == id_line(b))
    id_cell.source += f"\nglobals()['STUDENT_ID'] = {a!r}"
    notebooks["id_swapped_at_run_time"] = swapped
    for name, student_id in (("q4_lookalikes_a", id_for(1, prefix="m")), ("q4_lookalikes_b", id_for(2, prefix="m"))):
        nb = _student_notebook(student_id, literal_from=variants.variant_of(student_id, SETTINGS.count))
        q4 = next(c for c in nb.cells if c.cell_type == "code" and REVEAL["q4"] == c.source)
        q4.source = q4.source.replace(LOOKALIKE[0], LOOKALIKE[1])
        notebooks[name] = nb
    for name, nb in notebooks.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    out = tmp_path_factory.mktemp("out")
    summary = grade(submissions=[subs], out=out, root=ROOT, jobs=2, timeout=120, memory_mb=2048,
                    no_sandbox=False, force=True, manual=None, progress=False)
    return summary, _rows(out), out


def _max(q: str) -> float:
    import runpy

    return float(runpy.run_path(str(ROOT / "src" / "ctlab" / "contract.py"))["POINTS"][q])


def test_two_students_of_different_variants_get_full_marks_with_their_own_answers(graded):
    _, rows, _ = graded
    for name, variant in (("own_a", 1), ("own_b", 2)):
        row = rows[name]
        assert row["grading_status"] == "ok" and row["variant"] == str(variant), row
        assert {q: float(row[q]) for q in (*REGULAR, "q9")} == {q: _max(q) for q in (*REGULAR, "q9")}, row


def test_a_copy_under_another_id_loses_the_variant_specific_points(graded):
    _, rows, _ = graded
    keys = variants.answer_keys(ROOT)
    copy = rows["copy_of_a_under_b"]
    assert copy["grading_status"] == "ok" and copy["variant"] == "2"
    # parts 1-7 are code, run on the copier's own variant: they still earn their points
    assert {q: float(copy[q]) for q in REGULAR[:-1]} == {q: _max(q) for q in REGULAR[:-1]}
    differ = [kind for kind, v in keys["v01"]["iocs"].items() if v["required"] != keys["v02"]["iocs"][kind]["required"]]
    assert differ  # the two variants' facts differ
    assert float(copy["q11"]) <= _max("q11") - 0.5 * len(differ)


def test_a_blank_id_and_another_variants_data_each_get_their_status(graded):
    summary, rows, _ = graded
    assert rows["blank_id"]["grading_status"] == ("not graded: STUDENT_ID is blank; type your id in the STUDENT_ID "
                                                  "cell before part 1 and run the notebook again")
    assert rows["blank_id"]["total_points_earned"] == "0" and rows["blank_id"]["variant"] == ""
    wrong = rows["data_of_another_variant"]
    assert wrong["grading_status"] == ("not graded: its answers come from the logs of variant 1, but its STUDENT_ID "
                                       "gives variant 2; run the set-up cell after typing the id, then the whole "
                                       "notebook again")
    assert wrong["total_points_earned"] == "0" and wrong["variant"] == "2"
    swapped = rows["id_swapped_at_run_time"]
    assert (swapped["grading_status"], swapped["total_points_earned"], swapped["variant"]) == \
        (wrong["grading_status"], "0", "2")
    assert len(rows) == 8 and summary.total == 8


def test_the_results_keep_the_variant(graded):
    _, _, out = graded
    record = json.loads((out / "results" / "own_b.json").read_text())
    assert record["variant"] == 2


def test_a_variant_zip_that_is_not_one_stops_with_its_name(tmp_path):
    from ctlab.grading import pristine

    (tmp_path / "data" / "variants").mkdir(parents=True)
    (tmp_path / "data" / "variants" / "v02.zip").write_bytes(b"not a zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cloud_iam.csv", "a\n")
        zf.writestr("cloud_api.csv", "a\n")
    (tmp_path / "data" / "variants" / "v01.zip").write_bytes(buf.getvalue())
    with pytest.raises(CtlabError, match=r"v02\.zip: not the variant's data"):
        pristine.lay_out(data_dir=tmp_path / "data", keys={"v01": {}, "v02": {}}, into=tmp_path / "p")


@pytest.fixture(scope="module")
def reported(graded):
    from ctlab.report import write_reports

    return write_reports(out=graded[2], root=ROOT)


def test_wrong_answers_are_described_against_each_students_own_variant(graded, reported, tmp_path):
    import pandas as pd

    from ctlab.report.wrong_answers import describe_frame, kind_of

    expected = {}
    for k, name in ((1, "q4_lookalikes_a"), (2, "q4_lookalikes_b")):
        data = variant_data.unpacked(ROOT, k, tmp_path / str(k))
        ref = run_reveals(hints=ROOT / HINTS, data_dir=data, questions=["q1", "q2", "q4"])
        api = pd.read_csv(data / "cloud_api.csv")
        name_ = api["event_name"]
        mistake = api[name_.str.startswith("List") | name_.str.startswith("Describe") | name_.str.contains("GetObject")]
        expected.setdefault(describe_frame(mistake, ref["susp_api"]), []).append(name)
    groups = {g.description: sorted(Path(f).stem for f in g.files) for g in reported.wrong_answers["q4"]}
    assert groups == expected
    assert all(d.startswith("+") and "; -" not in d for d in groups)  # extra look-alikes, nothing missing
    assert len({kind_of(d) for d in groups}) == 1  # one kind of mistake, whatever the week


def test_the_report_lists_the_copy_with_the_variant_it_fits(graded, reported):
    _, _, out = graded
    text = (out / "report.md").read_text()
    section = text.split("## Answers of another variant, ids not the author's")[1]
    # shown by who it is (the short id without a roster), as every other table of the report
    flagged = [line for line in section.splitlines() if line.startswith("| ") and line != "| student | why |"]
    # the copy, and the notebook whose run saw another id (its answers are variant 1's too)
    assert flagged == [f"| {name} | its q9, q11 fit variant 1 better than its own variant 2 |"
                       for name in ("copy_of_a_under_b", "id_swapped_at_run_time")]
    html = (out / "report.html").read_text()
    assert "fit variant 1 better than its own variant 2" in html


def test_the_review_evidence_uses_each_students_own_key():
    from ctlab.review.evidence import load_answer_key

    for k in (1, 2):
        truth = json.loads(variants.truth_path(ROOT, k).read_text())
        key = load_answer_key(ROOT, k)
        assert key.access_key == truth["attacker_access_key"]
    assert load_answer_key(ROOT, 1).access_key != load_answer_key(ROOT, 2).access_key


def test_the_review_page_shows_each_student_the_facts_of_their_own_variant(graded):
    from ctlab.review.app import page_data
    from ctlab.review.batch import load_batch
    from ctlab.review.evidence import evidence, load_answer_key

    _, _, out = graded
    data = page_data(load_batch(out=out, root=ROOT))
    students = {Path(s["file"]).stem: s for s in data["students"]}
    for stem, k in (("own_a", 1), ("own_b", 2)):
        key = load_answer_key(ROOT, k)
        s = students[stem]
        listed = data["facts"][str(s["variant"])]
        assert s["variant"] == k
        assert [(f["id"], f["expected"]) for f in listed] == [(f.id, f.expected) for f in evidence("", key=key).facts]
        assert len(s["present"]) == len(listed)
        named = {f["id"] for f, present in zip(listed, s["present"], strict=True) if present}
        assert {"user", "access_key", "ip1", "region", "bucket"} <= named  # what its summary names, of its own key
    assert data["facts"]["1"] != data["facts"]["2"]


def test_an_id_that_is_not_the_lms_identity_is_listed():
    from ctlab.grading.results import Graded
    from ctlab.lms import Identity
    from ctlab.report.variant_fit import ForeignId, foreign_ids

    def sub(name, student_id, identity):
        return Graded(file=f"{name}.ipynb", name=name, status="ok", runtime_s=1.0, points={}, max_points={},
                      total=0.0, percent=0.0, identity=identity, student_id=student_id, variant=1)

    subs = [
        sub("a", "ana@uni.edu", Identity(source="gradescope", key="ana@uni.edu", email="Ana@Uni.edu", sid="17")),
        sub("b", "ana@uni.edu", Identity(source="gradescope", key="bo@uni.edu", email="bo@uni.edu", sid="18")),
        sub("c", "whoever", Identity(source="file", key="c")),  # a bare file: no LMS identity to compare
    ]
    assert foreign_ids(subs, None) == [ForeignId("b.ipynb", "ana@uni.edu", ("18", "b", "bo@uni.edu"))]


def test_the_review_page_marks_the_copy(graded):
    from ctlab.review.batch import load_batch

    _, _, out = graded
    batch = load_batch(out=out, root=ROOT)
    flags = {Path(s.file).stem: s.flag for s in batch.students}
    # q9's literals are variant 1's too: the story (so the compromised user and the attacker's IP) differs by seed
    assert flags["copy_of_a_under_b"] == "its q9, q11 fit variant 1 better than its own variant 2"
    assert flags["own_a"] == flags["own_b"] == ""


def test_the_id_is_read_from_a_cell_with_magics_as_it_runs():
    cells = ['%matplotlib inline\nSTUDENT_ID = "a@x.org"\n!ls data', "%%time\nSTUDENT_ID = 'A@x.org'"]
    assert student_ids.read(cells, count=12) == student_ids.Reading(student_id="a@x.org",
                                                                      variant=variants.variant_of("a@x.org", 12))
