"""Run `ctlab grade` as a normal user, the way an instructor without root does.

Tests run as root, but the grader must hold as the instructor's own user. This module makes
an unprivileged account (or, when not root, uses the caller), builds a virtual environment
for it from the system's Python (the machine's own Python and the repository's .venv may not
be readable by that user), installs this checkout's project into it (non-editable), and
copies what grading reads (autograder/, assignment/, data/, solutions/, tests/submissions/) to
a folder the user can read but not write.

Cached under /var/tmp/ctlab-nonroot-<key>/, keyed by pyproject.toml and the system Python:
the dependencies are installed once; each run reinstalls only the project. Runs are
serialised with a lock, so no other checkout's run reinstalls the project meanwhile and checks
for leftovers of the user's uid see only the run at hand. CTLAB_NONROOT_KEEP=1 keeps the last
run's folder (runs/run-*) to look at.

Re-pointing at a changed sandbox: the expectation tables are the root tests' own (BATCHES);
how isolation is made to fail is in `fake_bwrap`; how the summary names the mode is in
`mode_line`.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import test_grade_corpus

REPO = Path(__file__).resolve().parents[1]
GRADER_USER = "ctlab-grader"
SYSTEM_PYTHONS = ("/usr/bin/python3.11", "/usr/bin/python3")
CACHE_PARENT = Path("/var/tmp")
# Root's cache is shared by every checkout; a normal user running the tests gets one of its own.
CACHE_PREFIX = "ctlab-nonroot" if os.geteuid() == 0 else f"ctlab-nonroot-u{os.geteuid()}"
HARNESS_VERSION = "1"  # bump to rebuild every cached environment
STALE_AFTER_S = 3 * 24 * 3600
GRADE_TIMEOUT_S = 900
# What grading (and its reports) reads under --root, plus the submissions; copied per run.
COPIED = ("autograder", "assignment", "data", "solutions", "tests/submissions")
FORCE_BWRAP = {"CTLAB_SANDBOX": "bwrap"}  # how bubblewrap mode is forced (ctlab.grading.sandbox.choose_mode)
# What the trusted side may leave in the instructor's home: the font list ctlab keeps for its workers
# (ctlab.grading.fontcache). Nothing else (the report draws its charts without matplotlib), and nothing
# in TMPDIR.
HOME_CACHES = (".cache/ctlab",)


# ------------------------------------------------------------------ what each batch must show


@dataclass(frozen=True)
class Batch:
    """A folder of submissions graded as the root tests grade it, with the root tests' table."""

    folder: str  # relative to the repository, as given on the command line
    expected: Callable[[], dict[str, tuple[dict, str]]]  # {path below folder: (points, status)}
    timeout: float = 20.0
    jobs: int = 2
    memory_mb: int = 2048
    names: tuple[str, ...] = ()  # only these files of the folder (default: the whole folder)

    def paths(self) -> list[str]:
        return [f"{self.folder}/{n}" for n in self.names] if self.names else [self.folder]

    def args(self) -> list[str]:
        return ["--jobs", str(self.jobs), "--timeout", f"{self.timeout:g}", "--memory", str(self.memory_mb)]


def _corpus_expected() -> dict[str, tuple[dict, str]]:
    folder = "tests/submissions/corpus"
    return {name: (points, status.format(a=f"{folder}/duplicate_a/same_name.ipynb",
                                         b=f"{folder}/duplicate_b/same_name.ipynb"))
            for name, (points, status) in test_grade_corpus.EXPECTED.items()}


def _hostile_inputs_expected() -> dict[str, tuple[dict, str]]:
    """The committed hostile inputs (the large ones are written at test time by the root test)."""
    import test_grade_hostile_inputs as t

    folder = REPO / "tests" / "submissions" / "hostile_inputs"
    return {name: row for name, row in t.FILE_ROWS.items() if (folder / name).is_file()}


def _hostile_answers(table: str) -> Callable[[], dict[str, tuple[dict, str]]]:
    def expected() -> dict[str, tuple[dict, str]]:
        import test_grade_hostile_answers as t

        return {name: (points, status) for name, (points, status, _) in getattr(t, table).items()}
    return expected


def _hostile_answers_batch(table: str, **settings) -> Batch:
    import test_grade_hostile_answers as t

    return Batch("tests/submissions/hostile_answers", _hostile_answers(table), timeout=t.TIMEOUT,
                 names=tuple(sorted(getattr(t, table))), **settings)


def _hostile_sandbox_expected() -> dict[str, tuple[dict, str]]:
    import test_grade_hostile_sandbox as t

    return dict(t.EXPECTED)


# Every folder of hostile submissions the root tests grade, with the table they check it against.
# A tests/submissions/hostile_* folder that is missing here fails test_every_hostile_folder_is_graded.
BATCHES: dict[str, Batch] = {
    "corpus": Batch("tests/submissions/corpus", _corpus_expected, timeout=test_grade_corpus.TIMEOUT),
    "hostile_inputs": Batch("tests/submissions/hostile_inputs", _hostile_inputs_expected),
    # As the root tests grade them: the blow-ups in batches of their own, on one worker.
    "hostile_answers": _hostile_answers_batch("EXPECTED"),
    "hostile_answers_time": _hostile_answers_batch("TIME_BATCH", jobs=1),
    "hostile_answers_memory": _hostile_answers_batch("MEMORY_BATCH", jobs=1, memory_mb=512),
    # One worker, as the root tests grade it: the /dev hunter runs where the /dev writer ran.
    "hostile_sandbox": Batch("tests/submissions/hostile_sandbox", _hostile_sandbox_expected, timeout=30, jobs=1),
}
QS = test_grade_corpus.QS


def unregistered_hostile_folders() -> list[str]:
    known = {b.folder for b in BATCHES.values()}
    found = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests" / "submissions").glob("hostile_*") if p.is_dir())
    return [f for f in found if f not in known]


def recorded_modes(out: Path) -> set[str]:
    """The sandbox modes the results under OUT say their submissions ran in."""
    modes = set()
    for p in (out / "results").rglob("*.json"):
        rec = json.loads(p.read_text())
        if isinstance(rec, dict) and isinstance(rec.get("sandbox"), str):
            modes.add(rec["sandbox"])
    return modes


def mode_line(mode: str) -> str:
    """The summary's line for a sandbox mode, as `ctlab grade` prints it (a note in brackets may follow)."""
    from ctlab.grading.sandbox import MODE_TEXT

    return MODE_TEXT[mode]


# ------------------------------------------------------------------ the account


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int

    @property
    def switches(self) -> bool:
        """True when commands must switch to this account (we are root)."""
        return os.geteuid() == 0


def grader_account() -> Account | str:
    """The unprivileged account to grade as, created when missing; or why there is none."""
    if os.geteuid() != 0:
        pw = pwd.getpwuid(os.geteuid())
        return Account(pw.pw_name, pw.pw_uid, pw.pw_gid)
    try:
        pw = pwd.getpwnam(GRADER_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        try:
            r = subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                                "--shell", "/usr/sbin/nologin", "--comment", "ctlab non-root grading tests", GRADER_USER],
                               capture_output=True, text=True)
            why = r.stderr.strip() or f"useradd exited {r.returncode}"
        except OSError as exc:
            why = f"{useradd}: {exc.strerror}"
        try:
            pw = pwd.getpwnam(GRADER_USER)  # also when a concurrent run made it first
        except KeyError:
            return f"cannot create the user {GRADER_USER!r}: {why}"
    if pw.pw_uid == 0:
        return f"the account {GRADER_USER!r} has uid 0"
    return Account(pw.pw_name, pw.pw_uid, pw.pw_gid)


# ------------------------------------------------------------------ the environment


def system_python() -> str | None:
    """A Python >= 3.11 outside the repository that any user may run."""
    for p in SYSTEM_PYTHONS:
        if os.path.isfile(p) and os.access(p, os.X_OK) and os.stat(os.path.realpath(p)).st_mode & 0o005 == 0o005:
            r = subprocess.run([p, "-c", "import sys; print(sys.version_info >= (3, 11))"], capture_output=True, text=True)
            if r.stdout.strip() == "True":
                return p
    return None


def _key(python: str) -> str:
    h = hashlib.sha256()
    h.update((REPO / "pyproject.toml").read_bytes())
    h.update(subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True).stdout)
    h.update(HARNESS_VERSION.encode())
    return h.hexdigest()[:16]


def _pip() -> list[str]:
    """The test run's own pip: it can install into another interpreter's environment (--python)
    and reuses the runner's download cache."""
    return [sys.executable, "-m", "pip"]


def _dependencies() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    build = project.get("build-system", {}).get("requires", [])
    return [*project["project"]["dependencies"], *build]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _open_to_all(top: Path) -> None:
    """Readable (and where executable, runnable) by any user; writable by the owner only."""
    for dirpath, _dirnames, filenames in os.walk(top):
        os.chmod(dirpath, 0o755)
        for n in filenames:
            p = os.path.join(dirpath, n)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.stat(p).st_mode & 0o100 else 0o644)


@dataclass
class Timings:
    """Seconds spent setting up; `built` is False when the cached environment was reused."""

    built: bool = False
    base_s: float = 0.0
    run_setup_s: float = 0.0
    grade_s: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        graded = ", ".join(f"{k} graded in {v:.0f} s" for k, v in self.grade_s.items())
        return (f"environment {'built' if self.built else 'reused'} in {self.base_s:.0f} s, "
                f"run set up in {self.run_setup_s:.0f} s" + (f", {graded}" if graded else ""))


def base_environment(python: str, timings: Timings) -> Path:
    """The dependencies installed once into a root-owned environment (read-only to others),
    reused while pyproject.toml and the system Python stay the same."""
    key = _key(python)
    base = CACHE_PARENT / f"{CACHE_PREFIX}-{key}"
    venv, stamp = base / "venv", base / "complete"
    t0 = time.monotonic()
    with _locked(CACHE_PARENT / f"{CACHE_PREFIX}-{key}.lock"):
        if not stamp.is_file():
            timings.built = True
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(mode=0o755)
            subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
            subprocess.run([*_pip(), "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile",
                            "--disable-pip-version-check", *_dependencies()], check=True)
            # Compiled once here: the user cannot write __pycache__ in a root-owned environment.
            subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0",
                            "-x", r"/(tests?|testing)/", str(venv / "lib")], check=True, stdout=subprocess.DEVNULL)
            _open_to_all(base)
            stamp.write_text(f"{time.time()}\n")
        os.utime(stamp)
    _remove_stale(keep=base)
    timings.base_s = time.monotonic() - t0
    return base


def _remove_stale(*, keep: Path) -> None:
    """Environments of older pyproject.toml versions unused for days."""
    for d in CACHE_PARENT.glob(f"{CACHE_PREFIX}-*"):
        if d == keep or not d.is_dir() or not (d / "venv").is_dir():
            continue
        stamp = d / "complete"
        try:
            age = time.time() - stamp.stat().st_mtime
        except OSError:
            age = time.time() - d.stat().st_mtime
        if age > STALE_AFTER_S:
            with _locked(Path(str(d) + ".lock")):
                shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------ one run


@dataclass
class Run:
    """One run's folders. `root` is the read-only copy of the project; `work`, `home` and `tmp`
    belong to the account, and only `work/<out>` may hold anything after a grade."""

    account: Account
    dir: Path
    venv: Path
    root: Path
    home: Path
    tmp: Path
    work: Path
    timings: Timings = field(default_factory=Timings)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "USER": self.account.name,
            "LOGNAME": self.account.name,
            "LANG": "C.UTF-8",
        }
        env.update(extra)
        return env

    def ctlab(self, *args: str, env: dict[str, str] | None = None,
              timeout: float = GRADE_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """`ctlab ARGS` as the account, from the project copy, output captured."""
        switch = {"user": self.account.uid, "group": self.account.gid, "extra_groups": []} if self.account.switches else {}
        return subprocess.run([str(self.venv / "bin" / "ctlab"), *args], cwd=self.root, env=env or self.env(),
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              umask=0o022, **switch)

    def mkdir_for_account(self, path: Path) -> Path:
        path.mkdir(mode=0o700, parents=True)
        if self.account.switches:
            os.chown(path, self.account.uid, self.account.gid)
        return path

    def fake_bwrap(self, *, real_first: bool) -> tuple[dict[str, str], Path]:
        """An environment whose `bwrap` fails as it does where user namespaces are not allowed;
        with `real_first`, the first call (the start-up probe) still runs the real one.
        Returns the environment and a folder in which each call leaves a file."""
        bindir = Path(tempfile.mkdtemp(prefix="fake-bwrap-", dir=self.dir))
        calls = bindir / "calls"
        self.mkdir_for_account(calls)
        real = shutil.which("bwrap") or "/usr/bin/bwrap"
        script = bindir / "bwrap"
        script.write_text(
            "#!/bin/sh\n"
            f'd="{calls}"\n'
            'touch "$d/call.$$"\n'
            + (f'if mkdir "$d/first" 2>/dev/null; then exec {real} "$@"; fi\n' if real_first else "")
            + 'echo "bwrap: setting up uid map: Permission denied" >&2\n'
            "exit 1\n")
        os.chmod(bindir, 0o755)
        os.chmod(script, 0o755)
        env = self.env()
        env["PATH"] = f"{bindir}:{env['PATH']}"
        return env, calls


def _copy_project(dest: Path) -> None:
    for rel in COPIED:
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))
    _open_to_all(dest)


def _install_project(venv: Path, scratch: Path) -> None:
    """The project, non-editable, built from a copy (an in-tree build would write into the repo)."""
    src = scratch / "project"
    src.mkdir()
    shutil.copytree(REPO / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    subprocess.run([*_pip(), "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", "--force-reinstall", "--disable-pip-version-check", str(src)], check=True)
    shutil.rmtree(src)


@contextlib.contextmanager
def prepared_run(account: Account, python: str, timings: Timings) -> Iterator[Run]:
    """A fresh run: this checkout's project installed into the cached environment, the project
    copy, the account's folders; removed afterwards. Holds the runs' lock throughout (one
    non-root run on this machine at a time, so no other checkout reinstalls the project meanwhile)."""
    base = base_environment(python, timings)
    runs = base / "runs"
    runs.mkdir(mode=0o755, exist_ok=True)
    with _locked(CACHE_PARENT / f"{CACHE_PREFIX}-runs.lock"):
        t0 = time.monotonic()
        for old in runs.iterdir():  # an earlier run that was killed before it cleaned up
            shutil.rmtree(old, ignore_errors=True)
        remove_leftovers_of(account)
        rundir = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
        os.chmod(rundir, 0o755)
        try:
            venv = base / "venv"
            _install_project(venv, rundir)
            for p in (venv / "lib").glob("python3*/site-packages/ctlab*"):
                _open_to_all(p)
            os.chmod(venv / "bin" / "ctlab", 0o755)
            root = rundir / "root"
            _copy_project(root)
            run = Run(account, rundir, venv, root, home=rundir / "home", tmp=rundir / "tmp", work=rundir / "work",
                      timings=timings)
            for d in (run.home, run.tmp, run.work):
                run.mkdir_for_account(d)
            timings.run_setup_s = time.monotonic() - t0
            yield run
        finally:
            kill_processes_of(account, since=set())
            if not os.environ.get("CTLAB_NONROOT_KEEP"):  # kept for a look until the next run
                shutil.rmtree(rundir, ignore_errors=True)


# ------------------------------------------------------------------ what a run leaves behind


def processes_of(account: Account) -> set[int]:
    pids = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                for line in Path(f"/proc/{d}/status").read_text().splitlines():
                    if line.startswith("Uid:") and int(line.split()[1]) == account.uid:
                        pids.add(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def kill_processes_of(account: Account, *, since: set[int]) -> None:
    """Kill, by pid, the account's processes a run left (never the caller's own, when not root)."""
    if not account.switches:
        return
    for pid in processes_of(account) - since:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)


def remove_leftovers_of(account: Account) -> None:
    """Start from a clean account: what an earlier, interrupted run left in the shared places."""
    if not account.switches:
        return
    kill_processes_of(account, since=set())
    for p in sorted(files_of(account), key=len):
        if os.path.lexists(p):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(p)


def files_of(account: Account, tops: tuple[str, ...] = ("/tmp", "/var/tmp", "/dev/shm"),
             skip: tuple[Path, ...] = ()) -> set[str]:
    """Files and folders owned by the account under the shared scratch places."""
    found = set()
    skipped = {str(p) for p in skip} | {str(p / "venv") for p in CACHE_PARENT.glob("ctlab-nonroot-*")}
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skipped]
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                with contextlib.suppress(OSError):
                    if os.lstat(p).st_uid == account.uid:
                        found.add(p)
    return found


def ipc_of(account: Account) -> set[str]:
    """SysV shared memory, queues and semaphores owned by the account (and POSIX queues)."""
    found = set()
    for kind in ("shm", "msg", "sem"):
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
            head = lines[0].split()
            for line in lines[1:]:
                cols = dict(zip(head, line.split(), strict=False))
                if cols.get("uid") == str(account.uid):
                    found.add(f"{kind}:{cols.get('key')}")
    if os.path.isdir("/dev/mqueue"):
        for n in os.listdir("/dev/mqueue"):
            with contextlib.suppress(OSError):
                if os.lstat(f"/dev/mqueue/{n}").st_uid == account.uid:
                    found.add(f"mqueue:{n}")
    return found


def unexpected_in_home(home: Path) -> list[str]:
    """What a run left in HOME besides the library caches in HOME_CACHES (and their parents)."""
    allowed_parents = {str(Path(c).parent) for c in HOME_CACHES}
    found = []
    for p in sorted(home.rglob("*")):
        rel = str(p.relative_to(home))
        if rel in allowed_parents or any(rel == c or rel.startswith(c + "/") for c in HOME_CACHES):
            continue
        found.append(rel)
    return found


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def gradebook_rows(out: Path, folder: str) -> dict[str, dict[str, str]]:
    """Rows by file below `folder`, the file read back as ctlab wrote it (formula and bidi escapes undone)."""
    from ctlab.safetext import csv_value

    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {csv_value(row["file"]).removeprefix(folder + "/"): row for row in csv.DictReader(f)}
