"""The submission process: set up once (capabilities, limits, syscall policy, stdio), then the
cells. Everything here runs after the fork from the job process, before any submission code."""

from __future__ import annotations

import os
import resource
import signal
import traceback
from typing import Any, NoReturn

from ctlab.grading.worker import isolation
from ctlab.grading.worker.cells import run_cells

FILE_SIZE_CAP = 64 * 1024 * 1024
NOFILE_CAP = 512
# Threads (and processes, though the policy allows none) of one submission, itself included. The
# kernel counts RLIMIT_NPROC per uid within each user namespace: in bubblewrap mode the
# submission's own namespace holds only it and its job process; in the fallback the uid is the
# batch's own (sandbox.fallback_uid, locked host-wide). pandas, numpy and pyarrow need a handful.
TASK_CAP = 256


def counts_per_namespace(release: str | None = None) -> bool:
    """Whether the kernel counts RLIMIT_NPROC per uid within each user namespace (Linux 5.14 and
    later). Before, it counted every process of the uid on the host: as a normal user, all of the
    grader's own would count against a submission, so no limit is set there. (Nor under
    --no-sandbox, where the submission runs as the grader's uid.)"""
    parts = (release or os.uname().release).split(".")
    try:
        return (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)) >= (5, 14)
    except (ValueError, IndexError):
        return False


def set_limits(job: dict[str, Any], address_space: int) -> None:
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)

    def kib(k: str) -> int:
        return int(fields.get(k, "0 kB").split()[0]) * 1024

    # Virtual size already mapped (the preloaded libraries) does not count against the cap; the
    # pages of it a submission may copy on write (its resident size) do.
    vm, rss = kib("VmSize"), kib("VmRSS")
    limit = vm + max(64 * 1024 * 1024, address_space - rss)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_CAP, FILE_SIZE_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE_CAP, NOFILE_CAP))
    if job["mode"] == "user" or (job["mode"] == "bwrap" and counts_per_namespace()):
        resource.setrlimit(resource.RLIMIT_NPROC, (TASK_CAP, TASK_CAP))
    cpu = int(float(job["timeout"])) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def parent_alive(life_fd: int) -> bool:
    """Whether the job process still holds its end of the pipe `life_fd` reads from."""
    os.set_blocking(life_fd, False)
    try:
        return os.read(life_fd, 1) != b""
    except BlockingIOError:
        return True
    finally:
        os.close(life_fd)


def run_submission(job: dict[str, Any], cells: list[str], ready_fd: int, life_fd: int, seccomp: Any) -> NoReturn:
    """The forked submission process: never returns. Writes b"R" to `ready_fd` once it is set
    up to run cells (b"E" and the reason if it could not be), before any submission code runs."""
    code = 0
    ready = False
    try:
        os.setsid()
        if job["mode"] == "bwrap":
            isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
            if not parent_alive(life_fd):  # it ended before the death signal was armed
                os._exit(75)
            isolation.mount("proc", "/proc", "proc", isolation.MS_NOSUID | isolation.MS_NODEV | isolation.MS_NOEXEC)
            isolation.drop_all_caps()
        elif job.get("uid") is not None:
            isolation.become(int(job["uid"]))
        isolation.prctl(isolation.PR_SET_DUMPABLE, 0)
        set_limits(job, isolation.budget(job["memory_mb"])[1])
        if seccomp is not None:
            isolation.check(isolation.prctl(isolation.PR_SET_NO_NEW_PRIVS, 1), "prctl(NO_NEW_PRIVS)")
            seccomp.load()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_DFL)
        work, out = job["work"], job["stage"]
        os.chdir(work)  # this process's own, for good: the submission's working folder
        logfd = os.open(os.path.join(out, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        nullfd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nullfd, 0)
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        os.write(ready_fd, b"R")
        ready = True
        os.closerange(3, 65536)
        run_cells(job, cells, out)
    except BaseException as exc:  # noqa: BLE001
        try:
            if not ready:
                os.write(ready_fd, b"E" + f"{type(exc).__name__}: {exc}".encode(errors="replace")[:300])
            os.write(2, traceback.format_exc().encode()[-2000:])
        except Exception:
            pass
        code = 70
    os._exit(code)
