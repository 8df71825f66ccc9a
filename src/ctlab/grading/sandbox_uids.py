"""The fallback sandbox's uids, each held by one worker at a time on the whole host.

In the separate-user fallback every worker's submissions run as a uid of their own, and after
each submission everything of that uid is killed and its files removed. Two batches (or two
instructors' batches) that picked the same uid would kill each other's submissions, so a uid
is taken only under an exclusive `flock` on a file named after it in a root-only folder; the
lock lasts as long as the worker (and ends with its process, however that ends). The same
lock also makes RLIMIT_NPROC, which the kernel counts per uid, a limit of one submission.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import stat
from pathlib import Path

from ctlab.errors import CtlabError

LOCK_DIRS = ("/run/ctlab-sandbox-uids", "/var/lock/ctlab-sandbox-uids", "/tmp/ctlab-sandbox-uids")
MAX_TRIES = 10_000


class UidClaim:
    """A sandbox uid and the lock that keeps it this process's until `release`."""

    def __init__(self, uid: int, fd: int) -> None:
        self.uid = uid
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases its lock
            self._fd = None


def _safe_dir(path: Path) -> bool:
    """A folder only this user can write to (never through a link), made when missing."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def lock_dir() -> Path:
    for d in LOCK_DIRS:
        if _safe_dir(Path(d)):
            return Path(d)
    raise CtlabError("cannot lock a sandbox uid: none of " + ", ".join(LOCK_DIRS) + " is a folder only root can write")


def _is_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def claim_uid(base: int) -> UidClaim:
    """The first uid from `base` up that belongs to no account and that no worker on this host
    holds, locked for the caller."""
    folder = lock_dir()
    uid = base
    for _ in range(MAX_TRIES):
        if not _is_account(uid):
            fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return UidClaim(uid, fd)
            except BlockingIOError:
                os.close(fd)
        uid += 1
    raise CtlabError(f"no free sandbox uid from {base} to {uid - 1}")
