"""Grading N submissions spread over every variant against the same N all of one variant, in one run.

Run from the repository root (a few minutes on 2 cores):

    PYTHONPATH=tests .venv/bin/python tests/benchmarks/bench_variants.py [--n 40] [--jobs 2] [--rounds 2] \
        [--answers distinct|same]

Each submission is the student notebook with an id typed in and the help notebook's reveals pasted, so
every one earns the same points on its own variant. With `--answers same` the students of one variant
hand in equal answers, so the grader's per-answer memo spares all but one per variant: the single-variant
batch then tests one set of answers and the spread batch twelve. With `--answers distinct` (the default,
and what a class hands in) each student's part-3 and part-4 rows come in an order of their own, which
changes no score but makes every answer set a new one to test, in both batches alike.

The two batches alternate for `--rounds` rounds (the whole `ctlab grade` command, reports included,
each into a fresh OUT); the script prints each time, the medians and their ratio, and stops with an
error when a total differs between the batches.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from reveal_answers import REVEAL, paste_reveals
from student_ids import SETTINGS, fill, id_for

REPO = Path(__file__).resolve().parents[2]
STUDENT = REPO / "assignment" / "scenario03b.ipynb"


def write_batch(folder: Path, ids: list[str], *, distinct: bool) -> None:
    folder.mkdir(parents=True)
    for i, student_id in enumerate(ids):
        nb = fill(nbformat.read(STUDENT, as_version=4), student_id)
        reveals = dict(REVEAL)
        if distinct:  # the same rows in an order of this student's own
            reveals["q3"] += f"\nsusp_iam = susp_iam.sample(frac=1, random_state={i})"
            reveals["q4"] += f"\nsusp_api = susp_api.sample(frac=1, random_state={i})"
        paste_reveals(nb, reveals)
        nbformat.write(nb, folder / f"s{i:03d}.ipynb")


def run(folder: Path, out: Path, jobs: int) -> tuple[float, list[str]]:
    t0 = time.monotonic()
    subprocess.run([str(Path(sys.executable).parent / "ctlab"), "grade", str(folder), "-o", str(out), "--jobs",
                    str(jobs), "--root", str(REPO)], check=True, capture_output=True)
    wall = time.monotonic() - t0
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return wall, sorted(f"{Path(r['file']).stem}:{r['total_points_earned']}" for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--answers", choices=("distinct", "same"), default="distinct")
    args = parser.parse_args()
    count = SETTINGS.count
    with tempfile.TemporaryDirectory(prefix="ctlab-bench-variants-") as tmp:
        base = Path(tmp)
        one = [id_for(1, prefix=f"one{i}-") for i in range(args.n)]
        spread = [id_for(1 + i % count, prefix=f"all{i}-") for i in range(args.n)]
        write_batch(base / "one", one, distinct=args.answers == "distinct")
        write_batch(base / "spread", spread, distinct=args.answers == "distinct")
        times: dict[str, list[float]] = {"one variant": [], f"{count} variants": []}
        totals: dict[str, list[str]] = {}
        for r in range(args.rounds):
            for label, folder in (("one variant", base / "one"), (f"{count} variants", base / "spread")):
                wall, rows = run(folder, base / f"out-{label[:3]}-{r}", args.jobs)
                times[label].append(wall)
                totals[label] = [row.split(":")[1] for row in rows]
                print(f"round {r + 1}: {args.n} submissions, {label}: {wall:.1f} s", flush=True)
        if totals["one variant"] != totals[f"{count} variants"]:
            print(f"error: totals differ: {totals}", file=sys.stderr)
            return 1
        a, b = statistics.median(times["one variant"]), statistics.median(times[f"{count} variants"])
        print(f"median ({args.answers} answers): one variant {a:.1f} s, {count} variants {b:.1f} s, ratio {b / a:.3f} "
              f"(every total {totals['one variant'][0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
