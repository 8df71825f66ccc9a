"""`ctlab data check`: the consistency invariants hold on the shipped week and on other seeds, and each
one catches the contradiction it is about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ctlab.data.flatten import COLUMNS
from ctlab.data.generate import generate
from ctlab.data.invariants import check_rows, check_week

DATA = Path(__file__).resolve().parents[1] / "data"


def test_shipped_week_holds():
    r = check_week(path=DATA)
    assert r.violations == []
    assert r.describe() == (f"{DATA}: {r.rows} rows; all 5 invariants hold "
                            "(mfa, bucket-region, object-size, key-owner, session)")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 1234, 90210])
def test_other_seeds_hold(tmp_path, seed):
    generate(seed=seed, days=7, out=tmp_path, start=None)
    r = check_week(path=tmp_path)  # CloudTrail files: flattened first
    assert r.rows > 6000 and r.violations == []


def row(**cells) -> dict[str, str]:
    r = dict.fromkeys(COLUMNS, "")
    r.update(event_id=f"e{len(cells)}-{cells.get('timestamp', '')}", **cells)
    return r


T1, T2, T3 = "2026-02-28T01:00:00Z", "2026-02-28T02:00:00Z", "2026-02-28T03:00:00Z"
SESSION = row(timestamp=T1, event_name="AssumeRole", user="alice", user_type="IAMUser", resource="Ops",
              details="roleArn=arn:aws:iam::1:role/Ops;roleSessionName=night;durationSeconds=3600;"
                      "credentials.accessKeyId=ASIAOPS")
CASES = {
    "mfa": [row(timestamp=T1, event_name="DeactivateMFADevice", user="eve", resource="bob"),
            row(timestamp=T2, event_name="ConsoleLogin", user="bob", user_type="IAMUser",
                details="ConsoleLogin=Success;MFAUsed=Yes")],
    "bucket-region": [row(timestamp=T1, event_source="s3.amazonaws.com", resource="b1/k", region="eu-west-1"),
                      row(timestamp=T2, event_source="s3.amazonaws.com", resource="b1", region="eu-central-1")],
    "object-size": [row(timestamp=T1, event_name="GetObject", resource="b1/k", bytes_out="10"),
                    row(timestamp=T2, event_name="GetObject", resource="b1/k", bytes_out="99")],
    "key-owner": [row(timestamp=T1, event_name="CreateAccessKey", user="eve", resource="bob",
                      details="accessKey.accessKeyId=AKIANEW"),
                  row(timestamp=T2, user="eve", access_key_id="AKIANEW")],
    "session": [SESSION, row(timestamp=T3, user="Ops/night", user_type="AssumedRole", access_key_id="ASIAOPS")],
    "session-unissued": [row(timestamp=T2, user="Ops/day", user_type="AssumedRole", access_key_id="ASIAOTHER")],
    "key-shared": [row(timestamp=T1, user="bob", access_key_id="AKIABOB"),
                   row(timestamp=T2, user="eve", access_key_id="AKIABOB")],
}
WANT = {
    "mfa": "mfa: bob signs in with MFAUsed=Yes at 2026-02-28T02:00:00Z",
    "bucket-region": "bucket-region: b1 is logged in 2 regions",
    "object-size": "object-size: b1/k is read with 2 sizes (10, 99)",
    "key-owner": "key-owner: AKIANEW, made for bob (",
    "session": "session: Ops/night uses ASIAOPS at 2026-02-28T03:00:00Z",
    "session-unissued": "session: Ops/day uses ASIAOTHER",
    "key-shared": "key-owner: AKIABOB is used by 2 principals (bob, eve)",
}


@pytest.mark.parametrize("kind", list(CASES))
def test_each_invariant_catches_its_contradiction(kind):
    got = check_rows(CASES[kind])
    assert len(got) == 1 and got[0].startswith(WANT[kind]), got
    fixed = {"mfa": [CASES["mfa"][0], row(timestamp=T2, event_name="ConsoleLogin", user="bob", user_type="IAMUser",
                                          details="ConsoleLogin=Success;MFAUsed=No")],
             "session": [SESSION, row(timestamp=T2, user="Ops/night", user_type="AssumedRole", access_key_id="ASIAOPS")]}
    if kind in fixed:
        assert check_rows(fixed[kind]) == []


def test_cli_prints_violations_and_exits_1(tmp_path):
    import csv

    for name, rows in (("cloud_iam.csv", CASES["mfa"]), ("cloud_api.csv", CASES["object-size"])):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    r = subprocess.run([sys.executable, "-m", "ctlab.cli", "data", "check", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].startswith(WANT["mfa"]) and lines[1].startswith(WANT["object-size"])
    assert lines[2] == f"{tmp_path}: 4 rows; 2 violations"
    r = subprocess.run([sys.executable, "-m", "ctlab.cli", "data", "check", str(tmp_path / "nope")],
                       capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"ctlab: error: {tmp_path / 'nope'}: no such file or folder\n")
