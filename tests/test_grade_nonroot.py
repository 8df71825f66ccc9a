"""`ctlab grade` as a normal user: the hostile corpus gets the same exact rows as under root,
the run leaves nothing behind, and where isolation cannot be had it refuses instead of
giving everyone zeros. See tests/nonroot.py for how the user and its environment are made."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import nonroot
import pytest
import test_grade_corpus
import test_grade_hostile_sandbox
from nonroot import BATCHES, QS

from ctlab.grading.snapshot import load_snapshot

pytestmark = pytest.mark.slow

SMALL = ("passes_all_reveal.ipynb", "wrong_answers_plain.ipynb", "no_answers.ipynb")


@pytest.fixture(scope="module")
def run(request):
    account = nonroot.grader_account()
    if isinstance(account, str):
        pytest.fail(f"cannot grade as a normal user: {account}")
    python = nonroot.system_python()
    if python is None:
        pytest.fail(f"no Python >= 3.11 that any user can run among {nonroot.SYSTEM_PYTHONS} (run `make sysdeps`)")
    timings = nonroot.Timings()
    with nonroot.prepared_run(account, python, timings) as r:
        yield r
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(f"non-root grading as {account.name}: {timings.describe()}")


@pytest.fixture(scope="module")
def graded(run):
    """Every batch graded once as the account, with what it left behind."""
    acct = run.account
    before = {"procs": nonroot.processes_of(acct), "files": nonroot.files_of(acct, skip=(run.dir,)),
              "ipc": nonroot.ipc_of(acct)}
    connections: list[bytes] = []
    stop = threading.Event()
    listener, t, port = test_grade_corpus.listen(connections, stop)
    test_grade_corpus.tell_port(run.root / BATCHES["corpus"].folder / test_grade_corpus.LOOPBACK, port)
    copy_before = nonroot.tree_hashes(run.root)
    results = {}
    try:
        for key, batch in BATCHES.items():
            out = run.work / f"out-{key}"
            t0 = time.monotonic()
            r = run.ctlab("grade", *batch.paths(), "-o", str(out), "--root", str(run.root), *batch.args())
            run.timings.grade_s[key] = time.monotonic() - t0
            rows = nonroot.gradebook_rows(out, batch.folder) if (out / "gradebook.csv").is_file() else {}
            results[key] = {"proc": r, "out": out, "rows": rows}
    finally:
        stop.set()
        t.join()
        listener.close()
    # A sandbox's processes die with it, but the kernel tears a namespace down after its first process
    # has gone: on a busy machine one may still be exiting for a moment. A detached child that got
    # out would still be here after ten seconds.
    deadline = time.monotonic() + 10
    while nonroot.processes_of(acct) - before["procs"] and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {"procs": nonroot.processes_of(acct) - before["procs"],
            "files": nonroot.files_of(acct, skip=(run.dir,)) - before["files"],
            "ipc": nonroot.ipc_of(acct) - before["ipc"]}
    nonroot.kill_processes_of(acct, since=before["procs"])
    return {"batches": results, "connections": connections, "left": left,
            "copy_changed": nonroot.tree_hashes(run.root) != copy_before}


def _cases() -> list[tuple[str, str]]:
    return [(key, name) for key, batch in BATCHES.items() for name in sorted(batch.expected())]


def _row_outcome(row: dict[str, str]) -> tuple[dict[str, float | None], str]:
    return test_grade_corpus.cells(row), row["grading_status"]  # None: a blank cell (q8 while pending)


def _expected_outcome(points: dict, status: str) -> tuple[dict[str, float | None], str]:
    """The row `points` and `status` ask for. A table without q8 (the hostile batches, whose notebooks
    all run) leaves it pending, as a notebook that ran has it."""
    wanted = {"q8": test_grade_corpus.PENDING, **points}
    return {q: None if (v := wanted.get(q, 0)) is None else float(v) for q in QS}, status


def test_every_hostile_folder_is_graded():
    assert nonroot.unregistered_hostile_folders() == [], "add each folder and its expectation table to nonroot.BATCHES"


@pytest.mark.parametrize("key", sorted(BATCHES))
def test_grade_exits_0_with_a_row_for_every_file(graded, key):
    res = graded["batches"][key]
    proc = res["proc"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert set(res["rows"]) == set(BATCHES[key].expected())


@pytest.mark.parametrize("key,name", _cases(), ids=[f"{k}/{n}" for k, n in _cases()])
def test_exact_outcome_as_normal_user(graded, key, name):
    rows = graded["batches"][key]["rows"]
    assert name in rows, f"no row for {name} (exit {graded['batches'][key]['proc'].returncode})"
    row = rows[name]
    points, status = BATCHES[key].expected()[name]
    assert row["grading_status"] == status
    assert _row_outcome(row) == _expected_outcome(points, status)
    assert float(row["total_points_earned"]) == test_grade_corpus.total(points)


@pytest.mark.parametrize("key", sorted(BATCHES))
def test_summary_names_the_sandbox_mode_used(graded, key):
    res = graded["batches"][key]
    modes = nonroot.recorded_modes(res["out"])
    assert len(modes) == 1, modes
    mode = modes.pop()
    assert mode != "none"
    lines = [ln.strip() for ln in res["proc"].stdout.splitlines()]
    assert nonroot.mode_line(mode) in lines or any(ln.startswith(nonroot.mode_line(mode) + " [") for ln in lines), \
        res["proc"].stdout


def test_a_submission_can_change_or_plant_no_file_for_the_next(graded):
    """As a normal user bubblewrap's root is the user's own: it must be read-only, or a file
    planted where the worker imports from would outlive the submission."""
    out = graded["batches"]["corpus"]["out"]
    attempts = json.loads(load_snapshot(out / "snapshots" / "hostile_overwrite_grade_files")["triage_summary"])
    assert set(test_grade_corpus.PLANTED) <= set(attempts)
    assert test_grade_corpus.overwritten(attempts) == []


@pytest.mark.parametrize("key", sorted(BATCHES))
def test_out_is_the_instructors_alone_and_no_csv_holds_a_bidi_control(graded, key):
    out = graded["batches"][key]["out"]
    assert test_grade_hostile_sandbox.open_to_others(out) == []
    assert test_grade_hostile_sandbox.bidi_in_csvs(out) == []


def test_no_connection_reached_the_loopback_listener(graded):
    assert graded["connections"] == []


def test_nothing_left_outside_the_output_folder(graded, run):
    assert graded["left"] == {"procs": set(), "files": set(), "ipc": set()}
    assert not graded["copy_changed"]
    assert sorted(p.name for p in run.work.iterdir()) == sorted(f"out-{k}" for k in BATCHES)
    assert nonroot.unexpected_in_home(run.home) == []
    assert [str(p.relative_to(run.tmp)) for p in run.tmp.rglob("*")] == []


# ------------------------------------------------------------------ when isolation cannot be had


@pytest.fixture(scope="module")
def small_batch(run):
    """Three gradable notebooks (a full, a wrong and an empty one) and a folder for outputs."""
    folder = run.dir / "small"
    folder.mkdir(mode=0o755)
    for name in SMALL:
        shutil.copyfile(nonroot.REPO / BATCHES["corpus"].folder / name, folder / name)
        os.chmod(folder / name, 0o644)
    return folder, run.mkdir_for_account(run.dir / "refusals")


def _refused_or_exact(proc, out: Path, folder: Path) -> str:
    """Either a one-line refusal with a non-zero exit and no gradebook, or the exact rows:
    never a gradebook of zeros that blames the students."""
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ctlab: error: "), proc.stderr[-2000:]
        assert not (out / "gradebook.csv").exists()
        return "refused"
    assert "none" not in nonroot.recorded_modes(out)  # never unisolated unless asked
    rows = nonroot.gradebook_rows(out, str(folder))
    expected = BATCHES["corpus"].expected()
    assert {n: _row_outcome(r) for n, r in rows.items()} == {n: _expected_outcome(*expected[n]) for n in SMALL}
    return "graded"


def _calls(calls: Path) -> int:
    return len(list(calls.glob("call.*")))


def test_refuses_when_the_forced_bwrap_cannot_run(run, small_batch):
    env, calls = run.fake_bwrap(real_first=False)
    env.update(nonroot.FORCE_BWRAP)
    folder, outs = small_batch
    out = outs / "forced-bwrap-broken"
    proc = run.ctlab("grade", str(folder), "-o", str(out), "--root", str(run.root), "--jobs", "2",
                     "--timeout", "20", env=env)
    assert _calls(calls) >= 1, "the fake bwrap was never run: re-point nonroot.Run.fake_bwrap"
    assert proc.returncode != 0, proc.stdout
    assert _refused_or_exact(proc, out, folder) == "refused"


def test_broken_bwrap_gives_a_refusal_or_the_right_grades(run, small_batch):
    env, calls = run.fake_bwrap(real_first=False)
    folder, outs = small_batch
    out = outs / "auto-bwrap-broken"
    proc = run.ctlab("grade", str(folder), "-o", str(out), "--root", str(run.root), "--jobs", "2",
                     "--timeout", "20", env=env)
    assert _calls(calls) >= 1, "the fake bwrap was never run: re-point nonroot.Run.fake_bwrap"
    _refused_or_exact(proc, out, folder)


def test_bwrap_failing_after_the_probe_gives_a_refusal_or_the_right_grades(run, small_batch):
    env, calls = run.fake_bwrap(real_first=True)
    folder, outs = small_batch
    out = outs / "bwrap-fails-after-probe"
    proc = run.ctlab("grade", str(folder), "-o", str(out), "--root", str(run.root), "--jobs", "2",
                     "--timeout", "20", env=env)
    assert _calls(calls) >= 2, "grading never ran bwrap after the probe: re-point nonroot.Run.fake_bwrap"
    _refused_or_exact(proc, out, folder)
