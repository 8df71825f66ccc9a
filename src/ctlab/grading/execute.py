"""One submission through both phases: run in a worker, keep the last snapshot, grade it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlab.grading import autograder, snapshot
from ctlab.grading.results import Kind, Status
from ctlab.grading.sandbox import Worker
from ctlab.timings import Timings


@dataclass
class Outcome:
    status: Status
    points: dict[str, float]
    tests: list[dict[str, Any]] = field(default_factory=list)
    cells_run: int = 0
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    snapshot_cell: int = 0
    cpu_s: float | None = None


def _kept(n: int) -> str:
    return f"kept answers up to cell {n}" if n else "kept no answers"


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


EVENT_KINDS = frozenset({"SystemExit", "MemoryError", "ThreadLimit", "SnapshotError"})
MAX_CELL = 1_000_000
MAX_ERRORS = 50


@dataclass(frozen=True)
class Progress:
    """The progress record a submission's sandbox wrote, taken as data. Submission code can
    rewrite that file, so only integers, booleans and a fixed set of event kinds are kept;
    the one text, each error message, is the submission's own and is shown as such."""
    started: int = 0
    completed: int = 0
    done: bool = False
    output_dropped: int = 0
    events: tuple[tuple[int, str], ...] = ()
    errors: tuple[tuple[int, str], ...] = ()


def _count(v: object, cap: int = MAX_CELL) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= cap else 0


def parse_progress(data: object) -> Progress | None:
    """A Progress from the decoded JSON record, or None when it is not a record at all."""
    if not isinstance(data, dict):
        return None
    events, errors = [], []
    raw_events, raw_errors = data.get("events"), data.get("errors")
    for e in raw_events if isinstance(raw_events, list) else []:
        if isinstance(e, dict) and e.get("kind") in EVENT_KINDS and _count(e.get("cell")):
            events.append((_count(e.get("cell")), str(e["kind"])))
    for e in raw_errors if isinstance(raw_errors, list) else []:
        if isinstance(e, dict) and _count(e.get("cell")) and isinstance(e.get("error"), str):
            errors.append((_count(e.get("cell")), e["error"][:500]))
        if len(errors) >= MAX_ERRORS:
            break
    return Progress(started=_count(data.get("started")), completed=_count(data.get("completed")),
                    done=data.get("done") is True, output_dropped=_count(data.get("output_dropped"), 1 << 62),
                    events=tuple(events[-MAX_ERRORS:]), errors=tuple(errors))


def describe(reply: dict[str, Any], prog: dict[str, Any] | Progress | None, timeout: float, snap_cell: int) -> str:
    """The gradebook status, in words (see phase1_status)."""
    return phase1_status(reply, prog, timeout, snap_cell).text


def phase1_status(reply: dict[str, Any], prog: dict[str, Any] | Progress | None, timeout: float,
                  snap_cell: int) -> Status:
    """The status of a run, from the zygote's reply and the child's progress record.
    Only the grader's own words and integers: nothing of the record's text."""
    if reply.get("zygote_error"):
        return Status(Kind.WORKER_ERROR, f"grading worker failed ({reply['zygote_error']}): {_kept(snap_cell)}")
    if reply.get("prepare_error"):
        return Status(Kind.WORKER_ERROR, f"grading worker could not prepare the submission: {reply['prepare_error']}")
    p = prog if isinstance(prog, Progress) or prog is None else parse_progress(prog)
    cell = (p.started if p else 0) or 1
    if reply.get("timed_out"):
        return Status(Kind.TIMEOUT, f"timed out in cell {cell} after {timeout:g} s: {_kept(snap_cell)}")
    if reply.get("output_limit"):
        return Status(Kind.OUTPUT_LIMIT, f"output limit exceeded in cell {cell}: {_kept(snap_cell)}")
    mem = [c for c, kind in (p.events if p else ()) if kind == "MemoryError"]
    if mem:
        return Status(Kind.MEMORY, f"memory limit exceeded in cell {mem[-1]}: {_kept(snap_cell)}")
    threads = [c for c, kind in (p.events if p else ()) if kind == "ThreadLimit"]
    if threads:
        return Status(Kind.THREAD_LIMIT, f"thread limit exceeded in cell {threads[-1]}: {_kept(snap_cell)}")
    if p and p.done and reply.get("exit_code") == 0:
        notes = []
        exits = [c for c, kind in p.events if kind == "SystemExit"]
        if exits:
            notes.append(f"SystemExit in cell {', '.join(map(str, exits))} ignored, as Jupyter does")
        if p.output_dropped:
            notes.append(f"output past 1 MiB dropped ({p.output_dropped} bytes)")
        bad = [c for c, kind in p.events if kind == "SnapshotError"]
        if bad:
            notes.append(f"answers could not be saved after cell {bad[-1]}")
        return Status.ok(notes)
    if not p:
        if reply.get("signal") is not None:
            return Status(Kind.KILLED, f"kernel killed by {_signame(reply['signal'])} before running any cell: "
                                       "kept no answers")
        return Status(Kind.EXITED, f"kernel exited with code {reply.get('exit_code')} before running any cell: "
                                   "kept no answers")
    if reply.get("signal") is not None:
        sig = reply["signal"]
        if sig == signal.SIGXCPU:
            return Status(Kind.CPU_LIMIT, f"CPU time limit exceeded in cell {cell}: {_kept(snap_cell)}")
        return Status(Kind.KILLED, f"kernel killed by {_signame(sig)} in cell {cell}: {_kept(snap_cell)}")
    return Status(Kind.EXITED, f"kernel exited (os._exit({reply.get('exit_code')})) in cell {cell}: {_kept(snap_cell)}")


def _last_snapshot(outbox: Path) -> Path | None:
    snaps = sorted(p for p in outbox.glob("snap-*") if p.is_dir() and not p.name.endswith(".tmp") and not p.is_symlink())
    for p in reversed(snaps):
        try:
            snapshot.read_manifest(p)
            return p
        except snapshot.SnapshotError:
            continue
    return None


SNAPSHOT_COPY_CAP = 256 * 1024 * 1024  # bytes of one snapshot kept in OUT/snapshots


def _copy_snapshot(src: Path, dest: Path) -> None:
    """Copy a snapshot folder: its manifest and only the files the manifest names, each a
    regular file (never through a symlink), the whole within SNAPSHOT_COPY_CAP. A file that
    does not qualify is left out (the variable then loads as missing, with the reason)."""
    manifest = snapshot.read_manifest(src)
    dest.mkdir(mode=0o700)
    total = (src / snapshot.MANIFEST).stat().st_size
    for entry in manifest["variables"].values():
        fname = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(fname, str) or "/" in fname or "\\" in fname or fname.startswith(".") \
                or (dest / fname).exists():
            continue
        try:
            fd = os.open(src / fname, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or total + st.st_size > SNAPSHOT_COPY_CAP:
                continue
            total += st.st_size
            with open(dest / fname, "wb") as out:
                shutil.copyfileobj(f, out, 1 << 20)
    shutil.copyfile(src / snapshot.MANIFEST, dest / snapshot.MANIFEST, follow_symlinks=False)


def _read_progress(outbox: Path) -> Progress | None:
    p = outbox / "progress.json"
    try:
        if p.is_symlink() or not p.is_file() or p.stat().st_size > 4 * 1024 * 1024:
            return None
        return parse_progress(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):
        return None


@dataclass
class Ran:
    """What phase 1 left: its status and the snapshot kept for phase 2."""
    status: Status
    kept: Path | None
    cells_run: int = 0
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    snapshot_cell: int = 0
    cpu_s: float | None = None

    def outcome(self, points: dict[str, float], tests: list[dict[str, Any]]) -> Outcome:
        return Outcome(status=self.status, points=points, tests=tests, cells_run=self.cells_run,
                       cell_errors=self.cell_errors, snapshot_cell=self.snapshot_cell, cpu_s=self.cpu_s)


def run_phase1(worker: Worker, ag: autograder.Autograder, cells: list[str], *, timeout: float,
               memory_mb: int, snapshot_dest: Path, timings: Timings | None = None) -> Ran:
    """Run the cells in `worker`; keep the last good snapshot in `snapshot_dest` for phase 2."""
    t0 = time.monotonic()
    job = worker.run(cells, ag.variables, timeout, memory_mb)
    t1 = time.monotonic()
    prog = _read_progress(job.outbox)
    snap = _last_snapshot(job.outbox)
    snap_cell = 0
    kept: Path | None = None
    if snap is not None:
        try:
            snap_cell = _count(snapshot.read_manifest(snap).get("cell"), len(cells))
        except (snapshot.SnapshotError, ValueError, TypeError):
            snap_cell = 0
        # Keep it in OUT/snapshots/<name>/, replacing the previous one in one step.
        tmp = snapshot_dest.with_name(snapshot_dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _copy_snapshot(snap, tmp)
        if snapshot_dest.exists():
            shutil.rmtree(snapshot_dest)
        tmp.rename(snapshot_dest)
        kept = snapshot_dest
    elif snapshot_dest.exists():
        shutil.rmtree(snapshot_dest)
    worker.clean_outbox()
    if timings is not None:
        timings.add("phase 1 (sandboxed run)", t0, t1)
        timings.add("phase 1: keep the snapshot", t1, time.monotonic())
    return Ran(
        status=phase1_status(job.reply, prog, timeout, snap_cell), kept=kept,
        cells_run=min(prog.completed, len(cells)) if prog else 0,
        cell_errors=[{"cell": c, "error": e} for c, e in prog.errors] if prog else [],
        snapshot_cell=snap_cell, cpu_s=job.reply.get("cpu_s"),
    )
