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
        lines += [f"wrote {p}" for p in self.exports]
        return "\n".join(lines + [self.report])


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
        row["total_points_earned"] = _fmt(total)
        row["percent_correct"] = f"{(total / possible) if possible else 0.0:.4f}"
        rows.append([row[c] if c not in ("file", "grading_status") else r[col[c]] for c in header])
    # file and status go back exactly as they were read (already neutralised for spreadsheets)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    atomic.write_text(path, buf.getvalue(), mode=0o640)

    from ctlab.report import write_reports
    from ctlab.report.export import FORMATS, export

    report = write_reports(out=out, root=root).describe()
    exports = [export(out=out, fmt=f) for f in FORMATS if (out / f"export-{f}.csv").is_file()]
    return ApplySummary(gradebook=path, applied=applied, students=len(rows), exports=exports, report=report)
