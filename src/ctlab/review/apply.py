"""`ctlab review OUT --apply`: the stored hand scores into the gradebook, feedback, report and exports,
without grading again.

The gradebook's other columns stay as grading wrote them; each manual question's column becomes the
stored score (or its autograded points when there is none), and the total and percentage are computed
again the way `ctlab grade` does (points possible: the autograded regular questions, plus a manual
question once it has a hand score).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ctlab import atomic, safetext
from ctlab.contract import MANUAL_QUESTIONS, POINTS, STRETCH_QUESTIONS
from ctlab.errors import CtlabError
from ctlab.grading import manual_scores as hand_scores
from ctlab.grading.batch import GRADING_SETTINGS
from ctlab.grading.inputs import NOT_GRADED, stem_of


@dataclass
class ApplySummary:
    gradebook: Path
    applied: int
    students: int
    exports: list[Path]
    report: str

    def describe(self) -> str:
        lines = [f"hand scores applied to {self.applied} of {self.students} submission(s) -> {self.gradebook}"]
        return "\n".join(lines + [self.report])  # the report's lines name each export rewritten


def _fmt(x: float) -> str:
    return f"{x:g}"


def _num(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _results(out: Path) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for p in sorted((out / "results").glob("*.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and isinstance(rec.get("file"), str):
            rec.setdefault("name", p.stem)
            found[rec["file"]] = rec
    return found


def apply_scores(*, out: Path, root: Path) -> ApplySummary:
    out = Path(out)
    path = out / "gradebook.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CtlabError(f"{path}: no gradebook here ({exc.strerror}); run `ctlab grade ... -o {out}` first") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        body = list(reader)
    except (StopIteration, csv.Error) as exc:
        raise CtlabError(f"{path}: not a ctlab gradebook ({exc or 'empty'})") from None
    need = {"file", "total_points_earned", "percent_correct", "grading_status"}
    if not need <= set(header):
        raise CtlabError(f"{path}: not a ctlab gradebook (needs the columns {', '.join(sorted(need))})")
    col = {c: i for i, c in enumerate(header)}
    questions = header[header.index("file") + 1:header.index("total_points_earned")]
    scores = hand_scores.points(hand_scores.read(out))
    penalty_percent = _late_penalty_percent(out)
    results = _results(out)
    files = [safetext.csv_value(r[col["file"]]) for r in body if len(r) == len(header)]
    stems = Counter(stem_of(f) for f in files)
    applied = 0
    rows = []
    for r in body:
        if len(r) != len(header):
            raise CtlabError(f"{path}: a row with {len(r)} cells under {len(header)} columns")
        row = dict(zip(header, r))
        file = safetext.csv_value(row["file"])
        status = safetext.csv_value(row["grading_status"])
        rec = results.get(file, {})
        qrec = rec.get("questions") if isinstance(rec.get("questions"), dict) else {}
        stem = stem_of(file)
        mine = hand_scores.lookup(scores, file=file, name=str(rec.get("name") or stem), stem=stem,
                                  base=file.rsplit("/", 1)[-1], stem_unique=stems[stem] == 1)
        if status.startswith(NOT_GRADED):
            mine = None  # never for input that could not be graded
        hand = set()
        for q in questions:
            if q not in MANUAL_QUESTIONS:
                continue
            if mine and q in mine:
                row[q] = _fmt(mine[q])
                hand.add(q)
            else:
                auto = (qrec.get(q) or {}).get("points", 0.0) if isinstance(qrec.get(q), dict) else 0.0
                row[q] = _fmt(float(auto))
        applied += bool(hand)
        total = sum(_num(row[q]) for q in questions)
        possible = 0.0
        for q in questions:
            if q in STRETCH_QUESTIONS:
                continue
            if q in MANUAL_QUESTIONS:
                possible += float(POINTS.get(q, 0)) if q in hand else 0.0
            else:
                info = qrec.get(q) if isinstance(qrec.get(q), dict) else {}
                mp = info.get("max_points", POINTS.get(q, 0))
                possible += float(mp) if isinstance(mp, (int, float)) and not isinstance(mp, bool) else 0.0
        if "late_penalty" in row:
            row["late_penalty"] = _fmt(round(total * penalty_percent / 100, 4)) \
                if row.get("late") == "yes" and penalty_percent else ""
        row["total_points_earned"] = _fmt(total)
        row["percent_correct"] = f"{(total / possible) if possible else 0.0:.4f}"
        rows.append([row[c] if c not in ("file", "grading_status") else r[col[c]] for c in header])
    # file and status go back exactly as they were read (already neutralised for spreadsheets)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    atomic.write_text(path, buf.getvalue(), mode=0o640)

    from ctlab.report import write_reports

    written = write_reports(out=out, root=root)  # also rewrites every export made before
    return ApplySummary(gradebook=path, applied=applied, students=len(rows), exports=written.exports,
                        report=written.describe())


def _late_penalty_percent(out: Path) -> float:
    """The late penalty the last `ctlab grade` applied (0 when none, or when it is unreadable)."""
    try:
        value = json.loads((out / GRADING_SETTINGS).read_text(encoding="utf-8")).get("late_penalty_percent", 0)
    except (OSError, ValueError, AttributeError):
        return 0.0
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100 else 0.0
