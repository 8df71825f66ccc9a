"""Attacks on the sandbox and on what the grader writes (tests/submissions/hostile_sandbox, see
make_hostile_sandbox.py), graded in both modes a root grader has: bubblewrap and the
separate-user fallback (tests/test_grade_nonroot.py grades the same folder as a normal user).

Each notebook gets its exact row; the batch goes on whatever one of them does; OUT is the
instructor's alone; no CSV holds a bidirectional control; and two fallback batches running
at once never share a sandbox uid.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from ctlab.grading.batch import grade
from ctlab.grading.sandbox import FALLBACK_UID_BASE
from ctlab.safetext import csv_value

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "tests" / "submissions" / "hostile_sandbox"
QS = ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q9", "q10", "q11", "q12"]  # q8 is blank: its hand score is pending
FULL = {"q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q9": 0, "q10": 0, "q11": 4, "q12": 0}
TIMEOUT = 30
JOBS = 1  # one worker: the /dev hunter runs in the sandbox the /dev writer ran in
BIDI_NAME = "passes_all_named_\u202ebnypi.ipynb"
# Unicode's bidirectional controls (explicit embeddings, overrides, isolates and marks)
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
THREAD_LIMIT = "thread limit exceeded in cell 20: kept answers up to cell 19"
FORGED_END = "kernel exited (os._exit(0)) in cell 21: kept answers up to cell 21"


def _with(**changes: float) -> dict:
    return {**FULL, **changes}


# file -> (points, status), the same in every mode
EXPECTED: dict[str, tuple[dict, str]] = {
    "hostile_dev_write_refused.ipynb": (FULL, "ok"),
    "passes_all_finds_no_dev_leftover.ipynb": (FULL, "ok"),
    "keeps_answers_thread_limit_after.ipynb": (FULL, THREAD_LIMIT),
    # q7's answer replaced by a 16-million-row frame: its tests see one column name, not a technique list
    "forged_16m_row_snapshot_too_large_for_report.ipynb": (_with(q7=0), FORGED_END),
    "passes_all_after_a_12s_wait.ipynb": (FULL, "ok"),
    BIDI_NAME: (FULL, "ok"),
    # The reveal answer and a lone surrogate: a made-up ID, so precision 3/4 (2.5 x 0.75 -> 1.5)
    "lone_surrogates_in_source_answer_and_error.ipynb": (_with(q7=1.5), "ok"),
}


def rows_of(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {Path(csv_value(r["file"])).name: r for r in csv.DictReader(f)}


def outcome(row: dict[str, str]) -> tuple[dict[str, float], str]:
    assert row["q8"] == "", row["q8"]  # every file here was graded, so its hand-graded q8 is pending
    return {q: float(row[q]) for q in QS}, row["grading_status"]


def open_to_others(out: Path) -> list[str]:
    """Everything under OUT (OUT included) that another user could read, enter or write."""
    found = []
    for p in [out, *out.rglob("*")]:
        if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077:
            found.append(f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(out.parent)}")
    return found


def bidi_in_csvs(out: Path) -> list[str]:
    return [p.name for p in out.rglob("*.csv") if any(c in p.read_text(encoding="utf-8") for c in BIDI_CONTROLS)]


def _grade(out: Path, mode: str, files: list[Path] | None = None, jobs: int = JOBS):
    return grade(submissions=files or [FOLDER], out=out, root=REPO, jobs=jobs, timeout=TIMEOUT, memory_mb=2048,
                 no_sandbox=False, force=False, manual=None, progress=False, sandbox=mode)


@pytest.fixture(scope="module", params=["bwrap", "user"])
def graded(request, tmp_path_factory):
    if not sorted((REPO / "autograder" / "tests").glob("q*.py")):
        pytest.fail("autograder/tests is missing: run `ctlab build`")
    mode = request.param
    out = tmp_path_factory.mktemp(f"sandbox-{mode}") / "out"
    summary = _grade(out, mode)
    from ctlab.report import write_reports

    t0 = time.monotonic()
    write_reports(out=out, root=REPO)
    return {"mode": mode, "out": out, "summary": summary, "rows": rows_of(out), "report_s": time.monotonic() - t0}


def test_every_file_has_its_exact_row(graded):
    assert graded["summary"].mode == graded["mode"]
    rows = graded["rows"]
    assert sorted(rows) == sorted(EXPECTED) == sorted(p.name for p in FOLDER.iterdir())
    for name, (points, status) in EXPECTED.items():
        assert outcome(rows[name]) == ({q: float(points[q]) for q in QS}, status), name


def test_nothing_was_left_in_or_written_to_dev(graded):
    from ctlab.grading.snapshot import load_snapshot

    snaps = graded["out"] / "snapshots"
    tried = json.loads(load_snapshot(snaps / "hostile_dev_write_refused")["triage_summary"])
    assert sorted(tried) == ["/dev/ctlab-fill", "/dev/ctlab-leftover", "/dev/mqueue/ctlab-leftover",
                             "/dev/pts/ctlab-leftover"]
    assert "written" not in tried.values(), tried
    assert json.loads(load_snapshot(snaps / "passes_all_finds_no_dev_leftover")["triage_summary"]) == []


def test_the_thread_limit_has_its_own_status_kind(graded):
    rec = json.loads((graded["out"] / "results" / "keeps_answers_thread_limit_after.json").read_text())
    assert rec["status"] == THREAD_LIMIT
    assert rec["status_kind"] == "thread_limit"


def test_the_report_describes_the_forged_giant_as_too_large(graded):
    from ctlab.report.answers import Unsaved, load_snapshot_dir

    values = load_snapshot_dir(graded["out"] / "snapshots" / "forged_16m_row_snapshot_too_large_for_report")
    forged = values["mitre_techniques"]
    assert isinstance(forged, Unsaved), type(forged)
    assert forged.reason == "is too large to describe here (16000000 rows; limit 1000000)"
    assert (graded["out"] / "report.html").is_file()


def test_lone_surrogates_are_written_safely(graded):
    out = graded["out"]
    rec = json.loads((out / "results" / "lone_surrogates_in_source_answer_and_error.json").read_text(encoding="utf-8"))
    assert rec["cell_errors"][-2:] == [
        {"cell": 20, "error": "UnicodeEncodeError: 'utf-8' codec can't encode character '\\ud800' in position 34: "
                              "surrogates not allowed"},
        {"cell": 22, "error": "ValueError: no such technique: \ufffd"}]
    q7 = [t["message"] for t in rec["tests"] if t["name"] == "q7 - 1"]
    assert q7 == ["❌ Test case failed\nError at line 40 in test q7:\n      technique_ids(mitre_techniques, strict=True)\n"
                  "AssertionError: mitre_techniques holds \"\ufffd\", which is not an ATT&CK technique ID: write IDs like "
                  "T1234 or T1234.001"]
    code = (out / "code" / "lone_surrogates_in_source_answer_and_error.json").read_text(encoding="utf-8")
    assert "\\ud800" not in code and json.loads(code)["cells"][19].startswith("# a lone surrogate in the source: \ufffd")
    md = (out / "feedback" / "lone_surrogates_in_source_answer_and_error.md").read_text(encoding="utf-8")
    assert "\ufffd" in md


def test_no_csv_holds_a_bidi_control_and_the_name_reads_back(graded):
    out = graded["out"]
    assert bidi_in_csvs(out) == []
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        cells = [r["file"] for r in csv.DictReader(f)]
    shown = [c for c in cells if "bnypi" in c]
    assert shown == ["'\\" + f"{FOLDER}/passes_all_named_\\u202ebnypi.ipynb"]
    assert csv_value(shown[0]) == f"{FOLDER}/{BIDI_NAME}"


def test_out_is_the_instructors_alone(graded):
    assert open_to_others(graded["out"]) == []


# ------------------------------------------------------------------ two fallback batches at once


def _sandbox_pids() -> set[int]:
    """Processes of a fallback sandbox uid that descend from this test process."""
    me, found = os.getpid(), set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{d}").st_uid
            if not FALLBACK_UID_BASE <= uid < FALLBACK_UID_BASE + 1000:
                continue
            pid = int(d)
            while pid > 1:
                with open(f"/proc/{pid}/stat") as f:
                    pid = int(f.read().rsplit(")", 1)[1].split()[1])
                if pid == me:
                    found.add(int(d))
                    break
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_concurrent_fallback_batches_never_share_a_uid(tmp_path):
    """The first batch's submission waits 12 s; a second batch starts meanwhile. Its start-up and
    its own submission must leave the first one running (they used to share uid 64000)."""
    if os.geteuid() != 0:
        pytest.skip("the fallback sandbox needs root")
    first: dict = {}

    def run_first():
        try:
            first["summary"] = _grade(tmp_path / "first", "user", [FOLDER / "passes_all_after_a_12s_wait.ipynb"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            first["error"] = exc

    t = threading.Thread(target=run_first)
    t.start()
    deadline = time.monotonic() + 120
    while not _sandbox_pids() and time.monotonic() < deadline and t.is_alive():
        time.sleep(0.05)
    assert _sandbox_pids(), "the first batch's submission never started"
    _grade(tmp_path / "second", "user", [FOLDER / "hostile_dev_write_refused.ipynb"])
    t.join()
    assert "error" not in first, first.get("error")
    assert outcome(rows_of(tmp_path / "second")["hostile_dev_write_refused.ipynb"]) == \
        ({q: float(v) for q, v in FULL.items()}, "ok")
    assert outcome(rows_of(tmp_path / "first")["passes_all_after_a_12s_wait.ipynb"]) == \
        ({q: float(v) for q, v in FULL.items()}, "ok")


def test_the_task_limit_is_set_only_where_the_kernel_counts_it_per_namespace():
    from ctlab.grading.worker.submission import counts_per_namespace

    assert [counts_per_namespace(r) for r in ("6.18.44-fc-v1300", "5.14.0-1", "5.15.0-91-generic")] == [True] * 3
    assert [counts_per_namespace(r) for r in ("5.4.0-150-generic", "4.19.0", "5.13.19", "odd")] == [False] * 4
