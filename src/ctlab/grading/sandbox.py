"""Phase 1 workers: one long-lived zygote per worker, inside bubblewrap when it can run.

Modes:
- "bwrap": the zygote runs in `bwrap` with new pid, network, IPC and UTS namespaces (and a
  user namespace when not root), a read-only view of the system (/usr, /etc, the Python
  installation and its virtual environment) and nothing else of the host: no repository,
  no autograder, no other submission, no output folder. Each submission then gets
  namespaces of its own inside it (user, mount, IPC, network, UTS, pid; see worker/job.py),
  private size-capped tmpfs for /tmp, /dev/shm, /job and /out, and the syscall policy of
  policy.py; it runs as the caller's uid (as `nobody` when the caller is root), with no
  capability and no way to switch uid. Everything it made dies with its namespaces.
- "user": the fallback when bwrap cannot run and the grader is root (e.g. in a container
  whose seccomp profile forbids namespaces). Same zygote on the host; each worker's
  submissions run as their own unprivileged uid under the same syscall policy and limits;
  the worker's files are readable by that uid only, the run's folders by root only. After
  each submission its folders are wiped and whatever the uid left in /tmp, /var/tmp and
  /dev/shm is removed.
- "none": `--no-sandbox`; submission code runs as the grader's user, unisolated.

The start-up probe (`probe`) runs one real job through a real worker of the mode it checks,
so a mode that cannot isolate submissions is found before any submission is graded.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlab.errors import CtlabError
from ctlab.grading import fontcache
from ctlab.grading.sandbox_uids import UidClaim, claim_uid

HERE = Path(__file__).resolve().parent
PACKAGE_PARENT = HERE.parents[1]  # the folder holding the ctlab package
WORKER_ENTRY = "ctlab/grading/worker/__main__.py"
SANDBOX_ROOT = "/opt/ctlab"  # where the worker's files are bound in bubblewrap mode
SANDBOX_UID = 65534  # nobody: the submissions' uid when the grader runs as root
FALLBACK_UID_BASE = int(os.environ.get("CTLAB_SANDBOX_UID_BASE", "64000"))
ZYGOTE_TMP_BYTES = 64 * 1024 * 1024  # the zygote's own /tmp (submissions get theirs)
STARTUP_TIMEOUT = 120.0

MODE_TEXT = {
    "bwrap": ("sandbox: bubblewrap (per-submission namespaces, no network, syscall policy, read-only system, "
              "nothing of the repository visible)"),
    "user": ("sandbox: unprivileged-user fallback (bwrap unavailable; separate uid, syscall policy and limits, "
             "no namespaces)"),
    "none": "sandbox: NONE (--no-sandbox): submission code ran unisolated as the grader's user",
}


def _python_dirs() -> list[str]:
    dirs = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        rp = os.path.realpath(p)
        if rp not in dirs:
            dirs.append(rp)
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(d + os.sep) for d in dirs):
        dirs.append(os.path.dirname(exe))
    return dirs


def python_dirs_under_tmp() -> list[str]:
    """The Python environment's folders under /tmp (a checkout there): each submission's fresh
    /tmp gets them bound again, read-only."""
    return [d for d in _python_dirs() if d.startswith("/tmp/")]


def _system_binds() -> list[str]:
    args: list[str] = []
    for top in ("/usr", "/etc"):
        args += ["--ro-bind", top, top]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def bwrap_command(inbox: Path, outbox: Path) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    root = os.geteuid() == 0
    args = [
        bwrap,
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
    ]
    if not root:
        args += ["--unshare-user"]
    args += _system_binds()
    args += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(ZYGOTE_TMP_BYTES), "--perms", "1777", "--tmpfs", "/tmp",
        "--perms", "0755", "--dir", "/job",
        "--perms", "0755", "--dir", "/out",
    ]
    # After the /tmp tmpfs: a checkout (and so its .venv) may live under /tmp.
    made: set[str] = set()
    for d in _python_dirs():
        if d.startswith("/usr/") or d == "/usr":
            continue
        # Parents bwrap creates would be 0700: make them traversable for the sandbox user.
        for parent in reversed(Path(d).parents):
            p = str(parent)
            if p not in ("/", "/tmp") and p not in made:
                made.add(p)
                args += ["--perms", "0755", "--dir", p]
        args += ["--ro-bind", d, d]
    args += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", SANDBOX_ROOT]
    for folder in ("ctlab", "ctlab/grading", "ctlab/grading/worker"):
        args += ["--perms", "0755", "--dir", f"{SANDBOX_ROOT}/{folder}"]
    for rel in sandbox_files():
        args += ["--ro-bind", str(PACKAGE_PARENT / rel), f"{SANDBOX_ROOT}/{rel}"]
    args += [
        "--ro-bind", str(inbox), "/inbox",
        "--bind", str(outbox), "/outbox",
        "--chdir", "/",
        # Last: as a normal user the root tmpfs is the user's own, and a file a submission left
        # there (or in /opt, first on the worker's path) would outlive it.
        "--remount-ro", "/",
    ]
    if root:
        # To switch each job to the sandbox user and stop it; CAP_SYS_ADMIN only to mount the
        # zygote's /proc, dropped right after (worker/zygote.py).
        args += ["--cap-drop", "ALL"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_SYS_ADMIN"):
            args += ["--cap-add", cap]
    return args


def sandbox_files() -> list[str]:
    """What the worker imports, relative to the folder holding ctlab: in bubblewrap mode the
    only files of ctlab bound into the sandbox (read-only, under SANDBOX_ROOT)."""
    worker = sorted(p.name for p in (HERE / "worker").glob("*.py"))
    return ["ctlab/__init__.py", "ctlab/grading/__init__.py", "ctlab/grading/snapshot.py",
            *(f"ctlab/grading/worker/{name}" for name in worker)]


def _zygote_env() -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MALLOC_ARENA_MAX": "2",
    }


def probe(mode: str) -> str | None:
    """Run one real job through a real worker of `mode` (a zygote without the preloaded
    libraries): None when it ran and came back clean, else why not, in one line."""
    import tempfile

    if mode == "bwrap" and shutil.which("bwrap") is None:
        return "bwrap is not installed"
    with tempfile.TemporaryDirectory(prefix="ctlab-probe-") as d:
        data = Path(d, "data")
        data.mkdir()
        (data / "probe.csv").write_text("a\n1\n", encoding="utf-8")
        os.chmod(d, 0o711)
        run = Path(d, "run")
        run.mkdir(mode=0o711)
        w = Worker(0, mode, run, data, probe=True)
        try:
            w.start()
            job = w.run(["import os\nx = sorted(os.listdir('data'))\nopen('/tmp/p', 'w').write('1')"], [], 30, 512)
        except (CtlabError, OSError) as exc:
            return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        finally:
            w.close()
        r = job.reply
        why = r.get("zygote_error") or r.get("prepare_error")
        if why:
            return str(why)
        if r.get("exit_code") != 0 or r.get("restart"):
            return f"the probe job did not finish cleanly (exit code {r.get('exit_code')}, signal {r.get('signal')})"
        try:
            progress = json.loads((job.outbox / "progress.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            progress = {}
        if progress.get("done") is not True or progress.get("errors"):
            return "the probe job's cells did not run"
    return None


def choose_mode(no_sandbox: bool, forced: str | None = None) -> tuple[str, str]:
    """Return (mode, note). Raises CtlabError when no isolation is possible and none was waived."""
    if no_sandbox:
        return "none", ""
    forced = forced or os.environ.get("CTLAB_SANDBOX") or None
    if forced not in (None, "bwrap", "user"):
        raise CtlabError(f"CTLAB_SANDBOX must be 'bwrap' or 'user', not {forced!r}")
    if forced != "user":
        why = probe("bwrap")
        if why is None:
            return "bwrap", ""
        if forced == "bwrap" or os.geteuid() != 0:
            raise CtlabError(
                f"cannot isolate submissions: the bubblewrap sandbox does not work here ({why}); "
                + ("fix that, or pass --no-sandbox to grade unisolated" if forced == "bwrap" else
                   "it needs bubblewrap and unprivileged user namespaces (or run as root for the "
                   "separate-user fallback), or pass --no-sandbox to grade unisolated")
            )
    else:
        why = "fallback requested"
        if os.geteuid() != 0:
            raise CtlabError("cannot use the separate-user fallback sandbox as a normal user: it needs root")
    failed = probe("user")
    if failed is not None:
        raise CtlabError(f"cannot isolate submissions: the separate-user fallback does not work here ({failed})")
    return "user", why


def fallback_uid() -> UidClaim:
    """A uid for one worker in fallback mode: it belongs to no account, and no other worker on
    the host (of this batch, another batch or another user's) has it while the claim is held."""
    return claim_uid(FALLBACK_UID_BASE)


@dataclass
class JobResult:
    reply: dict[str, Any]
    outbox: Path


class Worker:
    """One zygote and its inbox/outbox. Not thread-safe: one thread drives one worker."""

    def __init__(self, index: int, mode: str, workdir: Path, data_dir: Path, *, probe: bool = False):
        self.index = index
        self.mode = mode
        self.probe = probe
        self.base = workdir / f"worker-{index}"
        self.inbox = self.base / "in"
        self.outbox = self.base / "out"
        self.jobdir = self.base / "job"
        self.data_dir = data_dir
        root = os.geteuid() == 0
        # Without root, submissions keep the caller's uid: inside their own user namespace no
        # switch is possible, and none is needed.
        self._claim = fallback_uid() if mode == "user" else None
        if self._claim is not None:
            weakref.finalize(self, self._claim.release)  # however the worker is dropped
        self.uid = {"bwrap": SANDBOX_UID if root else None, "user": self._claim.uid if self._claim else None,
                    "none": None}[mode]
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"worker-{index}.log"
        self._counter = 0
        self._cpu_seen = 0.0
        self.launched_at = 0.0  # time.monotonic() at the last launch
        self.took: dict[str, float] = {}  # the zygote's set-up steps, in seconds, by name (ready message)
        self._prepare_dirs()

    # -- files
    def _prepare_dirs(self) -> None:
        if self.base.exists():
            shutil.rmtree(self.base)
        self.base.mkdir(mode=0o700)
        self.inbox.mkdir(mode=0o755)
        self.outbox.mkdir(mode=0o700)  # written by each job process, hidden from submission code
        if self.mode == "bwrap" and self.uid is not None:
            os.chown(self.outbox, self.uid, self.uid)  # job processes run as the sandbox user
        shutil.copytree(self.data_dir, self.inbox / "data")
        self.font_list = ""  # matplotlib's font list, when one is kept (see fontcache)
        fonts = fontcache.font_list()
        if fonts is not None:
            try:
                shutil.copyfile(fonts, self.inbox / fonts.name)
                self.font_list = fonts.name
            except OSError:
                pass
        for p in [self.inbox, *self.inbox.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        if self.mode == "user":
            # The zygote makes the per-job folders in here and hands them to the worker's uid.
            self.jobdir.mkdir(mode=0o755)
            # Only this worker's uid (by its group) and root can enter; it can create nothing here.
            assert self.uid is not None  # always set in this mode
            os.chown(self.base, 0, self.uid)
            os.chmod(self.base, 0o710)

    def _paths(self) -> dict[str, Any]:
        if self.mode == "bwrap":
            return {"inbox": "/inbox", "out": "/outbox", "work": "/job/work", "stage": "/out/job",
                    "python_under_tmp": python_dirs_under_tmp()}
        paths: dict[str, Any] = {"inbox": str(self.inbox), "out": str(self.outbox), "work": str(self.jobdir / "work"),
                 "stage": str(self.jobdir / "stage"), "wipe": [str(self.jobdir)]}
        if self.mode == "user":
            paths["shared_tmp"] = ["/tmp", "/var/tmp", "/dev/shm"]
        return paths

    def clean_outbox(self) -> None:
        for p in self.outbox.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    # -- process
    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the zygote without waiting for it to load its libraries (see wait_ready)."""
        entry = f"{SANDBOX_ROOT}/{WORKER_ENTRY}" if self.mode == "bwrap" else str(PACKAGE_PARENT / WORKER_ENTRY)
        argv = [sys.executable, "-I", entry]
        if self.mode == "bwrap":
            argv = bwrap_command(self.inbox, self.outbox) + argv
            if os.geteuid() == 0:
                argv.append("--root-proc")
        if self.mode == "none":
            argv.append("--no-policy")
        if self.probe:
            argv.append("--probe")
        env = _zygote_env()
        if self.mode != "bwrap":
            env["MPLCONFIGDIR"] = str(self.base / "mpl")
            env["HOME"] = str(self.base)
        if self.font_list:
            env["CTLAB_FONT_LIST"] = f"{'/inbox' if self.mode == 'bwrap' else self.inbox}/{self.font_list}"
        self._cpu_seen = 0.0
        self.launched_at = time.monotonic()
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logf,
            env=env, cwd=str(self.base) if self.mode != "bwrap" else None, start_new_session=True,
        )
        logf.close()

    def wait_ready(self) -> None:
        line = self._read_line(STARTUP_TIMEOUT)
        if line is None or not line.get("ready"):
            self.stop()
            tail = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
            raise CtlabError(f"the grading worker did not start ({self.mode} mode): {tail.strip() or 'no output'}")
        took = line.get("took")
        self.took = {str(k): float(v) for k, v in took.items()
                     if isinstance(v, (int, float))} if isinstance(took, dict) else {}

    def _read_line(self, timeout: float) -> dict[str, Any] | None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        if not line:
            return None
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError:
            return None
        return message

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None  # both pipes (launch)
        try:
            if proc.poll() is None:
                try:
                    proc.stdin.write(b'{"quit": true}\n')
                    proc.stdin.flush()
                    proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            for f in (proc.stdin, proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
            self.proc = None

    def close(self) -> None:
        """Stop the zygote for good and give its sandbox uid back."""
        self.stop()
        if self._claim is not None:
            self._claim.release()

    def run(self, cells: list[str], variables: list[str], timeout: float, memory_mb: int) -> JobResult:
        """Run one submission's cells. Restarts the zygote if it has died or could not clean up
        after the previous submission; a failure to prepare the submission is retried once on a
        fresh zygote before it is reported (as a grader-side failure)."""
        reply = self._run_once(cells, variables, timeout, memory_mb)
        if reply.get("prepare_error"):
            self.stop()
            reply = self._run_once(cells, variables, timeout, memory_mb)
        if reply.get("restart"):
            # The zygote could not return the sandbox to a clean state: replace it.
            self.stop()
        return JobResult(reply=reply, outbox=self.outbox)

    def _run_once(self, cells: list[str], variables: list[str], timeout: float, memory_mb: int) -> dict[str, Any]:
        if not self.alive():
            self.stop()
            self.start()
        self.clean_outbox()
        (self.inbox / "cells.json").write_text(json.dumps(cells), encoding="utf-8")
        os.chmod(self.inbox / "cells.json", 0o644)
        self._counter += 1
        job = {"id": self._counter, "mode": self.mode, "timeout": timeout, "memory_mb": memory_mb,
               "uid": self.uid, "vars": variables, "ncells": len(cells), **self._paths()}
        assert self.proc is not None and self.proc.stdin is not None  # started above
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            reply = self._read_line(timeout + 60)
        except OSError:
            reply = None
        if reply is None or reply.get("id") != job["id"]:
            # The zygote died or hung: kill the whole sandbox; it restarts on the next job.
            self.stop()
            reply = {"id": job["id"], "zygote_error": "the grading worker stopped responding"}
        if "cpu_children" in reply:
            total = float(reply["cpu_children"])
            reply["cpu_s"] = max(0.0, total - self._cpu_seen)
            self._cpu_seen = total
        return reply
