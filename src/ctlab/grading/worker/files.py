"""The job's folders: the working copy and staging folder made for a submission, the wipe of
host folders in the fallback mode, and the copy of what the trusted side may read (the last
well-formed snapshot and the progress record) to the outbox, each file taken as untrusted."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from typing import Any

from ctlab.grading import snapshot as snap

SNAP_NAME = re.compile(r"snap-(\d{5})")
SNAP_FILE = re.compile(r"v\d{1,6}\.(json|parquet)")
SNAPSHOT_COPY_CAP = 256 * 1024 * 1024  # bytes of one snapshot copied to the outbox
PROGRESS_CAP = 4 * 1024 * 1024
STAGE_FILE_CAP = 10000  # entries counted when measuring a staging folder without a tmpfs


class PrepareError(Exception):
    """The zygote could not set up a job (reported as the grader's failure, with this text)."""


def copy_data(src: str, dest: str, inbox: str) -> None:
    try:
        shutil.copytree(src, dest)
    except shutil.Error as exc:
        path, _, why = exc.args[0][0]
        raise PrepareError(f"cannot copy {os.path.relpath(path, inbox)} into the working copy: {why}") from None
    except OSError as exc:
        raise PrepareError(f"cannot copy the data files into the working copy: {exc.strerror or exc}") from None


def _chown_tree(path: str, uid: int) -> None:
    os.chown(path, uid, uid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), uid, uid, follow_symlinks=False)


def prepare(job: dict[str, Any]) -> None:
    """Give the job its working copy (data/) and staging folder, owned by the sandbox user.
    Raises OSError when it cannot: a failure of the grader, not of the submission."""
    uid = job.get("uid")
    work, stage = job["work"], job["stage"]
    for d in (work, stage):
        os.makedirs(os.path.dirname(d), exist_ok=True)
        os.mkdir(d, 0o700)
    data = os.path.join(job["inbox"], "data")
    if os.path.isdir(data):
        copy_data(data, os.path.join(work, "data"), job["inbox"])
    if uid is not None:
        _chown_tree(work, uid)
        _chown_tree(stage, uid)


def _make_removable(path: str) -> None:
    """Owner rwx on every folder under `path` (symlinks untouched), so nothing a submission
    chmod-ed stops the wipe."""
    for dirpath, dirnames, _filenames in os.walk(path):
        for n in dirnames:
            p = os.path.join(dirpath, n)
            try:
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
            except OSError:
                pass


def _remove(path: str) -> None:
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


def wipe(job: dict[str, Any]) -> list[str]:
    """Fallback mode: remove everything the job could write on the host. Returns a list of
    problems (empty when clean). Runs in the job process, never in the zygote."""
    problems: list[str] = []
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


def _remove_owned(top: str, uid: int) -> list[str]:
    """In a folder shared with the host (fallback mode), remove what `uid` created: entries it
    owns, and inside folders others may write to, recursively."""
    problems: list[str] = []
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


def usage(path: str, tmpfs_bytes: int) -> int:
    """Bytes used in the staging area: from the tmpfs when it has one, else by walking it."""
    if tmpfs_bytes:
        st = os.statvfs(path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize
    total, count = 0, 0
    for dirpath, _dirnames, filenames in os.walk(path):
        for n in filenames:
            count += 1
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except OSError:
                pass
            if count > STAGE_FILE_CAP:
                return 1 << 62
    return total


def _open_regular(name: str, dir_fd: int, cap: int) -> tuple[int, int]:
    """An fd for a regular file `name` in dir_fd (never through a symlink) of at most `cap` bytes."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > cap:
        os.close(fd)
        raise ValueError(f"{name}: not a regular file within {cap} bytes")
    return fd, st.st_size


def _read_small(name: str, dir_fd: int, cap: int) -> bytes:
    fd, size = _open_regular(name, dir_fd, cap)
    with os.fdopen(fd, "rb") as f:
        return f.read(cap + 1)[:cap]


def _copy_fd(src_fd: int, name: str, dir_fd: int, limit: int) -> None:
    out_fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    with os.fdopen(src_fd, "rb") as src, os.fdopen(out_fd, "wb") as out:
        left = limit
        while left > 0:
            chunk = src.read(min(left, 1 << 20))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)


def _remove_in(dir_fd: int, name: str) -> None:
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


def export_snapshot(stage: str, outbox: int, ncells: int) -> int:
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
            files: list[str] = []
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
            fds: list[tuple[str, int, int]] = []
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


def export_progress(stage: str, outbox: int) -> None:
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
