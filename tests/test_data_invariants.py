"""`ctlab data check`: the consistency invariants hold on the shipped week and on other seeds, and each
one catches the contradiction it is about."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctlab.data.dataset import build_data
from ctlab.data.flatten import COLUMNS
from ctlab.data.generate import generate
from ctlab.data.invariants import INVARIANTS, STORY_CHECKS, check_rows, check_week
from ctlab.data.realism import GIVEAWAY

DATA = Path(__file__).resolve().parents[1] / "data"


def test_shipped_week_holds():
    r = check_week(path=DATA)
    assert r.violations == []
    assert r.describe() == (f"{DATA}: {r.rows} rows; all 7 invariants hold "
                            "(mfa, bucket-region, object-size, key-owner, session, giveaway, method)")


# Twelve story seeds besides the course's: each variant's story holds, gives nothing away in one column,
# and the help notebook's method reaches its evidence.
VARIANT_SEEDS = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233]


@pytest.mark.slow
@pytest.mark.parametrize("seed", VARIANT_SEEDS)
def test_variants_hold(tmp_path, seed):
    s = build_data(out=tmp_path, seed=seed)
    r = check_week(path=tmp_path)
    assert r.violations == [] and r.checks == INVARIANTS + STORY_CHECKS
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth["seed"] == seed and s.realism is not None and s.realism.worst.precision < GIVEAWAY


def _copy_with(tmp_path: Path, change) -> Path:
    """data/ copied to tmp_path with `change(row, truth)` applied to every row of both CSVs."""
    truth = json.loads((DATA / "ground_truth.json").read_text())
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        with open(DATA / name, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(change(r, truth) for r in rows)
    shutil.copy(DATA / "ground_truth.json", tmp_path / "ground_truth.json")
    return tmp_path


def test_a_giveaway_column_fails_the_check(tmp_path):
    """The old week's flaw: an intruder user agent nobody else uses selects exactly the intruder's rows."""
    ids = {e["event_id"] for e in json.loads((DATA / "ground_truth.json").read_text())["timeline"]}
    old = "aws-cli/1.32.101 Python/3.11.9 Linux/6.6.15-amd64 botocore/1.34.101"
    folder = _copy_with(tmp_path, lambda r, _: dict(r, user_agent=old) if r["event_id"] in ids else r)
    r = check_week(path=folder)
    assert r.violations == [f"giveaway: the intruder's values of user_agent select {len(ids)} rows, {len(ids)} of them "
                            f"the intruder's (precision 1.00, at most {GIVEAWAY} allowed)"]
    same = tmp_path / "same"
    same.mkdir()
    assert check_week(path=_copy_with(same, lambda r, _: r)).ok  # an unchanged copy passes


def test_a_method_that_misses_the_downloads_fails_the_check(tmp_path):
    """The old week's flaw: the MFA device switched off by the user (and no other IAM change by the
    session), so the role session that downloads is in no suspicious IAM row, and part 5's related_api
    holds none of its downloads."""
    def by_user(r, truth):
        if r["event_name"] in ("DeactivateMFADevice", "AssumeRole") and r["user"] == truth["role_session"]:
            return dict(r, user=truth["attacker_user"], access_key_id=truth["attacker_access_key"],
                        principal_arn=f"arn:aws:iam::{truth['account_id']}:user/{truth['attacker_user']}")
        return r
    truth = json.loads((DATA / "ground_truth.json").read_text())
    gets = [e for e in truth["timeline"] if e["event_name"] == "GetObject"]
    r = check_week(path=_copy_with(tmp_path, by_user))
    assert r.violations[0].startswith(f"method: part 5's related_api misses {len(gets)} of the {len(gets)} downloads of "
                                      f"{truth['sensitive_bucket']} (")
    assert (f"method: T1556.006's evidence DeactivateMFADevice by {truth['role_session']} is not among the intruder's "
            "rows of susp_iam") in r.violations
    assert any(v.startswith("method: T1550.001's evidence GetObject by ") for v in r.violations)


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


@pytest.mark.parametrize("damage, why", [
    ("drop_columns", "not a flattened log: no region, source_ip columns"),
    ("short_row", "rows with more or fewer values than its header has columns"),
])
def test_a_log_that_is_not_the_flatteners_stops_with_its_name(tmp_path, damage, why):
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        shutil.copyfile(DATA / name, tmp_path / name)
    shutil.copyfile(DATA / "ground_truth.json", tmp_path / "ground_truth.json")
    iam = tmp_path / "cloud_iam.csv"
    with open(iam, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if damage == "drop_columns":
        keep = [i for i, c in enumerate(rows[0]) if c not in ("region", "source_ip")]
        rows = [[r[i] for i in keep] for r in rows]
    else:
        rows[5] = rows[5][:3]
    with open(iam, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    r = subprocess.run([sys.executable, "-m", "ctlab.cli", "data", "check", str(tmp_path)], capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"ctlab: error: {iam}: {why}\n")


def test_mfa_state_is_unknown_after_a_change_whose_time_was_spoiled():
    """The SIEM step may spoil the time of an MFA change: the user's sign-ins are then not judged."""
    login = row(timestamp=T2, event_name="ConsoleLogin", user="bob", user_type="IAMUser",
                details="ConsoleLogin=Success;MFAUsed=Yes")
    off = row(timestamp=T1, event_name="DeactivateMFADevice", user="eve", resource="bob")
    assert check_rows([off, login])[0].startswith(WANT["mfa"])
    assert check_rows([dict(off, timestamp="N/A"), login]) == []


def test_realism_numbers_count_what_they_say():
    """Busiest second, rows in bursts (three or more calls by one principal in one second), names, and
    the intruder's precision per column, on rows small enough to count by hand."""
    from ctlab.data.realism import measure

    def r(i, user, ts, ua, ip, name="ListUsers"):
        return row(timestamp=ts, user=user, user_agent=ua, source_ip=ip, event_name=name) | {"event_id": f"e{i}"}
    rows = [r(0, "eve", T1, "cli/1", "203.0.113.5"), r(1, "eve", T1, "cli/1", "203.0.113.5"),
            r(2, "eve", T1, "cli/1", "203.0.113.5"), r(3, "bob", T1, "cli/2", "203.0.113.9", "GetObject"),
            r(4, "bob", T2, "cli/1", "192.0.2.1"), r(5, "ann", "N/A", "cli/2", "192.0.2.2")]
    m = measure(rows, {"e0", "e1", "e2"}, read_only_share=0.75)
    assert (m.rows, m.busiest_second, m.burst_share, m.event_names, m.read_only_share) == (6, 4, 0.5, 2, 0.75)
    prec = {c.column: (c.attack_rows, c.selected) for c in m.columns}
    assert prec["user_agent"] == (3, 4) and prec["source_ip"] == (3, 3) and prec["source_ip/24"] == (3, 4)
    assert prec["user"] == (3, 3) and "event_id" not in prec and "timestamp" not in prec
    assert m.worst is not None and m.worst.precision == 1.0 and {c.column for c in m.giveaways()} >= {"source_ip", "user"}
    assert "busiest second 4 calls; 50.0% of rows in bursts" in m.describe()
