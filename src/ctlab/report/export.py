"""`ctlab export OUT --format canvas|gradescope|csv`: the gradebook in LMS import formats.

Students are identified by the submission's file name stem (`s1234567.ipynb` -> `s1234567`),
so name submissions after the ID the LMS knows (Canvas SIS User ID, Gradescope SID or email).

- csv:        OUT/export-csv.csv        file, q1..q11, total, percent (0-100), status
- canvas:     OUT/export-canvas.csv     Student, ID, SIS User ID, Section, "Scenario 03B[ (<id>)]"
              (a "Points Possible" row first: q1..q8 and q11, stretch questions count as extra;
              <id> from $CTLAB_CANVAS_ASSIGNMENT_ID)
- gradescope: OUT/export-gradescope.csv Name, SID, Email, Total Score, q1..q11
"""

from __future__ import annotations

import os
from pathlib import Path

from ctlab import atomic
from ctlab.safetext import csv_text
from ctlab.contract import QUESTIONS, STRETCH_QUESTIONS

from ._format import fmt_points
from .inputs import QUESTION_COLUMNS, load_submissions, max_points_by_question, submission_name

FORMATS = ("canvas", "gradescope", "csv")
ASSIGNMENT = "Scenario 03B"


def _pts(value: float | None) -> str:
    return "" if value is None else fmt_points(round(value, 4))


def export(*, out: Path, fmt: str) -> Path:
    from ctlab.errors import CtlabError

    out = Path(out)
    if fmt not in FORMATS:
        raise CtlabError(f"unknown export format {fmt!r} (choose one of {', '.join(FORMATS)})")
    subs = load_submissions(out)  # CtlabError naming OUT/gradebook.csv when missing
    maxima = max_points_by_question(subs)
    questions = [q for q in QUESTION_COLUMNS if any(q in s.points for s in subs)]
    target = out / f"export-{fmt}.csv"

    if fmt == "csv":
        header = ["file", *questions, "total", "percent", "status"]
        rows = [
            [s.file, *[_pts(s.points.get(q)) for q in questions], _pts(s.total),
             "" if s.percent is None else f"{s.percent:.2f}", s.status]
            for s in subs
        ]
    elif fmt == "canvas":
        assignment_id = os.environ.get("CTLAB_CANVAS_ASSIGNMENT_ID", "").strip()
        column = f"{ASSIGNMENT} ({assignment_id})" if assignment_id else ASSIGNMENT
        header = ["Student", "ID", "SIS User ID", "Section", column]
        possible = sum(mx for q, mx in maxima.items() if q in QUESTIONS and q not in STRETCH_QUESTIONS)  # stretch questions are extra
        rows = [["    Points Possible", "", "", "", _pts(possible)]]
        rows += [[submission_name(s.file), "", submission_name(s.file), "", _pts(s.total)] for s in subs]
    else:  # gradescope
        header = ["Name", "SID", "Email", "Total Score", *questions]
        rows = []
        for s in subs:
            ident = submission_name(s.file)
            email = ident if "@" in ident else ""
            sid = "" if email else ident
            rows.append([ident, sid, email, _pts(s.total), *[_pts(s.points.get(q)) for q in questions]])
    atomic.write_text(target, csv_text(header, rows))  # every cell: no spreadsheet formula
    return target
