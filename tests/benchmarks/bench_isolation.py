"""Per-submission cost of the sandbox's isolation, against the same worker without it.

Run from the repository root:

    .venv/bin/python tests/benchmarks/bench_isolation.py [--n 60]

Runs the same small submission N times through one worker in each mode, in the same run:
"none" (--no-sandbox: fork, limits, snapshot, no namespaces, no syscall policy) is the
baseline; "bwrap" adds the per-submission job process, user/mount/IPC/network/UTS/pid
namespaces, four private tmpfs, a fresh /proc, the capability drop and the policy; "user"
(root only) adds the separate uid, the policy and the host-folder wipe. Prints the mean
wall time and CPU per submission and the overhead over the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from ctlab.grading.sandbox import Worker

REPO = Path(__file__).resolve().parents[2]

CELLS = [
    "import pandas as pd\ncloud_iam_df = pd.read_csv('data/cloud_iam.csv')",
    "susp_iam = cloud_iam_df[cloud_iam_df['event_name'].isin(['CreateAccessKey', 'AttachRolePolicy'])]",
    "mitre_techniques = ['T1078', 'T1098', 'T1530']",
]
VARIABLES = ["cloud_iam_df", "susp_iam", "mitre_techniques"]


def measure(mode: str, n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="ctlab-bench-iso-") as d:
        os.chmod(d, 0o711)
        w = Worker(0, mode, Path(d), REPO / "assignment" / "data")
        w.start()
        try:
            w.run(CELLS, VARIABLES, 60, 2048)  # warm-up
            walls, cpus = [], []
            for _ in range(n):
                t0 = time.perf_counter()
                job = w.run(CELLS, VARIABLES, 60, 2048)
                walls.append(time.perf_counter() - t0)
                cpus.append(float(job.reply.get("cpu_s") or 0.0))
                if job.reply.get("exit_code") != 0 or not job.reply.get("snapshot"):
                    raise SystemExit(f"{mode}: a run failed: {job.reply}")
        finally:
            w.stop()
    return statistics.mean(walls), statistics.mean(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args()
    modes = ["none", "bwrap"] + (["user"] if os.geteuid() == 0 else [])
    results = {m: measure(m, args.n) for m in modes}
    base_wall, base_cpu = results["none"]
    print(f"{args.n} runs per mode of a 3-cell submission (load average {os.getloadavg()[0]:.1f})")
    for m, (wall, cpu) in results.items():
        extra = "" if m == "none" else \
            f"  overhead {1000 * (wall - base_wall):+.1f} ms wall, {1000 * (cpu - base_cpu):+.1f} ms CPU"
        print(f"  {m:5}: {1000 * wall:6.1f} ms wall, {1000 * cpu:6.1f} ms CPU per submission{extra}")


if __name__ == "__main__":
    main()
