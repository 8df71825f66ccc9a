"""Hostile input files, hostile submission names, and everything written from them.

One batch holds every kind of bad input beside correct submissions: broken and hostile zips
(tests/submissions/hostile_inputs, from make_hostile_inputs.py), oversize notebooks, special
files, links, duplicate names and names made of Markdown, HTML, formulas and path parts
(made here: no repository can hold them). It goes through the `ctlab grade` command; each
input must get its exact row, and everything else must still be graded and reported.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import importlib.util
import io
import json
import os
import re
import shutil
import socket
import stat
import threading
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import pandas as pd
import pytest

from ctlab import safetext
from ctlab.cli import main
from ctlab.grading import inputs
from ctlab.report import answers as report_answers
from ctlab.report import write_reports
from ctlab.report.export import export
from ctlab.reveal import PROJECT_HINTS

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "submissions" / "hostile_inputs"
CORPUS = REPO / "tests" / "submissions" / "corpus"
from test_grade_corpus import FULL, REFUSED, WRONG, ZERO, cells, expected_cells, total  # noqa: E402  (one table)

CAP = inputs.MAX_NOTEBOOK_BYTES
# the size of the notebook the bad zips hold, as the one whose headers are honest (only its CRC is not) says
NB_BYTES = zipfile.ZipFile(FIXTURES / "bad_zip_bad_crc.zip").getinfo("scenario03b.ipynb").file_size
HOSTILE = "[regrade](javascript:alert(1)) <img src=x onerror=alert(1)> ## Instructor note: Regrade: full marks"
LINK_TARGET = "x\n## Regrade: full marks <img src=x onerror=alert(1)> [r](javascript:alert(1))"
SENTINELS = {"instructor_notes.txt": "do not touch\n", "notes/kept.md": "# mine\n", "results/zz_kept.json": '{"kept": true}\n'}
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _generator():
    spec = importlib.util.spec_from_file_location("make_hostile_inputs",
                                                  REPO / "tests" / "submissions" / "make_hostile_inputs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _zip_status(inner: str, text: str) -> str:
    return f"invalid zip: {safetext.quoted(inner)}{text}"


# Rows of the committed and generated inputs: (points, exact status).
NB = "scenario03b.ipynb"
FILE_ROWS: dict[str, tuple[dict, str]] = {
    "passes_all_beside_hostile_inputs.ipynb": (FULL, "ok"),
    "wrong_q7_hostile_text_in_answer.ipynb": ({**FULL, "q7": 0}, "ok"),
    "bad_zip_encrypted.zip": (REFUSED, _zip_status(NB, " is encrypted; submit it without a password")),
    "bad_zip_encrypted_hostile_inner_name.zip": (
        REFUSED, _zip_status(HOSTILE + ".ipynb", " is encrypted; submit it without a password")),
    "bad_zip_unknown_compression.zip": (REFUSED, _zip_status(
        NB, " uses compression method 99, which is not accepted (save the zip with the standard deflate compression)")),
    "bad_zip_bzip2_compression.zip": (REFUSED, _zip_status(
        NB, " uses compression bzip2, which is not accepted (save the zip with the standard deflate compression)")),
    "bad_zip_corrupt_deflate.zip": (REFUSED, _zip_status(NB, ": its compressed data is corrupt")),
    "bad_zip_bad_local_header.zip": (REFUSED, _zip_status(NB, ": bad local file header")),
    "bad_zip_bad_crc.zip": (REFUSED, _zip_status(NB, ": bad CRC-32 (the data is damaged)")),
    "bad_zip_bomb_notebook_past_cap.zip": (REFUSED, f"unsafe zip: '{NB}' expands to {CAP + 1024 * 1024} bytes (limit {CAP})"),
    "bad_zip_bomb_lying_header.zip": (REFUSED, f"unsafe zip: '{NB}' expands past {CAP} bytes (its header says {NB_BYTES})"),
    "bad_zip_lying_header_size.zip": (REFUSED, f"unsafe zip: '{NB}' expands to {NB_BYTES} bytes, not the 1000 its header says"),
    "bad_zip_nested_zip.zip": (REFUSED, "invalid zip: no notebook inside, only another zip ('scenario03b-export.zip'); "
                                     "zips inside zips are not opened"),
    "bad_zip_truncated.zip": (REFUSED, "invalid zip: not a zip file"),
    "bad_notebook_past_size_cap.ipynb": (REFUSED, f"invalid submission: file is {CAP + 1} bytes (limit {CAP})"),
    "bad_notebook_past_cell_cap.ipynb": (REFUSED, "invalid notebook: more than 2000 cells (limit 2000)"),
    "bad_notebook_past_cell_cap_escaped_keys.ipynb": (REFUSED, "invalid notebook: more than 2000 cells (limit 2000)"),
    "bad_zip_too_many_entries.zip": (REFUSED, "invalid zip: more than 10000 entries"),
}
NOT_FILE = "not graded: "
FORMULA_NAMES = ['=HYPERLINK("https:evil.example","click me").ipynb', "@SUM(1+1)*cmd|'-C calc'!A0.ipynb",
                 "+1+2.ipynb", "-2+3.ipynb", "\t=1+1.ipynb"]
MARKUP_NAME = HOSTILE + ".ipynb"
BARE_FORMULA = '=HYPERLINK("https:evil.example","bare").ipynb'
NEWLINE_NAME = "line one\n# Regrade: full marks.ipynb"
NOT_UTF8_NAME = os.fsdecode(b"caf\xe9.ipynb")


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _unblock_fifos_after(fifos: list[Path], deadline: float, stop: threading.Event) -> None:
    """Should the grader ever open a FIFO, end that read after `deadline` s, so the test fails
    on its status instead of hanging."""
    stop.wait(deadline)
    while not stop.is_set():
        for f in fifos:
            try:
                os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        time.sleep(0.5)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if not sorted((REPO / "autograder" / "tests").glob("q*.py")):
        pytest.fail("autograder/tests is missing: run `ctlab build`")
    base = tmp_path_factory.mktemp("hostile")
    subs, cmd, out = base / "subs", base / "cmdline", base / "out"
    shutil.copytree(FIXTURES, subs)
    _generator().write_large(subs)
    reveal, wrong, blank = CORPUS / "passes_all_reveal.ipynb", CORPUS / "wrong_answers_plain.ipynb", CORPUS / "no_answers.ipynb"
    expected: dict[str, tuple[dict, str]] = {f"subs/{k}": v for k, v in FILE_ROWS.items()}

    # special files, each a row; a folder named like a notebook is not entered
    os.mkfifo(subs / "fifo.ipynb")
    expected["subs/fifo.ipynb"] = (REFUSED, NOT_FILE + "a named pipe (FIFO), not a file")
    try:
        os.mknod(subs / "device.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        expected["subs/device.ipynb"] = (REFUSED, NOT_FILE + "a device, not a file")
    except PermissionError:  # only root can make one
        pass
    with contextlib.chdir(subs):  # a socket's path must be short
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("socket.ipynb")
    expected["subs/socket.ipynb"] = (REFUSED, NOT_FILE + "a socket, not a file")
    _copy(reveal, subs / "folder.ipynb" / "inside_a_folder_named_like_a_notebook.ipynb")
    expected["subs/folder.ipynb"] = (REFUSED, NOT_FILE + "a folder named like a submission, not a file")

    # links: never followed, never another's row
    solution = REPO / "solutions" / "scenario03b.ipynb"
    (subs / "link_to_solution.ipynb").symlink_to(solution)
    _copy(reveal, subs / "s2000.ipynb")
    (subs / "s1000.ipynb").symlink_to("s2000.ipynb")
    (subs / "link_hostile_target.ipynb").symlink_to(LINK_TARGET)
    for link, target in (("link_to_solution.ipynb", str(solution)), ("s1000.ipynb", "s2000.ipynb"),
                         ("link_hostile_target.ipynb", LINK_TARGET)):
        expected[f"subs/{link}"] = (REFUSED, f"{NOT_FILE}a symbolic link (to {safetext.quoted(target)}); submit the file itself")
    expected["subs/s2000.ipynb"] = (FULL, "ok")
    _copy(reveal, base / "elsewhere" / "behind_a_folder_link.ipynb")
    (subs / "linked_folder").symlink_to(base / "elsewhere", target_is_directory=True)
    _copy(reveal, subs / ".hidden.ipynb")  # hidden files in folders are not submissions

    # the same name in two folders, and a name like the old scheme's second id
    _copy(reveal, subs / "dup_a" / "s1.ipynb")
    _copy(blank, subs / "dup_b" / "s1.ipynb")
    _copy(wrong, subs / "s1~1.ipynb")
    expected.update({"subs/dup_a/s1.ipynb": (FULL, "ok"), "subs/dup_b/s1.ipynb": (ZERO, "ok"),
                     "subs/s1~1.ipynb": (WRONG, "ok")})

    # names made of formulas, markup, line breaks, bytes that are not UTF-8, path parts
    for name, src, pts in zip(FORMULA_NAMES, [reveal, wrong, blank, reveal, wrong], [FULL, WRONG, ZERO, FULL, WRONG],
                              strict=True):
        _copy(src, subs / name)
        expected[f"subs/{name}"] = (pts, "ok")
    (subs / MARKUP_NAME).write_text("not { json")
    expected[f"subs/{MARKUP_NAME}"] = (REFUSED, "invalid notebook: not JSON")
    _copy(reveal, subs / NEWLINE_NAME)
    expected[f"subs/{NEWLINE_NAME}"] = (FULL, "ok")
    _copy(reveal, subs / NOT_UTF8_NAME)
    expected["subs/caf\\xe9.ipynb"] = (FULL, "ok")
    _copy(reveal, cmd / "...ipynb")
    _copy(wrong, cmd / "..ipynb")
    os.mkfifo(cmd / "pipe.ipynb")
    _copy(reveal, base / BARE_FORMULA)  # given bare, so the gradebook's file cell starts with "="
    expected.update({"cmdline/...ipynb": (FULL, "ok"), "cmdline/..ipynb": (WRONG, "ok"),
                     "cmdline/pipe.ipynb": (REFUSED, NOT_FILE + "a named pipe (FIFO), not a file"),
                     BARE_FORMULA: ({**FULL, "q8": 2}, "ok")})
    # hand scores keyed as the gradebook shows the file (a bare name two submissions share is refused:
    # tests/test_grade_manual_csv.py)
    with open(base / "manual.csv", "w", newline="") as f:
        csv.writer(f).writerows([["file", "q8"], [safetext.csv_cell(BARE_FORMULA), "2"],
                                 ["subs/dup_a/s1.ipynb", "1.5"]])
    expected["subs/dup_a/s1.ipynb"] = ({**FULL, "q8": 1.5}, "ok")

    out.mkdir()
    for rel, text in SENTINELS.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    before = sorted(p.name for p in base.iterdir())

    stop = threading.Event()
    guard = threading.Thread(target=_unblock_fifos_after, args=([subs / "fifo.ipynb", cmd / "pipe.ipynb"], 600, stop),
                             daemon=True)
    guard.start()
    old_env = os.environ.get("CTLAB_SANDBOX")
    os.environ["CTLAB_SANDBOX"] = "bwrap"
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with contextlib.chdir(base), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["grade", "subs", "cmdline/...ipynb", "cmdline/..ipynb", "cmdline/pipe.ipynb",
                         "subs/fifo.ipynb", BARE_FORMULA, "-o", "out", "--root", str(REPO), "--jobs", "2",
                         "--timeout", "20", "--manual", "manual.csv"])
            exports = {fmt: export(out=out, fmt=fmt) for fmt in ("csv", "canvas", "gradescope")}
    finally:
        stop.set()
        sock.close()
        if old_env is None:
            os.environ.pop("CTLAB_SANDBOX", None)
        else:
            os.environ["CTLAB_SANDBOX"] = old_env
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"base": base, "out": out, "code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue(),
            "rows": rows, "expected": expected, "before": before, "exports": exports, "solution": solution}


def _by_file(batch) -> dict[str, dict]:
    return {safetext.csv_value(r["file"]): r for r in batch["rows"]}


@pytest.mark.slow
def test_the_command_exits_0_and_every_input_has_exactly_one_row(batch):
    assert batch["code"] == 0, batch["stderr"]
    files = [safetext.csv_value(r["file"]) for r in batch["rows"]]
    assert len(files) == len(set(files))
    assert set(files) == set(batch["expected"])
    assert "'subs/linked_folder': a symbolic link to a folder, not followed" in batch["stdout"]


@pytest.mark.slow
def test_exact_row_for_each_input(batch):
    rows = _by_file(batch)
    wrong = {}
    for file, (points, status) in batch["expected"].items():
        row = rows[file]
        got = (cells(row), float(row["total_points_earned"]), row["grading_status"])
        want = (expected_cells(points), total(points), status)
        if got != want:
            wrong[file] = (got, want)
    assert wrong == {}


@pytest.mark.slow
def test_ids_are_safe_unique_and_stay_inside_out(batch):
    out, base = batch["out"], batch["base"]
    assert sorted(p.name for p in base.iterdir()) == batch["before"]  # nothing written beside OUT
    for rel, text in SENTINELS.items():
        assert (out / rel).read_text() == text
    assert {p.name for p in out.iterdir()} == {
        "gradebook.csv", "results", "snapshots", "feedback", "report.html", "report.md", "report_files",
        "export-csv.csv", "export-canvas.csv", "export-gradescope.csv", "exports.json", "instructor_notes.txt",
        "notes", "manual_scores.json", "code", "grading.json", ".autograder.json"}
    records = {}
    for p in (out / "results").glob("*.json"):
        rec = json.loads(p.read_text())
        if "file" in rec:
            records[rec["file"]] = rec
            assert rec["name"] == p.stem
    assert set(records) == set(batch["expected"])
    names = [r["name"] for r in records.values()]
    assert len({n.casefold() for n in names}) == len(names)
    for folder in ("results", "snapshots", "feedback"):
        for p in (out / folder).iterdir():
            assert ID.fullmatch(p.name), p
    assert records["subs/dup_a/s1.ipynb"]["name"] == inputs.hashed_id("subs/dup_a/s1.ipynb")
    assert records["cmdline/...ipynb"]["name"] == inputs.hashed_id("cmdline/...ipynb")
    assert records["subs/s2000.ipynb"]["name"] == "s2000"
    assert (out / "snapshots" / records["cmdline/...ipynb"]["name"] / "manifest.json").is_file()


@pytest.mark.slow
def test_the_gradebook_keeps_the_path_as_given_and_no_csv_holds_a_formula(batch):
    out = batch["out"]
    raw_files = {r["file"] for r in batch["rows"]}
    assert "'" + BARE_FORMULA in raw_files and BARE_FORMULA not in raw_files
    for path in [out / "gradebook.csv", *batch["exports"].values()]:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                        assert re.fullmatch(r"[+-]?\d+(\.\d+)?", cell), (path.name, cell)
    with open(batch["exports"]["canvas"], newline="", encoding="utf-8") as f:
        students = [r[0] for r in csv.reader(f)][2:]
    for name in FORMULA_NAMES:
        assert "'" + name.removesuffix(".ipynb") in students


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


OUR_HEADINGS = re.compile(r"Scenario 03B feedback: .*|Scenario 03B: batch report|q\d+: .*|"
                          r"q\d+ \(\d+ students? without full points\)|Score distribution|Questions|"
                          r"Grading status|Common wrong answers|Possibly copied work|Notes|Tests|Errors raised by cells|"
                          r"Students")
SAFE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "strong", "em", "table",
             "thead", "tbody", "tr", "th", "td", "ul", "ol", "li", "details", "summary", "img", "span"}


SAFE_SVG_TAGS = {"svg", "title", "desc", "g", "rect", "line", "text"}


def _assert_inert_svg(data: bytes, where: str) -> None:
    """A chart is well-formed XML made of shapes and text only: no script, link, handler or foreign content."""
    for el in ElementTree.fromstring(data).iter():
        assert el.tag.removeprefix("{http://www.w3.org/2000/svg}") in SAFE_SVG_TAGS, (where, el.tag)
        assert not any(k.startswith("on") or k.endswith("href") for k in el.attrib), (where, el.attrib)


def _assert_inert_html(page: str, where: str) -> None:
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag in SAFE_TAGS, (where, tag)
        assert not any(k.startswith("on") or "javascript:" in (v or "") for k, v in attrs.items()), (where, attrs)
        if tag == "img":
            assert attrs["src"].startswith(("data:image/svg+xml;base64,", "report_files/")), where
            if attrs["src"].startswith("data:"):
                _assert_inert_svg(base64.b64decode(attrs["src"].split(",", 1)[1]), where)
    for h in re.findall(r"<h\d>(.*?)</h\d>", page, flags=re.S):
        assert OUR_HEADINGS.fullmatch(h), (where, h)  # no heading made by injected text


def _render(md: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(md)


@pytest.mark.slow
def test_hostile_text_shows_only_escaped_in_reports_and_feedback(batch):
    out = batch["out"]
    pages = {p.name: p.read_text() for p in [out / "report.html", *(out / "feedback").glob("*.html")]}
    docs = {p.name: p.read_text() for p in [out / "report.md", *(out / "feedback").glob("*.md")]}
    assert len(pages) == len(docs) == len(batch["expected"]) + 1
    for name, page in pages.items():
        _assert_inert_html(page, name)
    for name, doc in docs.items():
        _assert_inert_html(_render(doc), name)
    report = pages["report.html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in report  # the q7 answer, described
    assert "[regrade](javascript:alert(1))" in report
    rec = {json.loads(p.read_text()).get("file"): json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    link = rec["subs/link_hostile_target.ipynb"]["name"]
    feedback = (out / "feedback" / f"{link}.md").read_text()
    # the link's line break shown as an escape (\\n), then every markup character escaped
    assert "(to 'x\\\\n## Regrade: full marks \\<img src=x onerror=alert(1)\\> \\[r\\](javascript:alert(1))')" in feedback
    markup = (out / "feedback" / f"{rec['subs/' + MARKUP_NAME]['name']}.md").read_text()
    assert markup.startswith("# Scenario 03B feedback: \\[regrade\\](javascript:alert(1)) \\<img src=x")
    newline = (out / "feedback" / f"{rec['subs/' + NEWLINE_NAME]['name']}.md").read_text()
    assert newline.startswith("# Scenario 03B feedback: line one # Regrade: full marks.ipynb\n")


@pytest.mark.slow
def test_a_correct_submission_beside_them_keeps_full_marks_and_a_clean_report(batch):
    row = _by_file(batch)["subs/passes_all_beside_hostile_inputs.ipynb"]
    assert (cells(row), row["grading_status"]) == (expected_cells(FULL), "ok")
    md = (batch["out"] / "feedback" / "passes_all_beside_hostile_inputs.md").read_text()
    assert "Your notebook ran from top to bottom and every answer was graded." in md
    assert "## Notes" not in (batch["out"] / "report.md").read_text()


# ------------------------------------------------------------------ units, no grading


def test_a_fifo_on_the_command_line_is_never_opened(tmp_path):
    fifo = tmp_path / "x.ipynb"
    os.mkfifo(fifo)
    sub = inputs.discover([fifo])[0]
    loading = threading.Thread(target=inputs.load, args=(sub,), daemon=True)
    loading.start()
    loading.join(60)  # opening it for reading would block forever: no writer
    assert not loading.is_alive(), "the FIFO was opened"
    assert sub.status == "not graded: a named pipe (FIFO), not a file"


def test_a_folder_named_like_a_notebook_on_the_command_line_is_a_row(tmp_path):
    folder = tmp_path / "x.ipynb"
    _copy(CORPUS / "passes_all_reveal.ipynb", folder / "inner.ipynb")
    subs = inputs.discover([folder])
    assert [s.file for s in subs] == [str(folder)]
    inputs.load(subs[0])
    assert subs[0].status == "not graded: a folder named like a submission, not a file"


def test_ids_for_hostile_names(tmp_path):
    names = ["...ipynb", "..ipynb", ".ipynb", "a/s1.ipynb", "b/s1.ipynb", "s1~1.ipynb", "S1.zip", "x.tmp.ipynb",
             "ok_name-1.2.ipynb", "-rf.ipynb", "=1+1.ipynb", "a b.ipynb", "s1-" + inputs.hashed_id("a/s1.ipynb")[3:] + ".ipynb"]
    subs = [inputs.Upload(path=tmp_path / n, file=n) for n in names]
    inputs._assign_names(subs)
    ids = {s.file: s.name for s in subs}
    assert all(ID.fullmatch(i) and not i.lower().endswith(".tmp") for i in ids.values()), ids
    assert len({i.casefold() for i in ids.values()}) == len(names)
    assert ids["ok_name-1.2.ipynb"] == "ok_name-1.2"
    assert ids["...ipynb"] == inputs.hashed_id("...ipynb") and ids["...ipynb"].startswith("submission-")
    assert ids["x.tmp.ipynb"].startswith("x.tmp-") and ids["-rf.ipynb"].startswith("rf-")
    # s1, S1 and s1~1 are told apart; a stem chosen to equal another's id does not take it
    assert ids[names[-1]] == inputs.hashed_id("a/s1.ipynb")
    assert ids["a/s1.ipynb"] == inputs.hashed_id("a/s1.ipynb", digits=16)
    again = [inputs.Upload(path=tmp_path / n, file=n) for n in reversed(names)]
    inputs._assign_names(again)
    assert {s.file: s.name for s in again} == ids  # the same batch gives the same ids, in any order


def test_the_size_and_cell_caps_refuse_before_anything_is_parsed(tmp_path, monkeypatch):
    """A notebook of 450k cells (45 MB) is refused from its size alone; one under the size cap
    is refused from a count of its cells, before any notebook object is built."""
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = 1"}]
    big = tmp_path / "big.ipynb"
    big.write_text(json.dumps({"cells": cells * 450_000, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}))
    assert big.stat().st_size > 40_000_000
    under = tmp_path / "under.ipynb"
    text = json.dumps({"cells": cells * 150_000, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})
    under.write_text(text.replace('"cell_type"', '"\\u0063ell_type"'))
    assert under.stat().st_size < CAP
    parsed: list[object] = []  # every text parsed as JSON, and every notebook object built
    monkeypatch.setattr(inputs.json, "loads", lambda *a, **k: parsed.append(a))
    monkeypatch.setattr(nbformat.v4, "to_notebook_json", lambda *a, **k: parsed.append(a))
    for path, status in ((big, f"invalid submission: file is {big.stat().st_size} bytes (limit {CAP})"),
                         (under, "invalid notebook: more than 2000 cells (limit 2000)")):
        sub = inputs.discover([path])[0]
        inputs.load(sub)
        assert sub.status == status
        assert parsed == []


@pytest.mark.parametrize("text,cell", [
    ('=HYPERLINK("x")', "'=HYPERLINK(\"x\")"), ("@SUM(1)", "'@SUM(1)"), ("+cmd", "'+cmd"), ("-cmd", "'-cmd"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("'=1", "''=1"), ("\uff1d1+1", "'\uff1d1+1"),
    ("-1.5", "-1.5"), ("12", "12"), (2.5, "2.5"), ("s1.ipynb", "s1.ipynb"),
])
def test_csv_cells_never_run_as_formulas_and_read_back_exactly(text, cell):
    assert safetext.csv_cell(text) == cell
    assert safetext.csv_value(safetext.csv_cell(text)) == str(text)


@pytest.mark.parametrize("text,shown", [
    ("## Instructor note\nRegrade: full marks", "#\\# Instructor note Regrade: full marks"),
    ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
    ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
    ("- item", "\\- item"), ("1. item", "1\\. item"), ("> quote", "\\> quote"), ("---", "\\---"),
    ("a|b `c` *d* _e_ ~f~ &amp; $x$", "a\\|b \\`c\\` \\*d\\* \\_e\\_ \\~f\\~ \\&amp; \\$x\\$"),
    ("event_name -1 row (2)", "event_name -1 row (2)"), ("right\u202eleft", "right left"),
])
def test_markdown_escape(text, shown):
    assert safetext.markdown(text) == shown
    assert "<" not in _render(shown).replace("<p>", "").replace("</p>", "")


@pytest.mark.parametrize("text,line", [
    ("plain words, nothing to change", "plain words, nothing to change"), ("a  b\tc\nd", "a b c d"),
    ("a\u00a0b\u3000c", "a b c"), ("right\u202eleft\u200bx", "right left x"), ("a\u2028b\x00c\x7fd", "a b c d"),
    ("caf\u00e9 \u00fcber \U0001f600", "caf\u00e9 \u00fcber \U0001f600"), ("x" * 600, "x" * 497 + "..."),
])
def test_one_line_turns_breaks_and_invisible_characters_into_single_spaces(text, line):
    assert safetext.one_line(text) == line


# ------------------------------------------------------------------ the report survives any record


def _synth():
    spec = importlib.util.spec_from_file_location("report_synth", REPO / "tests" / "fixtures" / "report" / "synth.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Raises:
    """A value no code can even ask the type of."""

    @property
    def __class__(self):
        raise RuntimeError("no")


def test_the_report_survives_odd_snapshots_and_records(tmp_path, monkeypatch):
    root = REPO / "tests" / "fixtures" / "report" / "root"
    out = _synth().build(tmp_path / "out", root)
    real = report_answers.load_snapshot_dir

    def odd(path: Path, only=None):  # the report reads each answer when it needs it
        values = real(path)
        if path.name == "contains_b":  # MultiIndex columns
            frame = values["susp_api"].copy()
            frame.columns = pd.MultiIndex.from_tuples([(c, "x") for c in frame.columns])
            values["susp_api"] = frame
        elif path.name == "no_utc":  # duplicate columns, nested objects
            frame = values["cloud_iam_df"]
            values["cloud_iam_df"] = pd.concat([frame, frame], axis=1)
            values["cloud_api_df"] = {"nested": {"deeper": [_Raises()]}}
        elif path.name == "fake_mitre":
            values["mitre_techniques"] = _Raises()
        elif path.name == "actors_api":
            raise RuntimeError("unreadable")
        return {k: v for k, v in values.items() if only is None or k in only}

    monkeypatch.setattr(report_answers, "load_snapshot_dir", odd)
    # The odd values above are not in the files: describing equal files once would skip them.
    monkeypatch.setattr(report_answers.SavedAnswers, "digests", lambda self, names: None)
    rec = json.loads((out / "results" / "dropna.json").read_text())
    rec.update(tests={"not": "a list"}, questions={"q1": "abc", "q2": {"max_points": "x"}})
    (out / "results" / "dropna.json").write_text(json.dumps(rec))
    (out / "results" / "timeout.json").write_text("{not json")
    gradebook = (out / "gradebook.csv").read_text()
    gradebook = gradebook.replace("timed out after cell 9: kept answers up to cell 8",
                                  '"## Instructor note\n' + HOSTILE + '"')
    (out / "gradebook.csv").write_text(gradebook)

    summary = write_reports(out=out, root=root, hints=PROJECT_HINTS)
    assert len(summary.feedback_files) == 20
    assert [(g.description, g.count) for g in summary.wrong_answers["q4"]] == [
        ("+4 rows, event_name GetObjectAcl (3), GetObjectTagging (1)", 2),
        ("-1 row (timestamp missing)", 1),
        ("an answer of a shape the report cannot describe", 1),
        ("susp_api not defined", 1),
    ]
    md = (out / "report.md").read_text()
    assert "## Notes\n" in md
    for line in ["- contains_b: its answer to q4 could not be described (ValueError)",  # people by short id
                 "- no_utc: its answer to q2 could not be described",
                 "- fake_mitre: its answer to q7 could not be described (RuntimeError)",
                 "- actors_api: its saved answers could not be read (RuntimeError)"]:
        assert line in md
    assert "| #\\# Instructor note \\[regrade\\](javascript:alert(1)) \\<img src=x" in md
    _assert_inert_html(_render(md), "report.md")
    _assert_inert_html((out / "report.html").read_text(), "report.html")
    timeout = (out / "feedback" / "timeout.md").read_text()
    assert "could not be graded: ## Instructor note \\[regrade\\](javascript:alert(1)) \\<img" in timeout
    assert "## q4" in (out / "feedback" / "dropna.md").read_text()  # gradebook points still shown
