"""The compromise planted in the week: its parameters, drawn from the story seed, and its steps.

``draw_story`` picks, from random streams seeded with the story seed alone, everything that makes one
variant of the incident: whose long-term key is stolen, where it is used from, the unused region the
intruder's tools are set to, the role that is escalated and the session name, the user given a new
key, the administrator whose MFA device is switched off, the finance export bucket (its name, one of
``FINANCE_BUCKETS``), the objects taken from it and the night it happens.
Each draw is consistent with the week's benign actors (see ``actors.py``): the stolen key belongs to
an engineer whose key is not rotated that week; the intruder's first address is an exit of the
commercial VPN some staff use when travelling (a colleague works through the same exit that week),
its second is in the cloud range the CI runners call from; its user agents are the engineers' own
CLI and boto3 ones; the escalated role is one other principals assume every day; the bucket is the
one the nightly exports are written to and the pipeline and the reporting user read every day.

``plant`` then writes the attack as real intruders run it: the stolen key checks itself, a script
enumerates IAM, S3, EC2 and a few other services in bursts of tens of calls a second, then by hand
the policy is attached to the role (after a denied attempt on the user itself), a key is made for
another user, and the role is assumed. The role session, now administrator, switches off an
administrator's MFA device and tries to move on into the organisation's other account (a denied
AssumeRole): so the session appears among part 3's IAM changes, twice, and part 5's method reaches
its downloads even when one of part 3's event names is missed. It then lists the bucket and copies
the objects (the CLI copies in parallel: several GetObject a second). The new key is tried once,
later.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ctlab.data.generate.cast import (
    ACCOUNT,
    ADMINS,
    ENGINEERS,
    FIN_KEYS,
    FINANCE_BUCKETS,
    GLOBAL,
    RUNNER_RANGE,
    SERVICE_USERS,
    STAGING_ACCOUNT,
    UA_BOTO_SCRIPT,
    UA_CLI_LINUX,
    UA_CLI_MAC,
    VPN_EXITS,
)
from ctlab.data.generate.world import _finance_size, _World

# Engineers whose week already holds scripted identity changes (a key rotation, an MFA device
# replaced): their key or MFA state would contradict the story, so they are never the victim.
_NOT_STOLEN = ("priya.raman", "s.haddad", "t.nakamura")
ATTACK_REGIONS = ("ap-southeast-1", "ap-northeast-1", "sa-east-1", "ap-south-1", "us-west-2", "ca-central-1",
                  "ap-southeast-2")
# Roles other principals assume every day: the pipeline (ECS, nightly), the deploy roles (CI) and
# the read-only audit role (engineers).
ESCALATION_ROLES = ("DataPipelineRole", "DeployRole-prod", "DeployRole-staging", "ReadOnlyAudit")
SESSION_NAMES = ("maint", "ops", "debug", "etl-fix", "admin-check", "{user}", "botocore-session-{epoch}")
ESCALATION_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True)
class Story:
    """One variant of the incident."""

    seed: int
    attacker: str  # the IAM user whose long-term key is stolen
    ips: tuple[str, str]  # (where the stolen key is used, where the role session works from)
    region: str  # the unused region the intruder's tools are set to
    role: str  # the role given AdministratorAccess
    session: str  # the session name the intruder assumes it with
    persistence_user: str  # the user given a new access key
    mfa_user: str  # the administrator whose MFA device is switched off
    bucket: str
    objects: tuple[str, ...]  # what is copied, in order
    day: int  # day of the week (0 = Monday) of the night it happens
    start: tuple[int, int, int]  # (hour, minute, second) UTC of the first call
    ua_cli: str  # the CLI the intruder uses: an engineer's (with command/{cmd})
    ua_sdk: str  # the enumeration script's boto3: an engineer's script's
    traveller: str  # the colleague who works through the same VPN exit that week
    travel_days: tuple[int, ...]
    second_traveller: str  # another colleague on the same VPN service, through another exit
    second_exit: str

    @property
    def role_session(self) -> str:
        return f"{self.role}/{self.session}"


def draw_story(seed: int, *, days: int) -> Story:
    """The story of ``seed`` for a week of ``days`` days (the attack's night is one of the last)."""
    rng = random.Random(f"ctlab-story-{seed}")
    attacker = rng.choice([e for e in ENGINEERS if e not in _NOT_STOLEN])
    traveller = rng.choice([e for e in ENGINEERS if e != attacker])
    ip1 = rng.choice(VPN_EXITS)
    ip2 = f"198.51.100.{rng.choice(list(RUNNER_RANGE))}"
    region = rng.choice(ATTACK_REGIONS)
    role = rng.choice(ESCALATION_ROLES)
    session = rng.choice(SESSION_NAMES)
    day = min(days - 1, rng.choice((5, 5, 6)))  # Saturday (or Sunday) small hours
    # the nightly pipeline reads the finance exports from 02:30: the intruder's first download comes
    # before it or after it, never with it
    hour, minute = rng.choice(((0, rng.randrange(5, 50)), (1, rng.randrange(0, 35)), (3, rng.randrange(0, 59)),
                               (4, rng.randrange(0, 20))))
    epoch = 1_771_000_000 + day * 86_400 + hour * 3600 + minute * 60
    session = session.format(user=attacker, epoch=epoch)
    # the exports of the nights before the attack, newest first; this month's payroll summary first
    last = min(28, 23 + day - 1)
    keys = [FIN_KEYS[2]]
    for d in range(last, last - 3, -1):
        for k in (FIN_KEYS[3], FIN_KEYS[0], FIN_KEYS[4], FIN_KEYS[1]):
            keys.append(k.format(d=d))
    n = rng.randrange(7, min(len(keys), 12) + 1)
    objects = tuple(keys[:n])
    travel = sorted(rng.sample(range(min(days, 5)), k=min(2, min(days, 5))))
    # the bucket comes from a stream of its own, so adding it left every other draw of a seed as it was
    bucket = random.Random(f"ctlab-story-bucket-{seed}").choice(FINANCE_BUCKETS)
    return Story(
        seed=seed, attacker=attacker, ips=(ip1, ip2), region=region, role=role, session=session,
        persistence_user=rng.choice(SERVICE_USERS), mfa_user=rng.choice(ADMINS), bucket=bucket,
        objects=objects, day=day, start=(hour, minute, rng.randrange(60)),
        ua_cli=rng.choice((UA_CLI_MAC, UA_CLI_LINUX)), ua_sdk=rng.choice(UA_BOTO_SCRIPT),
        traveller=traveller, travel_days=tuple(travel),
        second_traveller=rng.choice([e for e in ENGINEERS if e not in (attacker, traveller)]),
        second_exit=rng.choice([x for x in VPN_EXITS if x != ip1]),
    )


class _Clock:
    """The attack's time: pauses between steps, and bursts of several calls a second."""

    def __init__(self, t: datetime, rng: random.Random):
        self.t = t
        self.rng = rng
        self._ms = 0.0

    def wait(self, lo: int, hi: int) -> datetime:
        self.t += timedelta(seconds=self.rng.randrange(lo, hi))
        self._ms = 0.0
        return self.t

    def tick(self, per_second: float) -> datetime:
        """The time of the next call of a burst of about ``per_second`` calls a second."""
        self._ms += self.rng.expovariate(per_second) * 1000
        return self.t + timedelta(milliseconds=self._ms)

    def settle(self) -> datetime:
        """Move the clock to the end of the burst."""
        self.t = (self.t + timedelta(milliseconds=self._ms)).replace(microsecond=0) + timedelta(seconds=1)
        self._ms = 0.0
        return self.t


def _second(t: datetime) -> datetime:
    return t.replace(microsecond=0)


def plant(w: _World, st: Story) -> dict[str, Any]:
    """Write the compromise into ``w``. Returns the story's facts (times, keys, event ids)."""
    rng = random.Random(f"ctlab-attack-{st.seed}")
    ip1, ip2 = st.ips
    me = w.iam_user(st.attacker)
    sdk = st.ua_sdk

    def cli(cmd: str) -> str:
        return st.ua_cli.format(cmd=cmd)

    base = w.start + timedelta(days=st.day, hours=st.start[0], minutes=st.start[1], seconds=st.start[2])
    clock = _Clock(base, rng)
    ev: list[dict[str, Any]] = []
    ev.append(w.api(clock.t, me, ip1, cli("sts.get-caller-identity"), "sts.amazonaws.com", "GetCallerIdentity",
                    st.region))
    # --- the enumeration script: IAM first, tens of calls a second ---------------------------------
    clock.wait(25, 70)
    users = [st.attacker, st.mfa_user, st.persistence_user] + rng.sample(
        [u for u in w.users if u not in (st.attacker, st.mfa_user, st.persistence_user)], k=rng.randrange(3, 7))
    roles = [st.role] + rng.sample([r for r in ("DataPipelineRole", "DeployRole-prod", "DeployRole-staging",
                                                "ReadOnlyAudit", "OrganizationAccountAccessRole",
                                                "analytics-glue-role") if r != st.role], k=3)
    iam_calls: list[tuple[str, dict[str, Any] | None, bool]] = [
        ("GetUser", None, False),
        ("ListAttachedUserPolicies", {"userName": st.attacker}, False),
        ("ListUserPolicies", {"userName": st.attacker}, False),
        ("ListGroupsForUser", {"userName": st.attacker}, False),
        ("GetAccountAuthorizationDetails", {"filter": ["User", "Role", "Group"]}, True),
        ("ListUsers", {"maxItems": 1000}, False),
        ("ListRoles", {"maxItems": 1000}, False),
        ("ListGroups", {"maxItems": 1000}, False),
        ("ListPolicies", {"scope": "Local", "onlyAttached": False}, False),
    ]
    for u in users[1:]:
        iam_calls += [("ListAccessKeys", {"userName": u}, False), ("ListMFADevices", {"userName": u}, False),
                      ("ListAttachedUserPolicies", {"userName": u}, False)]
    for r in roles:
        iam_calls += [("ListAttachedRolePolicies", {"roleName": r}, False), ("ListRolePolicies", {"roleName": r}, False)]
    iam_calls.append(("GetRole", {"roleName": st.role}, False))
    rate = rng.uniform(12, 28)
    for name, req, denied in iam_calls:
        err = w.denied(me, f"iam:{name}", "*") if denied else None
        ev.append(w.iam_read(_second(clock.tick(rate)), me, ip1, sdk, name, req, error=err))
    clock.settle()
    # --- then storage, compute and a few other services, in the region the tools are set to -------
    clock.wait(4, 30)
    rate = rng.uniform(8, 20)
    ev.append(w.s3(_second(clock.tick(rate)), me, ip1, sdk, "ListBuckets", None, data=False, region=st.region,
                   size=1900))
    for b in (st.bucket, w.buckets["lake"], w.buckets["backup"]):
        ev.append(w.s3(_second(clock.tick(rate)), me, ip1, sdk, "GetBucketPolicy", b, data=False,
                       params={"policy": ""}, error=w.denied(me, "s3:GetBucketPolicy", f"arn:aws:s3:::{b}")))
        ev.append(w.s3(_second(clock.tick(rate)), me, ip1, sdk, "ListObjects", b,
                       params={"list-type": "2", "encoding-type": "url"},
                       error=w.denied(me, "s3:ListBucket", f"arn:aws:s3:::{b}") if b != w.buckets["lake"] else None,
                       size=5200 if b == w.buckets["lake"] else 0))
    for name in ("DescribeRegions", "DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeSubnets",
                 "DescribeSnapshots"):
        ev.append(w.api(_second(clock.tick(rate)), me, ip1, sdk, "ec2.amazonaws.com", name, st.region,
                        {"regionSet": {}} if name == "DescribeRegions" else {"filterSet": {}}))
    ev.append(w.api(_second(clock.tick(rate)), me, ip1, sdk, "secretsmanager.amazonaws.com", "ListSecrets", st.region,
                    {"maxResults": 100}, error=w.denied(me, "secretsmanager:ListSecrets", "*")))
    ev.append(w.api(_second(clock.tick(rate)), me, ip1, sdk, "lambda.amazonaws.com", "ListFunctions20150331",
                    st.region))
    ev.append(w.api(_second(clock.tick(rate)), me, ip1, sdk, "organizations.amazonaws.com", "DescribeOrganization",
                    GLOBAL, error=w.denied(me, "organizations:DescribeOrganization", "*")))
    clock.settle()
    # --- by hand: escalation (the user itself first: denied), a key for another user, the role ----
    clock.wait(70, 160)
    ev.append(w.iam_write(clock.t, me, ip1, cli("iam.attach-user-policy"), "AttachUserPolicy",
                          {"userName": st.attacker, "policyArn": ESCALATION_POLICY},
                          error=w.denied(me, "iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/{st.attacker}")))
    attach = w.iam_write(clock.wait(35, 90), me, ip1, cli("iam.attach-role-policy"), "AttachRolePolicy",
                         {"roleName": st.role, "policyArn": ESCALATION_POLICY})
    ev.append(attach)
    ev.append(w.iam_read(clock.wait(12, 30), me, ip1, cli("iam.list-attached-role-policies"),
                         "ListAttachedRolePolicies", {"roleName": st.role}))
    rec, created = w.create_access_key(clock.wait(60, 150), me, ip1, cli("iam.create-access-key"), st.persistence_user)
    ev.append(rec)
    clock.wait(60, 180)
    sess = w.assume_role(clock.t, me, ip1, cli("sts.assume-role"), st.role, st.session, region=st.region,
                         duration=43200)
    assume = w.records_by_hour[clock.t.replace(minute=0, second=0)][-1]
    ev.append(assume)
    # --- the role session, from the second address: MFA off for an administrator, then the data ----
    ar = w.assumed(sess)
    ev.append(w.api(clock.wait(30, 70), ar, ip2, cli("sts.get-caller-identity"), "sts.amazonaws.com",
                    "GetCallerIdentity", st.region))
    ev.append(w.iam_read(clock.wait(8, 25), ar, ip2, cli("iam.list-mfa-devices"), "ListMFADevices",
                         {"userName": st.mfa_user}))
    ev.append(w.iam_write(clock.wait(10, 40), ar, ip2, cli("iam.deactivate-mfa-device"), "DeactivateMFADevice",
                          {"userName": st.mfa_user, "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{st.mfa_user}"}))
    # and tries to move on into the organisation's other account: denied (that role trusts only the
    # management account)
    target = f"arn:aws:iam::{STAGING_ACCOUNT}:role/OrganizationAccountAccessRole"
    ev.append(w.emit(w.record(
        clock.wait(20, 60), ar, "sts.amazonaws.com", "AssumeRole", st.region, ip2, cli("sts.assume-role"),
        {"roleArn": target, "roleSessionName": st.session, "durationSeconds": 3600}, None, read_only=True,
        error=w.denied(ar, "sts:AssumeRole", target),
        resources=[{"accountId": STAGING_ACCOUNT, "type": "AWS::IAM::Role", "ARN": target}])))
    ev.append(w.s3(clock.wait(15, 45), ar, ip2, cli("s3.ls"), "ListBuckets", None, data=False, region=st.region,
                   size=1900))
    clock.wait(6, 20)
    prefixes = ("", "exports/", "exports/2026/", "exports/2026/02/", "invoices/")
    for prefix in prefixes:  # `aws s3 ls --recursive` pages through the listing
        ev.append(w.s3(_second(clock.tick(6)), ar, ip2, cli("s3.ls"), "ListObjects", st.bucket,
                       size=3000 + 40 * len(prefix),
                       params={"list-type": "2", "prefix": prefix, "delimiter": "/", "encoding-type": "url"}))
    clock.settle()
    ev.append(w.s3(clock.wait(10, 40), ar, ip2, cli("s3api.get-bucket-location"), "GetBucketLocation", st.bucket,
                   data=False, params={"location": ""}))
    gets: list[dict[str, Any]] = []
    clock.wait(20, 60)
    first_batch = rng.randrange(3, len(st.objects) - 2)
    for i, k in enumerate(st.objects):  # `aws s3 cp` with ten transfers at once: several starts a second
        if i == first_batch:
            clock.settle()
            clock.wait(40, 150)
        size = w.object_size(st.bucket, k, _finance_size(rng, k))
        g = w.s3(_second(clock.tick(4)), ar, ip2, cli("s3.cp"), "GetObject", st.bucket, k, size=size)
        ev.append(g)
        gets.append(g)
    clock.settle()
    # the new key is tried once from the second address
    pers = w.iam_user(st.persistence_user, key=created)
    ev.append(w.api(clock.wait(240, 420), pers, ip2, cli("sts.get-caller-identity"), "sts.amazonaws.com",
                    "GetCallerIdentity", st.region))
    first = min(gets, key=lambda g: (g["eventTime"], g["eventID"]))
    return {
        "attack_day": st.day,
        "attach_event_id": attach["eventID"],
        "attach_time": attach["eventTime"],
        "first_get_time": first["eventTime"],
        "first_get_event_id": first["eventID"],
        "created_access_key": created,
        "session_key": sess.key,
        "event_ids": [e["eventID"] for e in ev],
        "bytes_exfiltrated": sum(w.object_size(st.bucket, k, 0) for k in st.objects),
        "objects": list(st.objects),
        "user_agents": sorted({e["userAgent"] for e in ev}),
    }
