"""The grading engine on a small fixture autograder: sandbox modes, isolation, cache, manual scores, errors."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from reveal_answers import REVEAL

from ctlab.errors import CtlabError
from ctlab.grading import batch, inputs, snapshot
from ctlab.grading.batch import grade
from ctlab.grading.execute import describe
from ctlab.grading.sandbox import FALLBACK_UID_BASE

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "grading"

# The help notebook's reveal answers to parts 1-7, one cell each after the setup cell.
GOOD = ["import pandas as pd"] + [REVEAL[q] for q in ("q1", "q2", "q3", "q4", "q5", "q6", "q7")]
FULL = {"q1": 1.0, "q2": 2.0, "q3": 2.0, "q4": 2.0, "q5": 2.0, "q6": 1.0, "q7": 3.0}

PROBE = r'''
import json, os, signal
facts = {"uid": os.getuid(), "gid": os.getgid()}
status = open("/proc/self/status").read()
facts["capeff"] = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0]
facts["nonewprivs"] = [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")][0]
facts["visible"] = {p: os.path.exists(p) for p in PATHS}
readable = {}
for p in PATHS:
    try:
        os.listdir(p) if os.path.isdir(p) else open(p).read(1)
        readable[p] = True
    except Exception:
        readable[p] = False
facts["readable"] = readable
kills = {}
for d in os.listdir("/proc"):
    if d.isdigit() and int(d) != os.getpid():
        try:
            os.kill(int(d), signal.SIGKILL)
            kills[d] = "killed"
        except Exception as e:
            kills[d] = type(e).__name__
facts["kills"] = kills
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
ring = libc.syscall(425, 8, ctypes.create_string_buffer(120))  # io_uring_setup, the socket-less route out
facts["io_uring"] = "opened" if ring >= 0 else errno.errorcode[ctypes.get_errno()]
facts["seccomp"] = [l.split()[1] for l in status.splitlines() if l.startswith("Seccomp:")][0]
try:
    import socket
    socket.create_connection(("1.1.1.1", 53), timeout=1)
    facts["net"] = "open"
except Exception as e:
    facts["net"] = type(e).__name__
triage_summary = json.dumps(facts)
'''


def write_nb(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("root")
    shutil.copytree(FIXTURE / "autograder", r / "autograder")
    shutil.copytree(FIXTURE / "assignment", r / "assignment")
    (r / "solutions").mkdir()
    (r / "solutions" / "secret.txt").write_text("reference\n")
    return r


def run(subs, out, root, **kw):
    args = dict(submissions=subs, out=out, root=root, jobs=2, timeout=15, memory_mb=1024, no_sandbox=False,
                force=False, manual=None, progress=False)
    args.update(kw)
    return grade(**args)


def rows_of(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return {Path(r["file"]).name: r for r in csv.DictReader(f)}


def points(row) -> dict[str, float]:
    return {q: float(row[q] or 0) for q in FULL}


def probe_cells(paths: list[str]) -> list[str]:
    return GOOD + [f"PATHS = {paths!r}\n" + PROBE]


# ------------------------------------------------------------------ sandbox modes

@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bwrap", "user"])
def test_sandbox_isolation_and_credit(tmp_path, root, mode):
    out = tmp_path / "out"
    subs = tmp_path / "subs"
    other = write_nb(subs / "other.ipynb", GOOD)
    secret_paths = [str(root / "autograder"), str(root / "solutions" / "secret.txt"), str(out), str(out / "results"),
                    str(other), str(root / "assignment" / "data" / "cloud_iam.csv")]
    if mode == "bwrap":
        repo = Path(__file__).resolve().parents[1]  # the real repository: none of it is visible
        secret_paths += [str(repo / "autograder"), str(repo / "solutions"), str(repo / "data" / "ground_truth.json"),
                         str(repo / "tests"), str(repo / "src"), "/root/.ssh", "/home"]
    write_nb(subs / "probe.ipynb", probe_cells(secret_paths))
    write_nb(subs / "after.ipynb", GOOD)  # graded after the probe tried to kill everything it saw
    # No new processes under the syscall policy: the fork fails, and the loop is stopped at the deadline.
    write_nb(subs / "loop.ipynb", GOOD + ["import os, time\ntry:\n    forked = os.fork()\nexcept PermissionError:\n"
                                          "    forked = 'denied'\nwhile True: pass"])
    summary = run([subs], out, root, jobs=1, timeout=8, sandbox=mode)
    rows = rows_of(out)
    assert summary.mode == mode
    for name in ("other.ipynb", "probe.ipynb", "after.ipynb"):
        assert points(rows[name]) == FULL, name
        assert rows[name]["grading_status"] == "ok", name
    assert rows["loop.ipynb"]["grading_status"] == "timed out in cell 9 after 8 s: kept answers up to cell 8"
    assert points(rows["loop.ipynb"]) == FULL
    facts = json.loads(snapshot.load_snapshot(out / "snapshots" / "probe")["triage_summary"])
    assert facts["capeff"] == "0000000000000000"
    assert facts["nonewprivs"] == "1"
    assert facts["net"] == "PermissionError"  # the same network guarantee in both modes: no socket at all
    assert (facts["io_uring"], facts["seccomp"]) == ("EPERM", "2")
    assert "killed" not in facts["kills"].values()
    assert not any(facts["readable"].values()), facts["readable"]
    if mode == "bwrap":
        assert facts["uid"] == 65534
        assert not any(facts["visible"].values()), facts["visible"]
        assert "bubblewrap" in summary.describe()
    else:
        assert facts["uid"] >= FALLBACK_UID_BASE
        assert facts["uid"] not in (0, os.getuid())
        assert "unprivileged-user fallback" in summary.describe()
    # the detached child of loop.ipynb is gone: no process left running as a sandbox uid
    # (other grading runs on this machine may have their own children as that uid: count ours,
    # i.e. those descending from this process, and orphans adopted by init)
    leftovers = [d for d in os.listdir("/proc") if d.isdigit() and _uid_of(d) == facts["uid"]
                 and (_descends_from(int(d), os.getpid()) or _ppid(int(d)) == 1)]
    assert leftovers == []


def _uid_of(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        pid = _ppid(pid)
        if pid == ancestor:
            return True
    return False


@pytest.mark.slow
def test_no_sandbox_says_so(tmp_path, root):
    sub = write_nb(tmp_path / "a.ipynb", GOOD)
    summary = run([sub], tmp_path / "out", root, no_sandbox=True)
    assert summary.mode == "none"
    assert "NONE (--no-sandbox)" in summary.describe()
    assert points(rows_of(tmp_path / "out")["a.ipynb"]) == FULL


# ------------------------------------------------------------------ cache, force, manual

@pytest.mark.slow
def test_cache_force_and_autograder_change(tmp_path, root):
    subs = tmp_path / "subs"
    write_nb(subs / "a.ipynb", GOOD)
    write_nb(subs / "b.ipynb", GOOD[:2])
    out = tmp_path / "out"
    first = run([subs], out, root)
    assert (first.graded, first.cached) == (2, 0)
    assert "probe (can the sandbox isolate?)" in first.timings.names()
    second = run([subs], out, root)
    assert (second.graded, second.cached) == (0, 2)
    # Nothing to run: no probe, no worker, no test process, and the kept notebooks are not parsed.
    assert not {"probe (can the sandbox isolate?)", "worker start", "test process start"} & set(second.timings.names())
    assert (second.mode, second.mode_note) == ("bwrap", "nothing to run: the mode the kept results were graded in")
    assert rows_of(out) == {k: v for k, v in rows_of(out).items()}
    assert points(rows_of(out)["a.ipynb"]) == FULL
    write_nb(subs / "b.ipynb", GOOD)  # changed submission: re-graded alone
    third = run([subs], out, root)
    assert (third.graded, third.cached) == (1, 1)
    assert points(rows_of(out)["b.ipynb"]) == FULL
    forced = run([subs], out, root, force=True)
    assert (forced.graded, forced.cached) == (2, 0)
    root2 = tmp_path / "root2"
    shutil.copytree(root, root2)
    (root2 / "autograder" / "tests" / "q7.py").write_text(
        (root / "autograder" / "tests" / "q7.py").read_text().replace('"T1530"}', '"T1530", "T1087"}'))
    changed = run([subs], out, root2)  # only a test changed: the kept snapshots are tested again
    assert (changed.graded, changed.cached, changed.retested) == (0, 0, 2)
    assert float(rows_of(out)["a.ipynb"]["q7"]) == 0.0
    assert points(rows_of(out)["b.ipynb"]) == {**FULL, "q7": 0.0}
    record = json.loads((out / "results" / "a.json").read_text())
    assert record["retested"] is True and record["status"] == "ok" and record["cells_run"] == len(GOOD)
    assert run([subs], out, root2).cached == 2  # and the re-tested results are cached in turn
    root3 = tmp_path / "root3"
    shutil.copytree(root2, root3)
    data = next((root3 / "assignment" / "data").glob("*.csv"))
    data.write_text(data.read_text() + "\n")  # the data changed: notebooks must run again
    rerun = run([subs], out, root3)
    assert (rerun.graded, rerun.cached, rerun.retested) == (2, 0, 0)


@pytest.mark.slow
def test_timings_name_every_phase_of_one_submission(tmp_path, root, capsys):
    """`ctlab grade --timings` prints each phase once it ran, in the order they started, then the total."""
    from ctlab.cli import main

    write_nb(tmp_path / "subs" / "a.ipynb", GOOD)
    assert main(["grade", str(tmp_path / "subs"), "-o", str(tmp_path / "out"), "--root", str(root), "--jobs", "1",
                 "--timings"]) == 0
    printed = capsys.readouterr().out
    lines = printed[printed.index("timings (wall seconds"):].splitlines()[1:]
    names = [re.split(r"\s{2,}", line.strip())[0] for line in lines]
    for phase in ("python start, ctlab imports", "probe (can the sandbox isolate?)", "read submissions",
                  "worker start", "worker: preload", "test process start", "test process: imports",
                  "phase 1 (sandboxed run)", "phase 2 (tests)", "gradebook", "feedback", "report: charts, html, md",
                  "total"):
        assert phase in names, phase
    assert names.index("probe (can the sandbox isolate?)") < names.index("phase 1 (sandboxed run)") \
        < names.index("phase 2 (tests)") < names.index("gradebook") < names.index("feedback")
    assert names[-1] == "total"


@pytest.mark.slow
def test_manual_scores_are_merged(tmp_path, root):
    sub = write_nb(tmp_path / "subs" / "a.ipynb", GOOD)
    write_nb(tmp_path / "subs" / "b.ipynb", GOOD)
    manual = tmp_path / "manual.csv"
    manual.write_text("file,q8\na.ipynb,2.5\n")
    run([sub.parent], tmp_path / "out", root, manual=manual)
    rows = rows_of(tmp_path / "out")
    assert float(rows["a.ipynb"]["q8"]) == 2.5
    assert float(rows["a.ipynb"]["total_points_earned"]) == sum(FULL.values()) + 2.5
    assert rows["b.ipynb"]["q8"] == ""  # pending: no hand score yet, not a 0
    # q8's 3 points count as possible only where a hand score was merged
    full = sum(FULL.values())
    assert float(rows["a.ipynb"]["percent_correct"]) == pytest.approx((full + 2.5) / (full + 3), abs=1e-4)
    assert float(rows["b.ipynb"]["percent_correct"]) == 1.0
    run([sub.parent], tmp_path / "out", root, force=True)  # a re-grade without the CSV keeps them
    assert float(rows_of(tmp_path / "out")["a.ipynb"]["q8"]) == 2.5
    manual.write_text("file,q8\nb.ipynb,1\n")  # a later CSV adds to them
    run([sub.parent], tmp_path / "out", root, manual=manual)
    rows = rows_of(tmp_path / "out")
    assert (float(rows["a.ipynb"]["q8"]), float(rows["b.ipynb"]["q8"])) == (2.5, 1.0)
    manual.write_text("student,q8\n")
    with pytest.raises(CtlabError, match="manual.csv: needs a 'file' column"):
        run([sub.parent], tmp_path / "out", root, manual=manual)


# ------------------------------------------------------------------ errors and atomicity

def test_missing_autograder_is_an_error_that_says_why(tmp_path):
    sub = write_nb(tmp_path / "a.ipynb", GOOD)
    with pytest.raises(CtlabError, match=r"autograder/tests: no autograder tests here"):
        run([sub], tmp_path / "out", tmp_path)


def test_missing_submission_is_an_error(tmp_path, root):
    with pytest.raises(CtlabError, match="nope.ipynb: no such file or folder"):
        run([tmp_path / "nope.ipynb"], tmp_path / "out", root)


def test_a_crash_leaves_the_old_gradebook_whole(tmp_path, root, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("file,q1\nold.ipynb,1\n")
    sub = write_nb(tmp_path / "a.ipynb", GOOD)

    def boom(*a, **k):
        raise RuntimeError("grader crashed")

    monkeypatch.setattr(batch, "_run_pool", boom)
    monkeypatch.setattr(batch, "choose_mode", lambda *a: ("none", ""))
    with pytest.raises(RuntimeError):
        run([sub], out, root)
    assert (out / "gradebook.csv").read_text() == "file,q1\nold.ipynb,1\n"
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


# ------------------------------------------------------------------ units

def test_duplicate_names_each_get_their_own_id(tmp_path):
    a = write_nb(tmp_path / "x" / "s.ipynb", GOOD)
    b = write_nb(tmp_path / "y" / "s.ipynb", GOOD)
    subs = inputs.discover([tmp_path])
    assert sorted(s.name for s in subs) == sorted(inputs.hashed_id(str(p)) for p in (a, b))
    assert all(s.name.startswith("s-") and s.status is None for s in subs)
    assert {str(a), str(b)} == {s.file for s in subs}


@pytest.mark.parametrize("raw,status", [
    (b"", "invalid notebook: empty file"),
    (b"{nope", "invalid notebook: not JSON"),
    (b"[1, 2]", "invalid notebook: JSON but not a notebook"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "invalid notebook: does not match the notebook format"),
])
def test_bad_notebooks(tmp_path, raw, status):
    p = tmp_path / "n.ipynb"
    p.write_bytes(raw)
    sub = inputs.discover([p])[0]
    inputs.load(sub)
    assert sub.status.startswith(status)


def test_snapshot_round_trip_without_pickle(tmp_path):
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"event_id": ["a", "b"], "t": pd.to_datetime(["2026-02-28T01:57:41Z", None], utc=True)},
                      index=[5, 7])
    ns = {"df": df, "s": df["event_id"], "lst": ["T1078"], "tup": ("a", 1), "st": {"x"}, "arr": np.array([1, 2]),
          "num": np.float64(10.5), "ts": pd.Timestamp("2026-02-28", tz="UTC"), "fn": len, "nan": float("nan")}
    snapshot.write_snapshot(ns, list(ns) + ["absent"], tmp_path / "snap", 3)
    assert not list(tmp_path.glob("**/*.pkl")) and not list(tmp_path.glob("**/*.pickle"))
    values, problems = snapshot.load_snapshot_with_problems(tmp_path / "snap")
    pd.testing.assert_frame_equal(values["df"], df)
    pd.testing.assert_series_equal(values["s"], df["event_id"])
    assert values["lst"] == ["T1078"] and values["tup"] == ("a", 1) and values["st"] == {"x"}
    assert list(values["arr"]) == [1, 2] and values["num"] == 10.5 and values["ts"] == ns["ts"]
    assert values["nan"] != values["nan"]
    assert "fn" not in values and "cannot be saved" in problems["fn"]
    assert "absent" not in values and "absent" not in problems


def test_forged_snapshot_cannot_escape_its_folder(tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    (tmp_path / "secret.json").write_text('"secret"')
    (snap / "manifest.json").write_text(json.dumps({"variables": {"x": {"kind": "json", "file": "../secret.json"}}}))
    values, problems = snapshot.load_snapshot_with_problems(snap)
    assert values == {} and "bad file name" in problems["x"]


def test_status_words():
    assert describe({"timed_out": True}, {"started": 14}, 120, 13) == \
        "timed out in cell 14 after 120 s: kept answers up to cell 13"
    assert describe({"exit_code": 0}, {"started": 9, "events": [{"cell": 9, "kind": "MemoryError"}]}, 120, 8) == \
        "memory limit exceeded in cell 9: kept answers up to cell 8"
    assert describe({"exit_code": 1}, {"started": 5}, 120, 4) == \
        "kernel exited (os._exit(1)) in cell 5: kept answers up to cell 4"
    assert describe({"signal": 11}, {"started": 2}, 120, 0) == "kernel killed by SIGSEGV in cell 2: kept no answers"
    assert describe({"exit_code": 0}, {"started": 3, "done": True}, 120, 3) == "ok"
    assert describe({"output_limit": True, "signal": 9}, {"started": 7}, 120, 6) == \
        "output limit exceeded in cell 7: kept answers up to cell 6"
    assert describe({"prepare_error": "OSError: [Errno 28] No space left on device", "exit_code": 70}, None, 120, 0) == \
        "grading worker could not prepare the submission: OSError: [Errno 28] No space left on device"


def test_python_stays_visible_when_the_checkout_lives_under_tmp(tmp_path, monkeypatch):
    """CI clones into a temporary folder: the sandbox's private /tmp must not hide the venv."""
    from ctlab.grading import sandbox

    monkeypatch.setattr(sandbox, "_python_dirs", lambda: ["/tmp/ci-clone/.venv", "/opt/python"])
    cmd = sandbox.bwrap_command(tmp_path / "inbox", tmp_path / "outbox")
    tmpfs_tmp = max(i for i in range(1, len(cmd)) if cmd[i - 1] == "--tmpfs" and cmd[i] == "/tmp")
    venv_bind = max(i for i in range(2, len(cmd)) if cmd[i - 2] == "--ro-bind" and cmd[i] == "/tmp/ci-clone/.venv")
    assert venv_bind > tmpfs_tmp


def test_sandbox_layout_keeps_submission_writes_off_the_host(tmp_path):
    """The zygote gets a small /tmp of its own and mount points for each submission's private
    /job and /out; as root it keeps only what switching and stopping job processes needs
    (CAP_SYS_ADMIN only until it has mounted its /proc); the outbox belongs to the uid the
    job processes run as."""
    from ctlab.grading import sandbox

    cmd = sandbox.bwrap_command(tmp_path / "inbox", tmp_path / "outbox")
    i = next(i for i in range(len(cmd)) if cmd[i] == "--tmpfs" and cmd[i + 1] == "/tmp")
    assert dict(zip(cmd[i - 4:i:2], cmd[i - 3:i:2], strict=True)) == {"--size": str(sandbox.ZYGOTE_TMP_BYTES), "--perms": "1777"}
    assert not any(cmd[i] == "--tmpfs" and cmd[i + 1] in ("/job", "/out") for i in range(len(cmd) - 1))
    assert all(any(cmd[i:i + 2] == ["--dir", d] for i in range(len(cmd) - 1)) for d in ("/job", "/out"))
    caps = {cmd[i + 1] for i in range(len(cmd) - 1) if cmd[i] == "--cap-add"}
    if os.geteuid() == 0:
        assert caps == {"CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_SYS_ADMIN"} and "--unshare-user" not in cmd
    else:
        assert caps == set() and "--unshare-user" in cmd
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n")
    (tmp_path / "run").mkdir()
    w = sandbox.Worker(0, "bwrap", tmp_path / "run", data)
    st = w.outbox.stat()
    owner = sandbox.SANDBOX_UID if os.geteuid() == 0 else os.geteuid()
    assert (st.st_uid, st.st_mode & 0o777) == (owner, 0o700)


def test_snapshot_copy_takes_only_named_regular_files_within_the_cap(tmp_path, monkeypatch):
    from ctlab.grading import execute

    src = tmp_path / "snap-00003"
    src.mkdir()
    (tmp_path / "secret.json").write_text('"secret"')
    (src / "v0.json").write_text('["T1078"]')
    (src / "v1.json").symlink_to(tmp_path / "secret.json")
    (src / "v2.json").write_text('"' + "x" * 5000 + '"')
    (src / "extra.bin").write_bytes(b"x" * 100)
    (src / "manifest.json").write_text(json.dumps({"format": 1, "cell": 3, "variables": {
        "a": {"kind": "json", "file": "v0.json"}, "b": {"kind": "json", "file": "v1.json"},
        "c": {"kind": "json", "file": "v2.json"}, "d": {"kind": "json", "file": "../secret.json"}}}))
    monkeypatch.setattr(execute, "SNAPSHOT_COPY_CAP", 2000)
    execute._copy_snapshot(src, tmp_path / "kept")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["manifest.json", "v0.json"]
    values, problems = snapshot.load_snapshot_with_problems(tmp_path / "kept")
    assert values == {"a": ["T1078"]} and set(problems) == {"b", "c", "d"}


@pytest.mark.slow
def test_preparation_failure_is_the_graders_and_retried_on_a_fresh_worker(tmp_path, root):
    """A working copy the zygote cannot make is reported as the grader's failure (after one
    retry on a fresh zygote), not as the submission's; once the cause is gone, grading goes on."""
    from ctlab.grading import sandbox

    (tmp_path / "run").mkdir()
    w = sandbox.Worker(0, "bwrap", tmp_path / "run", root / "assignment" / "data")
    w.start()
    try:
        first = w.proc.pid
        fifo = w.inbox / "data" / "pipe"
        os.mkfifo(fifo)  # copying a named pipe fails
        job = w.run(["x = 1"], ["x"], 10, 1024)
        assert job.reply["prepare_error"] == "cannot copy data/pipe into the working copy: `/inbox/data/pipe` is a named pipe"
        assert w._counter == 2 and w.proc is not None and w.proc.pid != first  # retried on a new zygote
        assert describe(job.reply, None, 10, 0) == (
            "grading worker could not prepare the submission: "
            "cannot copy data/pipe into the working copy: `/inbox/data/pipe` is a named pipe")
        fifo.unlink()
        job = w.run(["import os\nx = sorted(os.listdir('data'))"], ["x"], 10, 1024)
        assert job.reply.get("exit_code") == 0 and not job.reply.get("prepare_error")
        assert json.loads((job.outbox / "progress.json").read_text())["done"] is True
    finally:
        w.stop()


def test_python_under_tmp_is_bound_again_over_each_submissions_fresh_tmp(tmp_path, monkeypatch):
    """A checkout under /tmp puts its .venv inside /tmp: each submission's private /tmp gets
    those folders bound again (read-only), and nothing else of the zygote's /tmp."""
    from ctlab.grading import sandbox

    monkeypatch.setattr(sandbox, "_python_dirs", lambda: ["/tmp/ci-clone/.venv", "/usr", "/opt/python"])
    assert sandbox.python_dirs_under_tmp() == ["/tmp/ci-clone/.venv"]
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "run").mkdir()
    w = sandbox.Worker(0, "bwrap", tmp_path / "run", data)
    assert w._paths()["python_under_tmp"] == ["/tmp/ci-clone/.venv"]


@pytest.mark.slow
def test_a_grader_failing_for_most_submissions_stops_the_batch(tmp_path, root, monkeypatch):
    """When the grader itself fails the same way for most submissions, the batch stops with that
    error instead of writing a gradebook of zeros that reads as the students' fault."""
    from ctlab.errors import CtlabError
    from ctlab.grading import sandbox

    subs = tmp_path / "subs"
    for i in range(3):
        write_nb(subs / f"s{i}.ipynb", GOOD)
    real_paths = sandbox.Worker._paths

    def broken_inbox(self):  # after the start-up probe, job processes find no inbox: the grader's fault
        return real_paths(self) if self.probe else {**real_paths(self), "inbox": "/nonexistent-inbox"}

    monkeypatch.setattr(sandbox.Worker, "_paths", broken_inbox)
    out = tmp_path / "out"
    with pytest.raises(CtlabError) as err:
        run([subs], out, root, jobs=1, sandbox="bwrap")
    msg = str(err.value)
    assert msg.startswith("grading stopped: 3 of 3 submissions hit the same failure of the grader itself")
    assert "could not prepare the submission: FileNotFoundError" in msg and "\n" not in msg
    assert not (out / "gradebook.csv").exists()


def test_progress_record_is_read_as_typed_data():
    """Submission code can rewrite its progress record: only integers, booleans and the fixed
    event kinds are taken from it, so no text of its own reaches a status."""
    from ctlab.grading.execute import Progress, parse_progress

    text = "## Instructor note\n<img src=x onerror=alert(1)> [regrade](javascript:alert(1))"
    forged = {"started": text, "completed": 10**9, "done": "yes", "output_dropped": -5, "snapshot": 3,
              "events": [{"cell": text, "kind": "MemoryError"}, {"cell": 4, "kind": text}, {"cell": True, "kind": "SystemExit"},
                         {"cell": 6, "kind": "SystemExit"}, "junk"],
              "errors": [{"cell": 2, "error": text}, {"cell": "2", "error": "x"}, {"cell": 3, "error": 7}]}
    p = parse_progress(forged)
    assert p == Progress(started=0, completed=0, done=False, output_dropped=0, events=((6, "SystemExit"),),
                         errors=((2, text),))
    assert parse_progress([1, 2]) is None and parse_progress("x") is None
    status = describe({"exit_code": 0}, forged, 120, 3)
    assert status == "kernel exited (os._exit(0)) in cell 1: kept answers up to cell 3"
    assert describe({"exit_code": 0}, {"started": 5, "done": True, "output_dropped": text}, 120, 5) == "ok"
