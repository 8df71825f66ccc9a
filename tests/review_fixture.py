"""A graded OUT for the review tests and benchmark, written in the format `ctlab grade` writes
(gradebook, results, snapshots holding `triage_summary`, code), without grading anything:
every autograded question has full points, q8 awaits its hand score."""

from __future__ import annotations

import json
from pathlib import Path

from ctlab.contract import POINTS, STRETCH_QUESTIONS
from ctlab.grading.snapshot import write_snapshot

AUTO = {q: float(p) for q, p in POINTS.items() if q != "q8"}
AUTO_TOTAL = sum(p for q, p in AUTO.items() if q not in STRETCH_QUESTIONS)  # the regular questions


def make_out(out: Path, summaries: dict[str, str]) -> Path:
    """OUT with one submission `subs/<name>.ipynb` per summary, in the given order."""
    out.mkdir(parents=True)
    header = ["file", *POINTS, "total_points_earned", "percent_correct", "grading_status", "runtime_s"]
    lines = [",".join(header)]
    for name, summary in summaries.items():
        file = f"subs/{name}.ipynb"
        points = {q: (AUTO[q] if q in AUTO and q not in STRETCH_QUESTIONS else 0.0) for q in POINTS}
        total = sum(points.values())
        lines.append(",".join([file, *(f"{points[q]:g}" for q in POINTS), f"{total:g}",
                               f"{total / AUTO_TOTAL:.4f}", "ok", "1.00"]))
        rec = {"file": file, "name": name, "status": "ok", "runtime_s": 1.0, "tests": [],
               "questions": {q: {"points": points[q], "max_points": 0.0 if q == "q8" else float(POINTS[q])}
                             for q in POINTS}}
        (out / "results").mkdir(exist_ok=True)
        (out / "results" / f"{name}.json").write_text(json.dumps(rec))
        write_snapshot({"triage_summary": summary}, ["triage_summary"], out / "snapshots" / name, cell=1)
        (out / "code").mkdir(exist_ok=True)
        (out / "code" / f"{name}.json").write_text(json.dumps(
            {"file": file, "cells": [f'triage_summary = """{summary}"""']}))
    (out / "gradebook.csv").write_text("\n".join(lines) + "\n")
    return out
