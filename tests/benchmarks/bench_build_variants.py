"""Time `ctlab build --variants N` from scratch: every variant's week made, then the whole build.

Run from the repository root (about a minute on 2 cores):

    .venv/bin/python tests/benchmarks/bench_build_variants.py [--variants 12] [--jobs 2]

Copies solutions/, src/, pyproject.toml and variant 1's data/ (without data/variants/) to a temporary
folder, then times the variants' data (`ctlab.build.variant_data.ensure`) and the build that follows,
and prints both with the sizes of what it wrote.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ctlab.build import variant_data
from ctlab.build.generate import build

REPO = Path(__file__).resolve().parents[2]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ctlab-bench-build-") as tmp:
        root = Path(tmp)
        for folder in ("solutions", "src"):
            shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        shutil.copytree(REPO / "data", root / "data", ignore=shutil.ignore_patterns("variants"))
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        t0 = time.monotonic()
        cpu0 = os.times()
        made = variant_data.ensure(root=root, count=args.variants, jobs=args.jobs)
        t1 = time.monotonic()
        build(root=root, count=args.variants)
        t2 = time.monotonic()
        cpu1 = os.times()
        cpu = (cpu1.user + cpu1.system + cpu1.children_user + cpu1.children_system
               - cpu0.user - cpu0.system - cpu0.children_user - cpu0.children_system)
        print(f"{len(made)} variants' data in {t1 - t0:.1f} s, then the build in {t2 - t1:.1f} s: "
              f"{t2 - t0:.1f} s in all ({cpu:.1f} s CPU, {args.jobs} jobs)")
        print(f"assignment/ {_size(root / 'assignment') / 1e6:.1f} MB, "
              f"autograder zip {_size(root / 'autograder' / 'scenario03b-autograder.zip') / 1e6:.1f} MB, "
              f"data/variants/ {_size(root / 'data' / 'variants') / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
