"""The worker process of the grading sandbox (runs as a script, imports nothing from ctlab).

Three processes per worker, so that every submission starts from the same pristine state:

- The zygote (started once per worker) imports pandas, numpy, matplotlib and pyarrow,
  builds the syscall policy (policy.py), then reads one JSON job per line on stdin. For
  each job it forks a job process and waits for its one-line typed reply. It never reads
  a submission's bytes (no cells, no snapshot, no progress record, no file names), so
  nothing of one submission can be in the memory that the next one is forked from.
- The job process (one per submission, forked from the zygote) prepares the submission's
  world, forks the submission process, enforces the wall-clock and output limits, copies
  the last well-formed snapshot and the progress record to the outbox, and replies. In
  bubblewrap mode it first drops to the sandbox user (when root) and enters new user,
  mount, IPC, network, UTS and pid namespaces with private size-capped tmpfs for /tmp,
  /dev/shm, the working copy (/job) and the staging folder (/out), and hides the inbox and
  outbox: every file, IPC object and process of the submission dies with those
  namespaces when the job process exits. In the fallback mode (no namespaces: root only)
  it stays root, hands host folders to the worker's uid and wipes them afterwards.
- The submission process (pid 1 of its pid namespace in bubblewrap mode) drops every
  capability, applies the limits and the syscall policy, and runs the cells in one
  namespace, snapshotting the answer variables after every cell.
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
PROBE = "--probe" in sys.argv[1:]

os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import builtins  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402
import traceback  # noqa: E402

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_libc = ctypes.CDLL(None, use_errno=True)


CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CAP_KILL, CAP_SETGID, CAP_SETUID = 5, 6, 7
O_PATH = 0o10000000

import policy  # noqa: E402  (policy.py, beside this file)
import snapshot as snap  # noqa: E402  (ctlab/grading/snapshot.py, beside this file)

if not PROBE:
    # What students commonly use, loaded once here so each submission pays only for its code.
    import matplotlib  # noqa: E402
    import numpy  # noqa: E402,F401
    import pandas  # noqa: E402,F401
    import pyarrow  # noqa: E402,F401
    import pyarrow.parquet  # noqa: E402,F401

    matplotlib.use("Agg")
    import collections  # noqa: E401,E402,F401
    import csv  # noqa: E401,E402,F401
    import datetime
    import functools
    import glob
    import hashlib
    import ipaddress
    import itertools
    import json as _json
    import math
    import pathlib
    import random
    import re
    import socket
    import statistics
    import string
    import subprocess
    import textwrap
    import zipfile

    import matplotlib.pyplot  # noqa: E402,F401

    try:  # the student notebook imports otter for grader.check; preload it if present
        import otter  # noqa: F401
    except Exception:  # pragma: no cover
        pass


def _warm_up():
    """Load what saving a snapshot imports lazily, so the sandbox user never needs the disk for it."""
    import tempfile

    frame = pandas.DataFrame({"a": [1, 2], "b": ["x", None],
                              "t": pandas.to_datetime(["2024-01-01", None], utc=True)})
    with tempfile.TemporaryDirectory() as d:
        snap.write_snapshot({"f": frame, "s": frame["a"], "l": [1, (2,), {3}]}, ["f", "s", "l"], os.path.join(d, "s"), 0)
        snap.load_snapshot(os.path.join(d, "s"))


if not PROBE:
    _warm_up()

OUTPUT_CAP = 1024 * 1024  # bytes of stdout+stderr kept per submission
FILE_SIZE_CAP = 64 * 1024 * 1024
NOFILE_CAP = 512


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


# ---------------------------------------------------------------- isolation primitives

def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _set_caps(keep=()):
    """Keep only the capabilities `keep` (effective and permitted); nothing inheritable."""
    mask = 0
    for cap in keep:
        mask |= 1 << cap
    data = (_CapData * 2)()
    for i in range(2):
        part = (mask >> (32 * i)) & 0xFFFFFFFF
        data[i].effective = data[i].permitted = part
        data[i].inheritable = 0
    _check(_libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data), "capset")


def _drop_all_caps():
    """No capability left, now or after any exec: bounding and ambient sets emptied too."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last
            break
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _set_caps()


def _mount_proc_and_drop_sys_admin():
    """Root-mode zygote start: a fresh /proc of the sandbox's pid namespace (bubblewrap's
    covers parts of its own), so that each submission's pid namespace may mount its own;
    then CAP_SYS_ADMIN goes, keeping what starting and stopping job processes needs."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _set_caps(keep=(CAP_SETUID, CAP_SETGID, CAP_KILL))


def _become(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _enter_namespaces():
    """New user, mount, IPC, network, UTS and pid namespaces, with this process's own uid
    and gid mapped to themselves (so no uid switch is possible inside)."""
    uid, gid = os.geteuid(), os.getegid()
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # after a uid switch, /proc/self/*_map need it
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWPID),
           "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    _mount("none", "/", None, MS_REC | MS_PRIVATE)


def _tmpfs(target, size, mode="0755", inodes=65536):
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(size)},nr_inodes={inodes},mode={mode}")


def _hide(target):
    """Cover `target` with an empty read-only tmpfs (a locked mount can be covered, not removed)."""
    _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4096,nr_inodes=4,mode=0555")


def budget(memory_mb):
    """How one submission's memory cap splits: private tmpfs sizes, and what is left for its
    address space. Their sum is the cap, so no allocation route takes a submission past it."""
    total = int(memory_mb) * 1024 * 1024
    files = {"tmp": total // 16, "shm": total // 32, "job": total // 8, "out": total // 8}
    return files, total - sum(files.values())


# ---------------------------------------------------------------- the submission process

def _set_limits(job, address_space):
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    kib = lambda k: int(fields.get(k, "0 kB").split()[0]) * 1024  # noqa: E731
    # Virtual size already mapped (the preloaded libraries) does not count against the cap; the
    # pages of it a submission may copy on write (its resident size) do.
    vm, rss = kib("VmSize"), kib("VmRSS")
    limit = vm + max(64 * 1024 * 1024, address_space - rss)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_CAP, FILE_SIZE_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE_CAP, NOFILE_CAP))
    cpu = int(float(job["timeout"])) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _parent_alive(life_fd):
    """Whether the job process still holds its end of the pipe `life_fd` reads from."""
    os.set_blocking(life_fd, False)
    try:
        return os.read(life_fd, 1) != b""
    except BlockingIOError:
        return True
    finally:
        os.close(life_fd)


def _submission(job, cells, ready_fd, life_fd, seccomp):
    """The forked submission process: never returns. Writes b"R" to `ready_fd` once it is set
    up to run cells (b"E" and the reason if it could not be), before any submission code runs."""
    code = 0
    ready = False
    try:
        os.setsid()
        if job["mode"] == "bwrap":
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if not _parent_alive(life_fd):  # it ended before the death signal was armed
                os._exit(75)
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            _drop_all_caps()
        elif job.get("uid") is not None:
            _become(int(job["uid"]))
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        _set_limits(job, budget(job["memory_mb"])[1])
        if seccomp is not None:
            _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
            seccomp.load()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_DFL)
        work, out = job["work"], job["stage"]
        os.chdir(work)
        logfd = os.open(os.path.join(out, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        nullfd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nullfd, 0)
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        os.write(ready_fd, b"R")
        ready = True
        os.closerange(3, 65536)
        _run_cells(job, cells, out)
    except BaseException as exc:  # noqa: BLE001
        try:
            if not ready:
                os.write(ready_fd, b"E" + f"{type(exc).__name__}: {exc}".encode(errors="replace")[:300])
            os.write(2, traceback.format_exc().encode()[-2000:])
        except Exception:
            pass
        code = 70
    os._exit(code)


def _run_cells(job, cells, out):
    state = {"written": 0, "dropped": 0}
    sys.stdin = open(os.devnull)
    sys.stdout = CappedWriter(1, state)
    sys.stderr = CappedWriter(2, state)
    os.environ["HOME"] = job["work"]
    os.environ["TMPDIR"] = "/tmp" if job["mode"] == "bwrap" else job["work"]
    names = job["vars"]
    progress_path = os.path.join(out, "progress.json")
    prog = {"started": 0, "completed": 0, "snapshot": 0, "errors": [], "events": [], "done": False}
    ns = {"__name__": "__main__", "__builtins__": builtins, "display": _display}
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
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
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


# ---------------------------------------------------------------- the job process

def _keep_under_tmp(paths):
    """O_PATH handles on the Python environment's folders under /tmp (a checkout there), to
    bind them again over the submission's fresh /tmp."""
    return [(p, os.open(p, O_PATH | os.O_DIRECTORY)) for p in paths if os.path.isdir(p)]


def _read_cells(job):
    with open(os.path.join(job["inbox"], "cells.json")) as f:
        return json.load(f)


def _enter_sandbox(job, files):
    """Bubblewrap mode, in the job process: become the sandbox user, enter new namespaces and
    give the submission fresh, size-capped tmpfs; hide the inbox and outbox. Returns the
    cells and an fd on the outbox, which only this process keeps."""
    if os.geteuid() == 0 and job.get("uid") is not None:
        _become(int(job["uid"]))
    cells = _read_cells(job)
    _enter_namespaces()
    kept = _keep_under_tmp(job.get("python_under_tmp", []))  # handles on this mount namespace's mounts
    _tmpfs("/tmp", files["tmp"], "1777")
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    if os.path.isdir("/dev/shm"):
        _tmpfs("/dev/shm", files["shm"], "1777", inodes=1024)
    _tmpfs("/job", files["job"])
    _tmpfs("/out", files["out"])
    for d in (job["work"], job["stage"]):
        os.mkdir(d, 0o700)
    data = os.path.join(job["inbox"], "data")
    if os.path.isdir(data):
        _copy_data(data, os.path.join(job["work"], "data"), job["inbox"])
    outbox = os.open(job["out"], os.O_RDONLY | os.O_DIRECTORY)
    _hide(job["out"])
    _hide(job["inbox"])
    return cells, outbox


def _copy_data(src, dest, inbox):
    try:
        shutil.copytree(src, dest)
    except shutil.Error as exc:
        path, _, why = exc.args[0][0]
        raise PrepareError(f"cannot copy {os.path.relpath(path, inbox)} into the working copy: {why}") from None
    except OSError as exc:
        raise PrepareError(f"cannot copy the data files into the working copy: {exc.strerror or exc}") from None


def _job(job, seccomp):
    """Everything one submission needs, in a process of its own. Returns the typed reply."""
    t0 = time.monotonic()
    namespaced = job["mode"] == "bwrap"
    files, _ = budget(job["memory_mb"])
    reply = {"id": job["id"], "timed_out": False, "output_limit": False, "wall": 0.0,
             "exit_code": None, "signal": None, "snapshot": 0}
    try:
        if namespaced:
            cells, outbox = _enter_sandbox(job, files)
        else:
            left = _wipe(job)
            if left:
                raise PrepareError("the sandbox is not clean: " + "; ".join(left))
            cells = _read_cells(job)
            _prepare(job)
            outbox = os.open(job["out"], os.O_RDONLY | os.O_DIRECTORY)
    except Exception as exc:  # noqa: BLE001 - the grader's failure, not the submission's
        reply["prepare_error"] = (str(exc) if isinstance(exc, PrepareError) else f"{type(exc).__name__}: {exc}")[:300]
        if not namespaced:
            reply["restart"] = bool(_wipe(job))
        return reply
    ready_r, ready_w = os.pipe()
    life_r, life_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(life_w)
        os.close(outbox)
        _submission(job, cells, ready_w, life_r, seccomp)
    os.close(ready_w)
    os.close(life_r)
    del cells
    status, timed_out, over_output = _watch(job, pid, t0, files)
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
    _reap()
    if ready[:1] == b"R":
        reply["snapshot"] = _export_snapshot(job["stage"], outbox, int(job.get("ncells") or 0))
        _export_progress(job["stage"], outbox)
    else:
        why = ready[1:].decode(errors="replace") if ready[:1] == b"E" else ""
        code = os.waitstatus_to_exitcode(status)
        reply["prepare_error"] = why or ("its process ended before running any cell ("
                                         + (f"exit code {code}" if code >= 0 else f"signal {-code}") + ")")
    os.close(outbox)
    if not namespaced:
        problems += _wipe(job)
    if problems:
        reply["restart"] = True
    if os.WIFEXITED(status):
        reply["exit_code"] = os.WEXITSTATUS(status)
    elif os.WIFSIGNALED(status):
        reply["signal"] = os.WTERMSIG(status)
    return reply


def _watch(job, pid, t0, files):
    """Wait for the submission process, stopping it at the deadline or when its staging area
    is full. Returns (wait status, timed out, over the output limit)."""
    deadline = t0 + float(job["timeout"])
    stage = job["stage"]
    if job["mode"] == "bwrap":
        where, tmpfs_bytes, cap, work_cap = os.path.dirname(stage), files["out"], files["out"], 0
    else:  # host folders: measured by walking them, the working copy included
        where, tmpfs_bytes, cap, work_cap = stage, 0, files["out"], files["job"]
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
            elif cap and _usage(where, tmpfs_bytes) >= cap - (1 << 20):
                over_output = True
                break
            elif work_cap and _usage(job["work"], 0) >= work_cap:  # no tmpfs bounds the working copy
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


def _kill_sandbox_user(uid):
    """Kill every process of the sandbox user (detached ones too); True when none is left."""
    pid = os.fork()
    if pid == 0:
        try:
            _become(uid)
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


# ---------------------------------------------------------------- job folders (zygote side)

SNAP_NAME = re.compile(r"snap-(\d{5})")
SNAP_FILE = re.compile(r"v\d{1,6}\.(json|parquet)")
SNAPSHOT_COPY_CAP = 256 * 1024 * 1024  # bytes of one snapshot copied to the outbox
PROGRESS_CAP = 4 * 1024 * 1024
STAGE_FILE_CAP = 10000  # entries counted when measuring a staging folder without a tmpfs


class PrepareError(Exception):
    """The zygote could not set up a job (reported as the grader's failure, with this text)."""


def _chown_tree(path, uid):
    os.chown(path, uid, uid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), uid, uid, follow_symlinks=False)


def _prepare(job):
    """Give the job its working copy (data/) and staging folder, owned by the sandbox user.
    Raises OSError when it cannot: a failure of the grader, not of the submission."""
    uid = job.get("uid")
    work, stage = job["work"], job["stage"]
    for d in (work, stage):
        os.makedirs(os.path.dirname(d), exist_ok=True)
        os.mkdir(d, 0o700)
    data = os.path.join(job["inbox"], "data")
    if os.path.isdir(data):
        _copy_data(data, os.path.join(work, "data"), job["inbox"])
    if uid is not None:
        _chown_tree(work, uid)
        _chown_tree(stage, uid)


def _make_removable(path):
    """Owner rwx on every folder and rw on every file under `path` (symlinks untouched), so
    nothing a submission chmod-ed stops the wipe."""
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames:
            p = os.path.join(dirpath, n)
            try:
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
            except OSError:
                pass


def _remove(path):
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            try:
                os.chmod(path, 0o700)
            except OSError:
                pass
            _make_removable(path)
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _wipe(job):
    """Fallback mode: remove everything the job could write on the host. Returns a list of
    problems (empty when clean). Runs in the job process, never in the zygote."""
    problems = []
    for top in job.get("wipe", []):
        try:
            names = os.listdir(top)
        except FileNotFoundError:
            continue
        for n in names:
            try:
                _remove(os.path.join(top, n))
            except OSError as exc:
                problems.append(f"cannot remove an entry of {top}: {exc.strerror}")
    uid = job.get("uid")
    for top in job.get("shared_tmp", []):
        if uid is not None:
            problems += _remove_owned(top, uid)
    for top in job.get("wipe", []):
        try:
            if os.listdir(top):
                problems.append(f"{top} not empty after the wipe")
        except FileNotFoundError:
            continue
    return problems


def _remove_owned(top, uid):
    """In a folder shared with the host (fallback mode), remove what `uid` created: entries it
    owns, and inside folders others may write to, recursively."""
    problems = []
    try:
        entries = list(os.scandir(top))
    except OSError:
        return problems
    for e in entries:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        try:
            if st.st_uid == uid:
                _remove(e.path)
            elif e.is_dir(follow_symlinks=False) and st.st_mode & 0o002:
                problems += _remove_owned(e.path, uid)
        except OSError as exc:
            problems.append(f"cannot remove {e.path}: {exc.strerror}")
    return problems


def _usage(path, tmpfs_bytes):
    """Bytes used in the staging area: from the tmpfs when it has one, else by walking it."""
    if tmpfs_bytes:
        st = os.statvfs(path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize
    total, count = 0, 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames:
            count += 1
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except OSError:
                pass
            if count > STAGE_FILE_CAP:
                return 1 << 62
    return total


def _open_regular(name, dir_fd, cap):
    """An fd for a regular file `name` in dir_fd (never through a symlink) of at most `cap` bytes."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > cap:
        os.close(fd)
        raise ValueError(f"{name}: not a regular file within {cap} bytes")
    return fd, st.st_size


def _read_small(name, dir_fd, cap):
    fd, size = _open_regular(name, dir_fd, cap)
    with os.fdopen(fd, "rb") as f:
        return f.read(cap + 1)[:cap]


def _copy_fd(src_fd, name, dir_fd, limit):
    out_fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    with os.fdopen(src_fd, "rb") as src, os.fdopen(out_fd, "wb") as out:
        left = limit
        while left > 0:
            chunk = src.read(min(left, 1 << 20))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)


def _remove_in(dir_fd, name):
    """Remove folder `name` (files only inside) under dir_fd, if there."""
    try:
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return
    try:
        for n in os.listdir(sub):
            os.unlink(n, dir_fd=sub)
    finally:
        os.close(sub)
    os.rmdir(name, dir_fd=dir_fd)


def _export_snapshot(stage, outbox, ncells):
    """Copy the newest well-formed snapshot of the staging folder to the outbox (an fd): only
    its manifest and the files the manifest names, each a regular file within the limits,
    the whole within SNAPSHOT_COPY_CAP. Returns its cell number (0 when none qualifies)."""
    try:
        names = os.listdir(stage)
    except OSError:
        return 0
    numbers = sorted((int(m.group(1)) for n in names if (m := SNAP_NAME.fullmatch(n))), reverse=True)
    for n in numbers:
        if not 1 <= n <= ncells:
            continue
        folder = os.path.join(stage, f"snap-{n:05d}")
        try:
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        tmp = f"snap-{n:05d}.tmp"
        try:
            raw = _read_small(snap.MANIFEST, dfd, snap.MAX_JSON_BYTES)
            manifest = json.loads(raw)
            variables = manifest.get("variables") if isinstance(manifest, dict) else None
            if not isinstance(variables, dict) or manifest.get("cell") != n:
                continue
            files = []
            for entry in variables.values():
                if not isinstance(entry, dict):
                    raise ValueError("bad entry")
                f = entry.get("file")
                if f is None and entry.get("kind") == "unsupported":
                    continue
                if not isinstance(f, str) or not SNAP_FILE.fullmatch(f) or f in files:
                    raise ValueError("bad file name")
                files.append(f)
            total = len(raw)
            fds = []
            try:
                for f in files:
                    cap = snap.MAX_JSON_BYTES if f.endswith(".json") else SNAPSHOT_COPY_CAP
                    fd, size = _open_regular(f, dfd, cap)
                    fds.append((f, fd, size))
                    total += size
                    if total > SNAPSHOT_COPY_CAP:
                        raise ValueError("snapshot too large")
                os.mkdir(tmp, 0o700, dir_fd=outbox)
                tfd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=outbox)
                try:
                    while fds:
                        f, fd, size = fds.pop(0)
                        _copy_fd(fd, f, tfd, size)
                    mfd = os.open(snap.MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=tfd)
                    with os.fdopen(mfd, "wb") as out:
                        out.write(raw)
                finally:
                    os.close(tfd)
                os.rename(tmp, f"snap-{n:05d}", src_dir_fd=outbox, dst_dir_fd=outbox)
                return n
            finally:
                for _, fd, _ in fds:
                    os.close(fd)
        except (OSError, ValueError, RecursionError, UnicodeDecodeError):
            _remove_in(outbox, tmp)
            continue
        finally:
            os.close(dfd)
    return 0


def _export_progress(stage, outbox):
    try:
        dfd = os.open(stage, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        raw = _read_small("progress.json", dfd, PROGRESS_CAP)
        fd = os.open("progress.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600, dir_fd=outbox)
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
    except (OSError, ValueError):
        pass
    finally:
        os.close(dfd)


# ---------------------------------------------------------------- the zygote

REPLY_CAP = 4096
REPLY_GRACE = 30.0  # seconds past the job's own deadline before the job process is killed


def _typed_reply(raw, job_id):
    """The job process's reply, taken as data: known keys with the expected types only."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("id") != job_id:
        return None
    reply = {"id": job_id}
    for key, kind in (("timed_out", bool), ("output_limit", bool), ("restart", bool), ("wall", float),
                      ("exit_code", int), ("signal", int), ("snapshot", int), ("prepare_error", str)):
        v = data.get(key)
        if isinstance(v, bool) and kind is not bool:
            continue
        if kind is float and isinstance(v, int):
            v = float(v)
        if isinstance(v, kind):
            reply[key] = v[:300] if kind is str else v
    return reply


def _run_job(job, seccomp):
    """Fork the job process, wait for it (at most its deadline plus a grace period) and read
    its reply. The zygote itself touches nothing of the submission."""
    reply_r, reply_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reply_r)
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            out = json.dumps(_job(job, seccomp)).encode()
        except BaseException as exc:  # noqa: BLE001
            out = json.dumps({"id": job["id"], "job_error": type(exc).__name__}).encode()
        try:
            os.write(reply_w, out[:REPLY_CAP])
        finally:
            os._exit(0)
    os.close(reply_w)
    deadline = time.monotonic() + float(job["timeout"]) + REPLY_GRACE
    raw = b""
    status = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([reply_r], [], [], left)
        if not r:
            break
        chunk = os.read(reply_r, REPLY_CAP)
        if not chunk:
            break
        raw += chunk
        if len(raw) > REPLY_CAP:
            break
    os.close(reply_r)
    wpid, st = os.waitpid(pid, os.WNOHANG)
    if wpid == 0:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        _, st = os.waitpid(pid, 0)
    status = st
    reply = _typed_reply(raw, job["id"]) if raw else None
    if reply is None:
        code = os.waitstatus_to_exitcode(status)
        return {"id": job["id"], "zygote_error": "the job process ended without a reply ("
                + (f"exit code {code}" if code >= 0 else f"signal {-code}") + ")", "restart": True}
    try:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        reply["cpu_children"] = usage.ru_utime + usage.ru_stime
    except Exception:
        pass
    return reply


def main():
    if "--root-proc" in sys.argv[1:]:
        _mount_proc_and_drop_sys_admin()
    seccomp = None if "--no-policy" in sys.argv[1:] else policy.build_filter()
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
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
            reply = _run_job(job, seccomp)
        except Exception as exc:  # a zygote failure, reported as such
            reply = {"id": job.get("id"), "zygote_error": f"{type(exc).__name__}: {exc}"}
        proto_out.write(json.dumps(reply) + "\n")
        proto_out.flush()


if __name__ == "__main__":
    main()
