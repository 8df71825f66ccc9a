"""The worker process of the grading sandbox (runs as a script, imports nothing from ctlab).

Started once per worker, it imports pandas, numpy, matplotlib and pyarrow, then reads
one JSON job per line on stdin. For each job it forks a child that drops to the
sandbox user, applies the limits and runs the submission's code cells in one
namespace, snapshotting the answer variables after every cell into its staging
folder. The zygote itself never runs submission code. It prepares each job (working
copy of the data, staging folder, both handed to the sandbox user), watches the
child's wall clock and the staging folder's size, and when the child ends (or is
stopped) kills every process of the sandbox user, copies the last well-formed
snapshot and the progress record to the outbox, wipes everything the job could
write, checks that the sandbox is clean again, and sends one JSON reply line on stdout.
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
import re  # noqa: E402
import resource  # noqa: E402
import stat  # noqa: E402
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


def _child(job, ready_fd):
    """Runs in the forked child: never returns. Writes b"R" to `ready_fd` once it is set up to
    run cells (b"E" and the reason if it could not be), before any submission code runs."""
    code = 0
    ready = False
    try:
        os.setsid()
        uid = job.get("uid")
        if uid is not None:
            _drop_privileges(uid)
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        work, out = job["work"], job["stage"]
        with open(os.path.join(job["inbox"], "cells.json")) as f:
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
        os.write(ready_fd, b"R")
        ready = True
        os.closerange(3, 65536)
        state = {"written": 0, "dropped": 0}
        sys.stdin = open(os.devnull)
        sys.stdout = CappedWriter(1, state)
        sys.stderr = CappedWriter(2, state)
        os.environ["HOME"] = work
        os.environ["TMPDIR"] = "/tmp" if job.get("tmpfs") else work
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
    except BaseException as exc:  # noqa: BLE001
        try:
            if not ready:
                os.write(ready_fd, b"E" + f"{type(exc).__name__}: {exc}".encode(errors="replace")[:300])
            os.write(2, traceback.format_exc().encode()[-2000:])
        except Exception:
            pass
        code = 70
    os._exit(code)


def _kill_sandbox_user(uid):
    """Kill every process of the sandbox user (detached ones too); True when none is left."""
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
        try:
            shutil.copytree(data, os.path.join(work, "data"))
        except shutil.Error as exc:
            src, _, why = exc.args[0][0]
            raise PrepareError(f"cannot copy {os.path.relpath(src, job['inbox'])} into the working copy: {why}") from None
        except OSError as exc:
            raise PrepareError(f"cannot copy the data files into the working copy: {exc.strerror or exc}") from None
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
    """Remove everything the job could write. Returns a list of problems (empty when clean)."""
    problems = []
    keep = set(job.get("keep", []))
    for top in job.get("wipe", []):
        try:
            names = os.listdir(top)
        except FileNotFoundError:
            continue
        for n in names:
            if os.path.join(top, n) in keep:
                continue
            try:
                _remove(os.path.join(top, n))
            except OSError as exc:
                problems.append(f"cannot remove {os.path.join(top, n)}: {exc.strerror}")
    uid = job.get("uid")
    for top in job.get("shared_tmp", []):
        if uid is not None:
            problems += _remove_owned(top, uid)
    # Check: each wiped place is empty, and a tmpfs holds no data (nothing open, nothing hidden).
    for top in job.get("wipe", []):
        try:
            left = [n for n in os.listdir(top) if os.path.join(top, n) not in keep]
        except FileNotFoundError:
            continue
        if left:
            problems.append(f"{top} not empty after the wipe: {sorted(left)[:5]}")
        if top in job.get("tmpfs_all", []):
            st = os.statvfs(top)
            used = (st.f_blocks - st.f_bfree) * st.f_frsize
            if used > 1024 * 1024:
                problems.append(f"{top} still holds {used} bytes after the wipe")
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


def _copy_fd(src_fd, dst, limit):
    with os.fdopen(src_fd, "rb") as src, open(dst, "wb") as out:
        left = limit
        while left > 0:
            chunk = src.read(min(left, 1 << 20))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)


def _export_snapshot(stage, outbox, ncells):
    """Copy the newest well-formed snapshot of the staging folder to the outbox: only its
    manifest and the files the manifest names, each a regular file within the limits, the
    whole within SNAPSHOT_COPY_CAP. Returns its cell number (0 when none qualifies)."""
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
                dest = os.path.join(outbox, f"snap-{n:05d}")
                tmp = dest + ".tmp"
                os.mkdir(tmp, 0o700)
                for f, fd, size in fds:
                    _copy_fd(fd, os.path.join(tmp, f), size)
                fds = []
                with open(os.path.join(tmp, snap.MANIFEST), "wb") as out:
                    out.write(raw)
                os.rename(tmp, dest)
                return n
            finally:
                for _, fd, _ in fds:
                    os.close(fd)
        except (OSError, ValueError, RecursionError, UnicodeDecodeError):
            shutil.rmtree(os.path.join(outbox, f"snap-{n:05d}.tmp"), ignore_errors=True)
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
        with open(os.path.join(outbox, "progress.json"), "wb") as out:
            out.write(raw)
    except (OSError, ValueError):
        pass
    finally:
        os.close(dfd)


def _run_job(job):
    t0 = time.monotonic()
    uid = job.get("uid")
    stage = job["stage"]
    try:
        # Normally clean already (checked after the previous job); this also clears what the
        # zygote's own start-up left, e.g. matplotlib's cache in /tmp.
        left = _wipe(job)
        if left:
            raise OSError("the sandbox is not clean: " + "; ".join(left))
        _prepare(job)
    except Exception as exc:  # noqa: BLE001 - reported as the grader's failure, then cleaned up
        problems = _wipe(job)
        why = str(exc) if isinstance(exc, PrepareError) else f"{type(exc).__name__}: {exc}"
        reply = {"id": job["id"], "prepare_error": why[:300]}
        if problems:
            reply["restart"] = "; ".join(problems)[:500]
        return reply
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        _child(job, ready_w)
    os.close(ready_w)
    deadline = t0 + float(job["timeout"])
    tmpfs_bytes = (job.get("tmpfs") or {}).get(os.path.dirname(stage))
    cap = tmpfs_bytes or int(job.get("stage_cap") or 0)
    work_cap = int(job.get("work_cap") or 0)
    pidfd = os.pidfd_open(pid)
    status = None
    timed_out = over_output = False
    while status is None:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        select.select([pidfd], [], [], min(left, 0.05))
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = st
        elif cap and _usage(os.path.dirname(stage) if tmpfs_bytes else stage, tmpfs_bytes) >= cap - (1 << 20):
            over_output = True
            break
        elif work_cap and _usage(job["work"], 0) >= work_cap:  # no tmpfs bounds the working copy
            over_output = True
            break
    if status is None:
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
    os.set_blocking(ready_r, False)
    try:
        ready = os.read(ready_r, 400)
    except OSError:
        ready = b""
    os.close(ready_r)
    problems = []
    if uid is not None:
        if not _kill_sandbox_user(uid):
            problems.append("processes of the sandbox user survived")
    else:
        _kill_descendants()
    _reap()
    reply = {"id": job["id"], "timed_out": timed_out, "output_limit": over_output, "wall": wall,
             "exit_code": None, "signal": None}
    if ready[:1] == b"R":
        reply["snapshot"] = _export_snapshot(stage, job["out"], int(job.get("ncells") or 0))
        _export_progress(stage, job["out"])
    else:
        why = ready[1:].decode(errors="replace") if ready[:1] == b"E" else ""
        code = os.waitstatus_to_exitcode(status)
        reply["prepare_error"] = why or f"its process ended before running any cell ({'exit code ' + str(code) if code >= 0 else 'signal ' + str(-code)})"
    problems += _wipe(job)
    if problems:
        reply["restart"] = "; ".join(problems)[:500]
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
