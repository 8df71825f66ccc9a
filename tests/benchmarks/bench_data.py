"""Benchmark: generate and flatten N CloudTrail events (default 1,000,000).

    .venv/bin/python tests/benchmarks/bench_data.py [--events N] [--small M] [--workdir DIR] [--keep]

Each step runs in its own child process, which reports its wall time (imports excluded), the CPU
time of its whole process tree, and its peak resident memory (VmHWM from /proc/self/status, or
ru_maxrss where /proc is missing). ``ctlab.data.flatten`` reads a large input in worker processes
(one per core); their peaks are reported by the workers themselves (VmHWM, the largest each worker
reached over all its tasks), and the memory figure for that step is the SUM of the parent's peak
and every worker's peak. That sum is an upper bound: the peaks need not coincide in time, and pages
shared between processes count once per process. Steps:

1. generate about N events (the course week with the benign activity scaled up);
2. flatten them with ``ctlab.data.flatten`` (default number of workers);
3. flatten the same files the usual notebook way: ``json.load`` each file,
   ``pandas.json_normalize`` its records, keep the needed columns, concatenate, derive the
   exercise columns, sort and write the two CSVs;
4. generate and flatten about M events (default 100,000) to show that flatten's peak memory
   does not grow with the input.

Not collected by pytest; run it by hand. Needs about 3 GB of free disk for 1,000,000 events.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENTS_AT_SCALE_1 = 12300  # events per 7-day week per unit of scale (measured at scales 1 and 4; fixed jobs add ~4,000)


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- child steps --------------------------------------------------------------------------

def child_generate(out: Path, events: int) -> dict:
    from ctlab.data.generate import generate

    scale = max(0.05, events / EVENTS_AT_SCALE_1)
    t0, c0 = time.perf_counter(), cpu_seconds()
    s = generate(seed=3032, days=7, out=out, start=None, scale=scale)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - c0, "events": s.events, "files": s.files}


def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def child_flatten(src: Path, out: Path) -> dict:
    from ctlab.data.flatten import flatten

    t0, c0 = time.perf_counter(), cpu_seconds()
    s = flatten(inputs=[src], out=out, skip_bad=False)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - c0, "events": s.records,
            "iam_rows": s.iam_rows, "api_rows": s.api_rows, "jobs": s.jobs,
            "worker_peaks_mb": [kb / 1024 for kb in s.worker_peak_kb.values()]}


def child_normalize(src: Path, out: Path) -> dict:
    import gzip

    import numpy as np
    import pandas as pd

    keep = ["eventID", "eventTime", "userIdentity.type", "userIdentity.userName", "userIdentity.arn",
            "userIdentity.invokedBy", "userIdentity.accessKeyId", "eventSource", "eventName", "awsRegion",
            "sourceIPAddress", "userAgent", "errorCode", "requestParameters.bucketName", "requestParameters.key",
            "requestParameters.roleArn", "requestParameters.userName", "requestParameters.roleName",
            "requestParameters.policyArn", "additionalEventData.bytesTransferredOut"]
    t0, c0 = time.perf_counter(), cpu_seconds()
    frames = []
    files = sorted(p for p in src.rglob("*.json.gz"))
    for p in files:
        with gzip.open(p, "rt", encoding="utf-8") as fh:
            recs = json.load(fh)["Records"]
        df = pd.json_normalize(recs)
        frames.append(df.reindex(columns=keep))
    df = pd.concat(frames, ignore_index=True)
    del frames
    df = df.astype(object).where(df.notna(), "")
    t = df["userIdentity.type"]
    arn = df["userIdentity.arn"].astype(str)
    user = np.select(
        [t == "IAMUser", t == "AssumedRole", t == "Root", t == "AWSService"],
        [df["userIdentity.userName"], arn.str.split(":assumed-role/").str[-1], "root", df["userIdentity.invokedBy"]],
        default=df["userIdentity.userName"],
    )
    bucket, key = df["requestParameters.bucketName"].astype(str), df["requestParameters.key"].astype(str)
    resource_col = np.select(
        [(bucket != "") & (key != ""), bucket != "", df["eventName"].str.startswith("AssumeRole"),
         df["requestParameters.userName"] != "", df["requestParameters.roleName"] != ""],
        [bucket + "/" + key, bucket, df["requestParameters.roleArn"].astype(str).str.split("/").str[-1],
         df["requestParameters.userName"], df["requestParameters.roleName"]],
        default="",
    )
    policy = df["requestParameters.policyArn"].astype(str)
    out_df = pd.DataFrame({
        "event_id": df["eventID"], "timestamp": df["eventTime"], "user": user, "user_type": t,
        "principal_arn": arn, "event_source": df["eventSource"], "event_name": df["eventName"],
        "resource": resource_col, "region": df["awsRegion"], "source_ip": df["sourceIPAddress"],
        "user_agent": df["userAgent"], "access_key_id": df["userIdentity.accessKeyId"],
        "error_code": df["errorCode"], "details": np.where(policy != "", "policyArn=" + policy, ""),
        "bytes_out": df["additionalEventData.bytesTransferredOut"].astype(str).str.replace(r"\.0$", "", regex=True),
    })
    del df
    name = out_df["event_name"]
    is_iam = out_df["event_source"].isin(["iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"]) & (
        name.isin(["GetSessionToken", "GetFederationToken"]) | ~name.str.match(r"^(List|Get|Describe)"))
    out_df = out_df.sort_values(["timestamp", "event_id"], kind="stable")
    out.mkdir(parents=True, exist_ok=True)
    out_df[is_iam.loc[out_df.index]].to_csv(out / "cloud_iam.csv", index=False)
    out_df[~is_iam.loc[out_df.index]].to_csv(out / "cloud_api.csv", index=False)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - c0, "events": int(len(out_df))}


def run_child(step: str, *paths: Path, events: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", step, *map(str, paths)]
    if events:
        cmd += ["--events", str(events)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{step} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="events to generate and flatten (default 1,000,000)")
    ap.add_argument("--small", type=int, default=100_000, help="smaller run for the memory comparison (default 100,000)")
    ap.add_argument("--workdir", type=Path, default=None, help="where to put the files (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--skip-normalize", action="store_true", help="skip the json_normalize comparison")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.child:
        step, *paths = a.child
        fn = {"generate": lambda: child_generate(Path(paths[0]), a.events),
              "flatten": lambda: child_flatten(Path(paths[0]), Path(paths[1])),
              "normalize": lambda: child_normalize(Path(paths[0]), Path(paths[1]))}[step]
        result = fn()
        result["parent_peak_mb"] = peak_rss_mb()
        # the whole process tree: this process plus every worker it had (see the module docs)
        result["peak_rss_mb"] = result["parent_peak_mb"] + sum(result.get("worker_peaks_mb", []))
        print(json.dumps(result))
        return 0

    work = a.workdir or Path(tempfile.mkdtemp(prefix="ctlab-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        big, small = work / "big", work / "small"
        for d in (big, small):
            shutil.rmtree(d, ignore_errors=True)

        def line(label: str, r: dict) -> None:
            print(f"{label:<34} {r['events']:>10,} events {r['seconds']:>8.2f} s "
                  f"{r['events'] / r['seconds']:>10,.0f} events/s  cpu {r['cpu_seconds']:>7.2f} s  "
                  f"peak RSS {r['peak_rss_mb']:>8.1f} MB", flush=True)
            if r.get("worker_peaks_mb"):
                peaks = " + ".join(f"{mb:.1f}" for mb in r["worker_peaks_mb"])
                print(f"{'':<34} {r['jobs']} worker processes; peak RSS = parent {r['parent_peak_mb']:.1f} MB "
                      f"+ workers {peaks} MB", flush=True)

        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, workdir {work}", flush=True)
        g = run_child("generate", big / "raw", events=a.events)
        line("generate", g)
        print(f"{'':<34} {g['files']:,} gzip files, {du_mb(big / 'raw'):,.1f} MB on disk", flush=True)
        f = run_child("flatten", big / "raw", big / "flat")
        line("flatten (ctlab)", f)
        print(f"{'':<34} {f['iam_rows']:,} IAM rows + {f['api_rows']:,} API rows", flush=True)
        if not a.skip_normalize:
            n = run_child("normalize", big / "raw", big / "norm")
            line("flatten (pandas.json_normalize)", n)
            print(f"speed ratio: ctlab flatten is {n['seconds'] / f['seconds']:.1f}x faster than json_normalize "
                  f"(wall time; {n['cpu_seconds'] / f['cpu_seconds']:.1f}x less CPU time); "
                  f"peak memory {f['peak_rss_mb']:.0f} MB vs {n['peak_rss_mb']:.0f} MB", flush=True)
        gs = run_child("generate", small / "raw", events=a.small)
        line("generate (small)", gs)
        fs = run_child("flatten", small / "raw", small / "flat")
        line("flatten (ctlab, small)", fs)
        print(f"flatten peak memory: {fs['peak_rss_mb']:.0f} MB for {fs['events']:,} events, "
              f"{f['peak_rss_mb']:.0f} MB for {f['events']:,} events "
              f"({f['events'] / fs['events']:.1f}x the input, {f['peak_rss_mb'] / fs['peak_rss_mb']:.2f}x the memory)",
              flush=True)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
