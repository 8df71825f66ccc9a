"""Grading N submissions spread over every variant against the same N all of one variant, in one run.

Run from the repository root (a few minutes on 2 cores):

    PYTHONPATH=tests .venv/bin/python tests/benchmarks/bench_variants.py [--n 40] [--jobs 2] [--rounds 2]

Each submission is the student notebook with an id typed in and the help notebook's reveals pasted, so
every one earns the same points on its own variant. The two batches alternate for `--rounds` rounds
(the whole `ctlab grade` command, reports included, each into a fresh OUT); the script prints each
time, the medians and their ratio, and stops with an error when a total differs between the batches.
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


def write_batch(folder: Path, ids: list[str]) -> None:
    folder.mkdir(parents=True)
    for i, student_id in enumerate(ids):
        nb = fill(nbformat.read(STUDENT, as_version=4), student_id)
        paste_reveals(nb, REVEAL)
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
    args = parser.parse_args()
    count = SETTINGS.count
    with tempfile.TemporaryDirectory(prefix="ctlab-bench-variants-") as tmp:
        base = Path(tmp)
        one = [id_for(1, prefix=f"one{i}-") for i in range(args.n)]
        spread = [id_for(1 + i % count, prefix=f"all{i}-") for i in range(args.n)]
        write_batch(base / "one", one)
        write_batch(base / "spread", spread)
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
        print(f"median: one variant {a:.1f} s, {count} variants {b:.1f} s, ratio {b / a:.3f} "
              f"(every total {totals['one variant'][0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
