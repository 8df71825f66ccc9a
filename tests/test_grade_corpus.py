"""The whole corpus under tests/submissions/corpus, graded once against the real autograder.

Every file is named by the outcome it must show; each test asserts that outcome exactly
(points per question and the status text).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from ctlab.grading.batch import grade
from ctlab.grading.inputs import hashed_id
from ctlab.grading.snapshot import load_snapshot

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "submissions" / "corpus"
QS = ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10", "q11", "q12"]
PENDING = None  # q8, graded by hand, of a notebook that ran: a blank cell until a hand score is given
FULL = {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q8": PENDING, "q9": 0, "q10": 0, "q11": 4,
        "q12": 0}
TIMEOUT = 20
LOOPBACK = "hostile_loopback_connection.ipynb"
PORT_LINE = "PORT = 47653"  # in LOOPBACK's source, rewritten by tell_port
MARKER = "ctlab-detached-marker-7f3a"


def cells(row: dict[str, str]) -> dict[str, float | None]:
    """A gradebook row's question cells as written: points, or None for a blank cell (a pending q8)."""
    return {q: None if row[q] == "" else float(row[q]) for q in QS}


def expected_cells(points: dict[str, float | None]) -> dict[str, float | None]:
    return {q: None if points[q] is None else float(points[q]) for q in QS}


def total(points: dict[str, float | None]) -> float:
    return float(sum(v for v in points.values() if v is not None))


def _with(**changes):
    d = dict(FULL)
    d.update(changes)
    return d


# q7 ["T9999"]: not in the table, and nothing with evidence
WRONG = {"q1": 1, "q2": 0.5, "q3": 1, "q4": 0.5, "q5": 0.5, "q6": 0, "q7": 0, "q8": PENDING, "q9": 0, "q10": 0,
         "q11": 0, "q12": 0}
ZERO = {q: PENDING if q == "q8" else 0 for q in QS}  # ran, and answered nothing
REFUSED = {q: 0 for q in QS}  # never ran (not a notebook, an unsafe zip): nothing to grade by hand either

EXPECTED: dict[str, tuple[dict, str]] = {
    "passes_all_reveal.ipynb": (FULL, "ok"),
    "passes_all_alt_style.ipynb": (FULL, "ok"),
    "passes_all_errors_before_answers.ipynb": (FULL, "ok"),
    "passes_all_magics_and_plot.ipynb": (FULL, "ok"),
    "passes_all_otter_export.zip": (FULL, "ok"),
    "passes_all_with_stretch.ipynb": (_with(q9=1, q10=1), "ok"),
    "mistake_q2_parse_without_utc.ipynb": (_with(q2=1), "ok"),
    "mistake_q2_drop_nat_rows.ipynb": (_with(q2=1.5), "ok"),
    "mistake_q3_missing_event_name.ipynb": (_with(q3=1), "ok"),
    "mistake_q4_contains_getobject.ipynb": (_with(q4=1), "ok"),
    "mistake_q5_actors_from_api_log.ipynb": (_with(q5=1), "ok"),
    # cloud_iam_df.head(50): q1's public test (the whole file) and hidden test; q2 lost rows; the parts built
    # on it are judged against the whole log: q3's completeness and exact tests, q5's and q6's exact user
    # sets; and the IOC reveal finds no AdministratorAccess grant in the first 50 rows (IndexError): q11
    "mistake_q1_loads_head_50.ipynb": (_with(q1=0, q2=1.5, q3=1, q5=1.5, q6=0.5, q11=0), "ok"),
    "mistake_q6_narrowed_list.ipynb": (_with(q6=0), "ok"),  # the public test now says so too
    "mistake_q11_one_principal_of_three.ipynb": (_with(q11=3.5), "ok"),  # right, not complete
    # NameError in part 3's cell, then in every cell that uses susp_iam (parts 5, 6 and 6b)
    "errors_in_four_cells.ipynb": (_with(q3=0, q5=0, q6=0, q11=0), "ok"),
    # q7: 0.5 for a well-formed list from the table + 2.5 x coverage x precision, rounded down to 0.5
    "passes_all_q7_key_as_series.ipynb": (FULL, "ok"),  # the key's 11 IDs, any case and spacing, a repeat
    "mistake_q7_missing_technique.ipynb": (_with(q7=2.0), "ok"),  # 0.5 + 2.5 x 2/3 (1.67 -> 1.5)
    "mistake_q7_made_up_technique.ipynb": (_with(q7=1.5), "ok"),  # T9999 not in the table: 0 + 2.5 x 3/4 (1.875 -> 1.5)
    "mistake_q7_technique_not_in_incident.ipynb": (_with(q7=2.0), "ok"),  # T1486: 0.5 + 2.5 x 3/4 (1.875 -> 1.5)
    "mistake_q7_single_technique.ipynb": (_with(q7=1.0), "ok"),  # 0.5 + 2.5 x 1/3 (0.83 -> 0.5)
    "mistake_q7_lists_whole_table.ipynb": (_with(q7=1.5), "ok"),  # 0.5 + 2.5 x 22/42 (1.31 -> 1)
    "mistake_q7_lists_half_table.ipynb": (_with(q7=1.0), "ok"),  # 0.5 + 2.5 x 2/3 x 11/21 (0.87 -> 0.5)
    "no_answers.ipynb": (ZERO, "ok"),
    "keeps_answers_system_exit_after.ipynb": (FULL, "ok (SystemExit in cell 20 ignored, as Jupyter does)"),
    "keeps_answers_os_exit_after.ipynb": (FULL, "kernel exited (os._exit(0)) in cell 20: kept answers up to cell 19"),
    "keeps_answers_endless_loop_after.ipynb": (FULL, f"timed out in cell 20 after {TIMEOUT} s: kept answers up to cell 19"),
    "keeps_answers_8gib_allocation_after.ipynb": (FULL, "memory limit exceeded in cell 20: kept answers up to cell 19"),
    "keeps_answers_200mb_output.ipynb": (FULL, "ok (output past 1 MiB dropped (208666631 bytes))"),
    "hostile_loopback_connection.ipynb": (FULL, "ok"),
    "hostile_detached_processes.ipynb": (FULL, "ok"),
    "hostile_overwrite_grade_files.ipynb": (FULL, "ok"),
    "hostile_fill_disk_delete_data.ipynb": (FULL, "ok"),
    "hostile_persist_in_tmp.ipynb": (FULL, "ok"),
    "hostile_readonly_leftovers.ipynb": (FULL, "ok"),
    "passes_all_sees_no_leftovers.ipynb": (FULL, "ok"),
    "keeps_answers_output_flood_after.ipynb": (FULL, "output limit exceeded in cell 20: kept answers up to cell 19"),
    "hostile_leave_secret_everywhere.ipynb": (FULL, "ok"),
    "passes_all_finds_no_secret.ipynb": (FULL, "ok"),
    "hostile_io_uring_socket.ipynb": (FULL, "ok"),
    "hostile_shared_memory_3gib.ipynb": (FULL, "ok"),
    # The record it forged is read as numbers only: none of its text reaches the status.
    "hostile_forged_progress_status.ipynb": (FULL, "kernel exited (os._exit(0)) in cell 1: kept answers up to cell 19"),
    "wrong_answers_plain.ipynb": (WRONG, "ok"),
    "wrong_answers_patched_pandas_numpy_otter.ipynb": (WRONG, "ok"),
    "wrong_answers_search_disk_for_answers.ipynb": (WRONG, "ok"),
    "bad_not_json.ipynb": (REFUSED, "invalid notebook: not JSON"),
    "bad_json_not_notebook.ipynb": (REFUSED, "invalid notebook: JSON but not a notebook"),
    "bad_empty.ipynb": (REFUSED, "invalid notebook: empty file"),
    "bad_nbformat3.ipynb": (REFUSED, "invalid notebook: nbformat 3 notebook (nbformat 4 needed; open and save it in Jupyter)"),
    "bad_zip_no_notebook.zip": (REFUSED, "invalid zip: no notebook (.ipynb) inside"),
    "bad_zip_slip.zip": (REFUSED, "unsafe zip: entry '../../escaped.txt' escapes its folder"),
    "bad_zip_bomb.zip": (REFUSED, "unsafe zip: expands to 125836226 bytes (limit 104857600)"),
    "bad_zip_not_a_zip.zip": (REFUSED, "invalid zip: not a zip file"),
    "duplicate_a/same_name.ipynb": (FULL, "ok"),  # the same name in two folders: each graded under its own id
    "duplicate_b/same_name.ipynb": (WRONG, "ok"),
}


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _marker_pids() -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if MARKER.encode() in Path(f"/proc/{d}/cmdline").read_bytes():
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def tell_port(notebook: Path, port: int) -> None:
    """Point the loopback notebook (a copy of LOOPBACK) at `port`, where the test listens."""
    text = notebook.read_text(encoding="utf-8")
    assert text.count(PORT_LINE) == 1, f"{notebook} no longer holds {PORT_LINE!r}: re-point tell_port"
    notebook.write_text(text.replace(PORT_LINE, f"PORT = {port}"), encoding="utf-8")


def listen(connections: list[bytes], stop: threading.Event) -> tuple[socket.socket, threading.Thread, int]:
    """A loopback listener on a free port (so parallel runs never collide) that records every
    connection a notebook manages to make; returns it, its thread and its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.listen(5)
    listener.settimeout(0.2)

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                connections.append(conn.recv(100) or b"connected")
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    return listener, t, port


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not sorted((REPO / "autograder" / "tests").glob("q*.py")):
        pytest.fail("autograder/tests is missing: run `ctlab build`")
    out = tmp_path_factory.mktemp("grade") / "out"
    (out / "results").mkdir(parents=True)
    sentinel = {out / "sentinel.txt": "instructor notes\n", out / "results" / "zz_earlier.json": '{"kept": true}\n'}
    for p, text in sentinel.items():
        p.write_text(text)
    protected = {d: _tree_hashes(REPO / d) for d in ("autograder", "tests/submissions", "solutions", "data")}

    connections: list[bytes] = []
    stop = threading.Event()
    listener, t, port = listen(connections, stop)
    # A copy of the corpus, under the same relative path (the gradebook shows paths as given),
    # whose loopback notebook connects to this run's port.
    work = tmp_path_factory.mktemp("corpus")
    shutil.copytree(CORPUS, work / CORPUS.relative_to(REPO))
    tell_port(work / CORPUS.relative_to(REPO) / LOOPBACK, port)
    try:
        with contextlib.chdir(work):
            summary = grade(submissions=[Path("tests/submissions/corpus")], out=out, root=REPO, jobs=2,
                            timeout=TIMEOUT, memory_mb=2048, no_sandbox=False, force=False, manual=None,
                            progress=False, sandbox="bwrap")
    finally:
        stop.set()
        t.join()
        listener.close()
    rows = {}
    with open(out / "gradebook.csv", newline="") as f:
        for row in csv.DictReader(f):
            rows[row["file"].removeprefix("tests/submissions/corpus/")] = row
    return {"out": out, "rows": rows, "summary": summary, "connections": connections,
            "protected": protected, "sentinel": sentinel, "markers": _marker_pids()}


def test_every_file_has_one_row_and_the_columns_are_otters_plus_runtime(graded):
    with open(graded["out"] / "gradebook.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["file", *QS, "total_points_earned", "percent_correct", "grading_status", "runtime_s", "late",
                      "late_penalty", "variant"]
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in (".ipynb", ".zip")}
    assert set(graded["rows"]) == on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_outcome(graded, name):
    points, status = EXPECTED[name]
    row = graded["rows"][name]
    assert cells(row) == expected_cells(points)
    assert float(row["total_points_earned"]) == total(points)
    # q1-q7 and q11 are possible (17 points); q8 has no hand score here; q9-q10 are extra credit
    assert float(row["percent_correct"]) == pytest.approx(total(points) / 17, abs=1e-4)
    assert row["grading_status"] == status
    assert float(row["runtime_s"]) >= 0


def test_results_json_per_submission(graded):
    results = graded["out"] / "results"
    names = {p.stem for p in results.glob("*.json")} - {"zz_earlier"}
    dup = [hashed_id(f"tests/submissions/corpus/duplicate_{x}/same_name.ipynb") for x in "ab"]
    assert set(dup) <= names and dup[0] != dup[1]  # neither overwrote the other
    assert len(names) == len(EXPECTED)
    rec = json.loads((results / "passes_all_reveal.json").read_text())
    assert set(rec) >= {"file", "name", "status", "runtime_s", "cells_run", "questions", "tests",
                        "submission_sha256", "autograder_sha256"}
    assert rec["questions"]["q7"] == {"points": 3.0, "max_points": 3.0}
    assert rec["cells_run"] == 19
    hidden = [t for t in rec["tests"] if t["hidden"] and t["question"] not in ("q9", "q10", "q12")]
    assert hidden and all(t["passed"] for t in hidden)
    bad = json.loads((results / "bad_not_json.json").read_text())
    assert bad["status"] == "invalid notebook: not JSON" and bad["tests"] == []


def test_snapshot_kept_is_the_last_good_one(graded):
    snap = load_snapshot(graded["out"] / "snapshots" / "keeps_answers_endless_loop_after")
    assert {"cloud_iam_df", "susp_iam", "mitre_techniques", "triage_summary"} <= set(snap)
    assert snap["mitre_techniques"] == ["T1078", "T1098", "T1530"]
    assert not (graded["out"] / "snapshots" / "bad_empty").exists()


def test_missing_variable_message_is_clear(graded):
    rec = json.loads((graded["out"] / "results" / "no_answers.json").read_text())
    msgs = [t["message"] for t in rec["tests"] if t["question"] == "q7"]
    assert msgs and all("'mitre_techniques' is not defined by the notebook" in m for m in msgs)


def test_no_connection_reached_the_loopback_listener(graded):
    assert graded["connections"] == []
    report = load_snapshot(graded["out"] / "snapshots" / "hostile_loopback_connection")["triage_summary"]
    assert report.startswith("127.0.0.1: ") and "connected" not in report


def test_io_uring_is_not_there_for_a_socket(graded):
    summary = load_snapshot(graded["out"] / "snapshots" / "hostile_io_uring_socket")["triage_summary"]
    assert summary == "io_uring_setup: EPERM"


def test_shared_memory_stays_within_the_cap(graded):
    """SysV segments and memfd are refused; POSIX shared memory is a file in a /dev/shm the
    size of a slice of the submission's memory cap, so the three 1 GiB files stop early."""
    got = json.loads(load_snapshot(graded["out"] / "snapshots" / "hostile_shared_memory_3gib")["triage_summary"])
    assert got == {"shmget 0": "EPERM", "shmget 1": "EPERM", "shmget 2": "EPERM", "memfd": "EPERM",
                   "/dev/shm 0": "stopped", "/dev/shm 1": "stopped", "/dev/shm 2": "stopped"}


def test_secret_writer_could_not_make_ipc_objects_or_keys(graded):
    summary = load_snapshot(graded["out"] / "snapshots" / "hostile_leave_secret_everywhere")["triage_summary"]
    tried = json.loads(summary[summary.index("-end") + 4:])
    assert {k: tried[k] for k in ("sysv shm", "sysv msg", "sysv sem", "posix mq", "keyring")} == \
        {"sysv shm": "EPERM", "sysv msg": "EPERM", "sysv sem": "EPERM", "posix mq": "EPERM", "keyring": "EPERM"}
    assert tried["/tmp/marker.txt"] == "written"  # its own private /tmp, gone with it


def test_detached_processes_are_gone(graded):
    assert graded["markers"] == []
    assert _marker_pids() == []


def test_disk_search_finds_nothing_to_copy(graded):
    found = json.loads(load_snapshot(graded["out"] / "snapshots" / "wrong_answers_search_disk_for_answers")["triage_summary"])
    assert found == []


def test_grade_files_and_repository_untouched(graded):
    # The notebook writes "pwned" into whatever it can open (the tree may be rebuilt meanwhile,
    # so look for that content rather than comparing hashes).
    for d in graded["protected"]:
        hit = [p for p in (REPO / d).rglob("*") if p.is_file() and p.stat().st_size == 5 and p.read_bytes() == b"pwned"]
        assert hit == [], d
    assert [p for p in graded["out"].rglob("*") if p.is_file() and p.read_bytes() == b"pwned"] == []
    for p, text in graded["sentinel"].items():
        assert p.read_text() == text
    attempts = json.loads(load_snapshot(graded["out"] / "snapshots" / "hostile_overwrite_grade_files")["triage_summary"])
    assert "/inbox/data/cloud_iam.csv" in attempts and "/opt/ctlab/ctlab/grading/worker/__main__.py" in attempts
    assert set(PLANTED) <= set(attempts)
    assert overwritten(attempts) == []
    assert not any(p.startswith(("/work", "/root", "/home")) for p in attempts)  # nothing of those is visible


PLANTED = ("/planted.py", "/opt/planted.py", "/opt/ctlab/planted.py", "/opt/ctlab/ctlab/planted.py")


def overwritten(attempts: dict[str, str]) -> list[str]:
    """What hostile_overwrite_grade_files wrote outside its own /tmp and working copy."""
    return sorted(p for p, r in attempts.items() if r == "written" and not p.startswith(("/tmp/", "/job/")))


def test_summary_counts(graded):
    s = graded["summary"]
    assert (s.total, s.rejected, s.incomplete) == (len(EXPECTED), 8, 5)
    assert s.mode == "bwrap" and "bubblewrap" in s.describe()


# ------------------------------------------------------------------ one worker, attacker then victim

# Each attack is graded right before a copy of the victim, on a single worker (so in the same
# sandbox): whatever an attack leaves behind would show in the victim's score.
SEQUENCE = [
    ("hostile_leave_secret_everywhere.ipynb", "victim_after_secret"),
    ("hostile_fill_disk_delete_data.ipynb", "victim_after_fill"),
    ("hostile_persist_in_tmp.ipynb", "victim_after_persist"),
    ("hostile_readonly_leftovers.ipynb", "victim_after_readonly"),
    ("keeps_answers_output_flood_after.ipynb", "victim_after_flood"),
]
OUTBOX_CAP = 256 * 1024 * 1024  # what the zygote may copy out of one submission (a snapshot)


def _tree_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for n in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except OSError:
                pass
    return total


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    base = tmp_path_factory.mktemp("sequence")
    subs, work, out = base / "subs", base / "work", base / "out"
    subs.mkdir()
    work.mkdir()
    files = []
    for attack, victim in SEQUENCE:
        files.append(CORPUS / attack)
        files.append(subs / f"{victim}.ipynb")
        hunter = "passes_all_finds_no_secret.ipynb" if "secret" in attack else "passes_all_sees_no_leftovers.ipynb"
        shutil.copyfile(CORPUS / hunter, files[-1])
    # The run's worker folders (and so the outboxes, on the host disk) go under `work`;
    # measure them while the batch runs.
    peak = {"outboxes": 0}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            boxes = list(work.glob("ctlab-grade-*/worker-*/out"))
            peak["outboxes"] = max(peak["outboxes"], sum(_tree_bytes(b) for b in boxes))
            time.sleep(0.01)

    t = threading.Thread(target=watch, daemon=True)
    old_tempdir = tempfile.tempdir
    tempfile.tempdir = str(work)
    t.start()
    try:
        summary = grade(submissions=files, out=out, root=REPO, jobs=1, timeout=TIMEOUT, memory_mb=2048,
                        no_sandbox=False, force=False, manual=None, progress=False, sandbox="bwrap")
    finally:
        stop.set()
        t.join()
        tempfile.tempdir = old_tempdir
    with open(out / "gradebook.csv", newline="") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    return {"out": out, "rows": rows, "summary": summary, "peak": peak["outboxes"]}


@pytest.mark.parametrize("attack,victim", SEQUENCE)
def test_victim_on_the_same_worker_gets_full_marks(sequence, attack, victim):
    points, status = EXPECTED[attack]
    row = sequence["rows"][attack]
    assert (cells(row), row["grading_status"]) == (expected_cells(points), status)
    row = sequence["rows"][f"{victim}.ipynb"]
    assert row["grading_status"] == "ok"
    assert cells(row) == expected_cells(FULL)
    assert json.loads(load_snapshot(sequence["out"] / "snapshots" / victim)["triage_summary"]) == []


def test_output_flood_stays_in_the_sandbox(sequence):
    assert sequence["summary"].mode == "bwrap"
    # The host side saw at most one snapshot and a progress record per submission, never the flood.
    assert sequence["peak"] < 16 * 1024 * 1024, sequence["peak"]
    assert _tree_bytes(sequence["out"]) < OUTBOX_CAP
    # Only the real snapshot (cell 19) came out, and only the manifest and the files it names:
    # not the forged later ones, not the extra file planted in the real one.
    kept = sequence["out"] / "snapshots" / "keeps_answers_output_flood_after"
    manifest = json.loads((kept / "manifest.json").read_text())
    assert manifest["cell"] == 19
    named = {e["file"] for e in manifest["variables"].values() if e.get("file")}
    assert {p.name for p in kept.iterdir()} == named | {"manifest.json"}
    assert not any(p.is_symlink() for p in kept.iterdir())
    assert load_snapshot(kept)["mitre_techniques"] == ["T1078", "T1098", "T1530"]


def test_feedback_tells_the_truth_about_errors_and_the_score(graded):
    """From the real grading output: cells that raised are named (otter's own cells, which cannot find
    their notebook where the grader runs them, are not), and the score reads out of the total."""
    from ctlab.grading.results import load_graded
    from ctlab.report.answers import max_points_by_question
    from ctlab.report.config import FeedbackConfig
    from ctlab.report.feedback import build_feedback

    subs = {s.file.removeprefix("tests/submissions/corpus/"): s for s in load_graded(graded["out"])}
    maxima = max_points_by_question(list(subs.values()))
    fb = build_feedback(subs["errors_in_four_cells.ipynb"], maxima, FeedbackConfig())
    assert fb.status_text == (
        "Your notebook ran to the end, but 4 cells raised errors (code cells, counted from the top): "
        "cell 7 NameError: name 'suspicious' is not defined; cell 11 NameError: name 'susp_iam' is not defined; "
        "cell 13 NameError: name 'susp_iam' is not defined; cell 15 NameError: name 'susp_iam' is not defined. "
        "An answer such a cell should have set was graded as it stood after the earlier cells.")
    assert fb.score_text == "Score: 8 of 20 points (+0 extra credit; q8 pending hand grading)."
    full = build_feedback(subs["passes_all_with_stretch.ipynb"], maxima, FeedbackConfig())
    assert full.status_text == "Your notebook ran from top to bottom and every answer was graded."
    assert full.score_text == "Score: 17 of 20 points (+2 extra credit; q8 pending hand grading)."
