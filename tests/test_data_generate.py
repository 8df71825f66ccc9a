"""The generator: byte-identical output per seed, CloudTrail's layout and record shape."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from ctlab.data.flatten import flatten
from ctlab.data.generate import ACCOUNT, GLOBAL, HOME, draw_story, generate
from ctlab.data.generate.cast import ADMINS, BUCKETS, ENGINEERS, FINANCE_BUCKETS, SERVICE_USERS, VPN_EXITS
from ctlab.errors import CtlabError

NAME = re.compile(rf"^{ACCOUNT}_CloudTrail_(?P<region>[a-z0-9-]+)_(?P<t>\d{{8}}T\d{{4}}Z)_[A-Za-z0-9]{{16}}\.json\.gz$")


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    a = tmp_path_factory.mktemp("gen_a")
    b = tmp_path_factory.mktemp("gen_b")
    sa = generate(seed=3032, days=2, out=a, start="2026-02-27")
    sb = generate(seed=3032, days=2, out=b, start="2026-02-27")
    return a, b, sa, sb


def test_same_seed_byte_identical(two_runs):
    a, b, sa, sb = two_runs
    ta, tb = tree(a), tree(b)
    assert len(ta) == sa.files > 20
    assert ta == tb
    assert sa.story == sb.story


def test_other_seed_differs(two_runs, tmp_path):
    a, _, sa, _ = two_runs
    generate(seed=3033, days=2, out=tmp_path, start="2026-02-27")
    assert tree(tmp_path) != tree(a)


def test_layout_and_gzip_header(two_runs):
    a, _, sa, _ = two_runs
    for rel, data in tree(a).items():
        parts = Path(rel).parts
        assert parts[:3] == ("AWSLogs", ACCOUNT, "CloudTrail")
        region, yyyy, mm, dd, name = parts[3:]
        m = NAME.match(name)
        assert m and m["region"] == region, name
        assert data[:3] == b"\x1f\x8b\x08"
        assert data[3] & 0x08 == 0  # no file name stored
        assert data[4:8] == b"\x00\x00\x00\x00"  # mtime 0
        doc = json.loads(gzip.decompress(data))
        assert list(doc) == ["Records"]
        for r in doc["Records"]:
            assert r["awsRegion"] == region
            assert r["eventTime"][:10] == f"{yyyy}-{mm}-{dd}"
        times = [(r["eventTime"], r["eventID"]) for r in doc["Records"]]
        assert times == sorted(times)
    assert sa.describe().startswith(f"wrote {sa.events} CloudTrail records in {sa.files} files under ")


def test_record_shape(two_runs):
    a, *_ = two_runs
    recs = [r for p in sorted(a.rglob("*.json.gz")) for r in json.loads(gzip.decompress(p.read_bytes()))["Records"]]
    kinds = {r["userIdentity"].get("type") for r in recs}
    assert {"IAMUser", "AssumedRole", "AWSService", "WebIdentityUser", "SAMLUser", "FederatedUser", "AWSAccount",
            "IdentityCenterUser", None} <= kinds
    for r in recs:  # a service's own events carry no identity type: only the account and the service
        if "type" not in r["userIdentity"]:
            assert r["eventType"] == "AwsServiceEvent" and r["userIdentity"] == {
                "accountId": ACCOUNT, "invokedBy": r["eventSource"]}, r
    ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    for r in recs:
        for k in ("eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
                  "userAgent", "eventID", "readOnly", "eventType", "managementEvent", "recipientAccountId",
                  "eventCategory", "requestParameters"):
            assert k in r, (k, r["eventName"])
        assert ts.match(r["eventTime"])
        ui = r["userIdentity"]
        if ui.get("type") == "IAMUser" and r["eventSource"] != "signin.amazonaws.com":
            assert ui["accessKeyId"][:4] in ("AKIA", "ASIA") and ui["principalId"].startswith("AIDA")
            assert ui["arn"] == f"arn:aws:iam::{ACCOUNT}:user/{ui['userName']}"
        if ui.get("type") == "AssumedRole":
            # an SSO console sign-in carries the session without a key
            assert ui.get("accessKeyId", "ASIA").startswith("ASIA") and ("accessKeyId" in ui or r["eventName"] == "ConsoleLogin")
            issuer = ui["sessionContext"]["sessionIssuer"]
            assert issuer["type"] == "Role" and ui["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{issuer['userName']}/")
        if ui.get("type") == "AWSService":
            assert r["sourceIPAddress"] == ui["invokedBy"]
        if r["eventSource"] == "s3.amazonaws.com":
            # S3 writes SDK, CLI and browser user agents in brackets; services and the console appear as they are
            ua = r["userAgent"]
            assert ua.startswith("[") == (not ua.endswith(".amazonaws.com") and ua != "AWS Internal"), ua
        if r["eventCategory"] == "Data":
            assert r["eventSource"] == "s3.amazonaws.com" and r["managementEvent"] is False
            assert "bytesTransferredOut" in r["additionalEventData"]
            assert any(x["type"] == "AWS::S3::Bucket" for x in r["resources"])
        if "errorCode" in r:
            assert r["errorMessage"] and r["responseElements"] is None
        if r["eventName"] == "CreateAccessKey":
            assert re.match(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M$",
                            r["responseElements"]["accessKey"]["createDate"])


def test_attack_planted_on_last_day_when_short(two_runs, tmp_path):
    a, _, sa, _ = two_runs
    flatten(inputs=[a], out=tmp_path, skip_bad=False)
    text = (tmp_path / "cloud_iam.csv").read_text()
    assert sa.story["attach_time"].startswith("2026-02-28T0")  # the small hours of the second (last) day
    assert sa.story["attach_event_id"] in text


SEEDS = range(40)


def test_story_draws_differ_by_seed_and_fit_the_cast():
    stories = [draw_story(s, days=7) for s in SEEDS]
    assert draw_story(3032, days=7) == draw_story(3032, days=7)
    for field in ("attacker", "region", "role", "session", "persistence_user", "mfa_user", "bucket", "objects",
                  "start", "ua_cli", "ua_sdk", "traveller"):
        assert len({getattr(s, field) for s in stories}) >= 2, field
    assert len({s.ips for s in stories}) >= 30
    for s in stories:
        assert s.attacker in ENGINEERS and s.attacker not in ("priya.raman", "s.haddad", "t.nakamura")
        assert s.mfa_user in ADMINS and s.persistence_user in SERVICE_USERS
        assert len({s.attacker, s.traveller, s.second_traveller}) == 3
        assert s.ips[0] in VPN_EXITS and s.ips[0] != s.second_exit and s.ips[1].startswith("198.51.100.")
        assert s.region not in (HOME, GLOBAL, "eu-central-1")
        assert s.day in (5, 6) and s.start[0] in (0, 1, 3, 4)  # at night, never with the pipeline at 02:30
        assert 7 <= len(s.objects) == len(set(s.objects)) <= 12
        assert "{" not in s.session
        assert s.bucket in FINANCE_BUCKETS
    assert {s.bucket for s in stories} == set(FINANCE_BUCKETS)
    assert draw_story(5, days=2).day == 1  # a short week: the last day


def test_intruder_user_agents_and_address_are_shared(two_runs):
    """The traveller works through the intruder's VPN exit; the intruder's tools are the engineers'."""
    a, _, sa, _ = two_runs
    recs = [r for p in sorted(a.rglob("*.json.gz")) for r in json.loads(gzip.decompress(p.read_bytes()))["Records"]]
    mine = set(sa.story["event_ids"])
    params = sa.story["params"]
    others = [r for r in recs if r["eventID"] not in mine]
    assert params["ua_sdk"] in {r["userAgent"] for r in others}
    cli = params["ua_cli"].split(" command/")[0]
    assert any(r["userAgent"].lstrip("[").startswith(cli) for r in others)
    net = params["ips"][1].rpartition(".")[0] + "."
    assert any(r["sourceIPAddress"].startswith(net) for r in others)


def test_drawn_bucket_is_the_weeks_finance_bucket(tmp_path):
    """A story whose bucket is not the default one: the benign week writes and reads that bucket (the
    exports, the pipeline, the reporting user, the audit) and the default name appears nowhere."""
    seed = next(s for s in range(100, 200) if draw_story(s, days=2).bucket != BUCKETS["finance"])
    summary = generate(seed=seed, days=2, out=tmp_path, start="2026-02-27")
    bucket = summary.story["params"]["bucket"]
    recs = [r for p in sorted(tmp_path.rglob("*.json.gz"))
            for r in json.loads(gzip.decompress(p.read_bytes()))["Records"]]
    mine = set(summary.story["event_ids"])
    benign = {(r["eventName"], r["userIdentity"].get("arn", "").split("/")[1])
              for r in recs if r["eventID"] not in mine and (r.get("requestParameters") or {}).get("bucketName") == bucket}
    assert {"PutObject", "GetObject", "ListObjects"} <= {name for name, _ in benign}
    assert len({who for _, who in benign}) >= 3
    assert all(r["requestParameters"]["bucketName"] == bucket for r in recs
               if r["eventID"] in mine and r["eventName"] == "GetObject")
    assert BUCKETS["finance"] not in json.dumps(recs)


def test_bad_options(tmp_path):
    with pytest.raises(CtlabError, match="--start must be a date"):
        generate(seed=1, days=1, out=tmp_path, start="28/02/2026")
    with pytest.raises(CtlabError, match="--days must be between 1 and 3660"):
        generate(seed=1, days=0, out=tmp_path, start=None)
    generate(seed=1, days=1, out=tmp_path / "g", start=None)
    with pytest.raises(CtlabError, match="already holds CloudTrail files"):
        generate(seed=1, days=1, out=tmp_path / "g", start=None)
