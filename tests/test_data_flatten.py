"""Flattening hand-written CloudTrail records: every identity type, event family, input format
and kind of bad input."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctlab.data.flatten import COLUMNS, flatten
from ctlab.errors import CtlabError

FIXTURES = Path(__file__).parent / "fixtures" / "cloudtrail"
RECORDS = json.loads((FIXTURES / "records.json").read_text())["Records"]

# event id (last two digits) -> the cells that matter, exactly
EXPECTED = {
    "01": ("iam", dict(user="alice", user_type="IAMUser", event_name="CreateAccessKey", resource="bob",
                       access_key_id="AKIAEXAMPLEALICE0001", details="accessKey.accessKeyId=AKIAEXAMPLEBOBNEW001",
                       principal_arn="arn:aws:iam::111122223333:user/alice", region="us-east-1",
                       source_ip="192.0.2.5", error_code="", bytes_out="")),
    "02": ("iam", dict(user="bob", event_name="CreateAccessKey", resource="bob",
                       details="accessKey.accessKeyId=AKIAEXAMPLEBOBSELF01")),
    "03": ("iam", dict(user="alice", event_name="AttachRolePolicy", resource="BuildRole",
                       details="policyArn=arn:aws:iam::aws:policy/AdministratorAccess")),
    "04": ("iam", dict(user="alice", event_name="DeactivateMFADevice", resource="carol",
                       details="serialNumber=arn:aws:iam::111122223333:mfa/carol")),
    "05": ("iam", dict(user="alice", event_name="AssumeRole", resource="BuildRole",
                       details="roleArn=arn:aws:iam::111122223333:role/ops/BuildRole;roleSessionName=night;"
                               "durationSeconds=3600;credentials.accessKeyId=ASIAEXAMPLESESSION01")),
    "06": ("api", dict(user="BuildRole/night", user_type="AssumedRole", event_name="GetObject",
                       resource="example-finance/exports/q1.csv", access_key_id="ASIAEXAMPLESESSION01",
                       principal_arn="arn:aws:sts::111122223333:assumed-role/BuildRole/night",
                       bytes_out="52428800", details="", source_ip="203.0.113.9")),
    "07": ("api", dict(user="BuildRole/night", event_name="ListObjects", resource="example-finance",
                       details="list-type=2;prefix=exports/", bytes_out="1350")),
    "08": ("api", dict(event_name="GetObjectAcl", resource="example-finance/exports/q1.csv", bytes_out="410")),
    "09": ("iam", dict(user="root", user_type="Root", event_name="ConsoleLogin", resource="",
                       event_source="signin.amazonaws.com", details="ConsoleLogin=Success;MFAUsed=No",
                       access_key_id="")),
    "10": ("iam", dict(user="lambda.amazonaws.com", user_type="AWSService", principal_arn="",
                       event_name="AssumeRole", resource="fn-role", source_ip="lambda.amazonaws.com")),
    "11": ("iam", dict(user="repo:example/app:ref:refs/heads/main", user_type="WebIdentityUser",
                       event_name="AssumeRoleWithWebIdentity", resource="ci")),
    "12": ("iam", dict(user="dana@example.com", user_type="SAMLUser", event_name="AssumeRoleWithSAML",
                       resource="AWSReservedSSO_Analyst_0123456789abcdef")),
    "13": ("api", dict(user="bob", event_name="ListUsers", error_code="AccessDenied", resource="",
                       details="maxItems=1000")),
    "14": ("iam", dict(user="bob", event_name="GetSessionToken",
                       details="durationSeconds=43200;serialNumber=arn:aws:iam::111122223333:mfa/bob;"
                               "credentials.accessKeyId=ASIAEXAMPLEBOBGST001")),
    "15": ("api", dict(user="bob", event_name="GetCallerIdentity", event_source="sts.amazonaws.com")),
    "16": ("api", dict(user="erin", user_type="FederatedUser", event_name="DescribeInstances",
                       resource="i-0123456789abcdef0", error_code="Client.UnauthorizedOperation")),
}


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        return list(r.fieldnames or []), list(r)


def check_output(out: Path) -> None:
    for name, which in (("cloud_iam.csv", "iam"), ("cloud_api.csv", "api")):
        header, rows = read_csv(out / name)
        assert header == list(COLUMNS)
        want = {f"e0000001-0000-4000-8000-0000000000{k}": cells for k, (f, cells) in EXPECTED.items() if f == which}
        assert [r["event_id"] for r in rows] == sorted(want, key=lambda e: (
            next(x["eventTime"] for x in RECORDS if x["eventID"] == e), e))
        for row in rows:
            for col, value in want[row["event_id"]].items():
                assert row[col] == value, (row["event_id"], col)
            src = next(x for x in RECORDS if x["eventID"] == row["event_id"])
            assert row["timestamp"] == src["eventTime"]


def test_records_wrapper_pretty(tmp_path):
    s = flatten(inputs=[FIXTURES / "records.json"], out=tmp_path, skip_bad=False)
    check_output(tmp_path)
    assert (s.files, s.records, s.iam_rows, s.api_rows) == (1, 16, 10, 6)
    assert s.describe() == (f"read 16 records from 1 file; wrote 10 rows to {tmp_path / 'cloud_iam.csv'} "
                            f"and 6 rows to {tmp_path / 'cloud_api.csv'}")


@pytest.mark.parametrize("fmt", ["compact", "gzip", "jsonl", "jsonl.gz", "array", "array-pretty", "single"])
def test_input_formats(tmp_path, fmt):
    src = tmp_path / "in"
    src.mkdir()
    if fmt == "compact":
        (src / "a.json").write_text(json.dumps({"Records": RECORDS}, separators=(",", ":")))
    elif fmt == "gzip":
        # named .json on purpose: gzip is recognised by its magic bytes
        (src / "a.json").write_bytes(gzip.compress(json.dumps({"Records": RECORDS}).encode()))
    elif fmt == "jsonl":
        (src / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS) + "\n")
    elif fmt == "jsonl.gz":
        (src / "a.json.gz").write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in RECORDS).encode()))
    elif fmt == "array":
        (src / "a.json").write_text(json.dumps(RECORDS))
    elif fmt == "array-pretty":
        (src / "a.json").write_text(json.dumps(RECORDS, indent=2))
    else:  # one record per file, pretty printed, in a folder tree
        for i, r in enumerate(RECORDS):
            d = src / "x" / f"{i % 3}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"r{i}.json").write_text(json.dumps(r, indent=1))
    out = tmp_path / "out"
    s = flatten(inputs=[src], out=out, skip_bad=False)
    assert (s.records, s.iam_rows, s.api_rows) == (16, 10, 6)
    check_output(out)


def test_folder_walk_skips_digests_and_other_names(tmp_path):
    tree = tmp_path / "AWSLogs" / "111122223333"
    (tree / "CloudTrail" / "eu-west-1").mkdir(parents=True)
    (tree / "CloudTrail-Digest" / "eu-west-1").mkdir(parents=True)
    (tree / "CloudTrail" / "eu-west-1" / "f.json.gz").write_bytes(gzip.compress(json.dumps({"Records": RECORDS}).encode()))
    (tree / "CloudTrail-Digest" / "eu-west-1" / "d.json.gz").write_bytes(gzip.compress(b'{"digestStartTime": "x"}'))
    (tree / "README.txt").write_text("not a log")
    s = flatten(inputs=[tmp_path / "AWSLogs"], out=tmp_path / "out", skip_bad=False)
    assert (s.files, s.records) == (1, 16)


def test_many_runs_merge_in_stages(tmp_path, monkeypatch):
    from ctlab.data import flatten as fl

    monkeypatch.setattr(fl._SortedCsv, "_FANIN", 3)
    monkeypatch.setattr(fl._SortedCsv, "_BLOCK", 2)
    src = tmp_path / "many.jsonl"
    recs = [dict(RECORDS[i % len(RECORDS)], eventID=f"id{i:03d}",
                 eventTime=f"2026-03-02T{(i * 7) % 24:02d}:{(i * 13) % 60:02d}:00Z") for i in range(120)]
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    a = flatten(inputs=[src], out=tmp_path / "a", skip_bad=False)
    b = flatten(inputs=[src], out=tmp_path / "b", skip_bad=False, chunk_rows=4)
    assert (a.iam_rows, a.api_rows) == (b.iam_rows, b.api_rows) == (75, 45)
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        _, rows = read_csv(tmp_path / "b" / name)
        keys = [(r["timestamp"], r["event_id"]) for r in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_chunked_sort_matches_in_memory(tmp_path):
    a = flatten(inputs=[FIXTURES / "records.json"], out=tmp_path / "a", skip_bad=False)
    b = flatten(inputs=[FIXTURES / "records.json"], out=tmp_path / "b", skip_bad=False, chunk_rows=2)
    assert (a.iam_rows, a.api_rows) == (b.iam_rows, b.api_rows)
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["cloud_api.csv", "cloud_iam.csv"]


BAD = [
    ("truncated.json", "truncated.json: invalid or truncated JSON at line 1 column 195"),
    ("broken.json.gz", "broken.json.gz: broken gzip data"),
    ("missing_eventname.json", "missing_eventname.json: Records[2]: missing eventName"),
    ("missing_eventtime.jsonl", "missing_eventtime.jsonl: line 2: missing eventTime"),
    ("not_cloudtrail.json", "not_cloudtrail.json: not CloudTrail (no Records list and no eventName/eventTime/eventSource)"),
]


@pytest.mark.parametrize("name,message", BAD)
def test_bad_input_raises_and_leaves_no_csv(tmp_path, name, message):
    out = tmp_path / "out"
    with pytest.raises(CtlabError) as err:
        flatten(inputs=[FIXTURES / "records.json", FIXTURES / name], out=out, skip_bad=False)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(str(FIXTURES / name.split(":")[0]))
    assert message in text
    assert list(out.iterdir()) == []  # no CSV, no temp files


def test_failure_keeps_previous_outputs_untouched(tmp_path):
    out = tmp_path / "out"
    flatten(inputs=[FIXTURES / "records.json"], out=out, skip_bad=False)
    before = (out / "cloud_api.csv").read_bytes()
    with pytest.raises(CtlabError):
        flatten(inputs=[FIXTURES / "missing_eventname.json"], out=out, skip_bad=False)
    assert (out / "cloud_api.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["cloud_api.csv", "cloud_iam.csv"]


def test_corrupt_gzip_body(tmp_path):
    data = bytearray(gzip.compress(json.dumps({"Records": RECORDS}).encode(), mtime=0))
    data[40] ^= 0xFF
    (tmp_path / "c.json.gz").write_bytes(bytes(data))
    with pytest.raises(CtlabError, match=r"c\.json\.gz: (broken gzip data|invalid)"):
        flatten(inputs=[tmp_path / "c.json.gz"], out=tmp_path / "out", skip_bad=False)
    assert not (tmp_path / "out" / "cloud_iam.csv").exists()


def test_skip_bad_counts(tmp_path):
    src = tmp_path / "in"
    shutil.copytree(FIXTURES, src, ignore=shutil.ignore_patterns("public"))
    s = flatten(inputs=[src], out=tmp_path / "out", skip_bad=True)
    # good: 16 in records.json, 2 in missing_eventname.json, 2 in missing_eventtime.jsonl
    assert (s.iam_rows, s.api_rows) == (10 + 1, 6 + 1 + 2)
    assert (s.skipped_records, s.skipped_files) == (2, 3)
    assert s.files == 6
    assert "skipped 2 bad records and 3 bad files (first: " in s.describe()
    assert s.describe().startswith("read 22 records from 6 files;")
    _, rows = read_csv(tmp_path / "out" / "cloud_api.csv")
    assert {"t1", "t3", "m1"} <= {r["event_id"] for r in rows}
    assert "t2" not in {r["event_id"] for r in rows}


def test_bad_line_in_json_lines(tmp_path):
    p = tmp_path / "x.jsonl"
    good = [json.dumps(r) for r in RECORDS[:3]]
    p.write_text(good[0] + "\n" + good[1][:-5] + "\n" + good[2] + "\n")
    with pytest.raises(CtlabError, match=r"x\.jsonl: line 2: invalid JSON"):
        flatten(inputs=[p], out=tmp_path / "o", skip_bad=False)
    s = flatten(inputs=[p], out=tmp_path / "o", skip_bad=True)
    assert (s.iam_rows, s.skipped_records) == (2, 1)


def test_missing_input(tmp_path):
    with pytest.raises(CtlabError, match="nope.json: no such file or folder"):
        flatten(inputs=[tmp_path / "nope.json"], out=tmp_path / "o", skip_bad=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CtlabError, match="no CloudTrail files found"):
        flatten(inputs=[tmp_path / "empty"], out=tmp_path / "o", skip_bad=False)


def test_cli_one_line_error_and_exit_status(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ctlab.cli", "data", "flatten", str(FIXTURES / "missing_eventname.json"),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"ctlab: error: {FIXTURES / 'missing_eventname.json'}: Records[2]: missing eventName\n"
    assert not (tmp_path / "o" / "cloud_iam.csv").exists()


def _many_files(tmp_path: Path, n: int) -> Path:
    """n gzip log files of the fixture records, each with its own event ids and times."""
    tree = tmp_path / "logs"
    tree.mkdir()
    for f in range(n):
        recs = [dict(r, eventID=f"f{f:02d}-{i:02d}", eventTime=f"2026-03-02T{(f * 5 + i) % 24:02d}:{(i * 7) % 60:02d}:00Z")
                for i, r in enumerate(RECORDS)]
        (tree / f"part{f:02d}.json.gz").write_bytes(gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0))
    return tree


def test_worker_processes_write_the_same_bytes(tmp_path, monkeypatch):
    from ctlab.data import flatten as fl

    monkeypatch.setattr(fl, "CHUNK_ROWS", 1)  # one task per file, so the workers share them out
    tree = _many_files(tmp_path, 8)
    serial = flatten(inputs=[tree], out=tmp_path / "serial", skip_bad=False, jobs=1)
    parallel = flatten(inputs=[tree], out=tmp_path / "parallel", skip_bad=False, jobs=2)
    assert (serial.jobs, parallel.jobs) == (1, 2)
    assert (parallel.records, parallel.iam_rows + parallel.api_rows) == (8 * len(RECORDS), 8 * len(RECORDS))
    for name in ("cloud_iam.csv", "cloud_api.csv"):
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "parallel" / name).read_bytes()


def test_worker_processes_report_bad_input_like_one_process(tmp_path, monkeypatch):
    from ctlab.data import flatten as fl

    monkeypatch.setattr(fl, "CHUNK_ROWS", 1)
    tree = _many_files(tmp_path, 4)
    shutil.copy(FIXTURES / "truncated.json", tree / "part02.json")
    with pytest.raises(CtlabError, match=r"part02.json: invalid or truncated JSON at line 1 column 195"):
        flatten(inputs=[tree], out=tmp_path / "out", skip_bad=False, jobs=2)
    assert not (tmp_path / "out" / "cloud_iam.csv").exists() and not (tmp_path / "out" / "cloud_api.csv").exists()


# ---- real-world shapes: Insights, byte-order marks, time forms, resource rules --------------

PUBLIC = FIXTURES / "public"


def one_record(**changes) -> dict:
    rec = dict(next(r for r in RECORDS if r["eventID"].endswith("15")))  # bob's GetCallerIdentity
    rec.update(changes)
    return rec


def test_insights_folders_and_records_left_out_and_counted(tmp_path):
    tree = tmp_path / "AWSLogs" / "111122223333"
    (tree / "CloudTrail" / "us-east-1").mkdir(parents=True)
    (tree / "CloudTrail-Insight" / "us-east-1").mkdir(parents=True)
    (tree / "CloudTrail" / "us-east-1" / "f.json.gz").write_bytes(gzip.compress(json.dumps({"Records": RECORDS}).encode()))
    shutil.copy(PUBLIC / "insights.json", tree / "CloudTrail-Insight" / "us-east-1" / "i.json")
    shutil.copy(PUBLIC / "insights.json", tree / "CloudTrail" / "us-east-1" / "mixed-in.json")
    s = flatten(inputs=[tmp_path / "AWSLogs"], out=tmp_path / "out", skip_bad=False)
    assert (s.files, s.records, s.iam_rows + s.api_rows, s.insight_files, s.insight_records) == (2, 18, 16, 1, 2)
    assert s.describe().endswith("; left out CloudTrail Insights: 1 file and 2 records")
    check_output(tmp_path / "out")


@pytest.mark.parametrize("name", ["bom.json", "bom.jsonl", "bom.json.gz"])
def test_byte_order_mark_accepted(tmp_path, name):
    body = (json.dumps({"Records": RECORDS}) if name != "bom.jsonl" else "".join(json.dumps(r) + "\n" for r in RECORDS))
    data = b"\xef\xbb\xbf" + body.encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    s = flatten(inputs=[tmp_path / name], out=tmp_path / "out", skip_bad=False)
    assert (s.records, s.iam_rows, s.api_rows) == (16, 10, 6)
    check_output(tmp_path / "out")


@pytest.mark.parametrize("given,written", [
    ("2019-06-19T00:18:31Z", "2019-06-19T00:18:31Z"),
    ("2019-06-19T00:18:31.123Z", "2019-06-19T00:18:31Z"),
    ("2019-06-19T02:18:31+02:00", "2019-06-19T00:18:31Z"),
    ("2019-06-18T19:18:31-0500", "2019-06-19T00:18:31Z"),
    ("2019-06-19 00:18:31.000", "2019-06-19T00:18:31Z"),
    ("2019-06-19 00:18:31", "2019-06-19T00:18:31Z"),
    ("2019-12-31T23:30:00-01:00", "2020-01-01T00:30:00Z"),
])
def test_timestamps_normalised_to_utc(tmp_path, given, written):
    src = tmp_path / "t.jsonl"
    src.write_text(json.dumps(one_record(eventTime=given)) + "\n")
    flatten(inputs=[src], out=tmp_path / "o", skip_bad=False)
    _, rows = read_csv(tmp_path / "o" / "cloud_api.csv")
    assert [r["timestamp"] for r in rows] == [written]


def test_timestamp_that_is_not_a_time_is_a_bad_record(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps({"Records": [one_record(eventTime="yesterday")]}))
    with pytest.raises(CtlabError, match=r"t\.json: Records\[0\]: eventTime is not a time \('yesterday'\)"):
        flatten(inputs=[src], out=tmp_path / "o", skip_bad=False)


@pytest.mark.parametrize("source", [["iam.amazonaws.com"], {"s": 1}, 7])
def test_event_source_that_is_not_a_string_is_a_bad_record(tmp_path, source):
    src = tmp_path / "t.json"
    src.write_text(json.dumps({"Records": [one_record(eventSource=source, requestParameters={"userName": "x"})]}))
    with pytest.raises(CtlabError, match=r"t\.json: Records\[0\]: eventSource is not a string \((list|dict|int)\)"):
        flatten(inputs=[src], out=tmp_path / "o", skip_bad=False)
    s = flatten(inputs=[src], out=tmp_path / "o", skip_bad=True)
    assert (s.iam_rows, s.api_rows, s.skipped_records) == (0, 0, 1)


def test_resource_rules_for_real_shapes():
    from ctlab.data.flatten import flatten_record

    root = {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLEROOT00001"}
    cases = [
        # root's own key: null request parameters, the call acts on the caller
        (dict(eventSource="iam.amazonaws.com", eventName="CreateAccessKey", userIdentity=root, requestParameters=None,
              responseElements={"accessKey": {"accessKeyId": "AKIAEXAMPLEROOTKEY01", "status": "Active"}}), "root"),
        # an object named only in resources[]
        (dict(eventSource="s3.amazonaws.com", eventName="PutObject", requestParameters={"Host": "b.s3.amazonaws.com"},
              resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k/1.csv"},
                         {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b"}]), "b/k/1.csv"),
        (dict(eventSource="rds.amazonaws.com", eventName="StopDBCluster",
              requestParameters={"dBClusterIdentifier": "prod-aurora"}), "prod-aurora"),
        (dict(eventSource="kms.amazonaws.com", eventName="ScheduleKeyDeletion",
              requestParameters={"keyId": "1234abcd", "pendingWindowInDays": 7}), "1234abcd"),
        (dict(eventSource="organizations.amazonaws.com", eventName="LeaveOrganization", requestParameters=None,
              resources=[{"type": "AWS::Organizations::Account", "ARN": "arn:aws:organizations::1:account/o-x/1"}]),
         "arn:aws:organizations::1:account/o-x/1"),
        (dict(eventSource="ec2.amazonaws.com", eventName="RunInstances",
              requestParameters={"instancesSet": {"items": [{"imageId": "ami-1"}]}},
              responseElements={"instancesSet": {"items": [{"instanceId": "i-0a"}, {"instanceId": "i-0b"}]}}), "i-0a,i-0b"),
    ]
    for changes, want in cases:
        _, row = flatten_record(one_record(**changes))
        assert row[COLUMNS.index("resource")] == want, changes["eventName"]


def test_identity_center_and_hidden_user_names():
    from ctlab.data.flatten import flatten_record

    sso = {"type": "IdentityCenterUser", "accountId": "111122223333", "credentialId": "c-1",
           "onBehalfOf": {"userId": "94d00cd8-e9e6", "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"}}
    _, row = flatten_record(one_record(userIdentity=sso, additionalEventData={"UserName": "dana"}))
    assert row[COLUMNS.index("user")] == "dana"
    _, row = flatten_record(one_record(userIdentity=sso))
    assert row[COLUMNS.index("user")] == "94d00cd8-e9e6"
    hidden = {"type": "IAMUser", "accountId": "111122223333", "accessKeyId": "", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    _, row = flatten_record(one_record(userIdentity=hidden, eventSource="signin.amazonaws.com", eventName="ConsoleLogin",
                                       responseElements={"ConsoleLogin": "Failure"}, additionalEventData={"MFAUsed": "No"}))
    assert (row[COLUMNS.index("user")], row[COLUMNS.index("details")]) == (
        "HIDDEN_DUE_TO_SECURITY_REASONS", "ConsoleLogin=Failure;MFAUsed=No;userNameHidden=true")


def test_logstash_export_with_at_timestamp(tmp_path):
    """Logstash and Elastic exports rename eventTime to @timestamp (milliseconds) and add @version."""
    recs = []
    for i, r in enumerate(RECORDS[:3]):
        r = {k: v for k, v in r.items() if k != "eventTime"}
        recs.append(dict(r, eventID=f"ls-{i}", **{"@timestamp": f"2020-09-14T00:44:2{i}.{i}00Z", "@version": "1"}))
    src = tmp_path / "export.json"
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    s = flatten(inputs=[src], out=tmp_path / "o", skip_bad=False)
    assert s.records == 3
    rows = [r for name in ("cloud_iam.csv", "cloud_api.csv") for r in read_csv(tmp_path / "o" / name)[1]]
    assert sorted(r["timestamp"] for r in rows) == ["2020-09-14T00:44:20Z", "2020-09-14T00:44:21Z", "2020-09-14T00:44:22Z"]


def test_record_with_neither_event_time_nor_at_timestamp_is_a_one_line_error(tmp_path):
    good = dict({k: v for k, v in RECORDS[0].items() if k != "eventTime"}, **{"@timestamp": "2020-09-14T00:44:20.000Z"})
    bad = {k: v for k, v in RECORDS[1].items() if k != "eventTime"}
    src = tmp_path / "export.json"
    src.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(CtlabError) as err:
        flatten(inputs=[src], out=tmp_path / "o", skip_bad=False)
    assert str(err.value) == f"{src}: line 2: missing eventTime (and no @timestamp)"
    assert list((tmp_path / "o").iterdir()) == []


def test_policy_documents_nested_too_deeply_are_named_not_a_traceback(tmp_path):
    from ctlab.data.flatten import flatten_record

    deep = "[" * 100_000 + "]" * 100_000
    _, row = flatten_record(one_record(eventSource="iam.amazonaws.com", eventName="PutRolePolicy",
                                       requestParameters={"roleName": "r", "policyName": "p", "policyDocument": deep}))
    assert row[13] == "policyName=p;policyDocument=(nested too deeply to show)"
