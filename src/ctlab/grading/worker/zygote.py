"""The zygote: the worker's long-lived process. `main` sets the process up (environment, the
preloaded libraries, capabilities, the syscall policy) and then serves one job at a time, each
in a job process of its own; the zygote itself touches nothing of a submission."""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import time
from typing import Any

from ctlab.grading.worker import isolation, policy, protocol, warmup
from ctlab.grading.worker.job import run_job

REPLY_GRACE = 30.0  # seconds past the job's own deadline before the job process is killed
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_environment() -> bool:
    """One thread per numeric library and a backend without a display, before any is imported; and
    matplotlib's font list, when the grader kept one (grading/fontcache.py), in matplotlib's config
    folder, so that importing matplotlib does not scan the system's fonts again. True when it did."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    for var in THREAD_VARS:
        os.environ[var] = "1"
    fonts, config = os.environ.pop("CTLAB_FONT_LIST", ""), os.environ.get("MPLCONFIGDIR", "")
    if fonts and config:
        try:
            os.makedirs(config, exist_ok=True)  # as matplotlib itself makes it
            shutil.copyfile(fonts, os.path.join(config, os.path.basename(fonts)))
            return True
        except OSError:
            pass  # matplotlib scans the fonts itself
    return False


def fork_job(job: dict[str, Any], seccomp: Any) -> dict[str, Any]:
    """Fork the job process, wait for it (at most its deadline plus a grace period) and read
    its reply. The zygote itself touches nothing of the submission."""
    reply_r, reply_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reply_r)
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            out = json.dumps(run_job(job, seccomp)).encode()
        except BaseException as exc:  # noqa: BLE001
            out = json.dumps({"id": job["id"], "job_error": type(exc).__name__}).encode()
        try:
            os.write(reply_w, out[:protocol.REPLY_CAP])
        finally:
            os._exit(0)
    os.close(reply_w)
    deadline = time.monotonic() + float(job["timeout"]) + REPLY_GRACE
    raw = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([reply_r], [], [], left)
        if not r:
            break
        chunk = os.read(reply_r, protocol.REPLY_CAP)
        if not chunk:
            break
        raw += chunk
        if len(raw) > protocol.REPLY_CAP:
            break
    os.close(reply_r)
    wpid, status = os.waitpid(pid, os.WNOHANG)
    if wpid == 0:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
    reply = protocol.typed_reply(raw, job["id"]) if raw else None
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


def main(argv: list[str]) -> None:
    """Set this process up as the zygote, then serve jobs until told to quit. Flags: --probe
    (start-up probe: no preloaded libraries), --root-proc (root in bubblewrap: mount /proc, then
    drop CAP_SYS_ADMIN), --no-policy (--no-sandbox: no syscall policy)."""
    t0 = time.monotonic()
    took: dict[str, float] = {"font_list": time.monotonic() - t0} if set_environment() else {}
    if "--probe" not in argv:
        t0 = time.monotonic()
        warmup.preload()
        t1 = time.monotonic()
        warmup.warm_up()
        took.update(preload=t1 - t0, warm_up=time.monotonic() - t1)
    if "--root-proc" in argv:
        isolation.mount_proc_and_drop_sys_admin()
    t0 = time.monotonic()
    seccomp = None if "--no-policy" in argv else policy.build_filter()
    took["policy"] = time.monotonic() - t0
    isolation.prctl(isolation.PR_SET_CHILD_SUBREAPER, 1)
    isolation.prctl(isolation.PR_SET_DUMPABLE, 0)
    channel = protocol.Channel()
    channel.send(protocol.ready_message(took))
    for job in channel.jobs():
        try:
            reply = fork_job(job, seccomp)
        except Exception as exc:  # a zygote failure, reported as such
            reply = protocol.failure_reply(job, exc)
        channel.send(reply)
    os._exit(0)  # every reply is flushed: skip tearing the preloaded libraries down, a grader waits on it
