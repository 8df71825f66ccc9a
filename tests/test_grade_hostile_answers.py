"""Answers of every awkward shape, forged snapshot files and answers that make the tests blow up.

Phase 2 (the trusted tests) runs in test processes with a time and memory limit per
submission: a snapshot that makes them overrun, run out of memory or crash costs only its
own row, and the submissions tested after it keep their marks. The notebooks under
tests/submissions/hostile_answers (see make_hostile_answers.py) are graded in the real
sandbox and each checked for its exact points and status.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctlab import contract
from ctlab.grading import snapshot
from ctlab.grading.results import Kind, Status
from ctlab.grading.trusted import Phase2Result, TrustedGrader
from ctlab.reveal import PROJECT_HINTS, run_reveals

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "submissions" / "hostile_answers"
QS = ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"]
# Part 6's answer as the help notebook's reveal computes it: a notebook that turns each of its users
# into a dict names that many users with no row in susp_iam.
SUSP_USERS = run_reveals(hints=PROJECT_HINTS, data_dir=REPO / "data", questions=["q1", "q2", "q3", "q6"])["susp_users"]
FULL = {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q9": 0, "q10": 0, "q11": 4, "q12": 0}
TIMEOUT = 20
UNTESTED_FROM_Q3 = "not tested (0 points): q3, q4, q5, q6, q7, q9, q10, q11, q12"
FIRST_TWO = {**{q: 0 for q in QS}, "q1": 1, "q2": 2}


def _with(**changes) -> dict:
    return {**FULL, **changes}


# ---------------------------------------------------------------- the test process, directly

@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pristine")
    shutil.copytree(REPO / "assignment" / "data", d / "data")
    return d


@pytest.fixture(scope="module")
def reveal_snapshot(pristine, tmp_path_factory) -> Path:
    """The snapshot of the help notebook's reveal answers (full marks)."""
    from reveal_answers import REVEAL

    ns: dict = {"pd": pd, "np": np}
    with contextlib.chdir(pristine):
        for q in ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q11"):
            exec(REVEAL[q], ns)
    target = tmp_path_factory.mktemp("reveal") / "snap"
    snapshot.write_snapshot(ns, list(contract.ANSWER_VARIABLES), target, 1)
    return target


def _rows_snapshot(tmp_path: Path, rows: int) -> Path:
    """A snapshot whose susp_iam has `rows` integer event ids: each test of it turns every id into
    text, which takes seconds and a gigabyte per ten million rows."""
    frame = pd.DataFrame({"event_id": np.arange(rows, dtype=np.int32)})
    snapshot.write_snapshot({"susp_iam": frame}, ["susp_iam"], tmp_path / f"rows{rows}", 1)
    return tmp_path / f"rows{rows}"


def _points(tested: Phase2Result) -> dict:
    return {q: tested.points.get(q, 0.0) for q in QS}


def _untested_records(tested: Phase2Result, why: str) -> list[dict]:
    return [t for t in tested.tests if t["message"] == f"❌ Not tested: {why}"]


@pytest.mark.slow
def test_tests_that_overrun_cost_only_that_snapshot(tmp_path, pristine, reveal_snapshot):
    grader = TrustedGrader(REPO, pristine, memory_mb=2048, timeout=4)
    try:
        first = grader.proc
        tested = grader.grade(str(_rows_snapshot(tmp_path, 8_000_000)))
        assert first.returncode == -signal.SIGKILL  # the overrunning process was killed and reaped
        why = "the tests took longer than 4 s in q3"
        assert (tested.failure, tested.untested) == (why, ["q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"])
        assert _points(tested) == {q: 0 for q in QS}
        assert [t["name"] for t in _untested_records(tested, why)] == [f"{q} (not tested)" for q in tested.untested]
        assert grader.proc is not first and grader.proc.poll() is None  # a fresh process for the next one
        tested = grader.grade(str(reveal_snapshot))
        assert (tested.failure, _points(tested)) == ("", FULL)
    finally:
        grader.close()


@pytest.mark.slow
def test_tests_that_run_out_of_memory_cost_only_that_snapshot(tmp_path, pristine, reveal_snapshot):
    grader = TrustedGrader(REPO, pristine, memory_mb=256, timeout=60)
    try:
        tested = grader.grade(str(_rows_snapshot(tmp_path, 8_000_000)))
        assert tested.failure == "the tests ran out of memory (limit 256 MB) in q3"
        assert tested.untested == ["q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"]
        big = tmp_path / "big"
        snapshot.write_snapshot({"cloud_iam_df": pd.DataFrame({"a": np.zeros(14_000_000)})}, ["cloud_iam_df"], big, 1)
        tested = grader.grade(str(big))
        assert tested.failure == "the tests ran out of memory (limit 256 MB) while loading the answers"
        assert tested.untested == QS
        tested = grader.grade(str(reveal_snapshot))
        assert (tested.failure, _points(tested)) == ("", FULL)
    finally:
        grader.close()


@pytest.mark.slow
def test_a_test_process_that_crashes_costs_only_that_snapshot(tmp_path, pristine, reveal_snapshot):
    grader = TrustedGrader(REPO, pristine, memory_mb=2048, timeout=60)
    try:
        grader._wait_until("ready")
        pid = grader.proc.pid
        killer = threading.Timer(3, os.kill, (pid, signal.SIGSEGV))
        killer.start()
        tested = grader.grade(str(_rows_snapshot(tmp_path, 8_000_000)))
        killer.join()
        assert tested.failure == "the test process crashed (SIGSEGV) in q3"
        tested = grader.grade(str(reveal_snapshot))
        assert (tested.failure, _points(tested)) == ("", FULL)
    finally:
        grader.close()


def test_the_status_says_what_was_not_tested():
    tested = Phase2Result({}, [], failure="the tests took longer than 20 s in q3", untested=["q3", "q4"])
    ignored = Status.ok(["SystemExit in cell 18 ignored, as Jupyter does"])
    assert ignored.with_untested(tested.failure, tested.untested).text == \
        "answers could not be tested: the tests took longer than 20 s in q3; not tested (0 points): q3, q4"
    timed_out = Status(Kind.TIMEOUT, "timed out in cell 18 after 20 s: kept answers up to cell 17")
    assert timed_out.with_untested(tested.failure, tested.untested).text == \
        ("timed out in cell 18 after 20 s: kept answers up to cell 17; answers could not be tested: "
         "the tests took longer than 20 s in q3; not tested (0 points): q3, q4")
    untested = Phase2Result({}, [])
    assert Status.ok().with_untested(untested.failure, untested.untested).text == "ok"


# ---------------------------------------------------------------- whole batches, in the sandbox

SAVE = "'{var}' could not be saved: {why}"
MULTIINDEX = ("MultiIndex columns are not supported; flatten them, "
              "for example df.columns = ['_'.join(map(str, c)) for c in df.columns]")
FORGED_END = "kernel exited (os._exit(0)) in cell 21: kept answers up to cell 21"

# file -> (points, status, {test name: exact message (or its start, ending in "…")})
EXPECTED: dict[str, tuple[dict, str, dict[str, str]]] = {
    "passes_all_reveal.ipynb": (FULL, "ok", {}),
    "refused_multiindex_columns_susp_iam.ipynb": (_with(q3=0, q5=1.5, q6=0.5), "ok", {
        "q3 - 1": "❌ Test case failed: " + SAVE.format(var="susp_iam", why=MULTIINDEX)}),
    "refused_duplicate_columns_susp_api.ipynb": (_with(q4=0), "ok", {
        "q4 - 1": "❌ Test case failed: " + SAVE.format(
            var="susp_api", why="duplicate column names are not supported ('user'); rename them")}),
    "refused_too_large_susp_api.ipynb": (_with(q4=0), "ok", {
        "q4 - 1": "❌ Test case failed: " + SAVE.format(var="susp_api", why="it is too large to save")}),
    "saved_as_text_nested_columns_series_of_dicts.ipynb": (_with(q6=0), "ok", {
        "q6 - 1": "❌ Test case failed\nError at line 61 in test q6:\n      assert not extra, f'susp_users names "
                  "{len(extra)} users who have no row in susp_iam'\nAssertionError: susp_users names "
                  f"{len(SUSP_USERS)} users who have no row in susp_iam"}),
    "saved_as_text_unusual_dtypes.ipynb": (FULL, "ok", {}),
    "saved_odd_column_labels.ipynb": (FULL, "ok", {}),
    "saved_multiindex_index_subclassed_frames.ipynb": (FULL, "ok", {}),
    "zero_width_and_empty_answers.ipynb": (_with(q3=0, q4=0, q5=1.5, q6=0.5, q7=0), "ok", {
        "q3 - 1": "❌ Test case failed\nError at line 46 in test q3:\n      rows_of(susp_iam, 'susp_iam', "
                  "'cloud_iam')\nAssertionError: susp_iam has no event_id column",
        "q4 - 1": "❌ Test case failed\nError at line 46 in test q4:\n      rows_of(susp_api, 'susp_api', "
                  "'cloud_api')\nAssertionError: susp_api is empty"}),
    # The reveal answer plus one huge made-up ID: the public test fails (its message cut) and
    # precision drops to 3/4 (2.5 x 0.75 = 1.88, rounded down to 1.5).
    "huge_string_answer_message_cut.ipynb": (_with(q7=1.5), "ok", {
        "q7 - 1": "❌ Test case failed\nError at line 40 in test q7:\n      technique_ids(mitre_techniques, "
                  "strict=True)\nAssertionError: mitre_techniques holds \"T1111…"}),
    "forged_colliding_hashes_refused.ipynb": (_with(q7=0), FORGED_END, {
        "q7 - 1": "❌ Test case failed: 'mitre_techniques' could not be loaded (SnapshotError: 200000 values "
                  "of a set or dict share one hash)"}),
    "forged_pandas_metadata_ignored_or_refused.ipynb": (_with(q4=0), FORGED_END, {
        "q4 - 1": "❌ Test case failed: 'susp_api' could not be loaded (SnapshotError: v3.parquet: MultiIndex "
                  "columns are not supported)"}),
    "forged_unsupported_reason_not_shown.ipynb": (_with(q6=0), FORGED_END, {
        "q6 - 1": "❌ Test case failed: 'susp_users' could not be saved: values of type unknown cannot be saved"}),
}
TIME_BATCH: dict[str, tuple[dict, str, dict[str, str]]] = {
    "blowup_tests_take_too_long.ipynb": (
        FIRST_TWO, f"answers could not be tested: the tests took longer than {TIMEOUT} s in q3; {UNTESTED_FROM_Q3}",
        {"q3 (not tested)": f"❌ Not tested: the tests took longer than {TIMEOUT} s in q3"}),
    "passes_all_reveal.ipynb": EXPECTED["passes_all_reveal.ipynb"],
}
MEMORY_BATCH: dict[str, tuple[dict, str, dict[str, str]]] = {
    "blowup_tests_run_out_of_memory.ipynb": (
        FIRST_TWO, f"answers could not be tested: the tests ran out of memory (limit 512 MB) in q3; {UNTESTED_FROM_Q3}",
        {"q7 (not tested)": "❌ Not tested: the tests ran out of memory (limit 512 MB) in q3"}),
    "passes_all_reveal.ipynb": EXPECTED["passes_all_reveal.ipynb"],
    "saved_odd_column_labels.ipynb": EXPECTED["saved_odd_column_labels.ipynb"],
}


def _grade(tmp_path: Path, names: list[str], *, jobs: int, memory_mb: int) -> Path:
    from ctlab.grading.batch import grade

    if not sorted((REPO / "autograder" / "tests").glob("q*.py")):
        pytest.fail("autograder/tests is missing: run `ctlab build`")
    out = tmp_path / "out"
    grade(submissions=[HOSTILE / n for n in names], out=out, root=REPO, jobs=jobs, timeout=TIMEOUT,
          memory_mb=memory_mb, no_sandbox=False, force=False, manual=None, progress=False, sandbox="bwrap")
    return out


def _check(out: Path, expected: dict[str, tuple[dict, str, dict[str, str]]]) -> None:
    with open(out / "gradebook.csv", newline="") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    assert sorted(rows) == sorted(expected)
    for name, (points, status, messages) in expected.items():
        row = rows[name]
        got = {q: float(row[q]) for q in QS}
        assert (got, row["grading_status"]) == ({q: float(v) for q, v in points.items()}, status), name
        tests = {t["name"]: t["message"]
                 for t in json.loads((out / "results" / f"{Path(name).stem}.json").read_text())["tests"]}
        for test, message in messages.items():
            if message.endswith("…"):
                assert tests[test].startswith(message[:-1]) and len(tests[test]) < 2100, (name, test)
            else:
                assert tests[test] == message, (name, test)


@pytest.mark.slow
def test_hostile_answers_each_get_their_own_exact_outcome(tmp_path):
    out = _grade(tmp_path, sorted(EXPECTED), jobs=2, memory_mb=2048)
    _check(out, EXPECTED)
    manifest = snapshot.read_manifest(out / "snapshots" / "saved_odd_column_labels")
    assert manifest["variables"]["cloud_iam_df"]["note"] == \
        "column labels saved as text: 0, None, ('a', 'b'), 1.5, 2026-01-01 00:00:00"
    manifest = snapshot.read_manifest(out / "snapshots" / "saved_as_text_unusual_dtypes")
    assert manifest["variables"]["cloud_api_df"]["text_columns"] == \
        ["interval", "period", "complex", "sparse", "category_mixed"]
    # The report is written for everyone, whatever the shapes.
    from ctlab.report import write_reports

    write_reports(out=out, root=REPO)
    assert sorted(p.name for p in (out / "feedback").glob("*.md")) == sorted(Path(n).stem + ".md" for n in EXPECTED)


# One worker in the batches below, so the submissions after a blow-up are tested by the restarted
# test process. (Their huge answers are left out of the batch above: describing them is slow
# for the report too.)

@pytest.mark.slow
def test_tests_that_take_too_long_cost_only_their_row(tmp_path):
    _check(_grade(tmp_path, sorted(TIME_BATCH), jobs=1, memory_mb=2048), TIME_BATCH)


@pytest.mark.slow
def test_tests_that_run_out_of_memory_cost_only_their_row_and_are_tried_again(tmp_path):
    from ctlab.grading.batch import grade

    out = _grade(tmp_path, sorted(MEMORY_BATCH), jobs=1, memory_mb=512)
    _check(out, MEMORY_BATCH)
    # The next run tests the kept snapshot again (its notebook is not run again): with more
    # memory, its tests now overrun.
    summary = grade(submissions=[HOSTILE / n for n in sorted(MEMORY_BATCH)], out=out, root=REPO, jobs=1,
                    timeout=TIMEOUT, memory_mb=4096, no_sandbox=False, force=False, manual=None, progress=False,
                    sandbox="bwrap")
    assert (summary.cached, summary.retested, summary.graded) == (2, 1, 0)
    rows = {Path(r["file"]).name: r for r in summary.rows}
    assert rows["blowup_tests_run_out_of_memory.ipynb"]["grading_status"] == \
        f"answers could not be tested: the tests took longer than {TIMEOUT} s in q3; {UNTESTED_FROM_Q3}"
    rec = json.loads((out / "results" / "blowup_tests_run_out_of_memory.json").read_text())
    assert (rec["retested"], rec["phase1_status"]) == (True, "ok")
