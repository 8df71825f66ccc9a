"""The worker process of the grading sandbox (runs as a script, imports nothing from ctlab).

Started once per worker, it imports pandas, numpy, matplotlib and pyarrow, then reads
one JSON job per line on stdin. For each job it forks a child that drops to the
sandbox user, applies the limits and runs the submission's code cells in one
namespace, snapshotting the answer variables after every cell. The zygote itself
never runs submission code. When the child ends (or the wall clock runs out) every
process of the sandbox user is killed, the working copy is wiped, and one JSON
reply line goes back on stdout.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import builtins  # noqa: E402
import io  # noqa: E402
import shutil  # noqa: E402
import resource  # noqa: E402
import traceback  # noqa: E402

# What students commonly use, loaded once here so each submission pays only for its code.
import numpy  # noqa: E402,F401
import pandas  # noqa: E402,F401
import pyarrow  # noqa: E402,F401
import pyarrow.parquet  # noqa: E402,F401
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401
import collections, datetime, itertools, json as _json, math, re, statistics, string, textwrap  # noqa: E401,E402,F401
import csv, functools, glob, hashlib, ipaddress, pathlib, random, subprocess, socket, zipfile  # noqa: E401,E402,F401

try:  # the student notebook imports otter for grader.check; preload it if present
    import otter  # noqa: F401
except Exception:  # pragma: no cover
    pass

import snapshot as snap  # noqa: E402  (ctlab/grading/snapshot.py, beside this file)


def _warm_up():
    """Load what saving a snapshot imports lazily, so the sandbox user never needs the disk for it."""
    import tempfile

    frame = pandas.DataFrame({"a": [1, 2], "b": ["x", None],
                              "t": pandas.to_datetime(["2024-01-01", None], utc=True)})
    with tempfile.TemporaryDirectory() as d:
        snap.write_snapshot({"f": frame, "s": frame["a"], "l": [1, (2,), {3}]}, ["f", "s", "l"], os.path.join(d, "s"), 0)
        snap.load_snapshot(os.path.join(d, "s"))


_warm_up()

PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
_libc = ctypes.CDLL(None, use_errno=True)

OUTPUT_CAP = 1024 * 1024  # bytes of stdout+stderr kept per submission
FILE_SIZE_CAP = 64 * 1024 * 1024
NPROC_CAP = 256


class CappedWriter(io.TextIOBase):
    """stdout/stderr for submission code: keeps the first OUTPUT_CAP bytes, drops the rest."""

    def __init__(self, raw, state):
        self._raw = raw
        self._state = state

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            s = str(s)
        data = s.encode("utf-8", "replace")
        room = OUTPUT_CAP - self._state["written"]
        if room > 0:
            chunk = data[:room]
            try:
                os.write(self._raw, chunk)
            except OSError:
                pass
            self._state["written"] += len(chunk)
        if len(data) > max(room, 0):
            self._state["dropped"] += len(data) - max(room, 0)
        return len(s)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        return self._raw


def _atomic_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def _display(*objs, **kwargs):
    for o in objs:
        print(repr(o))


def _drop_privileges(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")


def _deny_sockets():
    """seccomp filter: socket(2) fails with EACCES; foreign-ABI syscalls kill the process.

    No network, even in the fallback mode that has no network namespace. socketpair(2)
    (used by multiprocessing) stays available.
    """
    import platform
    import struct

    arch = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}.get(platform.machine())
    if arch is None:
        return False
    audit_arch, nr_socket = arch

    def ins(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)

    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    prog = b"".join([
        ins(ld, 0, 0, 4),  # arch
        ins(jeq, 0, 5, audit_arch),  # foreign ABI -> kill
        ins(ld, 0, 0, 0),  # syscall number
        ins(jge, 2, 0, 0x40000000),  # x32 ABI -> deny
        ins(jeq, 1, 0, nr_socket),
        ins(ret, 0, 0, 0x7FFF0000),  # allow
        ins(ret, 0, 0, 0x00050000 | 13),  # EACCES
        ins(ret, 0, 0, 0x80000000),  # kill process
    ])
    buf = ctypes.create_string_buffer(prog)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog) // 8, ctypes.addressof(buf))
    if _libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
    return True


def _set_limits(job):
    mem = int(job["memory_mb"]) * 1024 * 1024
    # Virtual size already mapped by the preloaded libraries does not count against the budget.
    with open("/proc/self/status") as f:
        vm = next((int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:")), 0)
    resource.setrlimit(resource.RLIMIT_AS, (vm + mem, vm + mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_CAP, FILE_SIZE_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(float(job["timeout"])) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if job.get("uid") is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (NPROC_CAP, NPROC_CAP))


def _prepare_source(src: str) -> str:
    """IPython-only lines (magics, shell escapes) become `pass`, as they mean nothing here."""
    lines = src.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].strip()[2:].split()[0] if lines[0].strip()[2:] else ""
        if magic in ("time", "timeit", "capture"):
            lines = lines[1:]
        else:
            return f"raise RuntimeError('cell magic %%{magic} is not supported by the grader')"
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#")
                                              and stripped[:-1].replace(".", "").replace("_", "").isalnum()):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def _fingerprint(value):
    """Cheap identity of a DataFrame/Series that changes when it is rebound, reshaped, gets or
    loses columns, or has a column replaced; None (always rewrite) for everything else."""
    try:
        if isinstance(value, pandas.DataFrame):
            mgr = value._mgr
            return (id(value), id(mgr), value.shape, tuple(map(str, value.columns)), tuple(map(str, value.dtypes)),
                    tuple(id(b.values) for b in mgr.blocks), id(value.index))
        if isinstance(value, pandas.Series):
            return (id(value), id(value._mgr), value.shape, str(value.dtype), id(value.array), id(value.index),
                    str(value.name))
    except Exception:
        return None
    return None


def _child(job):
    """Runs in the forked child: never returns."""
    code = 0
    try:
        os.setsid()
        uid = job.get("uid")
        if uid is not None:
            _drop_privileges(uid)
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        work, out = job["work"], job["out"]
        inbox = job["inbox"]
        os.makedirs(work, exist_ok=True)
        if os.path.isdir(os.path.join(inbox, "data")):
            shutil.copytree(os.path.join(inbox, "data"), os.path.join(work, "data"), dirs_exist_ok=True)
        with open(os.path.join(inbox, "cells.json")) as f:
            cells = json.load(f)
        _set_limits(job)
        if uid is not None:
            _deny_sockets()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_DFL)
        os.chdir(work)
        logfd = os.open(os.path.join(out, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        nullfd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nullfd, 0)
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        os.closerange(3, 65536)
        state = {"written": 0, "dropped": 0}
        sys.stdin = open(os.devnull)
        sys.stdout = CappedWriter(1, state)
        sys.stderr = CappedWriter(2, state)
        os.environ["HOME"] = work
        names = job["vars"]
        progress_path = os.path.join(out, "progress.json")
        prog = {"started": 0, "completed": 0, "snapshot": 0, "errors": [], "events": [], "done": False}
        ns = {"__name__": "__main__", "__builtins__": builtins, "display": _display}
        import matplotlib.pyplot as plt

        last_snap = None
        last_manifest = None
        fingerprints = {}
        for n, src in enumerate(cells, start=1):
            prog["started"] = n
            _atomic_json(progress_path, prog)
            fatal = False
            try:
                exec(compile(_prepare_source(src), f"<cell {n}>", "exec"), ns)
            except SystemExit as exc:
                prog["events"].append({"cell": n, "kind": "SystemExit", "detail": repr(exc.code)})
            except MemoryError:
                prog["events"].append({"cell": n, "kind": "MemoryError", "detail": ""})
                fatal = True
            except BaseException as exc:  # noqa: BLE001 - the notebook goes on, as Jupyter does
                tb = traceback.format_exception_only(type(exc), exc)
                prog["errors"].append({"cell": n, "error": "".join(tb).strip()[:500]})
            try:
                plt.close("all")
            except Exception:
                pass
            if fatal:
                break
            prog["completed"] = n
            target = os.path.join(out, f"snap-{n:05d}")
            try:
                # Frames the cell neither names nor visibly changed are linked, not rewritten.
                prints = {v: _fingerprint(ns[v]) for v in names if v in ns}
                reuse = frozenset(v for v, fp in prints.items()
                                  if fp is not None and fp == fingerprints.get(v) and v not in src)
                manifest = snap.write_snapshot(ns, names, target, n, previous=last_manifest, reuse=reuse)
                last_manifest = (target, manifest)
                fingerprints = prints
                if last_snap:
                    shutil.rmtree(last_snap, ignore_errors=True)
                last_snap = target
                prog["snapshot"] = n
            except MemoryError:
                prog["events"].append({"cell": n, "kind": "MemoryError", "detail": "while saving answers"})
                break
            except Exception as exc:
                prog["events"].append({"cell": n, "kind": "SnapshotError", "detail": repr(exc)[:300]})
        else:
            prog["done"] = True
        prog["output_dropped"] = state["dropped"]
        _atomic_json(progress_path, prog)
    except BaseException:  # noqa: BLE001
        try:
            os.write(2, traceback.format_exc().encode()[-2000:])
        except Exception:
            pass
        code = 70
    os._exit(code)


def _kill_sandbox_user(uid, work):
    """Kill every process of the sandbox user (detached ones too), then wipe the working copy."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            me = os.getpid()
            for _ in range(2000):
                try:
                    os.kill(-1, signal.SIGKILL)  # as this uid: all its processes but this one
                except (ProcessLookupError, PermissionError):
                    pass
                if not _live_pids_of(uid, exclude=me):
                    break
                time.sleep(0.001)
            shutil.rmtree(work, ignore_errors=True)
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.waitpid(pid, 0)


def _live_pids_of(uid, exclude):
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


def _descendants():
    me = os.getpid()
    kids = {}
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


def _kill_descendants():
    for _ in range(100):
        pids = _descendants()
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        _reap()
        time.sleep(0.002)


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _run_job(job):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(job)
    deadline = t0 + float(job["timeout"])
    pidfd = os.pidfd_open(pid)
    status = None
    timed_out = False
    while status is None:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        select.select([pidfd], [], [], left)
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = st
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    wall = time.monotonic() - t0
    uid = job.get("uid")
    if uid is not None:
        _kill_sandbox_user(uid, job["work"])
    else:
        _kill_descendants()
        shutil.rmtree(job["work"], ignore_errors=True)
    _reap()
    reply = {"id": job["id"], "timed_out": timed_out, "wall": wall, "exit_code": None, "signal": None}
    if os.WIFEXITED(status):
        reply["exit_code"] = os.WEXITSTATUS(status)
    elif os.WIFSIGNALED(status):
        reply["signal"] = os.WTERMSIG(status)
    try:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        reply["cpu_children"] = usage.ru_utime + usage.ru_stime
    except Exception:
        pass
    return reply


def main():
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    proto_out.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    proto_out.flush()
    for line in proto_in:
        line = line.strip()
        if not line:
            continue
        job = json.loads(line)
        if job.get("quit"):
            break
        try:
            reply = _run_job(job)
        except Exception as exc:  # a zygote failure, reported as such
            reply = {"id": job.get("id"), "zygote_error": f"{type(exc).__name__}: {exc}"}
        proto_out.write(json.dumps(reply) + "\n")
        proto_out.flush()


if __name__ == "__main__":
    main()
