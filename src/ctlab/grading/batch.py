"""`ctlab grade`: grade a batch of submissions in two phases, in parallel.

Phase 1 runs each submission's code cells in a sandboxed worker (see sandbox.py and
zygote.py) and keeps a snapshot of the answer variables after every cell. Phase 2 runs in
trusted test processes that never execute submission code, each test of a snapshot within
a time and memory limit (trusted.py): they load the last snapshot and run the otter test
files against it (runner.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic, contract, lms, safetext, sources
from ctlab.errors import CtlabError
from ctlab.grading import autograder, inputs, kept_code, snapshot
from ctlab.grading import manual_scores as hand_scores
from ctlab.grading.execute import Ran, run_phase1
from ctlab.grading.sandbox import MODE_TEXT, Worker, choose_mode
from ctlab.grading.trusted import NOT_TESTED, TrustedGrader, status_with


@dataclass
class GradeSummary:
    out: Path
    mode: str
    mode_note: str
    graded: int = 0
    cached: int = 0
    retested: int = 0  # tests changed since the last run: phase 2 only, on the kept snapshot
    rejected: int = 0
    incomplete: int = 0  # ran, but stopped early (timeout, memory, exit)
    total: int = 0
    wall_s: float = 0.0
    rows: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"graded {self.total} submission(s) in {self.wall_s:.1f} s -> {self.out / 'gradebook.csv'}",
            f"  ran: {self.graded}  reused from cache: {self.cached}  re-tested (tests changed): {self.retested}  "
            f"not gradable: {self.rejected}  "
            f"stopped early: {self.incomplete}",
            "  " + MODE_TEXT[self.mode] + (f" [{self.mode_note}]" if self.mode_note else ""),
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled and total > 0
        self.lock = threading.Lock()

    def step(self, label: str = "") -> None:
        with self.lock:
            self.done += 1
            if self.enabled:
                width = 30
                filled = int(width * self.done / self.total)
                sys.stderr.write(f"\rgrading [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label[:30]:30}")
                if self.done == self.total:
                    sys.stderr.write("\n")
                sys.stderr.flush()


def _readable_by_others(path: Path) -> bool:
    """Whether a user other than the owner (the fallback sandbox user) could read `path`."""
    try:
        p = path.resolve()
        for parent in list(reversed(p.parents)):
            if not os.stat(parent).st_mode & 0o001:
                return False
        return bool(os.stat(p).st_mode & 0o004)
    except OSError:
        return False


MANUAL_KEPT = hand_scores.FILE


def _kept_manual_scores(out: Path, *, update: dict[str, dict[str, float]],
                        comments: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, float]]:
    """Hand scores merged in earlier runs (or given in `ctlab review`), updated with this run's
    `--manual` CSV and kept in OUT, so that a re-grade without the CSV never loses them."""
    return hand_scores.merge_points(out, update, comments)


def _manual_for(s: inputs.Submission, stems: Counter[str],
                scores: dict[str, dict[str, float]]) -> dict[str, float] | None:
    """The hand scores for `s` (see hand_scores.lookup)."""
    stem = inputs.stem_of(s.file)
    return hand_scores.lookup(scores, file=s.file, name=s.name, stem=stem, base=s.file.rsplit("/", 1)[-1],
                                stem_unique=stems[stem] == 1)


ManualRow = tuple[int, str, dict[str, float], dict[str, str]]  # line, file key, {q: points}, {q: comment}


def _load_manual(manual: Path, manual_q: frozenset[str]) -> tuple[list[ManualRow], list[str]]:
    """The CSV's rows, from a `file` column, manual question columns (`q8`) and optional comment
    columns (`q8_comment`, or `comment` beside a single question), and what is wrong with any line."""
    try:
        text = Path(manual).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CtlabError(f"{manual}: cannot read manual scores ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CtlabError(f"{manual}: manual scores are not UTF-8 text (save them as CSV UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "file" not in reader.fieldnames:
        raise CtlabError(f"{manual}: needs a 'file' column and one column per manual question ({', '.join(sorted(manual_q))})")
    cols = [c for c in reader.fieldnames if c in manual_q]
    notes = {f"{c}_comment": c for c in cols if f"{c}_comment" in reader.fieldnames}
    if "comment" in reader.fieldnames and len(cols) == 1:
        notes["comment"] = cols[0]
    if not cols:
        raise CtlabError(f"{manual}: no manual question column ({', '.join(sorted(manual_q))})")
    rows: list[ManualRow] = []
    bad: list[str] = []
    for row in reader:
        line = reader.line_num
        key = safetext.csv_value((row.get("file") or "").strip())  # as ctlab's own CSVs wrote it
        entry: dict[str, float] = {}
        bad_before = len(bad)
        for c in cols:
            v = (row.get(c) or "").strip()
            if v == "":
                continue
            try:
                value = float(v)
            except ValueError:
                bad.append(f"line {line}: {c} is not a number: {safetext.quoted(v, limit=40)}")
                continue
            top = float(contract.POINTS[c])
            if not 0 <= value <= top:  # also refuses nan
                bad.append(f"line {line}: {c} = {v} is outside 0..{_fmt(top)}")
                continue
            entry[c] = value
        if not key:
            if entry or any((row.get(c) or "").strip() for c in notes):
                bad.append(f"line {line}: no file named")
            continue
        said = {q: (row.get(column) or "").strip() for column, q in notes.items() if (row.get(column) or "").strip()}
        if len(bad) == bad_before:  # a line with a bad value is reported once, for its value
            rows.append((line, key, entry, said))
    return rows, bad


def _resolve_manual(manual: Path, rows: list[ManualRow], bad: list[str], subs: list[inputs.Submission]
                    ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """({submission id: {q: points}}, {submission id: {q: comment}}): each row's key matched to
    exactly one submission of this batch (its file as the gradebook shows it, its id, its file name
    or its stem). Any bad line stops the merge, with every bad line listed, before anything is written."""
    keys: dict[str, set[str]] = {}
    for s in subs:
        base = s.file.rsplit("/", 1)[-1]
        for key in {s.file, s.name, base, inputs.stem_of(s.file)}:
            keys.setdefault(key, set()).add(s.name)
    files = {s.name: s.file for s in subs}
    resolved: dict[str, dict[str, float]] = {}
    comments: dict[str, dict[str, str]] = {}
    first_line: dict[str, int] = {}
    bad = list(bad)
    for line, key, entry, said in rows:
        found = keys.get(key, set())
        shown = safetext.quoted(key, limit=80)
        if not found:
            bad.append(f"line {line}: no submission in this batch is {shown}")
        elif len(found) > 1:
            names = ", ".join(safetext.quoted(f, limit=200) for f in sorted(files[n] for n in found)[:3])
            bad.append(f"line {line}: {shown} fits {len(found)} submissions ({names}); use the file as the gradebook shows it")
        else:
            sid = next(iter(found))
            if sid in first_line:
                bad.append(f"line {line}: scores the same submission as line {first_line[sid]}")
            else:
                first_line[sid] = line
                if entry:
                    resolved[sid] = entry
                if said:
                    comments[sid] = said
    if bad:
        bad.sort(key=lambda b: int(b.split(":", 1)[0].split()[1]))
        raise CtlabError(f"{manual}: {len(bad)} bad line(s); no hand score was merged:\n  " + "\n  ".join(bad))
    return resolved, comments


def grade(*, submissions: list[Path], out: Path, root: Path, jobs: int, timeout: float, memory_mb: int,
          no_sandbox: bool, force: bool, manual: Path | None, progress: bool,
          sandbox: str | None = None, due: dt.datetime | None = None,
          late_penalty: float | None = None, allow_stale: bool = False) -> GradeSummary:
    """Grade `submissions` (files or folders) into `out`. See the module docstring.

    `sandbox` forces a mode ("bwrap" or "user"); by default bwrap is used when it works,
    else the unprivileged-user fallback (also selectable with CTLAB_SANDBOX=user).
    A submission is late when its LMS says so or it was submitted after `due` (where the LMS
    gives a time); `late_penalty` (percent of its total) is then taken off in its own column.
    """
    t_start = time.monotonic()
    if jobs < 1:
        raise CtlabError(f"--jobs must be at least 1, not {jobs}")
    if timeout <= 0:
        raise CtlabError(f"--timeout must be positive, not {timeout:g}")
    if late_penalty is not None and not 0 <= late_penalty <= 100:
        raise CtlabError(f"--late-penalty must be a percentage from 0 to 100, not {late_penalty:g}")
    if due is not None and due.tzinfo is None:
        raise CtlabError("--due needs a time zone (for example 2026-03-02T09:00+01:00 or ...Z)")
    if memory_mb < 256:
        raise CtlabError(f"--memory must be at least 256 MB (pandas alone needs that), not {memory_mb}")
    root = Path(root).resolve()
    out = Path(out).resolve()
    fp = autograder.fingerprint(root)
    stale = sources.changed_since_build(root)
    if stale and not allow_stale:
        raise CtlabError(f"{root / sources.MANIFEST}: autograder/ is older than {', '.join(stale)}; "
                         "run `make build` (or pass --allow-stale to grade with the old tests)")
    notes: list[str] = []
    subs = inputs.discover([Path(s) for s in submissions], notes=notes)
    if out.exists() and not out.is_dir():
        raise CtlabError(f"{out}: exists and is not a folder")
    manual_scores, manual_comments = (_resolve_manual(manual, *_load_manual(manual, contract.MANUAL_QUESTIONS), subs)
                                      if manual else ({}, {}))
    mode, note = choose_mode(no_sandbox, sandbox)

    results_dir, snaps_dir = out / "results", out / "snapshots"
    for d in (out, results_dir, snaps_dir):
        d.mkdir(parents=True, exist_ok=True)
    for d in (results_dir, snaps_dir):
        os.chmod(d, 0o750)  # never readable by the sandbox user in fallback mode
    manual_scores = _kept_manual_scores(out, update=manual_scores, comments=manual_comments)

    summary = GradeSummary(out=out, mode=mode, mode_note=note, total=len(subs), warnings=notes)
    if stale:
        summary.warnings.append(f"graded with the tests of an older build: changed since are {', '.join(stale)}")
    if mode == "user":
        exposed = [p for p in (root / "autograder", root / "solutions", root / "data")
                   if p.exists() and _readable_by_others(p)]
        if exposed:
            summary.warnings.append(
                "fallback sandbox: readable by any user, so by submission code too: "
                + ", ".join(str(p) for p in exposed) + " (chmod o-rwx them)"
            )

    for s in subs:
        inputs.load(s)
    kept_code.save(out, subs)

    records: dict[str, dict] = {}
    todo: list[inputs.Submission] = []
    retest: list[tuple[inputs.Submission, dict]] = []
    rejected: list[inputs.Submission] = []
    for s in subs:
        rpath = results_dir / f"{s.name}.json"
        if s.status is None and not force and rpath.is_file():
            try:
                old = json.loads(rpath.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
            same_run = (isinstance(old, dict) and old.get("submission_sha256") == s.sha256
                        and old.get("file") == s.file and isinstance(old.get("questions"), dict))
            if same_run and old.get("autograder_sha256") == fp.sha256 and NOT_TESTED not in str(old.get("status")):
                old["cached"] = True
                if old.get("identity") != s.identity.to_dict():  # kept from a run before identities
                    old["identity"] = s.identity.to_dict()
                    atomic.write_text(rpath, json.dumps(old, indent=1, ensure_ascii=False))
                records[s.name] = old
                summary.cached += 1
                continue
            if same_run and old.get("data_sha256") == fp.data_sha256 and not str(old.get("status", "")).startswith(("grader error", "grading worker")):
                # Only the tests changed, or its answers could not be tested: the notebook's run still
                # stands, so test its kept snapshot again.
                retest.append((s, old))
                continue
        (rejected if s.status is not None else todo).append(s)

    workdir = Path(tempfile.mkdtemp(prefix="ctlab-grade-")) if todo or retest else None
    workers: list[Worker] = []
    graders: list[TrustedGrader] = []
    try:
        if todo:
            os.chmod(workdir, 0o711 if mode == "user" else 0o700)
            workers = [Worker(i, mode, workdir, fp.data_dir) for i in range(max(1, min(jobs, len(todo))))]
            for w in workers:
                w.launch()
        if workdir is not None:
            # The test processes load their libraries and the tests while the workers load theirs.
            # One per two workers (at least one) keeps up with them: testing is the lighter phase.
            pristine = workdir / "pristine"
            shutil.copytree(fp.data_dir, pristine / "data")
            graders = [TrustedGrader(fp.root, pristine, memory_mb=memory_mb, timeout=timeout)
                       for _ in range(1 + (len(workers) - 1) // 2 if workers else 1)]
            # This process only waits from here on; the reports that follow grading need pandas.
            threading.Thread(target=_preload, args=("pandas", "pyarrow.parquet"), daemon=True).start()
            ag = autograder.from_description(fp, graders[0].autograder())
        else:
            ag = autograder.load_autograder(root, fp)
        for s in rejected:
            records[s.name] = _record(s, ag, s.status, {}, [], 0.0, mode)
            atomic.write_text(results_dir / f"{s.name}.json", json.dumps(records[s.name], indent=1, ensure_ascii=False))
            shutil.rmtree(snaps_dir / s.name, ignore_errors=True)
            summary.rejected += 1
        if retest:
            _retest(retest, ag, graders[0], snaps_dir, results_dir, records)
        if todo:
            _run_pool(todo, ag, workers, graders, snaps_dir, results_dir, records, _Progress(len(todo), progress),
                      timeout=timeout, memory_mb=memory_mb, mode=mode)
        summary.graded = len(todo)
        summary.retested = len(retest)
    finally:
        for w in workers:
            w.stop()
        for g in graders:
            g.close()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    # Manual scores, gradebook.
    rows = []
    stems = Counter(inputs.stem_of(s.file) for s in subs)
    for s in subs:
        rec = records[s.name]
        qpoints = {q: float((rec.get("questions", {}).get(q) or {}).get("points", 0.0)) for q in ag.questions}
        mscore = _manual_for(s, stems, manual_scores)
        if mscore and s.status is None:  # never for input that could not be graded
            for q, v in mscore.items():
                qpoints[q] = v
        possible = _points_possible(ag, graded_by_hand=set(mscore or ()))
        total = sum(qpoints.values())
        late = is_late(s.identity, due)
        penalty = round(total * late_penalty / 100, 4) if late and late_penalty else 0.0
        row = {"file": s.file, **{q: _fmt(qpoints[q]) for q in ag.questions},
               "total_points_earned": _fmt(total),
               "percent_correct": f"{(total / possible) if possible else 0.0:.4f}",
               "grading_status": safetext.one_line(rec.get("status", "")),
               "runtime_s": f"{float(rec.get('runtime_s', 0.0)):.2f}",
               "late": "yes" if late else "", "late_penalty": _fmt(penalty) if penalty else ""}
        rows.append(row)
        if not rec.get("status", "ok").startswith("ok") and s.status is None:
            summary.incomplete += 1
    fields = ["file", *ag.questions, "total_points_earned", "percent_correct", "grading_status", "runtime_s",
              "late", "late_penalty"]
    # what a later `ctlab review --apply` needs to recompute a late row's penalty as this run did
    atomic.write_text(out / GRADING_SETTINGS, json.dumps({"late_penalty_percent": late_penalty or 0.0,
                                                          "due": due.isoformat() if due else None}) + "\n", mode=0o640)
    atomic.write_text(out / "gradebook.csv", safetext.csv_text(fields, ([r[f] for f in fields] for r in rows)), mode=0o640)
    summary.rows = rows
    summary.wall_s = time.monotonic() - t_start
    return summary


def is_late(identity: lms.Identity, due: dt.datetime | None) -> bool:
    """Late as the LMS marked it, or submitted after `due` where the LMS gives the time."""
    if identity.late:
        return True
    when = identity.submitted()
    return bool(due and when and when > due)


def _preload(*modules: str) -> None:
    import importlib

    for m in modules:
        try:
            importlib.import_module(m)
        except Exception:  # only a head start: whoever needs it imports it again and sees the error
            pass


def _points_possible(ag: autograder.Autograder, *, graded_by_hand: set[str]) -> float:
    """The denominator of percent_correct: the autograded regular questions, plus each manual
    question once a hand score for it is merged. Stretch questions are extra credit: their
    points count as earned but not as possible, so a percentage may pass 1."""
    from ctlab.contract import POINTS, STRETCH_QUESTIONS

    regular = [q for q in ag.questions if q not in STRETCH_QUESTIONS]
    auto = sum(ag.max_points.get(q, 0.0) for q in regular if q not in ag.manual)
    return auto + sum(float(POINTS[q]) for q in regular if q in ag.manual and q in graded_by_hand)


def _record(s: inputs.Submission, ag: autograder.Autograder, status: str, points: dict, tests: list,
            runtime: float, mode: str, **extra) -> dict:
    return {
        "file": s.file, "name": s.name, "status": status, "runtime_s": round(runtime, 3),
        "cells_run": extra.pop("cells_run", 0),
        "questions": {q: {"points": float(points.get(q, 0.0)), "max_points": float(ag.max_points.get(q, 0.0))}
                      for q in ag.questions},
        "tests": tests,
        "submission_sha256": s.sha256, "autograder_sha256": ag.sha256, "data_sha256": ag.data_sha256,
        "sandbox": mode, "identity": s.identity.to_dict(), **extra,
    }


def _retest(retest: list[tuple[inputs.Submission, dict]], ag: autograder.Autograder, grader: TrustedGrader,
            snaps_dir: Path, results_dir: Path, records: dict[str, dict]) -> None:
    """Phase 2 alone, on the snapshots an earlier run kept: for a batch whose tests changed
    but whose notebooks and data did not, or whose answers could not be tested last time."""
    for s, old in retest:
        snap = snaps_dir / s.name
        phase1 = str(old.get("phase1_status", old.get("status", "")))
        try:
            tested = grader.grade(str(snap) if (snap / snapshot.MANIFEST).is_file() else None)
            status, points, tests = status_with(phase1, tested), tested.points, tested.tests
        except Exception as exc:  # a grader bug on one submission: report it, go on
            status, points, tests = f"grader error: {type(exc).__name__}: {exc}", {}, []
        rec = {**old, **_record(s, ag, status, points, tests, float(old.get("runtime_s") or 0.0),
                                old.get("sandbox", ""), cells_run=old.get("cells_run", 0)),
               "data_sha256": ag.data_sha256, "retested": True, "phase1_status": phase1}
        rec.pop("cached", None)
        atomic.write_text(results_dir / f"{s.name}.json", json.dumps(rec, indent=1, ensure_ascii=False, default=str))
        records[s.name] = rec


GRADING_SETTINGS = "grading.json"  # the late rule of the last run, for `ctlab review --apply`
GRADER_FAILURES = ("grading worker", "grader error")
FAILING_MIN = 3


def _grader_is_failing(same: int, done: int, total: int) -> bool:
    """Most submissions so far (at least FAILING_MIN, or all of a smaller batch) hit the same
    grader error: the grader is broken, and zeros for everyone would hide it."""
    return same >= min(FAILING_MIN, total) and same * 2 > done


def _run_pool(todo: list[inputs.Submission], ag: autograder.Autograder, workers: list[Worker],
              trusted: list[TrustedGrader], snaps_dir: Path, results_dir: Path, records: dict[str, dict],
              bar: _Progress, *, timeout: float, memory_mb: int, mode: str) -> None:
    """Grade `todo` on the launched `workers`, one thread driving each through phase 1. Phase 2
    runs beside them in the `trusted` test processes, so a worker starts its next submission
    while the last one is being tested."""
    q: queue.Queue = queue.Queue()
    for s in todo:
        q.put(s)
    n = len(workers)
    graders: queue.Queue = queue.Queue()  # each grader tests one snapshot at a time
    for g in trusted:
        graders.put(g)
    phase2 = ThreadPoolExecutor(max_workers=len(trusted), thread_name_prefix="ctlab-phase2")
    futures: list[Future] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    failures: dict[str, int] = {}  # the grader's own errors, by status
    stopped: list[str] = []

    def save(s: inputs.Submission, rec: dict) -> None:
        atomic.write_text(results_dir / f"{s.name}.json", json.dumps(rec, indent=1, ensure_ascii=False, default=str))
        with lock:
            records[s.name] = rec
            status = str(rec.get("status", ""))
            if status.startswith(GRADER_FAILURES):
                failures[status] = failures.get(status, 0) + 1
                if not stopped and _grader_is_failing(failures[status], len(records), len(todo)):
                    stopped.append(status)
        bar.step(s.name)

    def test(s: inputs.Submission, ran: Ran, phase1_s: float) -> None:
        t0 = time.monotonic()
        g = graders.get()
        try:
            tested = g.grade(str(ran.kept) if ran.kept else None)
            oc = ran.outcome(tested.points, tested.tests)
            extra = {"phase1_status": oc.status} if tested.failure else {}
            rec = _record(s, ag, status_with(oc.status, tested), oc.points, oc.tests,
                          phase1_s + time.monotonic() - t0, mode,
                          cells_run=oc.cells_run, cells_total=len(s.cells), cell_errors=oc.cell_errors,
                          snapshot_cell=oc.snapshot_cell, cpu_s=oc.cpu_s, **extra)
        except Exception as exc:  # a grader bug on one submission: report it, go on
            rec = _record(s, ag, f"grader error: {type(exc).__name__}: {exc}", {}, [],
                          phase1_s + time.monotonic() - t0, mode)
        finally:
            graders.put(g)
        save(s, rec)

    def work(index: int) -> None:
        worker = workers[index]
        try:
            worker.wait_ready()
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        try:
            while not stopped:
                try:
                    s = q.get_nowait()
                except queue.Empty:
                    return
                t0 = time.monotonic()
                try:
                    ran = run_phase1(worker, ag, s.cells, timeout=timeout, memory_mb=memory_mb,
                                     snapshot_dest=snaps_dir / s.name)
                except Exception as exc:  # a grader bug on one submission: report it, go on
                    save(s, _record(s, ag, f"grader error: {type(exc).__name__}: {exc}", {}, [],
                                    time.monotonic() - t0, mode))
                    continue
                with lock:
                    futures.append(phase2.submit(test, s, ran, time.monotonic() - t0))
        finally:
            worker.stop()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for f in futures:
            f.result()
    finally:
        phase2.shutdown(wait=True)
    if stopped:
        raise CtlabError(f"grading stopped: {failures[stopped[0]]} of {len(records)} submissions hit the same "
                         f"failure of the grader itself, not of the students' work: {stopped[0]}")
    missing = [s for s in todo if s.name not in records]
    if missing:
        if errors:
            raise CtlabError(f"grading workers could not run: {errors[0]}")
        raise CtlabError(f"{len(missing)} submission(s) were not graded")
