"""The job process: one per submission, forked from the zygote. It prepares the submission's
world (namespaces and private tmpfs, or host folders in the fallback mode), forks the
submission process, stops it at its limits, copies out what the trusted side may read, and
returns the typed reply. Only this process ever touches the submission's bytes."""

from __future__ import annotations

import json
import os
import select
import signal
import time
from typing import Any

from ctlab.grading.worker import files, isolation
from ctlab.grading.worker.submission import run_submission


def _keep_under_tmp(paths: list[str]) -> list[tuple[str, int]]:
    """O_PATH handles on the Python environment's folders under /tmp (a checkout there), to
    bind them again over the submission's fresh /tmp."""
    return [(p, os.open(p, isolation.O_PATH | os.O_DIRECTORY)) for p in paths if os.path.isdir(p)]


def _read_cells(job: dict[str, Any]) -> list[str]:
    with open(os.path.join(job["inbox"], "cells.json")) as f:
        cells: list[str] = json.load(f)
    return cells


def _enter_sandbox(job: dict[str, Any], sizes: dict[str, int]) -> tuple[list[str], int]:
    """Bubblewrap mode, in the job process: become the sandbox user, enter new namespaces and
    give the submission fresh, size-capped tmpfs; hide the inbox and outbox. Returns the
    cells and an fd on the outbox, which only this process keeps."""
    if os.geteuid() == 0 and job.get("uid") is not None:
        isolation.become(int(job["uid"]))
    cells = _read_cells(job)
    isolation.enter_namespaces()
    kept = _keep_under_tmp(job.get("python_under_tmp", []))  # handles on this mount namespace's mounts
    # bubblewrap's /dev is a tmpfs that lives as long as the worker, uncapped, and (as a normal
    # user) the submission's own: read-only here, so nothing outlives the submission in it.
    isolation.read_only("/dev")
    isolation.tmpfs("/tmp", sizes["tmp"], "1777")
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        isolation.mount(f"/proc/self/fd/{fd}", path, None, isolation.MS_BIND | isolation.MS_REC)
        os.close(fd)
    if os.path.isdir("/dev/shm"):
        isolation.tmpfs("/dev/shm", sizes["shm"], "1777", inodes=1024)
    isolation.tmpfs("/job", sizes["job"])
    isolation.tmpfs("/out", sizes["out"])
    for d in (job["work"], job["stage"]):
        os.mkdir(d, 0o700)
    data = os.path.join(job["inbox"], "data")
    if os.path.isdir(data):
        files.copy_data(data, os.path.join(job["work"], "data"), job["inbox"])
    outbox = os.open(job["out"], os.O_RDONLY | os.O_DIRECTORY)
    isolation.hide(job["out"])
    isolation.hide(job["inbox"])
    return cells, outbox


def run_job(job: dict[str, Any], seccomp: Any) -> dict[str, Any]:
    """Everything one submission needs, in a process of its own. Returns the typed reply."""
    t0 = time.monotonic()
    namespaced = job["mode"] == "bwrap"
    sizes, _ = isolation.budget(job["memory_mb"])
    reply: dict[str, Any] = {"id": job["id"], "timed_out": False, "output_limit": False, "wall": 0.0,
                             "exit_code": None, "signal": None, "snapshot": 0}
    try:
        if namespaced:
            cells, outbox = _enter_sandbox(job, sizes)
        else:
            left = files.wipe(job)
            if left:
                raise files.PrepareError("the sandbox is not clean: " + "; ".join(left))
            cells = _read_cells(job)
            files.prepare(job)
            outbox = os.open(job["out"], os.O_RDONLY | os.O_DIRECTORY)
    except Exception as exc:  # noqa: BLE001 - the grader's failure, not the submission's
        reply["prepare_error"] = (str(exc) if isinstance(exc, files.PrepareError)
                                  else f"{type(exc).__name__}: {exc}")[:300]
        if not namespaced:
            reply["restart"] = bool(files.wipe(job))
        return reply
    ready_r, ready_w = os.pipe()
    life_r, life_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(life_w)
        os.close(outbox)
        run_submission(job, cells, ready_w, life_r, seccomp)
    os.close(ready_w)
    os.close(life_r)
    del cells
    status, timed_out, over_output = _watch(job, pid, t0, sizes)
    reply.update(timed_out=timed_out, output_limit=over_output, wall=time.monotonic() - t0)
    os.set_blocking(ready_r, False)
    try:
        ready = os.read(ready_r, 400)
    except OSError:
        ready = b""
    os.close(ready_r)
    os.close(life_w)
    problems = []
    if not namespaced:
        uid = job.get("uid")
        if uid is not None:
            if not _kill_sandbox_user(uid):
                problems.append("processes of the sandbox user survived")
        else:
            _kill_descendants()
    reap()
    if ready[:1] == b"R":
        reply["snapshot"] = files.export_snapshot(job["stage"], outbox, int(job.get("ncells") or 0))
        files.export_progress(job["stage"], outbox)
    else:
        why = ready[1:].decode(errors="replace") if ready[:1] == b"E" else ""
        code = os.waitstatus_to_exitcode(status)
        reply["prepare_error"] = why or ("its process ended before running any cell ("
                                         + (f"exit code {code}" if code >= 0 else f"signal {-code}") + ")")
    os.close(outbox)
    if not namespaced:
        problems += files.wipe(job)
    if problems:
        reply["restart"] = True
    if os.WIFEXITED(status):
        reply["exit_code"] = os.WEXITSTATUS(status)
    elif os.WIFSIGNALED(status):
        reply["signal"] = os.WTERMSIG(status)
    return reply


def _watch(job: dict[str, Any], pid: int, t0: float, sizes: dict[str, int]) -> tuple[int, bool, bool]:
    """Wait for the submission process, stopping it at the deadline or when its staging area
    is full. Returns (wait status, timed out, over the output limit)."""
    deadline = t0 + float(job["timeout"])
    stage = job["stage"]
    if job["mode"] == "bwrap":
        where, tmpfs_bytes, cap, work_cap = os.path.dirname(stage), sizes["out"], sizes["out"], 0
    else:  # host folders: measured by walking them, the working copy included
        where, tmpfs_bytes, cap, work_cap = stage, 0, sizes["out"], sizes["job"]
    pidfd = os.pidfd_open(pid)
    status = None
    timed_out = over_output = False
    try:
        while status is None:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            select.select([pidfd], [], [], min(left, 0.05))
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status = st
            elif cap and files.usage(where, tmpfs_bytes) >= cap - (1 << 20):
                over_output = True
                break
            elif work_cap and files.usage(job["work"], 0) >= work_cap:  # no tmpfs bounds the working copy
                over_output = True
                break
        if status is None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            _, status = os.waitpid(pid, 0)
    finally:
        os.close(pidfd)
    return status, timed_out, over_output


def _kill_sandbox_user(uid: int) -> bool:
    """Kill every process of the sandbox user (detached ones too); True when none is left."""
    pid = os.fork()
    if pid == 0:
        try:
            isolation.become(uid)
            me = os.getpid()
            for _ in range(2000):
                try:
                    os.kill(-1, signal.SIGKILL)  # as this uid: all its processes but this one
                except (ProcessLookupError, PermissionError):
                    pass
                if not _live_pids_of(uid, exclude=me):
                    os._exit(0)
                time.sleep(0.001)
            os._exit(1)
        except BaseException:
            os._exit(1)
    _, st = os.waitpid(pid, 0)
    return os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0 and not _live_pids_of(uid, exclude=-1)


def _live_pids_of(uid: int, exclude: int) -> list[int]:
    """Pids of non-zombie processes owned by `uid` (visible in this pid namespace)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == exclude:
            continue
        try:
            if os.stat(f"/proc/{d}").st_uid != uid:
                continue
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            found.append(int(d))
    return found


def _descendants() -> list[int]:
    me = os.getpid()
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parts = f.read().rsplit(")", 1)[1].split()
                kids.setdefault(int(parts[1]), []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [me]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _kill_descendants() -> None:
    for _ in range(100):
        pids = _descendants()
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        reap()
        time.sleep(0.002)


def reap() -> None:
    """Collect every child of this process that has exited, without waiting."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
