"""Throughput of `ctlab grade` against `otter run` fanned out with `xargs -P`, same submissions.

Run from the repository root (takes a few minutes on 2 cores):

    .venv/bin/python tests/benchmarks/bench_grade.py [--n 16] [--jobs N]

Prints both throughputs (submissions/s), their ratio, whether every submission got the
same total score from both, and CPU seconds per submission (the machine's busy time while each
ran: run it on an otherwise idle machine) against the floor (one fresh Python that imports
pandas and runs the reference solution once).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from otter_baseline import OtterZips

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "submissions" / "corpus"
VENV_BIN = Path(sys.executable).parent
ZIP = REPO / "autograder" / "scenario03b-autograder.zip"
# Ordinary submissions only (otter run has no timeout, so no endless loops here).
KINDS = [
    "passes_all_reveal.ipynb", "passes_all_alt_style.ipynb", "passes_all_with_stretch.ipynb",
    "passes_all_errors_before_answers.ipynb", "mistake_q2_parse_without_utc.ipynb",
    "mistake_q2_drop_nat_rows.ipynb", "mistake_q3_missing_event_name.ipynb",
    "mistake_q4_contains_getobject.ipynb", "mistake_q5_actors_from_api_log.ipynb",
    "mistake_q7_missing_technique.ipynb", "mistake_q7_made_up_technique.ipynb",
    "wrong_answers_plain.ipynb", "no_answers.ipynb",
]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def busy_cpu() -> float:
    """CPU seconds the whole machine has been busy (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and CPU seconds of `cmd`. The CPU is the machine's busy time while it ran: the
    children's rusage misses the sandboxed workers (bubblewrap's processes are not reaped by this
    one), so run the benchmark on an otherwise idle machine."""
    c0, t0 = busy_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return time.perf_counter() - t0, busy_cpu() - c0, proc


def floor_cpu() -> float:
    code = "\n".join([
        "import pandas as pd",
        "cloud_iam_df = pd.read_csv('data/cloud_iam.csv'); cloud_api_df = pd.read_csv('data/cloud_api.csv')",
        "for df in (cloud_iam_df, cloud_api_df):",
        "    df['timestamp'] = pd.to_datetime(df['timestamp'].astype(str).str.replace('Z', '', regex=False), utc=True, errors='coerce')",
        "    df['hour'] = df['timestamp'].dt.hour",
        "susp_iam = cloud_iam_df[cloud_iam_df['event_name'].isin(['CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice'])]",
        "n = cloud_api_df['event_name']",
        "susp_api = cloud_api_df[n.str.startswith('List') | n.str.startswith('Describe') | n.isin(['GetObject'])]",
        "actors = susp_iam['user'].unique().tolist(); related_api = cloud_api_df[cloud_api_df['user'].isin(actors)]",
        "susp_users = susp_iam['user'].unique().tolist(); mitre_techniques = ['T1078', 'T1098', 'T1530']",
    ])
    best = None
    for _ in range(3):
        c0 = children_cpu()  # one plain child process: its own rusage is exact
        p = subprocess.run([sys.executable, "-c", code], cwd=REPO / "assignment", capture_output=True, text=True)
        cpu = children_cpu() - c0
        assert p.returncode == 0, p.stderr
        best = cpu if best is None else min(best, cpu)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16, help="number of submissions (default 16)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if not ZIP.is_file():
        print(f"missing {ZIP}: run `ctlab build` first", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    try:
        subs = work / "subs"
        subs.mkdir()
        for i in range(args.n):
            kind = KINDS[i % len(KINDS)]
            shutil.copy(CORPUS / kind, subs / f"s{i:02d}_{kind}")
        files = sorted(subs.glob("*.ipynb"))

        # (a) otter run, one process per submission, fanned out over every core
        otter_out = work / "otter"
        otter_out.mkdir()
        zips = OtterZips(work, ZIP)  # each submission with its variant's answer key (see otter_baseline)
        listing = "".join(f"{f}\n{zips.for_notebook(f)}\n" for f in files)
        script = (f'd="{otter_out}/$(basename "$1" .ipynb)"; mkdir -p "$d"; '
                  f'"{VENV_BIN}/otter" run -a "$2" -o "$d" "$1" >"$d.log" 2>&1')
        t_otter, cpu_otter, p = timed(["xargs", "-P", str(args.jobs), "-d", "\n", "-n", "2", "sh", "-c", script, "_"],
                                      input=listing, cwd=work)
        otter_scores = {}
        for f in files:
            res = otter_out / f.stem / "results.json"
            if res.is_file():
                data = json.loads(res.read_text())
                otter_scores[f.name] = round(sum(t.get("score", 0) or 0 for t in data.get("tests", [])
                                                 if "q8" not in t.get("name", "")), 4)
            else:
                otter_scores[f.name] = None

        # (b) ctlab grade on the same files, every core
        out = work / "ctlab"
        t_ctlab, cpu_ctlab, p = timed([str(VENV_BIN / "ctlab"), "grade", str(subs), "-o", str(out), "--root", str(REPO),
                                       "--jobs", str(args.jobs), "--force"], cwd=work)
        if p.returncode != 0:
            print(p.stdout, p.stderr, file=sys.stderr)
            return 1
        ours = {}
        phase1_cpu = []
        with open(out / "gradebook.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                ours[Path(row["file"]).name] = round(float(row["total_points_earned"]), 4)
        for f in files:
            rec = json.loads((out / "results" / f"{f.stem}.json").read_text())
            if rec.get("cpu_s") is not None:
                phase1_cpu.append(rec["cpu_s"])

        fl = floor_cpu()
        n = len(files)
        mismatches = [(k, otter_scores[k], ours.get(k)) for k in sorted(otter_scores) if otter_scores[k] != ours.get(k)]
        print(f"submissions: {n}, jobs: {args.jobs}, cores: {os.cpu_count()}")
        print(f"otter run | xargs -P {args.jobs}: {t_otter:7.2f} s wall  {n / t_otter:6.2f} submissions/s  "
              f"{cpu_otter / n:5.2f} CPU s/submission (machine busy time)")
        print(f"ctlab grade --jobs {args.jobs}:      {t_ctlab:7.2f} s wall  {n / t_ctlab:6.2f} submissions/s  "
              f"{cpu_ctlab / n:5.2f} CPU s/submission (machine busy time: the whole command, incl. start-up and reports)")
        print(f"throughput ratio (ctlab / otter): {t_otter / t_ctlab:.1f}x; CPU ratio {cpu_otter / cpu_ctlab:.1f}x")
        if phase1_cpu:
            print(f"sandboxed run of the notebook (phase 1), CPU s/submission: mean {sum(phase1_cpu) / len(phase1_cpu):.3f}, "
                  f"max {max(phase1_cpu):.3f}")
        print(f"floor (fresh python importing pandas + reference solution once): {fl:.3f} CPU s")
        if mismatches:
            print(f"scores DIFFER on {len(mismatches)} submission(s): (file, otter, ctlab)")
            for m in mismatches:
                print("  ", m)
        else:
            print(f"scores identical on all {n} submissions (total points per submission)")
        return 0 if not mismatches else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
