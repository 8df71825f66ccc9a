"""`ctlab grade`: grade a batch of submissions in two phases, in parallel.

Phase 1 runs each submission's code cells in a sandboxed worker (see sandbox.py and
the worker/ package) and keeps a snapshot of the answer variables after every cell. Phase 2 runs in
trusted test processes that never execute submission code, each test of a snapshot within
a time and memory limit (trusted.py): they load the last snapshot and run the otter test
files against it (runner.py).

`grade` is three steps, so that a submission's data passes through each module once:
`plan_batch` (settings checked, submissions found and read, hand scores merged, each
submission sorted by what it needs), `run_batch` (the two phases, one `Result` each, written
to OUT/results as it is made) and `write_batch` (the gradebook, see grading/results.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ctlab import atomic, variants
from ctlab.build import sources
from ctlab.errors import CtlabError
from ctlab.grading import autograder, fontcache, inputs, kept_code, pristine, snapshot, student_ids
from ctlab.grading import manual_scores as hand_scores
from ctlab.grading.execute import Ran, run_phase1
from ctlab.grading.results import (
    RESULTS_DIR,
    Kind,
    LateRule,
    QuestionPoints,
    Result,
    Scored,
    Status,
    TestRecord,
    read_result,
    result_path,
    score,
    write_gradebook,
    write_result,
)
from ctlab.grading.sandbox import MODE_TEXT, Worker, choose_mode
from ctlab.grading.trusted import Phase2Result, TrustedGrader
from ctlab.timings import Timings


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
    rows: list[dict[str, str]] = field(default_factory=list)  # the gradebook's, by column
    warnings: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    scored: list[Scored] = field(default_factory=list)  # the gradebook's rows, as numbers
    timings: Timings = field(default_factory=Timings)  # where the wall time went, by phase

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


class _HeadStart:
    """The first worker and test process, started as soon as reading finds a submission that
    needs running, while the probe decides the sandbox and the rest of the batch is read: their
    start-up (Python, pandas, otter) is most of a small batch's time. The worker's mode is the
    probe's likely answer; run_batch stops it unused when the probe decides otherwise. Neither
    is given a submission before the probe has passed and the plan is made."""

    def __init__(self, *, mode: str | None, fp: autograder.Fingerprint, keys: dict[str, dict[str, Any]],
                 memory_mb: int, timeout: float, timings: Timings):
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="ctlab-grade-"))
        self.worker: Worker | None = None
        self.grader: TrustedGrader | None = None
        try:
            os.chmod(self.workdir, 0o711 if mode == "user" else 0o700)
        except BaseException:
            self.close()
            raise
        if mode is not None:  # first: its start is the longest, and it needs none of the pristine data
            try:
                self.worker = Worker(0, mode, self.workdir, fp.data_dir)
                self.worker.launch()
            except (OSError, CtlabError):  # only a head start: run_batch starts its workers itself
                self.take_worker("")
        try:
            clean = pristine.lay_out(data_dir=fp.data_dir, keys=keys or {variants.label(1): {}},
                                     into=self.workdir / "pristine")
            self.grader = TrustedGrader(fp.root, clean, memory_mb=memory_mb, timeout=timeout)
        except BaseException:
            self.close()
            raise
        timings.add("copy data, launch processes", t0, time.monotonic())

    def take_worker(self, mode: str) -> Worker | None:
        """The started worker if it is of `mode` (else it is stopped)."""
        worker, self.worker = self.worker, None
        if worker is not None and worker.mode != mode:
            worker.stop()
            return None
        return worker

    def close(self) -> None:
        """Stop what was not taken and remove the folder (after a failure before run_batch)."""
        if self.worker is not None:
            self.worker.stop()
        if self.grader is not None:
            self.grader.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _likely_mode(no_sandbox: bool, forced: str | None) -> str | None:
    """What choose_mode will most likely decide, without probing (None: no good guess)."""
    forced = forced or os.environ.get("CTLAB_SANDBOX") or None
    root = os.geteuid() == 0
    if no_sandbox:
        return "none"
    if forced == "user" or shutil.which("bwrap") is None:
        return "user" if root else None
    return "bwrap"


@dataclass
class Plan:
    """What a batch needs before anything runs: its submissions read and sorted by what each
    needs (a run, a re-test, nothing, or a refusal), the hand scores and the settings."""

    out: Path
    root: Path
    fp: autograder.Fingerprint
    mode: str
    mode_note: str
    subs: list[inputs.Upload]
    hand: dict[str, dict[str, float]]  # kept hand scores, by student key
    rule: LateRule
    jobs: int
    timeout: float
    memory_mb: int
    progress: bool
    warnings: list[str] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    preload: tuple[str, ...] = ()  # modules to import while waiting for the workers (see grade)
    head: _HeadStart | None = None  # the first worker and test process, started while planning
    cached: dict[str, Result] = field(default_factory=dict)  # by submission id
    retest: list[tuple[inputs.Upload, Result]] = field(default_factory=list)
    todo: list[inputs.Upload] = field(default_factory=list)
    rejected: list[inputs.Upload] = field(default_factory=list)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # each variant's answer key, by label
    variant: dict[str, int] = field(default_factory=dict)  # the variant of each submission's STUDENT_ID, by id
    student_id: dict[str, str] = field(default_factory=dict)  # that STUDENT_ID, normalised, by id
    hand_after: list[str] = field(default_factory=list)  # CSV scores of submissions OUT had no answers of yet


@dataclass
class BatchRun:
    """Every submission's result, in the plan's order, and the gradebook's question columns."""

    results: list[Result]
    questions: list[str]


def grade(*, submissions: list[Path], out: Path, root: Path, jobs: int, timeout: float, memory_mb: int,
          no_sandbox: bool, force: bool, manual: Path | None, progress: bool,
          sandbox: str | None = None, due: dt.datetime | None = None,
          late_penalty: float | None = None, allow_stale: bool = False,
          timings: Timings | None = None, preload: tuple[str, ...] = (),
          keep_font_list: bool = True) -> GradeSummary:
    """Grade `submissions` (files or folders) into `out`. See the module docstring.

    `sandbox` forces a mode ("bwrap" or "user"); by default bwrap is used when it works,
    else the unprivileged-user fallback (also selectable with CTLAB_SANDBOX=user).
    A submission is late when its LMS says so or it was submitted after `due` (where the LMS
    gives a time); `late_penalty` (percent of its total) is then taken off in its own column.
    Each phase's wall time is added to `timings` (a fresh clock unless given) and returned with
    the summary. `preload` names modules the caller needs next (the reports'), imported in the
    background while this process only waits for the workers. With `keep_font_list`, a run whose
    workers had to scan the system's fonts builds matplotlib's font list for the next runs (once per
    environment, about half a second; see fontcache).
    """
    t_start = time.monotonic()
    timings = Timings() if timings is None else timings
    plan = plan_batch(submissions=submissions, out=out, root=root, jobs=jobs, timeout=timeout, memory_mb=memory_mb,
                      no_sandbox=no_sandbox, force=force, manual=manual, progress=progress, sandbox=sandbox,
                      due=due, late_penalty=late_penalty, allow_stale=allow_stale, timings=timings)
    plan.preload = preload
    run = run_batch(plan)
    with timings.span("gradebook"):
        scored = write_batch(plan, run)
    if keep_font_list and plan.todo and fontcache.font_list() is None:
        with timings.span("keep matplotlib's font list for the next runs"):
            fontcache.build_font_list()
    atomic.make_private(plan.out)
    summary = GradeSummary(out=plan.out, mode=plan.mode, mode_note=plan.mode_note, total=len(plan.subs),
                           warnings=plan.warnings, graded=len(plan.todo), cached=len(plan.cached),
                           retested=len(plan.retest), rejected=len(plan.rejected),
                           incomplete=sum(not r.status.complete and not r.refused for r in run.results),
                           rows=[sc.as_dict(run.questions) for sc in scored], results=run.results, scored=scored,
                           timings=timings)
    summary.wall_s = time.monotonic() - t_start
    return summary


def plan_batch(*, submissions: list[Path], out: Path, root: Path, jobs: int, timeout: float, memory_mb: int,
               no_sandbox: bool, force: bool, manual: Path | None, progress: bool, sandbox: str | None = None,
               due: dt.datetime | None = None, late_penalty: float | None = None,
               allow_stale: bool = False, timings: Timings | None = None) -> Plan:
    """Check the settings, find and read the submissions, merge the hand scores, and sort the
    submissions by what they need; OUT gets its folders, kept hand scores and kept code."""
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
    timings = Timings() if timings is None else timings
    t_read = time.monotonic()
    root = Path(root).resolve()
    out = Path(out).resolve()
    fp = autograder.fingerprint(root)
    stale = sources.changed_since_build(root)
    if stale and not allow_stale:
        raise CtlabError(f"{root / sources.MANIFEST}: autograder/ is older than {', '.join(stale)}; "
                         "run `make build` (or pass --allow-stale to grade with the old tests)")
    notes: list[str] = []
    timings.add("check the build", t_read, time.monotonic())

    def probe() -> tuple[str, str]:
        with timings.span("probe (can the sandbox isolate?)"):
            return choose_mode(no_sandbox, sandbox)

    # The probe mostly waits for its sandbox; it starts with the first submission that needs
    # more than its kept result, and the submissions are read meanwhile. A batch whose results
    # all stand runs nothing, so it needs no probe. An error in either stops the run before OUT
    # is touched (leaving the pool waits for the probe).
    probing: list[Future[tuple[str, str]]] = []
    keys = variants.answer_keys(root)  # each variant's answer key, by label (none from a build before variants)
    variant: dict[str, int] = {}
    student_id: dict[str, str] = {}
    head: list[_HeadStart] = []
    looked_up: dict[str, Result | None] = {}  # each submission's earlier result, read once
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ctlab-probe") as pool:
            t_read = time.monotonic()
            subs = inputs.discover([Path(s) for s in submissions], notes=notes)
            if out.exists() and not out.is_dir():
                raise CtlabError(f"{out}: exists and is not a folder")
            manual_scores, manual_comments = hand_scores.read_csv(manual, subs) if manual else ({}, {})

            def kept(s: inputs.Upload) -> bool:  # its result and code stand: no need to parse it again
                old = looked_up[s.name] = None if force else _reusable(s, out, fp)
                stands = old is not None and old.autograder_sha256 == fp.sha256 and not old.status.not_tested
                if stands:
                    return kept_code.is_kept(out, s)  # else parsed for its code alone: nothing to run
                if not probing:  # before it is parsed
                    probing.append(pool.submit(probe))
                    try:
                        head.append(_HeadStart(mode=_likely_mode(no_sandbox, sandbox), fp=fp, keys=keys,
                                               memory_mb=memory_mb, timeout=timeout, timings=timings))
                    except (OSError, CtlabError):  # only a head start: run_batch starts what it needs
                        pass
                return False

            for s in subs:
                inputs.load(s, known=kept)
                if s.status is None and keys and not s.unread:  # the id is read from the cells as data,
                    reading = student_ids.read(s.cells, count=len(keys))  # never from what they print
                    if reading.problem:
                        s.status = reading.problem
                    else:
                        variant[s.name], student_id[s.name] = reading.variant, reading.student_id
                if s.status is not None and not probing:  # it could not be read: no probe started yet
                    probing.append(pool.submit(probe))
            if not probing and not subs:
                probing.append(pool.submit(probe))
            timings.add("read submissions", t_read, time.monotonic())
        mode, note = probing[0].result() if probing else _kept_mode(subs, out, no_sandbox, looked_up)
        t_read = time.monotonic()

        results_dir, snaps_dir = out / RESULTS_DIR, out / "snapshots"
        for d in (out, results_dir, snaps_dir):
            d.mkdir(parents=True, exist_ok=True)
        atomic.make_private(out)  # the instructor's alone: never readable by a sandbox user or anyone else
        # A CSV score grades the summary OUT holds when it is loaded; one of a submission OUT has not
        # graded yet grades the summary this run saves (recorded in write_batch).
        graded = {sid: hand_scores.saved_answer_sha256(out, sid) for sid in manual_scores}
        plan = Plan(out=out, root=root, fp=fp, mode=mode, mode_note=note, subs=subs,
                    hand=hand_scores.merge_points(out, manual_scores, manual_comments, graded),
                    hand_after=sorted(sid for sid, sha in graded.items() if sha is None),
                    rule=LateRule(due=due, penalty_percent=late_penalty or 0.0), jobs=jobs, timeout=timeout,
                    memory_mb=memory_mb, progress=progress, warnings=notes, timings=timings,
                    keys=keys, variant=variant, student_id=student_id)
        if stale:
            plan.warnings.append(f"graded with the tests of an older build: changed since are {', '.join(stale)}")
        if mode == "user":
            exposed = [p for p in (root / "autograder", root / "solutions", root / "data")
                       if p.exists() and _readable_by_others(p)]
            if exposed:
                plan.warnings.append(
                    "fallback sandbox: readable by any user, so by submission code too: "
                    + ", ".join(str(p) for p in exposed) + " (chmod o-rwx them)"
                )

        kept_code.save(out, subs)
        for s in subs:
            if s.status is not None or force:
                old = None
            else:
                old = looked_up[s.name] if s.name in looked_up else _reusable(s, out, fp)
            if old is not None and old.autograder_sha256 == fp.sha256 and not old.status.not_tested:
                late = plan.rule.is_late(s.identity)
                if old.identity != s.identity or old.late != late:  # kept from a run before identities, or --due changed
                    old.identity, old.late = s.identity, late
                    write_result(out, old)
                old.cached = True
                plan.cached[s.name] = old
            elif old is not None and old.data_sha256 == fp.data_sha256 and not old.status.kind.grader_failure:
                # Only the tests changed, or its answers could not be tested: the notebook's run still
                # stands, so test its kept snapshot again.
                plan.retest.append((s, old))
            else:
                (plan.rejected if s.status is not None else plan.todo).append(s)
        timings.add("keep code, look up kept results", t_read, time.monotonic())
        plan.head = head[0] if head else None
        return plan
    except BaseException:  # nothing was given to the started processes: stop them
        for h in head:
            h.close()
        raise


def _kept_mode(subs: list[inputs.Upload], out: Path, no_sandbox: bool,
               looked_up: dict[str, Result | None]) -> tuple[str, str]:
    """The sandbox mode a batch that runs nothing reports: the one its kept results were run in
    (as planning read them, `looked_up`, else read now)."""
    if no_sandbox:
        return "none", ""
    kept = [looked_up[s.name] if looked_up.get(s.name) is not None else read_result(p)
            for s in subs if (p := result_path(out, s.name)).is_file()]
    modes = Counter(r.sandbox for r in kept if r is not None)
    mode = modes.most_common(1)[0][0] if modes else "bwrap"
    return (mode if mode in MODE_TEXT else "bwrap"), "nothing to run: the mode the kept results were graded in"


def _reusable(s: inputs.Upload, out: Path, fp: autograder.Fingerprint) -> Result | None:
    """The result an earlier run left for the same bytes under the same name, if it can stand."""
    path = result_path(out, s.name)
    old = read_result(path) if path.is_file() else None
    if old is None or old.status.kind is Kind.UNKNOWN:
        return None
    same_run = old.submission_sha256 == s.sha256 and old.file == s.file and bool(old.questions)
    return old if same_run else None


def run_batch(plan: Plan) -> BatchRun:
    """Run and test what the plan says needs it, each result written to OUT/results as it is made."""
    out, fp, mode, timings = plan.out, plan.fp, plan.mode, plan.timings
    results: dict[str, Result] = dict(plan.cached)
    head, plan.head = plan.head, None
    workdir = head.workdir if head else (Path(tempfile.mkdtemp(prefix="ctlab-grade-"))
                                         if plan.todo or plan.retest else None)
    workers: list[Worker] = []
    graders: list[TrustedGrader] = []
    try:
        if head is not None:  # started while planning: what it started is ours to stop from here
            started = head.take_worker(mode) if plan.todo else head.take_worker("")
            workers += [started] if started else []
            graders += [head.grader] if head.grader else []
            head.grader = None
        if workdir is not None:
            t_launch = time.monotonic()
            if plan.todo:
                os.chmod(workdir, 0o711 if mode == "user" else 0o700)
                new = [Worker(i, mode, workdir, fp.data_dir)
                       for i in range(len(workers), max(1, min(plan.jobs, len(plan.todo))))]
                for w in new:
                    w.launch()
                workers += new
            # The test processes load their libraries and the tests while the workers load theirs.
            # One per two workers (at least one) keeps up with them: testing is the lighter phase.
            if not (workdir / "pristine").is_dir():
                pristine.lay_out(data_dir=fp.data_dir, keys=plan.keys or {variants.label(1): {}},
                                 into=workdir / "pristine")
            graders += [TrustedGrader(fp.root, workdir / "pristine", memory_mb=plan.memory_mb, timeout=plan.timeout)
                        for _ in range(len(graders), 1 + (len(workers) - 1) // 2 if workers else 1)]
            timings.add("copy data, launch processes", t_launch, time.monotonic())
            with timings.span("wait for the tests' description"):
                description = graders[0].autograder()
                ag = autograder.from_description(fp, description)
            atomic.write_text(out / DESCRIPTION, json.dumps({"sha256": fp.sha256, "autograder": description}), mode=0o640)
        else:
            with timings.span("load the tests' description"):
                ag = _kept_description(out, fp) or autograder.load_autograder(plan.root, fp)
        # This process only waits from here on: the caller's next modules (the reports' libraries) are
        # imported then, once the first worker is ready (before, the worker and the test process need
        # both cores). Gradescope's run writes no report and names none.
        preload = threading.Thread(target=_preload, args=plan.preload, daemon=True)
        if workdir is not None and plan.preload and not plan.todo:
            preload.start()
        make = _Maker(ag, mode, plan.rule, plan.variant, plan.student_id)
        for s in plan.rejected:
            results[s.name] = make.result(s, Status(Kind.REFUSED, s.status or ""))
            write_result(out, results[s.name])
            shutil.rmtree(out / "snapshots" / s.name, ignore_errors=True)
        if plan.retest:
            _retest(plan.retest, make, graders[0], out, results, timings)
        if plan.todo:
            _run_pool(plan.todo, make, workers, graders, out, results, _Progress(len(plan.todo), plan.progress),
                      timeout=plan.timeout, memory_mb=plan.memory_mb, timings=timings,
                      when_ready=preload.start if plan.preload else lambda: None)
    finally:
        t_stop = time.monotonic()
        for w in workers:
            w.close()
        for g in graders:
            g.close()
            _time_start(timings, "test process", g.started_at, g.ready_at, g.took)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if workdir is not None:
            timings.add("stop processes, clean up", t_stop, time.monotonic())
    return BatchRun(results=[results[s.name] for s in plan.subs], questions=list(ag.questions))


DESCRIPTION = ".autograder.json"  # in OUT: the tests' description as a test process gave it, by their hash


def _kept_description(out: Path, fp: autograder.Fingerprint) -> autograder.Autograder | None:
    """The autograder as the last run's test process described it, when the tests are the same:
    a run with nothing to test then needs neither a test process nor otter in this one."""
    try:
        kept = json.loads((out / DESCRIPTION).read_text(encoding="utf-8"))
        if isinstance(kept, dict) and kept.get("sha256") == fp.sha256 and isinstance(kept.get("autograder"), dict):
            return autograder.from_description(fp, kept["autograder"])
    except (OSError, ValueError, CtlabError):
        pass
    return None


def write_batch(plan: Plan, run: BatchRun) -> list[Scored]:
    """The gradebook: each result with its hand scores and the late rule; the rule is kept for
    a later `ctlab review --apply`."""
    stems = Counter(inputs.stem_of(s.file) for s in plan.subs)
    scored = [score(r, run.questions, rule=plan.rule,
                    hand=hand_scores.for_submission(plan.hand, file=s.file, name=s.name, stems=stems))
              for s, r in zip(plan.subs, run.results, strict=True)]
    plan.rule.write(plan.out)
    write_gradebook(plan.out, run.questions, scored)
    if plan.hand_after:
        hand_scores.record_graded(plan.out, {sid: hand_scores.saved_answer_sha256(plan.out, sid)
                                             or hand_scores.answer_sha256("") for sid in plan.hand_after})
    return scored


def _time_start(timings: Timings, what: str, started: float, ready: float, took: dict[str, float]) -> None:
    """A process's start-up on the batch's clock, and the steps it reported (the last ones
    ending when it was ready)."""
    if not ready or ready < started:
        return
    timings.add(f"{what} start", started, ready)
    end = ready
    for step, seconds in reversed(list(took.items())):
        timings.add(f"  {what}: {step.replace('_', ' ')}", end - seconds, end)
        end -= seconds


def _preload(*modules: str) -> None:
    import importlib

    for m in modules:
        try:
            importlib.import_module(m)
        except Exception:  # only a head start: whoever needs it imports it again and sees the error
            pass


class _Maker:
    """Builds a submission's Result under one autograder, sandbox mode and late rule."""

    def __init__(self, ag: autograder.Autograder, mode: str, rule: LateRule, variant: dict[str, int],
                 student_id: dict[str, str]):
        self.ag, self.mode, self.rule, self.variant, self.student_id = ag, mode, rule, variant, student_id

    def label(self, s: inputs.Upload) -> str:
        """The variant its tests run on (the one shared week of tests made without variants)."""
        return variants.label(self.variant.get(s.name, 1))

    def questions(self, points: dict[str, float]) -> dict[str, QuestionPoints]:
        return {q: QuestionPoints(float(points.get(q, 0.0)), float(self.ag.max_points.get(q, 0.0)))
                for q in self.ag.questions}

    def result(self, s: inputs.Upload, status: Status, points: dict[str, float] | None = None,
               tests: list[dict[str, Any]] | None = None, runtime: float = 0.0) -> Result:
        return Result(file=s.file, name=s.name, status=status, questions=self.questions(points or {}),
                      tests=[TestRecord.from_dict(t) for t in tests or []], runtime_s=round(runtime, 3),
                      submission_sha256=s.sha256, autograder_sha256=self.ag.sha256, data_sha256=self.ag.data_sha256,
                      sandbox=self.mode, identity=s.identity, late=self.rule.is_late(s.identity),
                      variant=self.variant.get(s.name, 0), student_id=self.student_id.get(s.name, ""))

    def ran(self, s: inputs.Upload, ran: Ran, tested: Phase2Result, runtime: float) -> Result:
        status = ran.status.with_untested(tested.failure, tested.untested)
        if tested.data_variant:
            status = _wrong_data(tested.data_variant, self.variant[s.name])
        result = self.result(s, status, tested.points, tested.tests, runtime)
        result.cells_run, result.cells_total = ran.cells_run, len(s.cells)
        result.cell_errors = [(int(e["cell"]), str(e["error"])) for e in ran.cell_errors]
        result.snapshot_cell = ran.snapshot_cell
        result.cpu_s = float(ran.cpu_s) if isinstance(ran.cpu_s, (int, float)) else None
        return result

    def retested(self, s: inputs.Upload, old: Result, status: Status, tested: Phase2Result | None) -> Result:
        if tested and tested.data_variant:
            status = _wrong_data(tested.data_variant, self.variant[s.name])
        fresh = self.result(s, status, tested.points if tested else {}, tested.tests if tested else [],
                            old.runtime_s)
        return replace(old, status=fresh.status, questions=fresh.questions, tests=fresh.tests,
                       submission_sha256=fresh.submission_sha256, autograder_sha256=fresh.autograder_sha256,
                       data_sha256=fresh.data_sha256, identity=fresh.identity, late=fresh.late, variant=fresh.variant,
                       student_id=fresh.student_id,
                       retested=True, cached=False)


def _wrong_data(found: str, own: int) -> Status:
    return Status(Kind.VARIANT, f"not graded: its answers come from the logs of variant {int(found[1:])}, "
                                f"but its STUDENT_ID gives variant {own}; run the set-up cell after typing the id, "
                                "then the whole notebook again")


def _retest(retest: list[tuple[inputs.Upload, Result]], make: _Maker, grader: TrustedGrader,
            out: Path, results: dict[str, Result], timings: Timings) -> None:
    """Phase 2 alone, on the snapshots an earlier run kept: for a batch whose tests changed
    but whose notebooks and data did not, or whose answers could not be tested last time."""
    for s, old in retest:
        snap = out / "snapshots" / s.name
        phase1 = old.status.phase1
        t0 = time.monotonic()
        try:
            tested = grader.grade(str(snap) if (snap / snapshot.MANIFEST).is_file() else None, make.label(s))
            timings.add("phase 2 (tests on a kept snapshot)", t0, time.monotonic())
            result = make.retested(s, old, phase1.with_untested(tested.failure, tested.untested), tested)
        except Exception as exc:  # a grader bug on one submission: report it, go on
            result = make.retested(s, old, Status.grader_error(exc), None)
        write_result(out, result)
        results[s.name] = result


FAILING_MIN = 3


def _grader_is_failing(same: int, done: int, total: int) -> bool:
    """Most submissions so far (at least FAILING_MIN, or all of a smaller batch) hit the same
    grader error: the grader is broken, and zeros for everyone would hide it."""
    return same >= min(FAILING_MIN, total) and same * 2 > done


def _run_pool(todo: list[inputs.Upload], make: _Maker, workers: list[Worker],
              trusted: list[TrustedGrader], out: Path, results: dict[str, Result],
              bar: _Progress, *, timeout: float, memory_mb: int, timings: Timings,
              when_ready: Callable[[], None] = lambda: None) -> None:
    """Grade `todo` on the launched `workers`, one thread driving each through phase 1. Phase 2
    runs beside them in the `trusted` test processes, so a worker starts its next submission
    while the last one is being tested. `when_ready` is called once, when the first worker is
    ready (or none could start)."""
    q: queue.Queue[inputs.Upload] = queue.Queue()
    for s in todo:
        q.put(s)
    graders: queue.Queue[TrustedGrader] = queue.Queue()  # each grader tests one snapshot at a time
    for g in trusted:
        graders.put(g)
    phase2 = ThreadPoolExecutor(max_workers=len(trusted), thread_name_prefix="ctlab-phase2")
    futures: list[Future[None]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    failures: dict[str, int] = {}  # the grader's own errors, by status
    stopped: list[str] = []
    done: set[str] = set()

    def save(s: inputs.Upload, result: Result) -> None:
        write_result(out, result)
        with lock:
            results[s.name] = result
            done.add(s.name)
            if result.status.kind.grader_failure:
                text = result.status.text
                failures[text] = failures.get(text, 0) + 1
                if not stopped and _grader_is_failing(failures[text], len(results), len(todo)):
                    stopped.append(text)
        bar.step(s.name)

    def test(s: inputs.Upload, ran: Ran, phase1_s: float) -> None:
        t0 = time.monotonic()
        g = graders.get()
        timings.add("phase 2: wait for a test process", t0, time.monotonic())
        try:
            t1 = time.monotonic()
            tested = g.grade(str(ran.kept) if ran.kept else None, make.label(s))
            timings.add("phase 2 (tests)", t1, time.monotonic())
            result = make.ran(s, ran, tested, phase1_s + time.monotonic() - t0)
        except Exception as exc:  # a grader bug on one submission: report it, go on
            result = make.result(s, Status.grader_error(exc), runtime=phase1_s + time.monotonic() - t0)
        finally:
            graders.put(g)
        save(s, result)

    ready: list[bool] = []

    def first_ready() -> None:
        with lock:
            if ready:
                return
            ready.append(True)
        when_ready()

    def work(index: int) -> None:
        worker = workers[index]
        try:
            worker.wait_ready()
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        finally:
            first_ready()
        _time_start(timings, "worker", worker.launched_at, time.monotonic(), worker.took)
        try:
            while not stopped:
                try:
                    s = q.get_nowait()
                except queue.Empty:
                    return
                t0 = time.monotonic()
                try:
                    ran = run_phase1(worker, make.ag, s.cells, timeout=timeout, memory_mb=memory_mb,
                                     snapshot_dest=out / "snapshots" / s.name, timings=timings)
                except Exception as exc:  # a grader bug on one submission: report it, go on
                    save(s, make.result(s, Status.grader_error(exc), runtime=time.monotonic() - t0))
                    continue
                with lock:
                    futures.append(phase2.submit(test, s, ran, time.monotonic() - t0))
        finally:
            worker.stop()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(workers))]
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
        raise CtlabError(f"grading stopped: {failures[stopped[0]]} of {len(results)} submissions hit the same "
                         f"failure of the grader itself, not of the students' work: {stopped[0]}")
    missing = [s for s in todo if s.name not in done]
    if missing:
        if errors:
            raise CtlabError(f"grading workers could not run: {errors[0]}")
        raise CtlabError(f"{len(missing)} submission(s) were not graded")
