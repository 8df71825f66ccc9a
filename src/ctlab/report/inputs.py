"""Reading what `ctlab grade` wrote: the gradebook, per-submission results and answer snapshots.

Reports read only these files (and the autograder's config), so they can be rebuilt
at any time without grading again.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlab.contract import question_order
from ctlab.errors import CtlabError
from ctlab.lms import Identity
from ctlab.safetext import csv_value, one_line

QUESTION_COLUMNS: tuple[str, ...] = tuple(f"q{i}" for i in range(1, 12))


@dataclass
class TestOutcome:
    name: str
    question: str
    points: float
    max_points: float
    hidden: bool
    passed: bool
    message: str


@dataclass
class Submission:
    """One gradebook row joined with its results file (when there is one)."""

    file: str
    name: str
    status: str
    runtime_s: float | None
    points: dict[str, float | None]  # gradebook value per question (None: blank)
    max_points: dict[str, float]  # from the results file
    total: float
    percent: float | None  # 0-100 (the gradebook's percent_correct is a fraction, as otter writes it)
    tests: list[TestOutcome] = field(default_factory=list)
    has_results: bool = False
    problems: list[str] = field(default_factory=list)  # what the report could not use, in words
    cell_errors: list[tuple[int, str]] = field(default_factory=list)  # (code cell, "NameError: ...") as run
    identity: Identity | None = None  # who the LMS says it is from (None: an older results file)
    late: bool = False
    late_penalty: float = 0.0  # points taken off for lateness (the gradebook's own column)
    comments: dict[str, str] = field(default_factory=dict)  # a hand grader's comment per question

    @property
    def final(self) -> float:
        """The score an LMS gets: the total less any late penalty."""
        return self.total - self.late_penalty


def _cell_errors(data: dict[str, Any]) -> list[tuple[int, str]]:
    """The exceptions cells raised, from a results record: (code cell number, first line of the error)."""
    found = []
    raw = data.get("cell_errors")
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, dict) and isinstance(item.get("cell"), int) and not isinstance(item.get("cell"), bool):
            text = str(item.get("error") or "").strip().splitlines()
            found.append((int(item["cell"]), text[-1] if text else "an error"))
    return found


def _num(text: str | None) -> float | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def read_gradebook(out: Path) -> list[dict[str, str]]:
    path = out / "gradebook.csv"
    if not path.is_file():
        raise CtlabError(f"{path}: no gradebook here; run `ctlab grade ... -o {out}` first")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CtlabError(f"{path}: cannot read the gradebook ({exc})") from None
    if "file" not in columns or "total_points_earned" not in columns:
        raise CtlabError(f"{path}: not a ctlab gradebook (needs the columns file and total_points_earned)")
    for row in rows:  # text cells as they were before the gradebook neutralised formulas
        for col in ("file", "grading_status"):
            if isinstance(row.get(col), str):
                row[col] = csv_value(row[col])
    return rows


def submission_name(file: str) -> str:
    """The name results/, snapshots/ and feedback/ use for a gradebook `file` value."""
    base = Path(file).name
    for suffix in (".ipynb", ".zip"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def _read_results(out: Path) -> dict[str, dict[str, Any]]:
    """results/<name>.json keyed both by their "file" and by their "name". A file that cannot
    be read is left out (its submission is then reported without results); of two records for
    the same file (an earlier run used another id), the newer counts."""
    found: dict[str, dict[str, Any]] = {}
    newest: dict[str, int] = {}
    folder = out / "results"
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            mtime = path.stat().st_mtime_ns
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            continue
        if not isinstance(data, dict):
            continue
        data["name"] = str(data.get("name") or path.stem)
        found[data["name"]] = data
        if isinstance(data.get("file"), str) and data["file"]:
            key = "file:" + data["file"]
            if mtime >= newest.get(key, -1):
                found[key], newest[key] = data, mtime
    return found


def _number(value: object) -> float:
    """A number from a results record; anything else counts as 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return 0.0
    return float(value)


def _results_of(data: dict[str, Any]) -> tuple[dict[str, float], list[TestOutcome]]:
    max_points: dict[str, float] = {}
    tests: list[TestOutcome] = []
    questions = data.get("questions")
    for q, info in (questions.items() if isinstance(questions, dict) else ()):
        mp = info.get("max_points") if isinstance(info, dict) else None
        if isinstance(mp, (int, float)) and not isinstance(mp, bool) and math.isfinite(mp):
            max_points[str(q)] = float(mp)
    raw_tests = data.get("tests")
    for t in raw_tests if isinstance(raw_tests, list) else ():
        if not isinstance(t, dict):
            continue
        tests.append(
            TestOutcome(
                name=str(t.get("name", "")),
                question=str(t.get("question", "")),
                points=_number(t.get("points")),
                max_points=_number(t.get("max_points")),
                hidden=bool(t.get("hidden", False)),
                passed=bool(t.get("passed", False)),
                message=str(t.get("message") or ""),
            )
        )
    return max_points, tests


_ERROR_TYPE = re.compile(r"([A-Za-z_][A-Za-z0-9_.]{0,79})(?::|$)")


def error_type(text: str) -> str:
    """The exception's type from a cell's error text (its last line starts `Type: message`)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    m = _ERROR_TYPE.match(lines[-1].strip()) if lines else None
    return m.group(1).rsplit(".", 1)[-1] if m else "an error"



def _unique_name(wanted: str, file: str, used: set[str]) -> str:
    """The id feedback/ and snapshots/ use: the record's own when it is a safe one and no other
    row has it, else one made from the file's path."""
    from ctlab.grading.inputs import hashed_id

    name = wanted if safe_id(wanted) and wanted.casefold() not in used else hashed_id(file)
    while name.casefold() in used:
        name += "_"
    used.add(name.casefold())
    return name


def safe_id(name: str) -> bool:
    """Whether `name` can name files under OUT: [A-Za-z0-9._-] only, no leading dot."""
    import re

    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}", name)) and not name.lower().endswith(".tmp")


def load_submissions(out: Path) -> list[Submission]:
    from ctlab.grading import manual_scores as hand_scores

    rows = read_gradebook(out)
    kept = hand_scores.read(out)
    results = _read_results(out)
    subs: list[Submission] = []
    used: set[str] = set()
    for row in rows:
        file = row.get("file") or ""
        data = results.get("file:" + file) or results.get(submission_name(file))
        name = _unique_name(str(data["name"]) if data else submission_name(file), file, used)
        points = {q: _num(row.get(q)) for q in QUESTION_COLUMNS if q in row}
        problems: list[str] = []
        max_points: dict[str, float] = {}
        tests: list[TestOutcome] = []
        errors: list[tuple[int, str]] = []
        if data:
            try:
                max_points, tests = _results_of(data)
                errors = _cell_errors(data)
            except Exception as exc:  # an odd record costs only its own details
                problems.append(f"its grading results could not be read ({type(exc).__name__})")
                data = None
        status = one_line(row.get("grading_status") or (data or {}).get("status") or "")
        runtime = _num(row.get("runtime_s"))
        if runtime is None and data and isinstance(data.get("runtime_s"), (int, float)):
            runtime = float(data["runtime_s"])
        subs.append(
            Submission(
                file=file,
                name=name,
                status=status,
                runtime_s=runtime,
                points=points,
                max_points=max_points,
                total=_num(row.get("total_points_earned")) or 0.0,
                percent=None if _num(row.get("percent_correct")) is None else 100.0 * _num(row.get("percent_correct")),
                tests=tests,
                has_results=data is not None,
                problems=problems,
                identity=Identity.from_dict(data.get("identity")) if data else None,
                late=(row.get("late") or "").strip() == "yes",
                late_penalty=_num(row.get("late_penalty")) or 0.0,
                comments={q: sc.comment for q, sc in (kept.get(name) or kept.get(file) or {}).items() if sc.comment},
                cell_errors=errors,
            )
        )
    return subs


def manual_maxima() -> dict[str, float]:
    """Points of the hand-graded questions (they have no test file to give a maximum)."""
    from ctlab.contract import MANUAL_QUESTIONS, POINTS

    return {q: float(POINTS[q]) for q in sorted(MANUAL_QUESTIONS)}


def max_points_by_question(subs: list[Submission]) -> dict[str, float]:
    """Question maxima as the results files give them; questions worth 0 points are left out
    (no test file for them), except the hand-graded ones, whose maximum is the course's."""
    from ctlab.contract import MANUAL_QUESTIONS

    maxima: dict[str, float] = {}
    for sub in subs:
        for q, mp in sub.max_points.items():
            maxima[q] = max(maxima.get(q, 0.0), mp)
    manual = manual_maxima()
    for q in MANUAL_QUESTIONS:
        if not maxima.get(q) and q in manual:
            maxima[q] = manual[q]
    maxima = {q: mp for q, mp in maxima.items() if mp > 0}
    return {q: maxima[q] for q in question_order(maxima)}


@dataclass(frozen=True)
class Unsaved:
    """A variable the student defined but the grader could not save (e.g. still `...`)."""

    reason: str


# An answer saved in a file past this is not described in the report: the course's own frames
# take well under 1 MiB, and describing a crafted giant would cost the whole report minutes.
REPORT_VALUE_FILE_CAP = 8 * 1024 * 1024


def load_snapshot_dir(path: Path) -> dict[str, object]:
    """The answer variables saved for one submission.

    Uses the grader's own loader (ctlab.grading.snapshot), so both always agree;
    variables that exist but could not be saved come back as `Unsaved(reason)`.
    Without the grader's module it reads <var>.parquet / <var>.json files directly.
    """
    try:
        from ctlab.grading import snapshot as grading_snapshot
    except ImportError:
        grading_snapshot = None
    if grading_snapshot is not None:
        loader = getattr(grading_snapshot, "load_snapshot_with_problems", None)
        if loader is not None:
            values, problems = loader(path, max_file_bytes=REPORT_VALUE_FILE_CAP)
            values = dict(values)
            for var, why in problems.items():
                values.setdefault(var, Unsaved(str(why)))
            return values
        return dict(grading_snapshot.load_snapshot(path))
    import pandas as pd

    values: dict[str, object] = {}
    for item in sorted(path.iterdir()):
        if item.suffix == ".parquet":
            values[item.stem] = pd.read_parquet(item)
        elif item.suffix == ".json" and not item.name.startswith("_"):
            values[item.stem] = json.loads(item.read_text(encoding="utf-8"))
    return values


def load_snapshots(out: Path, subs: list[Submission]) -> dict[str, dict[str, object]]:
    """Snapshots by submission name; submissions without one (or with an unreadable one, which
    is noted on the submission) are left out."""
    found: dict[str, dict[str, object]] = {}
    for sub in subs:
        folder = out / "snapshots" / sub.name
        if not folder.is_dir():
            continue
        try:
            found[sub.name] = load_snapshot_dir(folder)
        except Exception as exc:  # a damaged snapshot costs only this submission's answers
            sub.problems.append(f"its saved answers could not be read ({type(exc).__name__})")
    return found
