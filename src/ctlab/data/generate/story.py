"""The compromise planted in the week: its cast and its steps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ctlab.data.generate.cast import ACCOUNT, BUCKETS, GLOBAL
from ctlab.data.generate.world import _World

ATTACK_REGION = "ap-southeast-1"
ATTACK_IPS = ("203.0.113.47", "203.0.113.112")
UA_CLI_ATTACK = "aws-cli/1.32.101 Python/3.11.9 Linux/6.6.15-amd64 botocore/1.34.101"

# The story's cast.
ATTACKER = "d.whitfield"
ESCALATED_ROLE = "DataPipelineRole"
ATTACK_SESSION = "maint"
PERSISTENCE_USER = "svc-backup"
MFA_USER = "m.lindqvist"


def _plant_attack(w: _World) -> dict[str, Any]:
    """The compromise. Returns the story's facts (times, keys, event ids)."""
    day = min(5, max(0, w.days - 1))
    base = w.start + timedelta(days=day, hours=1, minutes=52, seconds=7)
    ip1, ip2 = ATTACK_IPS
    me = w.iam_user(ATTACKER)
    ua = UA_CLI_ATTACK
    ev: list[dict[str, Any]] = []
    t = base

    def step(seconds: int) -> datetime:
        nonlocal t
        t = t + timedelta(seconds=seconds)
        return t

    ev.append(w.api(t, me, ip1, ua, "sts.amazonaws.com", "GetCallerIdentity", ATTACK_REGION))
    ev.append(w.iam_read(step(14), me, ip1, ua, "GetUser", None))
    ev.append(w.iam_read(step(9), me, ip1, ua, "ListAttachedUserPolicies", {"userName": ATTACKER}))
    ev.append(w.iam_read(step(6), me, ip1, ua, "ListGroupsForUser", {"userName": ATTACKER}))
    ev.append(w.iam_read(step(11), me, ip1, ua, "GetAccountAuthorizationDetails", {"filter": ["User", "Role", "Group"]},
                         error=w.denied(me, "iam:GetAccountAuthorizationDetails", "*")))
    ev.append(w.iam_read(step(7), me, ip1, ua, "ListUsers", {"maxItems": 1000}))
    ev.append(w.iam_read(step(4), me, ip1, ua, "ListRoles", {"maxItems": 1000}))
    ev.append(w.iam_read(step(5), me, ip1, ua, "ListPolicies", {"scope": "Local", "onlyAttached": False}))
    for role in ("DataPipelineRole", "DeployRole-prod", "ReadOnlyAudit"):
        ev.append(w.iam_read(step(3), me, ip1, ua, "ListAttachedRolePolicies", {"roleName": role}))
    ev.append(w.iam_read(step(6), me, ip1, ua, "GetRole", {"roleName": "DataPipelineRole"}))
    for user in ("m.lindqvist", "j.okafor", "svc-backup"):
        ev.append(w.iam_read(step(4), me, ip1, ua, "ListMFADevices", {"userName": user}))
        ev.append(w.iam_read(step(2), me, ip1, ua, "ListAccessKeys", {"userName": user}))
    ev.append(w.s3(step(19), me, ip1, ua, "ListBuckets", None, data=False, region=ATTACK_REGION, size=1900))
    for b in (BUCKETS["finance"], BUCKETS["lake"], BUCKETS["backup"]):
        ev.append(w.s3(step(5), me, ip1, ua, "GetBucketPolicy", b, data=False, params={"policy": ""},
                       error=w.denied(me, "s3:GetBucketPolicy", f"arn:aws:s3:::{b}")))
        ev.append(w.s3(step(3), me, ip1, ua, "ListObjects", b, params={"list-type": "2", "encoding-type": "url"},
                       error=w.denied(me, "s3:ListBucket", f"arn:aws:s3:::{b}") if b != BUCKETS["lake"] else None,
                       size=5200 if b == BUCKETS["lake"] else 0))
    for name in ("DescribeRegions", "DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs"):
        ev.append(w.api(step(6), me, ip1, ua, "ec2.amazonaws.com", name, ATTACK_REGION,
                        {"regionSet": {}} if name == "DescribeRegions" else {"filterSet": {}}))
    ev.append(w.api(step(8), me, ip1, ua, "secretsmanager.amazonaws.com", "ListSecrets", ATTACK_REGION,
                    {"maxResults": 100}, error=w.denied(me, "secretsmanager:ListSecrets", "*")))
    ev.append(w.api(step(5), me, ip1, ua, "lambda.amazonaws.com", "ListFunctions20150331", ATTACK_REGION))
    ev.append(w.api(step(6), me, ip1, ua, "organizations.amazonaws.com", "DescribeOrganization", GLOBAL,
                    error=w.denied(me, "organizations:DescribeOrganization", "*")))
    # escalation: self first (denied by the permissions boundary), then the pipeline role
    ev.append(w.iam_write(step(95), me, ip1, ua, "AttachUserPolicy",
                          {"userName": ATTACKER, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                          error=w.denied(me, "iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/{ATTACKER}")))
    attach = w.iam_write(step(64), me, ip1, ua, "AttachRolePolicy",
                         {"roleName": ESCALATED_ROLE, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    ev.append(attach)
    ev.append(w.iam_read(step(22), me, ip1, ua, "ListAttachedRolePolicies", {"roleName": ESCALATED_ROLE}))
    rec, created = w.create_access_key(step(131), me, ip1, ua, PERSISTENCE_USER)
    ev.append(rec)
    ev.append(w.iam_write(step(118), me, ip1, ua, "DeactivateMFADevice",
                          {"userName": MFA_USER, "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{MFA_USER}"}))
    step(173)
    sess = w.assume_role(t, me, ip1, ua, ESCALATED_ROLE, ATTACK_SESSION, region=ATTACK_REGION, duration=43200)
    assume = w.records_by_hour[t.replace(minute=0, second=0)][-1]
    ev.append(assume)
    ar = w.assumed(sess)
    ev.append(w.api(step(47), ar, ip2, ua, "sts.amazonaws.com", "GetCallerIdentity", ATTACK_REGION))
    ev.append(w.s3(step(12), ar, ip2, ua, "ListBuckets", None, data=False, region=ATTACK_REGION, size=1900))
    fin = BUCKETS["finance"]
    for prefix in ("", "exports/", "exports/2026/02/", "invoices/"):
        ev.append(w.s3(step(9 + len(prefix)), ar, ip2, ua, "ListObjects", fin, size=3000 + 40 * len(prefix),
                       params={"list-type": "2", "prefix": prefix, "delimiter": "/", "encoding-type": "url"}))
    ev.append(w.s3(step(26), ar, ip2, ua, "GetBucketLocation", fin, data=False, params={"location": ""}))
    steal = ("exports/2026/02/payroll_summary_2026-02.xlsx", "exports/2026/02/customers_billing_2026-02-27.csv.gz",
             "exports/2026/02/ledger_2026-02-27.csv.gz", "exports/2026/02/vendor_payments_2026-02-27.csv.gz",
             "exports/2026/02/invoices_2026-02-27.parquet", "exports/2026/02/ledger_2026-02-26.csv.gz",
             "exports/2026/02/customers_billing_2026-02-26.csv.gz", "exports/2026/02/ledger_2026-02-25.csv.gz",
             "exports/2026/02/customers_billing_2026-02-25.csv.gz")
    gets = []
    sizes = (48_318_223, 412_906_555, 187_004_121, 96_551_870, 233_871_004, 183_660_317, 405_112_983,
             179_245_506, 398_020_774)
    step(41)
    for k, size in zip(steal, sizes, strict=True):
        g = w.s3(t, ar, ip2, ua, "GetObject", fin, k, size=size)
        ev.append(g)
        gets.append(g)
        step(max(20, size // 2_500_000) + w.rng.randrange(3, 25))
    # the new key is checked once from the second address
    pers = w.iam_user(PERSISTENCE_USER, key=created)
    ev.append(w.api(step(300), pers, ip2, ua, "sts.amazonaws.com", "GetCallerIdentity", ATTACK_REGION))
    return {
        "attack_day": day,
        "attach_event_id": attach["eventID"],
        "attach_time": attach["eventTime"],
        "first_get_time": gets[0]["eventTime"],
        "first_get_event_id": gets[0]["eventID"],
        "created_access_key": created,
        "session_key": sess.key,
        "event_ids": [e["eventID"] for e in ev],
        "bytes_exfiltrated": sum(sizes),
        "objects": list(steal),
    }

