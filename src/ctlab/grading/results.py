"""What grading made of one submission, as types, and the one way it is written and read.

A `Result` is one submission's outcome: a `Status` (a `Kind` plus a human detail, from which
the sentence users see is rendered), per-test records, per-question points, identity and
lateness. It is written to OUT/results/<name>.json (`to_dict`), scored into a gradebook row
(`score`, `write_gradebook`), read back for reports, exports and the review page
(`load_graded`), and turned into Gradescope's results by the runtime in ctlab.gradescope.
Code decides by `Status.kind`; only people read `Status.text`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, TypeGuard

from ctlab import atomic, contract, safetext
from ctlab.errors import CtlabError
from ctlab.lms import Identity

RESULTS_DIR = "results"
GRADEBOOK = "gradebook.csv"
SETTINGS = "grading.json"  # the late rule of the last run, for `ctlab review --apply`
NOT_TESTED = "answers could not be tested"


class Kind(Enum):
    """What kind of outcome a status is; the detail says the rest in words."""

    OK = "ok"  # every cell ran (the detail holds any notes)
    REFUSED = "refused"  # the input is not a notebook ctlab grades (unreadable, invalid, unsafe, not a file)
    TIMEOUT = "timeout"  # a cell ran past the time limit
    OUTPUT_LIMIT = "output_limit"
    MEMORY = "memory"  # a cell ran past the memory limit
    THREAD_LIMIT = "thread_limit"  # a cell could not start a thread: the per-submission limit was reached
    CPU_LIMIT = "cpu_limit"
    KILLED = "killed"  # the kernel died of a signal
    EXITED = "exited"  # the kernel exited before the end
    WORKER_ERROR = "worker_error"  # the grading worker itself failed: not the student's doing
    GRADER_ERROR = "grader_error"  # a bug of the grader on this submission: not the student's doing
    VARIANT = "variant"  # the logs it ran on are another variant's than its STUDENT_ID's: not graded
    UNKNOWN = "unknown"  # a record written before kinds were kept: shown, never reused

    @property
    def grader_failure(self) -> bool:
        return self in (Kind.WORKER_ERROR, Kind.GRADER_ERROR)


@dataclass(frozen=True)
class Status:
    """A submission's grading status. `detail` is the whole sentence for most kinds; for OK it is
    the notes in brackets, for GRADER_ERROR the exception. `not_tested` says why the `untested`
    questions scored 0 (phase 2 could not test them)."""

    kind: Kind
    detail: str = ""
    not_tested: str = ""
    untested: tuple[str, ...] = ()

    @classmethod
    def ok(cls, notes: Iterable[str] = ()) -> Status:
        return cls(Kind.OK, "; ".join(notes))

    @classmethod
    def grader_error(cls, exc: BaseException) -> Status:
        return cls(Kind.GRADER_ERROR, f"{type(exc).__name__}: {exc}")

    @property
    def phase1(self) -> Status:
        """The status of the notebook's run alone, before any testing failed."""
        return replace(self, not_tested="", untested=())

    def with_untested(self, failure: str, untested: Iterable[str]) -> Status:
        """This status, plus why some answers could not be tested (nothing when `failure` is empty)."""
        return replace(self, not_tested=failure, untested=tuple(untested)) if failure else self

    @property
    def text(self) -> str:
        """The sentence shown in the gradebook, feedback and Gradescope."""
        if self.kind is Kind.OK:
            run = "ok" + (f" ({self.detail})" if self.detail else "")
        elif self.kind is Kind.GRADER_ERROR:
            run = f"grader error: {self.detail}"
        else:
            run = self.detail
        if not self.not_tested:
            return run
        note = f"{NOT_TESTED}: {self.not_tested}; not tested (0 points): {', '.join(self.untested)}"
        return note if self.kind is Kind.OK else f"{run}; {note}"

    @property
    def clean(self) -> bool:
        """Ran to the end without a note, every answer tested."""
        return self.kind is Kind.OK and not self.detail and not self.not_tested

    @property
    def complete(self) -> bool:
        """Ran to the end, every answer tested (notes allowed)."""
        return self.kind is Kind.OK and not self.not_tested

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.text, "status_kind": self.kind.value, "status_detail": self.detail}
        if self.not_tested:
            data |= {"not_tested": self.not_tested, "untested": list(self.untested), "phase1_status": self.phase1.text}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Status:
        try:
            kind = Kind(data.get("status_kind"))
        except ValueError:
            return cls(Kind.UNKNOWN, _text(data.get("status")))
        untested = data.get("untested")
        return cls(kind, _text(data.get("status_detail")), _text(data.get("not_tested")),
                   tuple(str(q) for q in untested) if isinstance(untested, list) else ())


@dataclass(frozen=True)
class TestRecord:
    """One otter test case's outcome."""

    name: str
    question: str
    points: float
    max_points: float
    hidden: bool
    passed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "question": self.question, "points": self.points, "max_points": self.max_points,
                "hidden": self.hidden, "passed": self.passed, "message": self.message}

    @classmethod
    def from_dict(cls, t: Mapping[str, Any]) -> TestRecord:
        return cls(name=str(t.get("name", "")), question=str(t.get("question", "")), points=_number(t.get("points")),
                   max_points=_number(t.get("max_points")), hidden=bool(t.get("hidden", False)),
                   passed=bool(t.get("passed", False)), message=str(t.get("message") or ""))


@dataclass(frozen=True)
class QuestionPoints:
    points: float
    max_points: float | None  # None: a record that does not say


@dataclass
class Result:
    """One submission's grading outcome, as written to OUT/results/<name>.json."""

    file: str
    name: str
    status: Status
    questions: dict[str, QuestionPoints] = field(default_factory=dict)
    tests: list[TestRecord] = field(default_factory=list)
    runtime_s: float = 0.0
    cells_run: int = 0
    cells_total: int | None = None
    cell_errors: list[tuple[int, str]] = field(default_factory=list)  # (code cell, error text) as run
    snapshot_cell: int | None = None
    cpu_s: float | None = None
    submission_sha256: str = ""
    autograder_sha256: str = ""
    data_sha256: str = ""
    sandbox: str = ""
    identity: Identity | None = None
    late: bool = False  # the LMS marked it late, or it came after the due time
    variant: int = 0  # the variant its STUDENT_ID chose (0: none)
    student_id: str = ""  # that STUDENT_ID, normalised, as read from its cells
    retested: bool = False  # phase 2 alone, on the snapshot an earlier run kept
    cached: bool = False  # reused as an earlier run left it (not written)

    @property
    def refused(self) -> bool:
        return self.status.kind is Kind.REFUSED

    def points(self, q: str) -> float:
        qp = self.questions.get(q)
        return qp.points if qp else 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "name": self.name, **self.status.to_dict(),
                                "runtime_s": round(self.runtime_s, 3), "cells_run": self.cells_run,
                                "questions": {q: {"points": qp.points, "max_points": qp.max_points}
                                              for q, qp in self.questions.items()},
                                "tests": [t.to_dict() for t in self.tests],
                                "submission_sha256": self.submission_sha256, "autograder_sha256": self.autograder_sha256,
                                "data_sha256": self.data_sha256, "sandbox": self.sandbox,
                                "identity": self.identity.to_dict() if self.identity else None, "late": self.late,
                                "variant": self.variant, "student_id": self.student_id}
        if self.cells_total is not None:
            data |= {"cells_total": self.cells_total,
                     "cell_errors": [{"cell": c, "error": e} for c, e in self.cell_errors],
                     "snapshot_cell": self.snapshot_cell, "cpu_s": self.cpu_s}
        if self.retested:
            data |= {"retested": True, "phase1_status": self.status.phase1.text}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "") -> Result:
        """A record read back: written by ctlab, still checked as data (a damaged field counts as missing)."""
        questions: dict[str, QuestionPoints] = {}
        raw_q = data.get("questions")
        for q, info in (raw_q.items() if isinstance(raw_q, dict) else ()):
            if isinstance(info, dict):
                mp = info.get("max_points")
                questions[str(q)] = QuestionPoints(_number(info.get("points")), _number(mp) if _finite(mp) else None)
        raw_t = data.get("tests")
        errors: list[tuple[int, str]] = []
        raw_e = data.get("cell_errors")
        for item in raw_e if isinstance(raw_e, list) else ():
            if isinstance(item, dict) and isinstance(item.get("cell"), int) and not isinstance(item.get("cell"), bool):
                errors.append((int(item["cell"]), str(item.get("error") or "")))
        cells_total = data.get("cells_total")
        return cls(
            file=_text(data.get("file")), name=_text(data.get("name")) or name, status=Status.from_dict(data),
            questions=questions,
            tests=[TestRecord.from_dict(t) for t in (raw_t if isinstance(raw_t, list) else ()) if isinstance(t, dict)],
            runtime_s=_number(data.get("runtime_s")), cells_run=_int(data.get("cells_run")) or 0,
            cells_total=_int(cells_total) if cells_total is not None else None, cell_errors=errors,
            snapshot_cell=_int(data.get("snapshot_cell")),
            cpu_s=float(data["cpu_s"]) if _finite(data.get("cpu_s")) else None,
            submission_sha256=_text(data.get("submission_sha256")), autograder_sha256=_text(data.get("autograder_sha256")),
            data_sha256=_text(data.get("data_sha256")), sandbox=_text(data.get("sandbox")),
            identity=Identity.from_dict(data.get("identity")), late=data.get("late") is True,
            variant=_int(data.get("variant")) or 0, student_id=_text(data.get("student_id")),
            retested=data.get("retested") is True,
        )


def _text(v: object) -> str:
    return v if isinstance(v, str) else ""


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _finite(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(value: object) -> float:
    """A number from a record; anything else (nan too) counts as 0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return 0.0


# ---------------------------------------------------------------- results/<name>.json

def result_path(out: Path, name: str) -> Path:
    return Path(out) / RESULTS_DIR / f"{name}.json"


def write_result(out: Path, result: Result) -> None:
    """Write one submission's results file. Text a submission made can hold anything (lone
    surrogates included, written as U+FFFD); when the record cannot be written all the same,
    it costs only this row: the result becomes a grader error without tests, and the batch goes on."""
    path = result_path(out, result.name)
    try:
        atomic.write_text(path, json.dumps(result.to_dict(), indent=1, ensure_ascii=False, default=str))
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        why = f"its results file could not be written ({type(exc).__name__}: {exc})"
        result.status = Status(Kind.GRADER_ERROR, safetext.one_line(why, limit=300))
        result.questions, result.tests, result.cell_errors = {}, [], []
        atomic.write_text(path, json.dumps(result.to_dict(), indent=1, ensure_ascii=True, default=str))


def read_result(path: Path) -> Result | None:
    """One results file, or None when it cannot be read as one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return Result.from_dict(data, name=path.stem)
    except Exception:  # an odd record costs only its own details
        return None


@dataclass
class ResultIndex:
    """Every readable results file in OUT, by id and by file (of two for one file, the newer)."""

    by_name: dict[str, Result] = field(default_factory=dict)
    by_file: dict[str, Result] = field(default_factory=dict)

    def find(self, file: str) -> Result | None:
        return self.by_file.get(file) or self.by_name.get(submission_name(file))


def read_results(out: Path) -> ResultIndex:
    index = ResultIndex()
    newest: dict[str, int] = {}
    for path in sorted((Path(out) / RESULTS_DIR).glob("*.json")):
        result = read_result(path)
        if result is None:
            continue
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            continue
        index.by_name[result.name] = result
        if result.file and mtime >= newest.get(result.file, -1):
            index.by_file[result.file], newest[result.file] = result, mtime
    return index


def submission_name(file: str) -> str:
    """The name results/, snapshots/ and feedback/ use for a gradebook `file` value."""
    base = Path(file).name
    for suffix in (".ipynb", ".zip"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


# ---------------------------------------------------------------- the gradebook

@dataclass(frozen=True)
class LateRule:
    """How `ctlab grade` treated lateness; kept in OUT so a later `ctlab review --apply` does the same."""

    due: dt.datetime | None = None
    penalty_percent: float = 0.0

    def is_late(self, identity: Identity | None) -> bool:
        """Late as the LMS marked it, or submitted after `due` where the LMS gives the time."""
        if identity is None:
            return False
        if identity.late:
            return True
        when = identity.submitted()
        return bool(self.due and when and when > self.due)

    def write(self, out: Path) -> None:
        atomic.write_text(Path(out) / SETTINGS, json.dumps({"late_penalty_percent": self.penalty_percent,
                                                            "due": self.due.isoformat() if self.due else None}) + "\n",
                          mode=0o600)

    @classmethod
    def read(cls, out: Path) -> LateRule:
        """The rule the last `ctlab grade` applied (no penalty when none, or when it is unreadable)."""
        try:
            data = json.loads((Path(out) / SETTINGS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        value = data.get("late_penalty_percent", 0)
        percent = float(value) if _finite(value) and 0 <= value <= 100 else 0.0
        try:
            due = dt.datetime.fromisoformat(data["due"]) if isinstance(data.get("due"), str) else None
        except ValueError:
            due = None
        return cls(due=due, penalty_percent=percent)


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Scored:
    """One gradebook row: a result with any hand scores merged and the late rule applied."""

    file: str
    points: dict[str, float]
    total: float
    percent: float  # a fraction of the points possible, as otter writes it
    status: str
    runtime_s: float
    late: bool
    late_penalty: float
    pending: frozenset[str] = frozenset()  # hand-graded questions with no score yet: blank, not 0
    variant: int = 0

    @property
    def shown_total(self) -> float:
        """The total as the gradebook shows it."""
        return float(_fmt(self.total))

    def row(self, questions: Iterable[str]) -> list[str]:
        return [self.file, *("" if q in self.pending else _fmt(self.points.get(q, 0.0)) for q in questions),
                _fmt(self.total),
                f"{self.percent:.4f}", safetext.one_line(self.status), f"{self.runtime_s:.2f}",
                "yes" if self.late else "", _fmt(self.late_penalty) if self.late_penalty else "",
                str(self.variant) if self.variant else ""]

    def as_dict(self, questions: list[str]) -> dict[str, str]:
        return dict(zip(gradebook_fields(questions), self.row(questions), strict=True))


def gradebook_fields(questions: Iterable[str]) -> list[str]:
    return ["file", *questions, "total_points_earned", "percent_correct", "grading_status", "runtime_s",
            "late", "late_penalty", "variant"]


def points_possible(result: Result, questions: Iterable[str], *, graded_by_hand: Iterable[str]) -> float:
    """The denominator of percent_correct: the autograded regular questions, plus each manual
    question once a hand score for it is merged. Stretch questions are extra credit: their
    points count as earned but not as possible, so a percentage may pass 1."""
    hand = set(graded_by_hand)
    regular = [q for q in questions if q not in contract.STRETCH_QUESTIONS]
    auto = sum(result.questions[q].max_points or 0.0 for q in regular
               if q not in contract.MANUAL_QUESTIONS and q in result.questions)
    return auto + sum(float(contract.POINTS[q]) for q in regular if q in contract.MANUAL_QUESTIONS and q in hand)


def score(result: Result, questions: list[str], *, hand: Mapping[str, float] | None, rule: LateRule) -> Scored:
    """The gradebook row of `result`: hand scores override the manual questions' points (never for
    input that could not be graded), and a late submission loses `rule`'s share of its total."""
    hand = {} if result.refused or not hand else hand
    points = {q: result.points(q) for q in questions}
    points.update({q: v for q, v in hand.items() if q in points})
    possible = points_possible(result, questions, graded_by_hand=hand)
    total = sum(points.values())
    penalty = round(total * rule.penalty_percent / 100, 4) if result.late and rule.penalty_percent else 0.0
    return Scored(file=result.file, points=points, total=total, percent=(total / possible) if possible else 0.0,
                  status=result.status.text, runtime_s=result.runtime_s, late=result.late, late_penalty=penalty,
                  pending=pending_questions(result, questions, hand=hand), variant=result.variant)


def pending_questions(result: Result, questions: Iterable[str], *, hand: Mapping[str, float]) -> frozenset[str]:
    """The hand-graded questions still waiting for a score: the gradebook leaves them blank, so a
    pending score never reads as a 0. Input that could not be graded has nothing to wait for."""
    if result.refused:
        return frozenset()
    return frozenset(q for q in questions if q in contract.MANUAL_QUESTIONS and q not in hand)


def write_gradebook(out: Path, questions: list[str], rows: Iterable[Scored]) -> None:
    atomic.write_text(Path(out) / GRADEBOOK, safetext.csv_text(gradebook_fields(questions),
                                                              (r.row(questions) for r in rows)), mode=0o600)


@dataclass
class Gradebook:
    questions: list[str]
    rows: list[dict[str, str]]  # file and grading_status as they were before formulas were neutralised


def read_gradebook(out: Path) -> Gradebook:
    path = Path(out) / GRADEBOOK
    if not path.is_file():
        raise CtlabError(f"{path}: no gradebook here; run `ctlab grade ... -o {out}` first")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CtlabError(f"{path}: cannot read the gradebook ({exc})") from None
    if "file" not in columns or "total_points_earned" not in columns:
        raise CtlabError(f"{path}: not a ctlab gradebook (needs the columns file and total_points_earned)")
    for row in rows:  # text cells as they were before the gradebook neutralised formulas
        for col in ("file", "grading_status"):
            if isinstance(row.get(col), str):
                row[col] = safetext.csv_value(row[col])
    first, last = columns.index("file") + 1, columns.index("total_points_earned")
    return Gradebook(questions=[c for c in columns[first:last] if c in contract.QUESTIONS], rows=rows)


# ---------------------------------------------------------------- reading OUT back

@dataclass
class Graded:
    """One gradebook row joined with its result (when there is one): what the reports, the
    exports and the review page read. Points, total and status are the gradebook's."""

    file: str
    name: str
    status: str
    runtime_s: float | None
    points: dict[str, float | None]  # gradebook value per question (None: blank)
    max_points: dict[str, float]  # from the results file
    total: float
    percent: float | None  # 0-100 (the gradebook's percent_correct is a fraction, as otter writes it)
    tests: list[TestRecord] = field(default_factory=list)
    has_results: bool = False
    problems: list[str] = field(default_factory=list)  # what could not be used, in words
    cell_errors: list[tuple[int, str]] = field(default_factory=list)  # (code cell, "NameError: ...") as run
    identity: Identity | None = None  # who the LMS says it is from (None: an older results file)
    late: bool = False
    late_penalty: float = 0.0  # points taken off for lateness (the gradebook's own column)
    comments: dict[str, str] = field(default_factory=dict)  # a hand grader's comment per question
    kind: Kind = Kind.UNKNOWN
    variant: int = 0  # the variant it was graded against (0: none)
    student_id: str = ""  # the STUDENT_ID that chose it

    @property
    def final(self) -> float:
        """The score an LMS gets: the total less any late penalty."""
        return self.total - self.late_penalty

    @property
    def extra_credit(self) -> float:
        """Points earned on the extra-credit questions (contract.STRETCH_QUESTIONS)."""
        return sum(v or 0.0 for q, v in self.points.items() if q in contract.STRETCH_QUESTIONS)

    @property
    def required_percent(self) -> float | None:
        """Points earned on the required questions as a percentage (0-100) of the required points
        possible, before any late penalty: percent_correct without the extra credit, which alone
        lets it pass 100. None when the gradebook has no percent."""
        if self.percent is None:
            return None
        if not self.total:
            return 0.0
        # percent is the total over the points possible; the required part is the same fraction of
        # it as the required points are of the total (the gradebook's four decimals aside: capped)
        return min(100.0, max(0.0, self.percent * (self.total - self.extra_credit) / self.total))

    @property
    def refused(self) -> bool:
        return self.kind is Kind.REFUSED

    @property
    def pending(self) -> list[str]:
        """Hand-graded questions the gradebook leaves blank: no score entered yet (a 0 is a score)."""
        if self.refused:
            return []
        return [q for q in contract.MANUAL_QUESTIONS if q in self.points and self.points[q] is None]


def _num(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def safe_id(name: str) -> bool:
    """Whether `name` can name files under OUT: [A-Za-z0-9._-] only, no leading dot."""
    import re

    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}", name)) and not name.lower().endswith(".tmp")


def _unique_name(wanted: str, file: str, used: set[str]) -> str:
    """The id feedback/ and snapshots/ use: the record's own when it is a safe one and no other
    row has it, else one made from the file's path."""
    from ctlab.grading.inputs import hashed_id

    name = wanted if safe_id(wanted) and wanted.casefold() not in used else hashed_id(file)
    while name.casefold() in used:
        name += "_"
    used.add(name.casefold())
    return name


def _first_lines(errors: list[tuple[int, str]]) -> list[tuple[int, str]]:
    found = []
    for cell, error in errors:
        text = error.strip().splitlines()
        found.append((cell, text[-1] if text else "an error"))
    return found


def load_graded(out: Path) -> list[Graded]:
    """The gradebook's rows, each with its results file (when one can be read) and hand comments."""
    from ctlab.grading import manual_scores as hand_scores

    book = read_gradebook(out)
    kept = hand_scores.read(out)
    results = read_results(out)
    found: list[Graded] = []
    used: set[str] = set()
    for row in book.rows:
        file = row.get("file") or ""
        result = results.find(file)
        name = _unique_name(result.name if result else submission_name(file), file, used)
        runtime = _num(row.get("runtime_s"))
        if runtime is None and result:
            runtime = result.runtime_s
        percent = _num(row.get("percent_correct"))
        found.append(Graded(
            file=file, name=name,
            status=safetext.one_line(row.get("grading_status") or (result.status.text if result else "")),
            runtime_s=runtime, points={q: _num(row.get(q)) for q in contract.QUESTIONS if q in row},
            max_points={q: qp.max_points for q, qp in result.questions.items() if qp.max_points is not None}
            if result else {},
            total=_num(row.get("total_points_earned")) or 0.0, percent=None if percent is None else 100.0 * percent,
            tests=list(result.tests) if result else [], has_results=result is not None,
            cell_errors=_first_lines(result.cell_errors) if result else [],
            identity=result.identity if result else None, late=(row.get("late") or "").strip() == "yes",
            late_penalty=_num(row.get("late_penalty")) or 0.0,
            comments={q: sc.comment for q, sc in (kept.get(name) or kept.get(file) or {}).items() if sc.comment},
            kind=result.status.kind if result else Kind.UNKNOWN,
            variant=result.variant if result else 0, student_id=result.student_id if result else "",
        ))
    return found
