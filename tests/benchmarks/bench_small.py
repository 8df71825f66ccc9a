"""The fixed cost of a batch: one submission end to end, Gradescope's run, and a large class's report.

Run from the repository root (about a minute on 2 cores, more under load):

    .venv/bin/python tests/benchmarks/bench_small.py [--repeat 3] [--class-size 300]

In one run, side by side (other work on the machine slows both the same way; the load average
is printed at the start and the end):

- `otter run` on one notebook, the baseline, against `ctlab grade one.ipynb -o OUT` into a
  fresh OUT (reports and feedback included), and against `python -m ctlab.gradescope`, the
  command Gradescope's run_autograder runs, on the same notebook; each the median of
  --repeat runs, with the per-phase breakdown of the last `ctlab grade` (`--timings`);
- the report of a class of --class-size submissions: their results are made by grading one
  notebook of each kind of the test corpus and copying those results under the class's
  names (each copy is a copy of the same notebook, so `ctlab grade` reuses it), then
  `ctlab grade` over the class writes the gradebook, feedback and report from scratch, and
  once more with nothing changed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from otter_baseline import OtterZips

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "submissions" / "corpus"
VENV_BIN = Path(sys.executable).parent
ZIP = REPO / "autograder" / "scenario03b-autograder.zip"
ONE = "passes_all_reveal.ipynb"
KINDS = [
    "passes_all_reveal.ipynb", "passes_all_alt_style.ipynb", "passes_all_with_stretch.ipynb",
    "mistake_q2_parse_without_utc.ipynb", "mistake_q2_drop_nat_rows.ipynb", "mistake_q3_missing_event_name.ipynb",
    "mistake_q4_contains_getobject.ipynb", "mistake_q5_actors_from_api_log.ipynb",
    "mistake_q7_made_up_technique.ipynb", "wrong_answers_plain.ipynb", "no_answers.ipynb",
]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def timed(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return wall, proc


def ctlab(*args: str) -> list[str]:
    return [str(VENV_BIN / "ctlab"), *args]


def one_submission(work: Path, repeat: int) -> None:
    sub = work / "one" / "one.ipynb"
    sub.parent.mkdir()
    shutil.copy(CORPUS / ONE, sub)
    otter = []
    otter_zip = OtterZips(work, ZIP).for_notebook(sub)  # with its variant's answer key (see otter_baseline)
    for i in range(repeat):
        (work / f"otter{i}").mkdir()
        otter.append(timed([str(VENV_BIN / "otter"), "run", "-a", str(otter_zip), "-o", str(work / f"otter{i}"),
                            str(sub)])[0])
    ours, last = [], None
    for i in range(repeat):
        wall, last = timed(ctlab("grade", str(sub), "-o", str(work / f"out{i}"), "--root", str(REPO), "--timings"))
        ours.append(wall)
    # Gradescope's layout: the autograder zip unpacked in source/, the submission in submission/.
    home = work / "gs"
    with zipfile.ZipFile(ZIP) as z:
        z.extractall(home / "source")
    (home / "submission").mkdir()
    shutil.copy(sub, home / "submission" / "one.ipynb")
    gs = []
    for _ in range(repeat):
        shutil.rmtree(home / "results", ignore_errors=True)
        (home / "results").mkdir()
        gs.append(timed([sys.executable, "-m", "ctlab.gradescope", "--autograder-dir", str(home / "source"),
                         "--submission-dir", str(home / "submission"), "--results-dir", str(home / "results")])[0])
    score = json.loads((home / "results" / "results.json").read_text())["score"]
    tests = json.loads((work / "otter0" / "results.json").read_text()).get("tests", [])
    otter_score = round(sum(t.get("score", 0) or 0 for t in tests if "q8" not in t.get("name", "")), 4)
    if otter_score != score:
        sys.exit(f"the scores differ: otter run {otter_score:g}, Gradescope's run {score:g}")
    t_otter, t_ours, t_gs = (statistics.median(x) for x in (otter, ours, gs))
    print(f"one submission ({ONE}), median of {repeat}:")
    print(f"  otter run (baseline):              {t_otter:6.2f} s   runs {', '.join(f'{t:.2f}' for t in otter)}")
    print(f"  ctlab grade -o OUT (with reports): {t_ours:6.2f} s   runs {', '.join(f'{t:.2f}' for t in ours)}"
          f"   {t_otter / t_ours:4.1f}x otter")
    print(f"  python -m ctlab.gradescope:        {t_gs:6.2f} s   runs {', '.join(f'{t:.2f}' for t in gs)}"
          f"   {t_otter / t_gs:4.1f}x otter   (score {score:g}, otter's the same)")
    assert last is not None
    print("  last ctlab grade, " + last.stdout[last.stdout.index("timings"):].rstrip().replace("\n", "\n  "))


def class_report(work: Path, size: int) -> None:
    kinds = work / "kinds"
    kinds.mkdir()
    for k in KINDS:
        shutil.copy(CORPUS / k, kinds / k)
    out = work / "class-out"
    timed(ctlab("grade", str(kinds), "-o", str(out), "--root", str(REPO)))
    klass = work / "class"
    klass.mkdir()
    for i in range(size):
        kind = KINDS[i % len(KINDS)]
        name = f"s{i:04d}"
        shutil.copy(kinds / kind, klass / f"{name}.ipynb")
        src = json.loads((out / "results" / f"{Path(kind).stem}.json").read_text())
        src.update(file=str(klass / f"{name}.ipynb"), name=name)
        src["identity"] = {**src["identity"], "key": name}  # as grading that file would have recorded it
        (out / "results" / f"{name}.json").write_text(json.dumps(src))
        if (out / "snapshots" / Path(kind).stem).is_dir():
            shutil.copytree(out / "snapshots" / Path(kind).stem, out / "snapshots" / name)
    for k in KINDS:  # the class only
        for p in (out / "results" / f"{Path(k).stem}.json", out / "code" / f"{Path(k).stem}.json"):
            p.unlink(missing_ok=True)
        shutil.rmtree(out / "snapshots" / Path(k).stem, ignore_errors=True)
    first, p1 = timed(ctlab("grade", str(klass), "-o", str(out), "--root", str(REPO), "--timings"))
    again, p2 = timed(ctlab("grade", str(klass), "-o", str(out), "--root", str(REPO), "--timings"))
    for p in (p1, p2):
        if f"reused from cache: {size}" not in p.stdout:
            sys.exit("the class was graded again instead of reused:\n" + p.stdout)
    assert "(inputs unchanged: kept)" in p2.stdout
    print(f"class of {size} (results reused): gradebook, feedback and report written {first:6.2f} s; "
          f"again, nothing changed {again:6.2f} s")
    print("  first, " + p1.stdout[p1.stdout.index("timings"):].rstrip().replace("\n", "\n  "))
    print("  again, " + p2.stdout[p2.stdout.index("timings"):].rstrip().replace("\n", "\n  "))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--class-size", type=int, default=300)
    args = ap.parse_args()
    if not ZIP.is_file():
        print(f"missing {ZIP}: run `ctlab build` first", file=sys.stderr)
        return 2
    print(f"cores: {os.cpu_count()}, load average at start: {load()}")
    work = Path(tempfile.mkdtemp(prefix="bench-small-"))
    try:
        one_submission(work, args.repeat)
        class_report(work, args.class_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
