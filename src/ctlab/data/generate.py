"""Synthetic CloudTrail for one small company's AWS account, with one planted compromise.

The account belongs to "Halyard Analytics", a small data company working from eu-west-1.
Its week of CloudTrail is produced hour by hour from a handful of behaviours (engineers at
their terminals and consoles, administrators, GitHub Actions deployments, Lambda functions, a
nightly data pipeline, analysts signing in through SSO, a backup job, AWS services) and
written as CloudTrail writes it to S3: one gzip file of ``{"Records": [...]}`` per region and
hour under ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``.

The attack (see ``_plant_attack``) runs in the small hours of the week's Saturday: one IAM
user's long-term key is used from a new address in an unused region to enumerate the account,
attach AdministratorAccess to a role, create a key for another user, switch off an
administrator's MFA, assume the role and download from the finance bucket.

The week reads like a real trail (see docs/data.md): everyday calls fail now and then with many
error codes, AWS services work through service-linked roles from their own hosts, S3 user agents
are bracketed, sign-ins include CheckMfa, failures, SSO and Identity Center, and the state an
analyst can follow stays consistent (``ctlab.data.invariants`` checks it): MFA devices, buckets'
regions, objects' sizes, keys' owners and sessions' origins.

Everything is drawn from ``random.Random`` objects seeded from the seed, so the same seed and
options give byte-identical files (gzip headers carry no name and mtime 0).
"""

from __future__ import annotations

import gzip
import json
import math
import random
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ctlab.errors import CtlabError

ACCOUNT = "481239765027"
COMPANY = "halyard"
DEFAULT_START = "2026-02-23"  # a Monday
HOME = "eu-west-1"
DR = "eu-central-1"
GLOBAL = "us-east-1"  # IAM and global STS calls are logged here
ATTACK_REGION = "ap-southeast-1"
ATTACK_IPS = ("203.0.113.47", "203.0.113.112")

_ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

UA_CLI_MAC = "aws-cli/2.22.35 Python/3.12.6 Darwin/24.3.0 exe/x86_64 prompt/off command/{cmd}"
UA_CLI_LINUX = "aws-cli/2.22.35 Python/3.12.6 Linux/6.8.0-1021-aws exe/x86_64.ubuntu.24 prompt/off command/{cmd}"
UA_CLI_RUNNER = "aws-cli/2.24.10 Python/3.12.9 Linux/6.8.0-1020-azure exe/x86_64.ubuntu.24 prompt/off command/{cmd}"
UA_CLI_ATTACK = "aws-cli/1.32.101 Python/3.11.9 Linux/6.6.15-amd64 botocore/1.34.101"
UA_BOTO_EC2 = ("Boto3/1.36.21 md/Botocore#1.36.21 ua/2.0 os/linux#6.1.127-135.201.amzn2023.x86_64 "
               "md/arch#x86_64 lang/python#3.12.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.36.21")
UA_BOTO_LAMBDA = ("Boto3/1.35.99 md/Botocore#1.35.99 ua/2.0 os/linux#5.10.234-246.922.amzn2.x86_64 "
                  "md/arch#x86_64 lang/python#3.12.8 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
                  "cfg/retry-mode#legacy Botocore/1.35.99")
UA_GHA_SDK = ("aws-sdk-nodejs/3.726.1 ua/2.1 os/linux#6.8.0-1020-azure lang/js md/nodejs#20.18.1 "
              "api/sts#3.726.1 m/E,e")
UA_BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/133.0.0.0 Safari/537.36")
UA_BROWSER_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/133.0.0.0 Safari/537.36 Edg/133.0.0.0")
UA_CONSOLE = "AWS Internal"

OFFICE_IPS = ("192.0.2.10", "192.0.2.11")
VPN_IP = "192.0.2.40"

PARTNER_ACCOUNT = "730335184510"  # the security vendor's account, which audits this one daily
PARTNER_IP = "203.0.113.200"
IDENTITY_STORE = "d-93670c5b21"

BUCKETS = {
    "assets": f"{COMPANY}-app-assets",
    "artifacts": f"{COMPANY}-ci-artifacts",
    "lake": f"{COMPANY}-datalake-curated",
    "finance": f"{COMPANY}-finance-exports",
    "dev": f"{COMPANY}-dev-scratch",
    "backup": f"{COMPANY}-backups-eu-central-1",
    "trail": f"{COMPANY}-cloudtrail-logs",
}

# Every bucket lives in one region; its calls are logged there.
BUCKET_REGION = {b: (DR if b.endswith(DR) else HOME) for b in BUCKETS.values()}

ENGINEERS = (
    "d.whitfield", "priya.raman", "s.haddad", "t.nakamura", "l.moreau", "a.kowalski",
    "e.fitzgerald", "k.oduya", "m.rossi", "s.ng", "b.halvorsen", "c.mendes",
)
ADMINS = ("j.okafor", "m.lindqvist", "r.banerjee")
ANALYSTS = ("f.ahmed@halyard-analytics.com", "g.santos@halyard-analytics.com",
            "h.weber@halyard-analytics.com", "i.kaur@halyard-analytics.com")
SERVICE_USERS = ("svc-backup", "svc-reporting")
NEW_HIRE = "n.castillo"
ROLES = (
    "github-actions-ci", "DeployRole-staging", "DeployRole-prod", "DataPipelineRole",
    "ReadOnlyAudit", "orders-api-role", "invoice-renderer-role", "thumbnailer-role",
    "AWSReservedSSO_DataAnalyst_3f1c2a9e5b7d4e60", "analytics-glue-role", "OrganizationAccountAccessRole",
    # added later: drawn after the others, so the earlier identifiers stay as they were
    "AWSServiceRoleForConfig", "AWSServiceRoleForAutoScaling", "AWSServiceRoleForAmazonEKS", "SecurityAuditRole",
)
# Service-linked roles: the role, the service that assumes it, and its session name.
SERVICE_ROLES = {
    "config.amazonaws.com": ("AWSServiceRoleForConfig", "AWSConfig-Describe"),
    "autoscaling.amazonaws.com": ("AWSServiceRoleForAutoScaling", "AutoScaling"),
    "eks.amazonaws.com": ("AWSServiceRoleForAmazonEKS", "AmazonEKS"),
}
LAMBDAS = {"orders-api": "orders-api-role", "invoice-renderer": "invoice-renderer-role",
           "thumbnailer": "thumbnailer-role"}

# The story's cast.
ATTACKER = "d.whitfield"
ESCALATED_ROLE = "DataPipelineRole"
ATTACK_SESSION = "maint"
PERSISTENCE_USER = "svc-backup"
MFA_USER = "m.lindqvist"


HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"  # CloudTrail's user name for a sign-in with an unknown name

# Everyday calls fail now and then, for reasons that have nothing to do with an attack: what each
# kind of call fails with, and how often.
ERROR_RATE = 0.04
_DENIED = ("AccessDenied", "")
BACKGROUND_ERRORS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("s3.amazonaws.com", "GetObject"): (("NoSuchKey", "The specified key does not exist."), _DENIED),
    ("s3.amazonaws.com", "HeadObject"): (("NoSuchKey", "The specified key does not exist."),),
    ("s3.amazonaws.com", "GetObjectTagging"): (_DENIED,),
    ("s3.amazonaws.com", "GetObjectAcl"): (_DENIED,),
    ("s3.amazonaws.com", "GetObjectRetention"): (("NoSuchObjectLockConfiguration",
                                                  "The specified object does not have a ObjectLock configuration"),),
    ("s3.amazonaws.com", "ListObjects"): (_DENIED, ("SlowDown", "Please reduce your request rate.")),
    ("s3.amazonaws.com", "PutObject"): (("SlowDown", "Please reduce your request rate."),),
    ("ec2.amazonaws.com", "*"): (("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
                                 ("Client.DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
                                 ("Client.RequestLimitExceeded", "Request limit exceeded.")),
    ("logs.amazonaws.com", "*"): (("ThrottlingException", "Rate exceeded"),
                                  ("ResourceNotFoundException", "The specified log group does not exist.")),
    ("monitoring.amazonaws.com", "*"): (("Throttling", "Rate exceeded"),),
    ("lambda.amazonaws.com", "*"): (("ResourceNotFoundException", "Function not found: {target}"),
                                    ("TooManyRequestsException", "Rate exceeded")),
    ("ecr.amazonaws.com", "*"): (("RepositoryNotFoundException", "The repository with name '{target}' does not exist"),),
    ("ssm.amazonaws.com", "GetParameter"): (("ParameterNotFound", "Parameter not found."),
                                            ("ThrottlingException", "Rate exceeded")),
    ("cloudformation.amazonaws.com", "DescribeStacks"): (("ValidationError", "Stack with id {target} does not exist"),),
    ("iam.amazonaws.com", "GetRole"): (("NoSuchEntityException", "The role with name {target} cannot be found."), _DENIED),
    ("iam.amazonaws.com", "GetUser"): (_DENIED,),
    ("iam.amazonaws.com", "ListRoles"): (_DENIED,),
    ("glue.amazonaws.com", "GetTables"): (("EntityNotFoundException", "Database {target} not found."),),
    ("athena.amazonaws.com", "GetQueryResults"): (
        ("InvalidRequestException", "Query has not yet finished. Current state: RUNNING"),),
    ("secretsmanager.amazonaws.com", "GetSecretValue"): (("ThrottlingException", "Rate exceeded"),),
    ("kms.amazonaws.com", "Decrypt"): (("ThrottlingException", "You have exceeded the rate at which you may call KMS."),),
    ("sts.amazonaws.com", "GetCallerIdentity"): (("ExpiredToken", "The security token included in the request is expired"),),
}


def _meta_bytes(name: str, bucket: str, key: str, size: int) -> int:
    """Response size of an S3 call that returns metadata: fixed for a given object or bucket."""
    h = zlib.crc32(f"{name}:{bucket}/{key}".encode())
    base = {"GetObjectTagging": 160, "GetObjectAcl": 560, "GetObjectAttributes": 290, "GetObjectRetention": 180,
            "GetBucketLocation": 128, "GetBucketAcl": 520, "GetBucketPolicy": 610, "GetBucketVersioning": 120,
            "GetBucketEncryption": 230}.get(name, 200)
    return base + h % 240 + (size or 0)


@dataclass
class GenerateSummary:
    out: Path
    files: int
    events: int
    start: str
    end: str
    regions: tuple[str, ...]
    story: dict[str, Any] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        return (f"wrote {self.events} CloudTrail records in {self.files} files under {self.out} "
                f"({self.start} .. {self.end}, regions: {', '.join(self.regions)})")


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _console_date(t: datetime) -> str:
    # IAM writes createDate in responseElements.accessKey in this non-ISO form.
    return f"{t.strftime('%b')} {t.day}, {t.year} {t.strftime('%I').lstrip('0')}:{t.strftime('%M:%S %p')}"


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class _Ids:
    """Deterministic identifiers drawn from one random stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def code(self, n: int) -> str:
        return "".join(self.rng.choice(_ID) for _ in range(n))

    def hexs(self, n: int, upper: bool = False) -> str:
        s = f"{self.rng.getrandbits(4 * n):0{n}x}"
        return s.upper() if upper else s

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


@dataclass
class _User:
    name: str
    uid: str
    key: str
    ip: str
    home_ip: str
    ua: str
    admin: bool = False


@dataclass
class _Session:
    role: str
    name: str
    key: str
    created: datetime
    mfa: bool = False


class _World:
    start: datetime  # set by generate() before any event is made
    days: int
    def __init__(self, seed: int, scale: float):
        self.seed = seed
        self.scale = scale
        setup = _Ids(random.Random(f"ctlab-principals-{seed}"))
        self.ids = _Ids(random.Random(f"ctlab-events-{seed}"))
        self.rng = self.ids.rng
        self.users: dict[str, _User] = {}
        names = list(ENGINEERS) + list(ADMINS)
        for i, name in enumerate(names):
            home = f"198.51.100.{20 + i * 3}"
            ua = UA_CLI_MAC if i % 3 else UA_CLI_LINUX
            self.users[name] = _User(name, "AIDA" + setup.code(17), "AKIA" + setup.code(16),
                                     OFFICE_IPS[i % 2], home, ua, admin=name in ADMINS)
        for j, name in enumerate(SERVICE_USERS):
            self.users[name] = _User(name, "AIDA" + setup.code(17), "AKIA" + setup.code(16),
                                     f"198.51.100.{200 + j}", f"198.51.100.{200 + j}", UA_BOTO_EC2)
        self.users[NEW_HIRE] = _User(NEW_HIRE, "AIDA" + setup.code(17), "AKIA" + setup.code(16),
                                     OFFICE_IPS[0], "198.51.100.90", UA_CLI_MAC)
        self.role_ids = {r: "AROA" + setup.code(17) for r in ROLES}
        self.idc_ids = {email: setup.uuid() for email in ANALYSTS}  # Identity Center user ids
        self.errors = random.Random(f"ctlab-errors-{seed}")  # background failures of everyday calls
        self.sizes: dict[tuple[str | None, str], int] = {}  # (bucket, key) -> object size: one size per object
        self.mfa_changes: dict[str, list[tuple[datetime, bool]]] = {}  # user -> (time, MFA on after it)
        self.service_sessions: dict[str, _Session] = {}
        self.sso_sessions: dict[str, _Session] = {}
        self.lambda_sessions: dict[str, _Session] = {}
        self.console: dict[str, str] = {}  # user -> console session key (ASIA...)
        self.records_by_hour: dict[datetime, list[dict[str, Any]]] = {}

    # ---- identities ---------------------------------------------------------
    def iam_user(self, name: str, *, key: str | None = None, console: bool = False) -> dict[str, Any]:
        u = self.users[name]
        ident: dict[str, Any] = {"type": "IAMUser", "principalId": u.uid, "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
                 "accountId": ACCOUNT, "accessKeyId": key or u.key, "userName": name}
        if console:
            ident["accessKeyId"] = self.console.setdefault(name, "ASIA" + self.ids.code(16))
            ident["sessionContext"] = {"attributes": {"creationDate": "", "mfaAuthenticated": "true"}}
        return ident

    def assumed(self, s: _Session) -> dict[str, Any]:
        rid = self.role_ids[s.role]
        return {
            "type": "AssumedRole", "principalId": f"{rid}:{s.name}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{s.role}/{s.name}",
            "accountId": ACCOUNT, "accessKeyId": s.key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": rid, "arn": self.role_arn(s.role),
                                  "accountId": ACCOUNT, "userName": s.role},
                "attributes": {"creationDate": _iso(s.created), "mfaAuthenticated": "true" if s.mfa else "false"},
            },
        }

    @staticmethod
    def role_arn(role: str) -> str:
        if role.startswith("AWSReservedSSO_"):
            return f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{role}"
        for host, (slr, _) in SERVICE_ROLES.items():
            if role == slr:
                return f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{host}/{role}"
        return f"arn:aws:iam::{ACCOUNT}:role/{role}"

    # ---- state that must stay consistent -------------------------------------
    def object_size(self, bucket: str | None, key: str, default: int) -> int:
        """The object's size: the first size it was written or read with, for every later reader."""
        return self.sizes.setdefault((bucket, key), default)

    def mfa_set(self, user: str, t: datetime, on: bool) -> None:
        self.mfa_changes.setdefault(user, []).append((t, on))

    def mfa_on(self, user: str, t: datetime) -> bool:
        """Whether ``user`` has an MFA device at ``t`` (everyone starts with one but the new hire)."""
        on = user != NEW_HIRE
        for when, state in sorted(self.mfa_changes.get(user, ())):
            if when <= t:
                on = state
        return on

    def service_session(self, host: str, t: datetime) -> _Session:
        """The service-linked role session of ``host``, assumed again (by the service) once it is an hour old."""
        s = self.service_sessions.get(host)
        if s is None or t - s.created >= timedelta(minutes=55) or t < s.created:
            role, name = SERVICE_ROLES[host]
            issue = max(t - timedelta(seconds=2), t.replace(minute=0, second=0))  # within the hour being written
            s = self.assume_role(issue, self.service(host), host, host, role, name, region=HOME)
            self.service_sessions[host] = s
        return s

    def failure(self, source: str, name: str, ident: dict[str, Any], target: str = "") -> tuple[str, str] | None:
        """A background failure of an everyday call, a few percent of the time (see ``BACKGROUND_ERRORS``)."""
        choices = BACKGROUND_ERRORS.get((source, name)) or BACKGROUND_ERRORS.get((source, "*"))
        if not choices or self.errors.random() >= ERROR_RATE:
            return None
        code, message = self.errors.choice(choices)
        if code == "AccessDenied":
            action = f"{source.split('.')[0].replace('monitoring', 'cloudwatch')}:{name.rstrip('0123456789v')}"
            return self.denied(ident, action, target or "*")
        return code, message.format(target=target or "the resource")

    @staticmethod
    def service(host: str) -> dict[str, Any]:
        return {"type": "AWSService", "invokedBy": host}

    # ---- records -------------------------------------------------------------
    def record(self, t: datetime, ident: dict[str, Any], source: str, name: str, region: str, ip: str, ua: str,
               req: dict[str, Any] | None = None, resp: dict[str, Any] | None = None, *, read_only: bool,
               error: tuple[str, str] | None = None, data: bool = False, resources: list[Any] | None = None,
               extra: dict[str, Any] | None = None, event_type: str = "AwsApiCall",
               add: dict[str, Any] | None = None) -> dict[str, Any]:
        if ident.get("type") in ("IAMUser", "AssumedRole") and "sessionContext" in ident:
            attrs = ident["sessionContext"].get("attributes")
            if attrs is not None and attrs.get("creationDate") == "":
                attrs = dict(attrs, creationDate=_iso(t.replace(minute=0, second=0) - timedelta(minutes=7)))
                ident = dict(ident, sessionContext=dict(ident["sessionContext"], attributes=attrs))
        rec: dict[str, Any] = {"eventVersion": "1.11" if not data else "1.10", "userIdentity": ident,
                     "eventTime": _iso(t), "eventSource": source, "eventName": name, "awsRegion": region,
                     "sourceIPAddress": ip, "userAgent": ua}
        if error:
            rec["errorCode"], rec["errorMessage"] = error
        rec["requestParameters"] = req
        rec["responseElements"] = None if error else resp
        if add:
            rec["additionalEventData"] = add
        rec["requestID"] = self.ids.hexs(16, upper=True) if source == "s3.amazonaws.com" else self.ids.uuid()
        rec["eventID"] = self.ids.uuid()
        rec["readOnly"] = read_only
        if resources:
            rec["resources"] = resources
        rec["eventType"] = event_type
        rec["managementEvent"] = not data
        rec["recipientAccountId"] = ACCOUNT
        if extra:
            rec.update(extra)
        rec["eventCategory"] = "Data" if data else "Management"
        if ip[0].isdigit():
            host = source if source != "s3.amazonaws.com" else f"s3.{region}.amazonaws.com"
            if source in ("iam.amazonaws.com",):
                host = "iam.amazonaws.com"
            elif source not in ("s3.amazonaws.com", "signin.amazonaws.com"):
                host = source.replace(".amazonaws.com", f".{region}.amazonaws.com")
            rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                 "clientProvidedHostHeader": host}
        return rec

    def emit(self, rec: dict[str, Any]) -> dict[str, Any]:
        t = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        self.records_by_hour.setdefault(t.replace(minute=0, second=0), []).append(rec)
        if rec["eventName"] in ("EnableMFADevice", "DeactivateMFADevice") and "errorCode" not in rec:
            self.mfa_set(rec["requestParameters"]["userName"], t, rec["eventName"] == "EnableMFADevice")
        return rec

    def denied(self, ident: dict[str, Any], action: str, resource: str) -> tuple[str, str]:
        who = ident.get("arn", "")
        return ("AccessDenied", f"User: {who} is not authorized to perform: {action} on resource: {resource} "
                                f"because no identity-based policy allows the {action} action")

    # ---- event families ---------------------------------------------------------
    def s3(self, t: datetime, ident: dict[str, Any], ip: str, ua: str, name: str, bucket: str | None,
           key: str | None = None, *, size: int = 0, region: str = HOME, error: tuple[str, str] | None = None,
           params: dict[str, Any] | None = None, data: bool = True) -> dict[str, Any]:
        if bucket:
            region = BUCKET_REGION.get(bucket, region)  # a bucket's calls are logged in its region
        if key is not None and name in ("GetObject", "PutObject"):
            size = self.object_size(bucket, key, size)
        if not ua.endswith(".amazonaws.com") and ua != UA_CONSOLE and not ua.startswith("["):
            ua = f"[{ua}]"  # how S3 writes SDK, CLI and browser user agents
        host = f"{bucket}.s3.{region}.amazonaws.com" if bucket else f"s3.{region}.amazonaws.com"
        req: dict[str, Any] = {}
        if bucket:
            req["bucketName"] = bucket
        req["Host"] = host
        if key is not None:
            req["key"] = key
        if params:
            req.update(params)
        read_only = not name.startswith(("Put", "Delete", "Copy", "Create", "Restore"))
        if error:
            out = 243 + len(error[0]) + len(key or bucket or "")  # the error document
        elif name == "GetObject":
            out = size
        elif name in ("PutObject", "HeadObject"):
            out = 0
        elif name.startswith("List"):
            out = size
        else:
            out = _meta_bytes(name, bucket or "", key or "", size)
        add = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
               "bytesTransferredIn": size if name == "PutObject" and not error else 0,
               "AuthenticationMethod": "AuthHeader", "x-amz-id-2": self.ids.code(24), "bytesTransferredOut": out}
        resources = []
        if key is not None:
            resources.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
        if bucket:
            resources.append({"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"})
        return self.emit(self.record(t, ident, "s3.amazonaws.com", name, region, ip, ua, req, None,
                                     read_only=read_only, error=error, data=data, resources=resources or None,
                                     add=add))

    def api(self, t: datetime, ident: dict[str, Any], ip: str, ua: str, source: str, name: str, region: str,
            req: dict[str, Any] | None = None, resp: dict[str, Any] | None = None, *, read_only: bool = True,
            error: tuple[str, str] | None = None, resources: list[Any] | None = None) -> dict[str, Any]:
        return self.emit(self.record(t, ident, source, name, region, ip, ua, req, resp,
                                     read_only=read_only, error=error, resources=resources))

    def assume_role(self, t: datetime, ident: dict[str, Any], ip: str, ua: str, role: str, session: str, *,
                    region: str = GLOBAL, duration: int = 3600, mfa: bool = False,
                    error: tuple[str, str] | None = None, source_identity: str | None = None) -> _Session:
        key = "ASIA" + self.ids.code(16)
        s = _Session(role, session, key, t, mfa)
        rid = self.role_ids[role]
        req = {"roleArn": self.role_arn(role), "roleSessionName": session, "durationSeconds": duration}
        resp = {"credentials": {"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjE" + self.ids.code(40),
                                "expiration": _console_date(t + timedelta(seconds=duration))},
                "assumedRoleUser": {"assumedRoleId": f"{rid}:{session}",
                                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"}}
        res = [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": self.role_arn(role)}]
        self.emit(self.record(t, ident, "sts.amazonaws.com", "AssumeRole", region, ip, ua, req, resp,
                              read_only=True, error=error, resources=res))
        return s

    def iam_write(self, t: datetime, ident: dict[str, Any], ip: str, ua: str, name: str, req: dict[str, Any] | None,
                  resp: dict[str, Any] | None = None, *, error: tuple[str, str] | None = None) -> dict[str, Any]:
        return self.emit(self.record(t, ident, "iam.amazonaws.com", name, GLOBAL, ip, ua, req, resp,
                                     read_only=False, error=error))

    def iam_read(self, t: datetime, ident: dict[str, Any], ip: str, ua: str, name: str, req: dict[str, Any] | None = None,
                 resp: dict[str, Any] | None = None, *, error: tuple[str, str] | None = None) -> dict[str, Any]:
        return self.emit(self.record(t, ident, "iam.amazonaws.com", name, GLOBAL, ip, ua, req, resp,
                                     read_only=True, error=error))

    def create_access_key(self, t: datetime, ident: dict[str, Any], ip: str, ua: str, target: str | None, *,
                          error: tuple[str, str] | None = None) -> tuple[dict[str, Any], str]:
        new_key = "AKIA" + self.ids.code(16)
        owner = target or ident.get("userName", "")
        req = {"userName": target} if target else None
        resp = {"accessKey": {"accessKeyId": new_key, "status": "Active", "userName": owner,
                              "createDate": _console_date(t)}}
        return self.iam_write(t, ident, ip, ua, "CreateAccessKey", req, resp, error=error), new_key

    def console_login(self, t: datetime, name: str, ip: str, ua: str, *, mfa: bool | None = None, ok: bool = True,
                      root: bool = False) -> dict[str, Any]:
        """A console sign-in; ``mfa`` defaults to whether the user has an MFA device then. A sign-in
        with MFA is preceded by CheckMfa; a failed one (wrong password) never reaches MFA."""
        if mfa is None:
            mfa = root or self.mfa_on(name, t)
        if not ok:
            mfa = False
        if root:
            ident = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
                     "accountId": ACCOUNT, "accessKeyId": ""}
        elif name == HIDDEN:
            ident = {"type": "IAMUser", "accountId": ACCOUNT, "accessKeyId": "", "userName": HIDDEN}
        else:
            u = self.users[name]
            ident = {"type": "IAMUser", "principalId": u.uid, "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
                     "accountId": ACCOUNT, "userName": name}
            if not ok:  # a failed sign-in is not tied to the user's ARN
                ident = {"type": "IAMUser", "principalId": u.uid, "accountId": ACCOUNT, "accessKeyId": "",
                         "userName": name}
        if mfa:
            check = {k: v for k, v in ident.items() if k != "arn"} | {"accessKeyId": ""}
            self.emit(self.record(t - timedelta(seconds=self.rng.randrange(4, 25)), check, "signin.amazonaws.com",
                                  "CheckMfa", GLOBAL, ip, ua, None, {"CheckMfa": "Success"}, read_only=False,
                                  event_type="AwsConsoleSignIn", add={"MfaType": "Virtual MFA"}))
        add = {"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
               "MobileVersion": "No", "MFAUsed": "Yes" if mfa else "No"}
        if mfa:
            add["MFAIdentifier"] = (f"arn:aws:iam::{ACCOUNT}:mfa/{name}" if not root
                                    else f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device")
        rec = self.record(t, ident, "signin.amazonaws.com", "ConsoleLogin", GLOBAL, ip, ua, None,
                          {"ConsoleLogin": "Success" if ok else "Failure"}, read_only=False,
                          event_type="AwsConsoleSignIn", add=add)
        if not ok:
            rec["errorMessage"] = ("No username found in supplied account" if name == HIDDEN
                                   else "Failed authentication")
            rec["responseElements"] = {"ConsoleLogin": "Failure"}
        return self.emit(rec)


# ----------------------------------------------------------------------------------
# Benign behaviours, one call per hour of the week.

def _intensity(t: datetime) -> float:
    """How busy people are at this UTC hour (the company works in Dublin/London time)."""
    weekend = t.weekday() >= 5
    h = t.hour
    if weekend:
        return 0.05 if 9 <= h <= 20 else 0.0
    if 9 <= h <= 17:
        return 1.0 if h not in (12, 13) else 0.6
    if h == 8 or h == 18:
        return 0.45
    if 19 <= h <= 22:
        return 0.08
    return 0.0


ENGINEER_MENU = (
    # (weight, source, eventName, family)
    (9, "s3.amazonaws.com", "ListObjects", "s3list"),
    (8, "s3.amazonaws.com", "GetObject", "s3get"),
    (4, "s3.amazonaws.com", "PutObject", "s3put"),
    (3, "s3.amazonaws.com", "HeadObject", "s3head"),
    (2, "s3.amazonaws.com", "GetObjectTagging", "s3meta"),
    (1, "s3.amazonaws.com", "GetObjectAcl", "s3meta"),
    (1, "s3.amazonaws.com", "GetObjectAttributes", "s3meta"),
    (1, "s3.amazonaws.com", "GetObjectRetention", "s3meta"),
    (2, "s3.amazonaws.com", "ListBuckets", "s3mgmt"),
    (2, "s3.amazonaws.com", "GetBucketLocation", "s3mgmt"),
    (7, "ec2.amazonaws.com", "DescribeInstances", "ec2"),
    (3, "ec2.amazonaws.com", "DescribeSecurityGroups", "ec2"),
    (2, "ec2.amazonaws.com", "DescribeVpcs", "ec2"),
    (2, "ec2.amazonaws.com", "DescribeSubnets", "ec2"),
    (5, "logs.amazonaws.com", "DescribeLogGroups", "logs"),
    (5, "logs.amazonaws.com", "FilterLogEvents", "logs"),
    (4, "monitoring.amazonaws.com", "GetMetricData", "cw"),
    (2, "monitoring.amazonaws.com", "DescribeAlarms", "cw"),
    (4, "sts.amazonaws.com", "GetCallerIdentity", "sts"),
    (3, "lambda.amazonaws.com", "ListFunctions20150331", "lambda"),
    (2, "lambda.amazonaws.com", "GetFunction20150331v2", "lambda"),
    (2, "ecr.amazonaws.com", "DescribeRepositories", "ecr"),
    (3, "ecr.amazonaws.com", "GetAuthorizationToken", "ecr"),
    (3, "ssm.amazonaws.com", "GetParameter", "ssm"),
    (3, "cloudformation.amazonaws.com", "DescribeStacks", "cfn"),
    (1, "cloudformation.amazonaws.com", "ListStacks", "cfn"),
    (1, "iam.amazonaws.com", "GetUser", "iamread"),
    (1, "iam.amazonaws.com", "ListAccessKeys", "iamread"),
    (1, "iam.amazonaws.com", "ListRoles", "iamread"),
    (1, "iam.amazonaws.com", "GetRole", "iamread"),
)
_MENU_TOTAL = sum(w for w, *_ in ENGINEER_MENU)

INSTANCES = ("i-0a41f7c2d9e3b5810", "i-0c93e1a7f4b2d6e05", "i-07d2b8e6a1c9f3402", "i-0f1e6a3b8c7d2e914")
STACKS = ("orders-api-prod", "orders-api-staging", "invoice-renderer-prod", "datalake-etl", "network-base")
DEV_KEYS = ("notebooks/churn_model_v3.ipynb", "tmp/sample_orders_2026-02.csv", "fixtures/invoices_small.json",
            "scratch/query_results.parquet", "exports/weekly_kpis.csv", "models/forecast_v12.pkl")
LAKE_KEYS = ("curated/orders/dt=2026-02-{d:02d}/part-0000{p}.parquet",
             "curated/customers/dt=2026-02-{d:02d}/part-0000{p}.parquet",
             "curated/sessions/dt=2026-02-{d:02d}/part-0000{p}.parquet")
# Finance export sizes by file family (the night's full exports are large).
FIN_SIZES = {"ledger": (170_000_000, 200_000_000), "invoices": (215_000_000, 245_000_000),
             "payroll": (45_000_000, 50_000_000), "customers_billing": (375_000_000, 420_000_000),
             "vendor_payments": (85_000_000, 100_000_000)}


def _finance_size(rng: random.Random, key: str) -> int:
    family = key.rpartition("/")[2].partition("_2026")[0]
    lo, hi = FIN_SIZES.get(family, (1_000_000, 5_000_000))
    return rng.randrange(lo, hi)


FIN_KEYS = ("exports/2026/02/ledger_2026-02-{d:02d}.csv.gz", "exports/2026/02/invoices_2026-02-{d:02d}.parquet",
            "exports/2026/02/payroll_summary_2026-02.xlsx", "exports/2026/02/customers_billing_2026-02-{d:02d}.csv.gz",
            "exports/2026/02/vendor_payments_2026-02-{d:02d}.csv.gz")


def _pick_menu(rng: random.Random) -> tuple[int, str, str, str]:
    x = rng.uniform(0, _MENU_TOTAL)
    for item in ENGINEER_MENU:
        x -= item[0]
        if x <= 0:
            return item
    return ENGINEER_MENU[-1]


def _cmd(source: str, name: str) -> str:
    svc = source.split(".")[0].replace("monitoring", "cloudwatch")
    if svc == "s3":
        return {"ListObjects": "s3.ls", "GetObject": "s3.cp", "PutObject": "s3.cp"}.get(name, "s3api." + _kebab(name))
    return f"{svc}.{_kebab(name.rstrip('0123456789v'))}"


def _kebab(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("-")
        out.append(ch.lower())
    return "".join(out)


def _engineer_call(w: _World, t: datetime, ident: dict[str, Any], ip: str, ua: str, console: bool) -> None:
    rng = w.rng
    _, source, name, fam = _pick_menu(rng)
    u = ua if console else ua.format(cmd=_cmd(source, name))
    day = min(28, max(1, t.day))
    if fam == "s3list":
        b = rng.choice((BUCKETS["dev"], BUCKETS["lake"], BUCKETS["assets"], BUCKETS["artifacts"]))
        params = {"list-type": "2", "prefix": rng.choice(("", "curated/", "tmp/", "exports/", "builds/")),
                  "delimiter": "/", "encoding-type": "url"}
        w.s3(t, ident, ip, u, "ListObjects", b, size=rng.randrange(200, 9000), params=params,
             error=w.failure(source, name, ident, f"arn:aws:s3:::{b}"))
    elif fam in ("s3get", "s3head", "s3meta", "s3put"):
        if rng.random() < 0.5:
            b, k = BUCKETS["dev"], rng.choice(DEV_KEYS)
        else:
            b, k = BUCKETS["lake"], rng.choice(LAKE_KEYS).format(d=day, p=rng.randrange(4))
        size = rng.randrange(20_000, 9_000_000) if fam in ("s3get", "s3put") else 0
        if fam in ("s3head", "s3meta"):
            size = w.object_size(b, k, rng.randrange(20_000, 9_000_000)) if fam == "s3head" else 0
        w.s3(t, ident, ip, u, name, b, k, size=size, error=w.failure(source, name, ident, f"arn:aws:s3:::{b}/{k}"))
    elif fam == "s3mgmt":
        if name == "ListBuckets":
            w.s3(t, ident, ip, u, name, None, data=False, region=GLOBAL if rng.random() < 0.3 else HOME,
                 size=rng.randrange(1000, 3000))
        else:
            b = rng.choice(list(BUCKETS.values())[:5])
            w.s3(t, ident, ip, u, name, b, data=False, params={"location": ""})
    elif fam == "ec2":
        req: dict[str, Any] | None = {"filterSet": {}, "maxResults": 1000} if name != "DescribeInstances" else {
            "instancesSet": {}, "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "data"}]}}]}}
        if name == "DescribeInstances" and rng.random() < 0.4:
            req = {"instancesSet": {"items": [{"instanceId": rng.choice(INSTANCES)}]}, "filterSet": {}}
        w.api(t, ident, ip, u, source, name, HOME, req, error=w.failure(source, name, ident))
    elif fam == "logs":
        grp = rng.choice(("/aws/lambda/orders-api", "/aws/lambda/invoice-renderer", "/ecs/datalake-etl",
                          "/aws/lambda/thumbnailer"))
        req = {"logGroupName": grp, "limit": 50} if name == "FilterLogEvents" else {"logGroupNamePrefix": "/aws/"}
        w.api(t, ident, ip, u, source, name, HOME, req, error=w.failure(source, name, ident, grp))
    elif fam == "cw":
        w.api(t, ident, ip, u, source, name, HOME, {"startTime": _iso(t - timedelta(hours=3)),
                                                    "endTime": _iso(t)} if name == "GetMetricData" else {"maxRecords": 100},
              error=w.failure(source, name, ident))
    elif fam == "sts":
        w.api(t, ident, ip, u, source, name, HOME, error=w.failure(source, name, ident))
    elif fam == "lambda":
        fn = rng.choice(list(LAMBDAS) + ["orders-api-v2"])
        req = {"functionName": fn} if name.startswith("GetFunction") else None
        w.api(t, ident, ip, u, source, name, HOME, req, error=w.failure(source, name, ident, fn))
    elif fam == "ecr":
        req = {"registryIds": [ACCOUNT]} if name == "GetAuthorizationToken" else {"repositoryNames": ["orders-api"]}
        err = w.failure(source, name, ident, "orders-api") if name != "GetAuthorizationToken" else None
        w.api(t, ident, ip, u, source, name, HOME, req, error=err)
    elif fam == "ssm":
        w.api(t, ident, ip, u, source, name, HOME, {"name": rng.choice(("/orders-api/prod/db_host",
                                                                       "/shared/feature_flags", "/datalake/etl/batch_size")),
                                                    "withDecryption": False}, error=w.failure(source, name, ident))
    elif fam == "cfn":
        stack = rng.choice(STACKS + ("orders-api-dev",))
        req = {"stackName": stack} if name == "DescribeStacks" else {"stackStatusFilter": ["UPDATE_COMPLETE"]}
        w.api(t, ident, ip, u, source, name, HOME, req,
              error=w.failure(source, name, ident, stack) if name == "DescribeStacks" else None)
    elif fam == "iamread":
        req = None
        target = ""
        if name in ("GetUser", "ListAccessKeys"):
            req = {"userName": ident.get("userName", "")} if ident.get("type") == "IAMUser" else None
            target = f"arn:aws:iam::{ACCOUNT}:user/{ident.get('userName', '')}"
        if name == "GetRole":
            role = rng.choice(("DeployRole-staging", "orders-api-role", "DataPipelineRole", "legacy-etl-role"))
            req = {"roleName": role}
            target = role
        err = w.failure(source, name, ident, target)
        if name == "ListRoles" and ident.get("userName") in ("k.oduya", "c.mendes"):
            err = w.denied(ident, "iam:ListRoles", f"arn:aws:iam::{ACCOUNT}:role/")
        w.iam_read(t, ident, ip, u, name, req, error=err)


def _engineers(w: _World, hour: datetime) -> None:
    rng = w.rng
    lvl = _intensity(hour)
    if lvl == 0:
        return
    for name in ENGINEERS + ADMINS + (NEW_HIRE,):
        if name == NEW_HIRE and hour < w.start + timedelta(days=0, hours=11):
            continue
        u = w.users[name]
        if rng.random() > (0.85 if lvl >= 0.45 else 0.25) * min(1.0, lvl * 3):
            continue
        home = lvl < 0.45 or (hour.weekday() == 4 and name in ("a.kowalski", "m.rossi"))
        ip = u.home_ip if home else u.ip
        # a console sign-in the first time each day someone is active
        day_key = f"{name}:{hour.date()}"
        console = name in ADMINS or rng.random() < 0.25
        if console and day_key not in w.console:
            w.console.pop(name, None)
            w.console[day_key] = "x"
            browser = UA_BROWSER if name.startswith(("j.", "r.", "p", "s", "t")) else UA_BROWSER_WIN
            t = hour + timedelta(seconds=rng.randrange(90, 600))
            slip = w.errors.random()
            if slip < 0.05:  # a mistyped password first
                w.console_login(t - timedelta(seconds=w.errors.randrange(20, 80)), name, ip, browser, ok=False)
            elif slip < 0.07:  # the e-mail address typed as the user name: CloudTrail hides it
                w.console_login(t - timedelta(seconds=w.errors.randrange(20, 80)), HIDDEN, ip, browser, ok=False)
            w.console_login(t, name, ip, browser)
            if name in ADMINS and lvl >= 0.45:
                # the console's own calls for the billing and health widgets come from AWS Internal
                ci = w.iam_user(name, console=True)
                w.api(t + timedelta(seconds=rng.randrange(20, 90)), ci, "AWS Internal", UA_CONSOLE,
                      "health.amazonaws.com", "DescribeEventAggregates", GLOBAL,
                      {"aggregateField": "eventTypeCategory", "filter": {"eventStatusCodes": ["open", "upcoming"]}})
                w.api(t + timedelta(seconds=rng.randrange(20, 90)), ci, "AWS Internal", UA_CONSOLE,
                      "ce.amazonaws.com", "GetCostAndUsage", GLOBAL,
                      {"granularity": "DAILY", "metrics": ["UnblendedCost"]})
        n = _poisson(rng, 5.5 * lvl * w.scale * (1.5 if name in ADMINS else 1.0))
        for _ in range(n):
            t = hour + timedelta(seconds=rng.randrange(3600))
            use_console = console and rng.random() < 0.35
            ident = w.iam_user(name, console=use_console)
            _engineer_call(w, t, ident, ip, UA_BROWSER if use_console else u.ua, use_console)
        # now and then someone switches into a role for a few calls
        if lvl >= 0.45 and rng.random() < 0.025 * w.scale:
            t = hour + timedelta(seconds=rng.randrange(3000))
            role = rng.choice(("ReadOnlyAudit", "DeployRole-staging"))
            s = w.assume_role(t, w.iam_user(name), ip, u.ua.format(cmd="sts.assume-role"), role, name,
                              mfa=True)
            for _ in range(rng.randrange(2, 6)):
                t += timedelta(seconds=rng.randrange(5, 120))
                _engineer_call(w, t, w.assumed(s), ip, u.ua, False)
        if name == "s.ng" and lvl >= 0.45 and f"gst:{hour.date()}" not in w.console:
            # s.ng's CLI uses MFA-backed session tokens, fetched once a day
            w.console[f"gst:{hour.date()}"] = "x"
            t = hour + timedelta(seconds=rng.randrange(30, 900))
            w.emit(w.record(t, w.iam_user(name), "sts.amazonaws.com", "GetSessionToken", GLOBAL, ip,
                            u.ua.format(cmd="sts.get-session-token"),
                            {"durationSeconds": 43200, "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.ng"},
                            {"credentials": {"accessKeyId": "ASIA" + w.ids.code(16),
                                             "expiration": _console_date(t + timedelta(hours=12)),
                                             "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40)}},
                            read_only=True))


OPEN_PRS = {"halyard-analytics/orders-api": (412, 415, 421), "halyard-analytics/invoice-renderer": (88, 90),
            "halyard-analytics/datalake-etl": (233, 236, 240)}


def _gha_login(w: _World, t: datetime, repo: str, ref: str, runner_ip: str) -> _Session:
    """A GitHub Actions job signs in through OIDC (AssumeRoleWithWebIdentity into github-actions-ci)."""
    sub = f"repo:{repo}:ref:{ref}"
    gh_key = "ASIA" + w.ids.code(16)
    rid = w.role_ids["github-actions-ci"]
    ident = {"type": "WebIdentityUser",
             "principalId": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:{sub}",
             "userName": sub,
             "identityProvider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"}
    w.emit(w.record(t, ident, "sts.amazonaws.com", "AssumeRoleWithWebIdentity", HOME, runner_ip, UA_GHA_SDK,
                    {"roleArn": w.role_arn("github-actions-ci"), "roleSessionName": "GitHubActions",
                     "durationSeconds": 3600},
                    {"credentials": {"accessKeyId": gh_key, "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40),
                                     "expiration": _console_date(t + timedelta(hours=1))},
                     "subjectFromWebIdentityToken": sub,
                     "assumedRoleUser": {"assumedRoleId": f"{rid}:GitHubActions",
                                         "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/github-actions-ci/GitHubActions"},
                     "provider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
                     "audience": "sts.amazonaws.com"},
                    read_only=True,
                    resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": w.role_arn("github-actions-ci")}]))
    return _Session("github-actions-ci", "GitHubActions", gh_key, t)


def _ci(w: _World, hour: datetime) -> None:
    """GitHub Actions: OIDC into github-actions-ci, then AssumeRole into a deploy role."""
    rng = w.rng
    lvl = _intensity(hour)
    lam = (2.0 * lvl if hour.weekday() < 5 else 0.15 * lvl) * w.scale
    if hour.hour == 6:  # nightly scheduled build
        lam += 0.8 * w.scale
    for _ in range(_poisson(rng, lam)):
        t = hour + timedelta(seconds=rng.randrange(3300))
        run = rng.randrange(13_000_000_000, 13_999_999_999)
        repo = rng.choice(("halyard-analytics/orders-api", "halyard-analytics/invoice-renderer",
                           "halyard-analytics/datalake-etl"))
        ref = "refs/heads/main" if rng.random() < 0.55 else f"refs/pull/{rng.choice(OPEN_PRS[repo])}/merge"
        prod = ref == "refs/heads/main" and rng.random() < 0.5
        runner_ip = f"198.51.100.{rng.randrange(120, 180)}"
        ci = _gha_login(w, t, repo, ref, runner_ip)
        t += timedelta(seconds=rng.randrange(20, 90))
        w.s3(t, w.assumed(ci), runner_ip, UA_CLI_RUNNER.format(cmd="s3.cp"), "PutObject", BUCKETS["artifacts"],
             f"builds/{repo.split('/')[1]}/{run}/bundle.zip", size=rng.randrange(2_000_000, 40_000_000))
        role = "DeployRole-prod" if prod else "DeployRole-staging"
        t += timedelta(seconds=rng.randrange(30, 240))
        dep = w.assume_role(t, w.assumed(ci), runner_ip, UA_GHA_SDK, role, "GitHubActions", region=HOME)
        di = w.assumed(dep)
        ua = UA_CLI_RUNNER
        t += timedelta(seconds=rng.randrange(3, 20))
        w.api(t, di, runner_ip, ua.format(cmd="sts.get-caller-identity"), "sts.amazonaws.com", "GetCallerIdentity", HOME)
        stack = {"halyard-analytics/orders-api": "orders-api", "halyard-analytics/invoice-renderer": "invoice-renderer",
                 "halyard-analytics/datalake-etl": "datalake-etl"}[repo]
        stack += "-prod" if prod else ("-staging" if stack != "datalake-etl" else "")
        t += timedelta(seconds=rng.randrange(3, 20))
        w.api(t, di, runner_ip, ua.format(cmd="cloudformation.describe-stacks"), "cloudformation.amazonaws.com",
              "DescribeStacks", HOME, {"stackName": stack})
        t += timedelta(seconds=rng.randrange(3, 20))
        w.s3(t, di, runner_ip, ua.format(cmd="s3.cp"), "GetObject", BUCKETS["artifacts"],
             f"builds/{repo.split('/')[1]}/{run}/bundle.zip", size=rng.randrange(2_000_000, 40_000_000))
        t += timedelta(seconds=rng.randrange(10, 60))
        w.api(t, di, runner_ip, ua.format(cmd="cloudformation.deploy"), "cloudformation.amazonaws.com",
              "CreateChangeSet", HOME, {"stackName": stack, "changeSetName": f"deploy-{run}",
                                        "changeSetType": "UPDATE"}, read_only=False)
        t += timedelta(seconds=rng.randrange(20, 90))
        w.api(t, di, runner_ip, ua.format(cmd="cloudformation.deploy"), "cloudformation.amazonaws.com",
              "ExecuteChangeSet", HOME, {"stackName": stack, "changeSetName": f"deploy-{run}"}, read_only=False)
        if "datalake" not in stack:
            fn = stack.rsplit("-", 1)[0]
            t += timedelta(seconds=rng.randrange(20, 90))
            # CloudFormation acts with the deploying role's session, from its own host
            w.api(t, dict(di, invokedBy="cloudformation.amazonaws.com"), "cloudformation.amazonaws.com",
                  "cloudformation.amazonaws.com", "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", HOME,
                  {"functionName": fn, "s3Bucket": BUCKETS["artifacts"]}, read_only=False)


def _lambdas(w: _World, hour: datetime) -> None:
    rng = w.rng
    lvl = max(_intensity(hour), 0.15)
    for fn, role in LAMBDAS.items():
        base = {"orders-api": 1.0, "invoice-renderer": 0.5, "thumbnailer": 0.35}[fn]
        s = w.lambda_sessions.get(fn)
        if s is None or hour - s.created >= timedelta(hours=6) or rng.random() < 0.5 * lvl:
            t = hour + timedelta(seconds=rng.randrange(600))
            ident = w.service("lambda.amazonaws.com")
            s = w.assume_role(t, ident, "lambda.amazonaws.com", "lambda.amazonaws.com", role, fn, region=HOME,
                              duration=43200)
            w.lambda_sessions[fn] = s
        ident = w.assumed(s)
        ip = "198.51.100.241" if fn != "thumbnailer" else "198.51.100.242"
        for _ in range(_poisson(rng, 7.0 * base * lvl * w.scale)):
            t = hour + timedelta(seconds=rng.randrange(600, 3600))
            r = rng.random()
            if fn == "orders-api":
                if r < 0.4:
                    w.api(t, ident, ip, UA_BOTO_LAMBDA, "kms.amazonaws.com", "Decrypt", HOME,
                          {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                           "encryptionContext": {"aws:lambda:FunctionArn": f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:{fn}"}},
                          resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                                      "ARN": f"arn:aws:kms:{HOME}:{ACCOUNT}:key/6f2a9c41-0d7e-4b1a-9e53-2c8d1f0b7a64"}],
                          error=w.failure("kms.amazonaws.com", "Decrypt", ident))
                elif r < 0.7:
                    w.api(t, ident, ip, UA_BOTO_LAMBDA, "secretsmanager.amazonaws.com", "GetSecretValue", HOME,
                          {"secretId": "prod/orders-api/db"},
                          error=w.failure("secretsmanager.amazonaws.com", "GetSecretValue", ident))
                else:
                    w.api(t, ident, ip, UA_BOTO_LAMBDA, "ssm.amazonaws.com", "GetParameter", HOME,
                          {"name": "/orders-api/prod/feature_flags", "withDecryption": True},
                          error=w.failure("ssm.amazonaws.com", "GetParameter", ident))
            elif fn == "invoice-renderer":
                if r < 0.5:
                    d = min(28, hour.day)
                    w.s3(t, ident, ip, UA_BOTO_LAMBDA, "PutObject", BUCKETS["finance"],
                         f"invoices/2026/02/{d:02d}/INV-{rng.randrange(100000, 999999)}.pdf",
                         size=rng.randrange(40_000, 400_000))
                else:
                    w.s3(t, ident, ip, UA_BOTO_LAMBDA, "GetObject", BUCKETS["assets"],
                         rng.choice(("templates/invoice_v4.html", "fonts/Inter-Regular.woff2", "img/logo.png")),
                         size=rng.randrange(10_000, 300_000))
            else:
                k = f"uploads/{w.ids.hexs(12)}.jpg"
                w.s3(t, ident, ip, UA_BOTO_LAMBDA, "GetObject", BUCKETS["assets"], k,
                     size=rng.randrange(200_000, 6_000_000))
                w.s3(t + timedelta(seconds=2), ident, ip, UA_BOTO_LAMBDA, "PutObject", BUCKETS["assets"],
                     k.replace("uploads/", "thumbs/"), size=rng.randrange(8_000, 60_000))


def _pipeline(w: _World, hour: datetime) -> None:
    """The nightly ETL task (ECS) reads the finance exports and writes the data lake."""
    if hour.hour != 2:
        return
    rng = w.rng
    t = hour + timedelta(minutes=30, seconds=rng.randrange(40))
    task = w.ids.hexs(32)
    s = w.assume_role(t, w.service("ecs-tasks.amazonaws.com"), "ecs-tasks.amazonaws.com",
                      "ecs-tasks.amazonaws.com", "DataPipelineRole", task, region=HOME, duration=21600)
    ident = w.assumed(s)
    ip = "198.51.100.230"
    d = min(28, max(1, (hour - timedelta(days=1)).day))
    t += timedelta(seconds=rng.randrange(5, 30))
    w.s3(t, ident, ip, UA_BOTO_EC2, "ListObjects", BUCKETS["finance"], size=4200,
         params={"list-type": "2", "prefix": "exports/2026/02/", "encoding-type": "url"})
    for k in FIN_KEYS[:2] + FIN_KEYS[3:]:
        t += timedelta(seconds=rng.randrange(4, 40))
        w.s3(t, ident, ip, UA_BOTO_EC2, "GetObject", BUCKETS["finance"], k.format(d=d),
             size=_finance_size(rng, k))
    for part in range(max(1, int(round(3 * w.scale)))):
        t += timedelta(seconds=rng.randrange(10, 90))
        w.s3(t, ident, ip, UA_BOTO_EC2, "PutObject", BUCKETS["lake"],
             f"curated/orders/dt=2026-02-{d:02d}/part-0000{part}.parquet", size=rng.randrange(1_000_000, 9_000_000))
    t += timedelta(seconds=rng.randrange(10, 90))
    w.api(t, ident, ip, UA_BOTO_EC2, "glue.amazonaws.com", "StartJobRun", HOME,
          {"jobName": "curate-orders", "arguments": {"--dt": f"2026-02-{d:02d}"}}, read_only=False)


def _analysts(w: _World, hour: datetime) -> None:
    """Analysts sign in through IAM Identity Center (SAML) and query the lake with Athena."""
    rng = w.rng
    lvl = _intensity(hour)
    if lvl < 0.45 or hour.weekday() >= 5:
        return
    role = "AWSReservedSSO_DataAnalyst_3f1c2a9e5b7d4e60"
    for email in ANALYSTS:
        key = f"saml:{email}:{hour.date()}"
        if key not in w.console and rng.random() < 0.35:
            t = hour + timedelta(seconds=rng.randrange(60, 1800))
            skey = "ASIA" + w.ids.code(16)
            # the portal sign-in (Identity Center names the user only in additionalEventData)
            idc = {"type": "IdentityCenterUser", "accountId": ACCOUNT, "credentialId": w.ids.uuid(),
                   "onBehalfOf": {"userId": w.idc_ids[email],
                                  "identityStoreArn": f"arn:aws:identitystore::{ACCOUNT}:identitystore/{IDENTITY_STORE}"}}
            w.emit(w.record(t - timedelta(seconds=rng.randrange(20, 50)), idc, "signin.amazonaws.com",
                            "UserAuthentication", HOME, VPN_IP, UA_BROWSER, None, None, read_only=False,
                            event_type="AwsServiceEvent",
                            add={"UserName": email, "CredentialType": "PASSWORD", "AuthWorkflowID": w.ids.uuid(),
                                 "LoginTo": f"https://{IDENTITY_STORE}.awsapps.com/start/"},
                            extra={"serviceEventDetails": {"UserAuthentication": "Success"}}))
            ident = {"type": "SAMLUser", "principalId": f"Jf3vQ0m9bL7kP2xW8rT4yU6n1cA=:{email}",
                     "userName": email, "identityProvider": "Jf3vQ0m9bL7kP2xW8rT4yU6n1cA="}
            rid = w.role_ids[role]
            w.emit(w.record(t, ident, "sts.amazonaws.com", "AssumeRoleWithSAML", GLOBAL, VPN_IP, UA_BROWSER,
                            {"sAMLAssertionID": "_" + w.ids.hexs(32), "roleSessionName": email,
                             "principalArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_e41c7b2a9d3f6058_DO_NOT_DELETE",
                             "roleArn": w.role_arn(role), "durationSeconds": 43200},
                            {"credentials": {"accessKeyId": skey, "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40),
                                             "expiration": _console_date(t + timedelta(hours=12))},
                             "assumedRoleUser": {"assumedRoleId": f"{rid}:{email}",
                                                 "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{email}"},
                             "subject": email, "subjectType": "persistent", "audience": "https://signin.aws.amazon.com/saml"},
                            read_only=True,
                            resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": w.role_arn(role)}]))
            w.console[key] = skey
            signed_in = _Session(role, email, skey, t, True)
            w.sso_sessions[key] = signed_in
            # the SSO console sign-in: an assumed-role session of the permission set's role
            sso = {k: v for k, v in w.assumed(signed_in).items() if k != "accessKeyId"}
            w.emit(w.record(t + timedelta(seconds=2), sso, "signin.amazonaws.com", "ConsoleLogin", GLOBAL, VPN_IP,
                            UA_BROWSER, None, {"ConsoleLogin": "Success"}, read_only=False,
                            event_type="AwsConsoleSignIn",
                            add={"LoginTo": "https://eu-west-1.console.aws.amazon.com/athena/home", "MobileVersion": "No",
                                 "MFAUsed": "No"}))
        s = w.sso_sessions.get(key)
        if s is None:
            continue
        ident = w.assumed(s)
        for _ in range(_poisson(rng, 0.8 * lvl * w.scale)):
            t = hour + timedelta(seconds=rng.randrange(3600))
            if t <= s.created:
                t = s.created + timedelta(seconds=rng.randrange(10, 600))
            qid = w.ids.uuid()
            w.api(t, ident, VPN_IP, UA_BROWSER, "athena.amazonaws.com", "StartQueryExecution", HOME,
                  {"queryString": "***OMITTED***", "workGroup": "analysts",
                   "queryExecutionContext": {"database": "curated"}}, {"queryExecutionId": qid}, read_only=False)
            w.api(t + timedelta(seconds=rng.randrange(2, 30)), ident, VPN_IP, UA_BROWSER, "athena.amazonaws.com",
                  "GetQueryResults", HOME, {"queryExecutionId": qid, "maxResults": 100},
                  error=w.failure("athena.amazonaws.com", "GetQueryResults", ident))
            if rng.random() < 0.4:
                db = rng.choice(("curated", "curated", "curated_v2"))
                w.api(t + timedelta(seconds=rng.randrange(30, 90)), ident, VPN_IP, UA_BROWSER, "glue.amazonaws.com",
                      "GetTables", HOME, {"databaseName": db},
                      error=w.failure("glue.amazonaws.com", "GetTables", ident, db))
            if rng.random() < 0.25:
                d = min(28, hour.day)
                w.s3(t + timedelta(seconds=rng.randrange(30, 200)), ident, VPN_IP, UA_BROWSER, "GetObject",
                     BUCKETS["lake"], rng.choice(LAKE_KEYS).format(d=d, p=rng.randrange(4)),
                     size=rng.randrange(500_000, 20_000_000))


def _backup(w: _World, hour: datetime) -> None:
    if hour.hour != 1:
        return
    rng = w.rng
    u = w.users["svc-backup"]
    ident = w.iam_user("svc-backup")
    t = hour + timedelta(minutes=5, seconds=rng.randrange(60))
    w.s3(t, ident, u.ip, UA_BOTO_EC2, "ListObjects", BUCKETS["lake"], size=8800,
         params={"list-type": "2", "prefix": "curated/", "encoding-type": "url"})
    for _ in range(max(1, int(round(6 * w.scale)))):
        t += timedelta(seconds=rng.randrange(5, 60))
        k = rng.choice(LAKE_KEYS).format(d=min(28, hour.day), p=rng.randrange(4))
        size = w.object_size(BUCKETS["lake"], k, rng.randrange(1_000_000, 30_000_000))  # a copy keeps its size
        w.s3(t, ident, u.ip, UA_BOTO_EC2, "PutObject", BUCKETS["backup"], "daily/" + k, size=size)
    t += timedelta(seconds=30)
    w.api(t, ident, u.ip, UA_BOTO_EC2, "ec2.amazonaws.com", "CreateSnapshot", HOME,
          {"volumeId": "vol-0b7e2f9a4c1d3e865", "description": "nightly backup"}, read_only=False)
    w.api(t + timedelta(seconds=40), ident, u.ip, UA_BOTO_EC2, "ec2.amazonaws.com", "DescribeSnapshots", HOME,
          {"ownersSet": {"items": [{"owner": "self"}]}, "maxResults": 100})
    # svc-reporting pulls a daily KPI file from the finance bucket for the BI tool
    r = w.users["svc-reporting"]
    t = hour + timedelta(hours=5, minutes=rng.randrange(10, 40))
    d = min(28, max(1, (hour - timedelta(days=1)).day))
    w.s3(t, w.iam_user("svc-reporting"), r.ip, UA_BOTO_EC2, "GetObject", BUCKETS["finance"],
         FIN_KEYS[0].format(d=d), size=_finance_size(rng, FIN_KEYS[0]))
    # the BI dashboard gets a federated session from svc-reporting's key and queries the lake with it
    t += timedelta(seconds=rng.randrange(30, 120))
    fed_key = "ASIA" + w.ids.code(16)
    w.emit(w.record(t, w.iam_user("svc-reporting"), "sts.amazonaws.com", "GetFederationToken", GLOBAL, r.ip,
                    UA_BOTO_EC2, {"name": "bi-dashboard", "durationSeconds": 3600},
                    {"credentials": {"accessKeyId": fed_key, "sessionToken": "IQoJb3JpZ2luX2VjE" + w.ids.code(40),
                                     "expiration": _console_date(t + timedelta(hours=1))},
                     "federatedUser": {"arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bi-dashboard",
                                       "federatedUserId": f"{ACCOUNT}:bi-dashboard"}, "packedPolicySize": 6},
                    read_only=False))
    fed = {"type": "FederatedUser", "principalId": f"{ACCOUNT}:bi-dashboard",
           "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bi-dashboard", "accountId": ACCOUNT, "accessKeyId": fed_key,
           "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": r.uid,
                                                "arn": f"arn:aws:iam::{ACCOUNT}:user/svc-reporting",
                                                "accountId": ACCOUNT, "userName": "svc-reporting"},
                              "attributes": {"creationDate": _iso(t), "mfaAuthenticated": "false"}}}
    for _ in range(rng.randrange(2, 5)):
        t += timedelta(seconds=rng.randrange(5, 60))
        qid = w.ids.uuid()
        w.api(t, fed, r.ip, UA_BOTO_EC2, "athena.amazonaws.com", "StartQueryExecution", HOME,
              {"queryString": "***OMITTED***", "workGroup": "bi"}, {"queryExecutionId": qid}, read_only=False)
        w.api(t + timedelta(seconds=rng.randrange(3, 20)), fed, r.ip, UA_BOTO_EC2, "athena.amazonaws.com",
              "GetQueryResults", HOME, {"queryExecutionId": qid, "maxResults": 1000},
              error=w.failure("athena.amazonaws.com", "GetQueryResults", fed))


UA_PARTNER = ("Boto3/1.35.40 md/Botocore#1.35.40 ua/2.0 os/linux#5.10.226-214.880.amzn2.x86_64 md/arch#x86_64 "
              "lang/python#3.11.10 md/pyimpl#CPython exec-env/AWS_ECS_FARGATE cfg/retry-mode#standard Botocore/1.35.40")
# What AWS Config finds when it records each bucket's settings (most buckets have no lifecycle or policy).
CONFIG_BUCKET_ERRORS = {
    "GetBucketLifecycle": ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    "GetBucketPolicy": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    "GetBucketReplication": ("ReplicationConfigurationNotFoundError", "The replication configuration was not found"),
}


def _services(w: _World, hour: datetime) -> None:
    """AWS services at work: CloudTrail itself, and Config, Auto Scaling and EKS through their
    service-linked roles (assumed by the service, calling from the service's own host)."""
    rng = w.rng
    t = hour + timedelta(minutes=rng.randrange(5, 55))
    w.s3(t, w.service("cloudtrail.amazonaws.com"), "cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com",
         "GetBucketAcl", BUCKETS["trail"], data=False, params={"acl": ""})
    if hour.hour % 6 == 0:
        host = "config.amazonaws.com"
        t = hour + timedelta(minutes=rng.randrange(0, 20))
        cfg = w.assumed(w.service_session(host, t))
        w.api(t, cfg, host, host, "ec2.amazonaws.com", "DescribeInstances", HOME, {"instancesSet": {}, "filterSet": {}})
        w.api(t + timedelta(seconds=3), cfg, host, host, "ec2.amazonaws.com", "DescribeSecurityGroups", HOME,
              {"filterSet": {}})
        if hour.hour == 6:
            for i, b in enumerate(sorted(BUCKETS.values())):
                for j, name in enumerate(("GetBucketLifecycle", "GetBucketPolicy", "GetBucketReplication")):
                    has = (name == "GetBucketLifecycle" and b in (BUCKETS["trail"], BUCKETS["backup"])) or (
                        name == "GetBucketPolicy" and b in (BUCKETS["trail"], BUCKETS["finance"]))
                    w.s3(t + timedelta(seconds=10 + 3 * i + j), cfg, host, host, name, b, data=False,
                         params={name[9:].lower(): ""}, error=None if has else CONFIG_BUCKET_ERRORS[name])
    if hour.hour % 3 == 0:
        host = "autoscaling.amazonaws.com"
        t = hour + timedelta(minutes=rng.randrange(20, 40))
        asg = w.assumed(w.service_session(host, t))
        w.api(t, asg, host, host, "ec2.amazonaws.com", "DescribeInstanceStatus", HOME,
              {"instancesSet": {"items": [{"instanceId": i} for i in INSTANCES[:2]]}, "filterSet": {},
               "includeAllInstances": False})
    if hour.hour % 4 == 1:
        host = "eks.amazonaws.com"
        t = hour + timedelta(minutes=rng.randrange(40, 58))
        eks = w.assumed(w.service_session(host, t))
        w.api(t, eks, host, host, "ec2.amazonaws.com", "DescribeNetworkInterfaces", HOME,
              {"networkInterfaceIdSet": {}, "filterSet": {"items": [{"name": "tag:cluster.k8s.amazonaws.com/name",
                                                                    "valueSet": {"items": [{"value": "datalake"}]}}]}})
        w.api(t + timedelta(seconds=1), eks, host, host, "ec2.amazonaws.com", "DescribeSubnets", HOME,
              {"subnetSet": {}, "filterSet": {}})
    if hour.hour == 7:
        # the security vendor's account assumes its audit role every morning and looks around
        t = hour + timedelta(minutes=rng.randrange(0, 30))
        partner = {"type": "AWSAccount", "principalId": "AROAZT3K7QWXV2EXAMPLE:audit-scanner",
                   "accountId": PARTNER_ACCOUNT}
        s = w.assume_role(t, partner, PARTNER_IP, UA_PARTNER, "SecurityAuditRole", "audit-scanner")
        a = w.assumed(s)
        for name, source, req in (("GetAccountPasswordPolicy", "iam.amazonaws.com", None),
                                  ("ListUsers", "iam.amazonaws.com", {"maxItems": 1000}),
                                  ("ListRoles", "iam.amazonaws.com", {"maxItems": 1000}),
                                  ("ListBuckets", "s3.amazonaws.com", None),
                                  ("DescribeTrails", "cloudtrail.amazonaws.com", {"includeShadowTrails": True}),
                                  ("DescribeSecurityGroups", "ec2.amazonaws.com", {"filterSet": {}})):
            t += timedelta(seconds=rng.randrange(1, 6))
            if source == "s3.amazonaws.com":
                w.s3(t, a, PARTNER_IP, UA_PARTNER, name, None, data=False, region=GLOBAL, size=1900)
            elif source == "iam.amazonaws.com":
                w.iam_read(t, a, PARTNER_IP, UA_PARTNER, name, req)
            else:
                w.api(t, a, PARTNER_IP, UA_PARTNER, source, name, HOME, req)


def _admin_script(w: _World) -> None:
    """The week's benign identity changes, at fixed times."""
    s0 = w.start
    rng = w.rng

    def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
        return s0 + timedelta(days=day, hours=hh, minutes=mm, seconds=ss)

    def cua(name: str, cmd: str) -> str:
        return w.users[name].ua.format(cmd=cmd)

    days = w.days
    if days < 1:
        return
    # Monday: j.okafor onboards the new hire n.castillo
    j = w.iam_user("j.okafor", console=True)
    ip = OFFICE_IPS[0]
    t = at(0, 10, 12, 31)
    w.iam_write(t, j, ip, UA_CONSOLE, "CreateUser", {"userName": NEW_HIRE, "tags": [{"key": "team", "value": "data"}]},
                {"user": {"path": "/", "userName": NEW_HIRE, "userId": w.users[NEW_HIRE].uid,
                          "arn": f"arn:aws:iam::{ACCOUNT}:user/{NEW_HIRE}", "createDate": _console_date(t),
                          "tags": [{"key": "team", "value": "data"}]}})
    w.iam_write(at(0, 10, 12, 58), j, ip, UA_CONSOLE, "CreateLoginProfile",
                {"userName": NEW_HIRE, "passwordResetRequired": True},
                {"loginProfile": {"userName": NEW_HIRE, "createDate": _console_date(at(0, 10, 12, 58)),
                                  "passwordResetRequired": True}})
    w.iam_write(at(0, 10, 13, 20), j, ip, UA_CONSOLE, "AddUserToGroup", {"groupName": "engineers", "userName": NEW_HIRE})
    w.iam_write(at(0, 10, 13, 41), j, ip, UA_CONSOLE, "AttachUserPolicy",
                {"userName": NEW_HIRE, "policyArn": "arn:aws:iam::aws:policy/IAMUserChangePassword"})
    w.create_access_key(at(0, 10, 14, 5), j, ip, UA_CONSOLE, NEW_HIRE)
    w.console_login(at(0, 11, 2, 44), NEW_HIRE, OFFICE_IPS[0], UA_BROWSER, mfa=False)
    w.emit(w.record(at(0, 11, 6, 10), w.iam_user(NEW_HIRE, console=True), "iam.amazonaws.com", "CreateVirtualMFADevice",
                    GLOBAL, OFFICE_IPS[0], UA_CONSOLE, {"virtualMFADeviceName": NEW_HIRE, "path": "/"},
                    {"virtualMFADevice": {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{NEW_HIRE}"}}, read_only=False))
    w.emit(w.record(at(0, 11, 6, 52), w.iam_user(NEW_HIRE, console=True), "iam.amazonaws.com", "EnableMFADevice",
                    GLOBAL, OFFICE_IPS[0], UA_CONSOLE,
                    {"userName": NEW_HIRE, "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{NEW_HIRE}"}, None,
                    read_only=False))
    if days < 2:
        return
    # Tuesday: s.haddad lost her phone; m.lindqvist removes the old device, she enrols a new one
    m = w.iam_user("m.lindqvist", console=True)
    w.iam_write(at(1, 9, 47, 12), m, OFFICE_IPS[1], UA_CONSOLE, "DeactivateMFADevice",
                {"userName": "s.haddad", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"})
    w.iam_write(at(1, 9, 47, 30), m, OFFICE_IPS[1], UA_CONSOLE, "DeleteVirtualMFADevice",
                {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"})
    sh = w.iam_user("s.haddad", console=True)
    w.iam_write(at(1, 10, 3, 8), sh, OFFICE_IPS[0], UA_CONSOLE, "CreateVirtualMFADevice",
                {"virtualMFADeviceName": "s.haddad", "path": "/"},
                {"virtualMFADevice": {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"}})
    w.iam_write(at(1, 10, 3, 51), sh, OFFICE_IPS[0], UA_CONSOLE, "EnableMFADevice",
                {"userName": "s.haddad", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/s.haddad"})
    # the root user signs in once to check billing
    w.console_login(at(1, 16, 20, 3), "root", OFFICE_IPS[1], UA_BROWSER, root=True)
    root = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT,
            "accessKeyId": "ASIA" + w.ids.code(16),
            "sessionContext": {"attributes": {"creationDate": _iso(at(1, 16, 20, 3)), "mfaAuthenticated": "true"}}}
    w.iam_read(at(1, 16, 21, 40), root, OFFICE_IPS[1], UA_CONSOLE, "GetAccountSummary")
    w.iam_read(at(1, 16, 22, 2), root, OFFICE_IPS[1], UA_CONSOLE, "ListMFADevices")
    w.api(at(1, 16, 24, 30), root, OFFICE_IPS[1], UA_CONSOLE, "ce.amazonaws.com", "GetCostAndUsage", GLOBAL,
          {"granularity": "MONTHLY", "metrics": ["UnblendedCost"]})
    if days < 3:
        return
    # Wednesday: priya.raman rotates her own key; j.okafor sets up a Glue role
    p = w.iam_user("priya.raman")
    old = w.users["priya.raman"].key
    _, new = w.create_access_key(at(2, 11, 30, 17), p, OFFICE_IPS[1], cua("priya.raman", "iam.create-access-key"), None)
    w.iam_write(at(2, 11, 41, 2), p, OFFICE_IPS[1], cua("priya.raman", "iam.update-access-key"), "UpdateAccessKey",
                {"userName": "priya.raman", "accessKeyId": old, "status": "Inactive"})
    w.users["priya.raman"].key = new
    j = w.iam_user("j.okafor", console=True)
    trust = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"glue.amazonaws.com"},'
             '"Action":"sts:AssumeRole"}]}')
    w.iam_write(at(2, 15, 40, 9), j, OFFICE_IPS[0], UA_CONSOLE, "CreateRole",
                {"roleName": "analytics-glue-role", "assumeRolePolicyDocument": trust, "path": "/"},
                {"role": {"roleName": "analytics-glue-role", "roleId": w.role_ids["analytics-glue-role"],
                          "arn": w.role_arn("analytics-glue-role"), "path": "/",
                          "createDate": _console_date(at(2, 15, 40, 9))}})
    w.iam_write(at(2, 15, 40, 44), j, OFFICE_IPS[0], UA_CONSOLE, "AttachRolePolicy",
                {"roleName": "analytics-glue-role", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"})
    w.iam_write(at(2, 15, 41, 10), j, OFFICE_IPS[0], UA_CONSOLE, "AttachRolePolicy",
                {"roleName": "analytics-glue-role", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})
    if days < 4:
        return
    # Thursday: a prod deployment changes the orders-api role; r.banerjee gives l.moreau an inline policy
    gha = _gha_login(w, at(3, 9, 46, 40), "halyard-analytics/orders-api", "refs/heads/main", "198.51.100.131")
    dep = w.assume_role(at(3, 9, 48, 2), w.assumed(gha), "198.51.100.131", UA_GHA_SDK, "DeployRole-prod",
                        "GitHubActions", region=HOME)
    cfn = dict(w.assumed(dep), invokedBy="cloudformation.amazonaws.com")
    w.iam_write(at(3, 9, 50, 37), cfn, "cloudformation.amazonaws.com", "cloudformation.amazonaws.com",
                "AttachRolePolicy", {"roleName": "orders-api-role",
                                     "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/orders-api-sqs-publish"})
    w.iam_write(at(3, 9, 50, 39), cfn, "cloudformation.amazonaws.com", "cloudformation.amazonaws.com",
                "PutRolePolicy", {"roleName": "orders-api-role", "policyName": "xray-write",
                                  "policyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                                                    '"Action":["xray:PutTraceSegments"],"Resource":"*"}]}'})
    w.users["priya.raman"].key = new
    w.iam_write(at(3, 10, 5, 55), p, OFFICE_IPS[1], cua("priya.raman", "iam.delete-access-key"), "DeleteAccessKey",
                {"userName": "priya.raman", "accessKeyId": old})
    r = w.iam_user("r.banerjee", console=True)
    w.iam_write(at(3, 16, 18, 26), r, OFFICE_IPS[0], UA_CONSOLE, "PutUserPolicy",
                {"userName": "l.moreau", "policyName": "athena-results-write",
                 "policyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],'
                                   '"Resource":"arn:aws:s3:::halyard-datalake-curated/athena-results/*"}]}'})
    w.iam_write(at(3, 16, 25, 3), r, OFFICE_IPS[0], UA_CONSOLE, "UpdateLoginProfile",
                {"userName": "k.oduya", "passwordResetRequired": True})
    # a mistyped password for l.moreau on Thursday afternoon
    w.console_login(at(3, 14, 2, 10), "l.moreau", OFFICE_IPS[1], UA_BROWSER_WIN, mfa=False, ok=False)
    if days < 5:
        return
    # Friday: t.nakamura replaces his own MFA device; r.banerjee gives svc-reporting a second key
    tn = w.iam_user("t.nakamura", console=True)
    w.iam_write(at(4, 13, 10, 40), tn, OFFICE_IPS[1], UA_CONSOLE, "DeactivateMFADevice",
                {"userName": "t.nakamura", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/t.nakamura"})
    w.iam_write(at(4, 13, 11, 5), tn, OFFICE_IPS[1], UA_CONSOLE, "EnableMFADevice",
                {"userName": "t.nakamura", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/t.nakamura-pixel8"})
    _, rep_key = w.create_access_key(at(4, 15, 2, 18), r, OFFICE_IPS[0], UA_CONSOLE, "svc-reporting")
    w.iam_write(at(4, 15, 3, 1), r, OFFICE_IPS[0], UA_CONSOLE, "TagUser",
                {"userName": "svc-reporting", "tags": [{"key": "rotated", "value": "2026-02-27"}]})
    w.iam_write(at(4, 15, 3, 40), r, OFFICE_IPS[0], UA_CONSOLE, "DetachUserPolicy",
                {"userName": "n.castillo", "policyArn": "arn:aws:iam::aws:policy/IAMUserChangePassword"})
    _ = rng


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


# ----------------------------------------------------------------------------------

MAX_RECORDS_PER_FILE = 1000  # CloudTrail delivers small files (every few minutes); so do we at any scale


def _write_hour(out: Path, hour: datetime, records: list[dict[str, Any]], rng: random.Random) -> list[Path]:
    by_region: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_region.setdefault(r["awsRegion"], []).append(r)
    paths = []
    for region in sorted(by_region):
        recs_all = sorted(by_region[region], key=lambda r: (r["eventTime"], r["eventID"]))
        folder = out / "AWSLogs" / ACCOUNT / "CloudTrail" / region / hour.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        for first in range(0, len(recs_all), MAX_RECORDS_PER_FILE):
            recs = recs_all[first:first + MAX_RECORDS_PER_FILE]
            stamp = (hour + timedelta(minutes=60 + rng.randrange(1, 9))).strftime("%Y%m%dT%H%MZ")
            suffix = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                             for _ in range(16))
            path = folder / f"{ACCOUNT}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"
            payload = json.dumps({"Records": recs}, separators=(",", ":")).encode()
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "wb") as fh:
                with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=6) as gz:
                    gz.write(payload)
            tmp.replace(path)
            paths.append(path)
    return paths


def generate(*, seed: int, days: int, out: Path, start: str | None = None, scale: float = 1.0) -> GenerateSummary:
    """Write ``days`` days of CloudTrail for the Halyard account under ``out``/AWSLogs/.

    ``scale`` multiplies the benign activity (1.0 is the exercise; the benchmark uses more).
    """
    if days < 1 or days > 3660:
        raise CtlabError(f"--days must be between 1 and 3660, got {days}")
    try:
        start_day = datetime.strptime(start or DEFAULT_START, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CtlabError(f"--start must be a date like 2026-02-23, got {start!r}") from None
    out = Path(out)
    existing = out / "AWSLogs"
    if existing.exists() and any(existing.rglob("*.json.gz")):
        raise CtlabError(f"{existing} already holds CloudTrail files; choose an empty folder")
    w = _World(seed, scale)
    w.start = start_day
    w.days = days
    _admin_script(w)
    story = _plant_attack(w)
    file_rng = random.Random(f"ctlab-files-{seed}")
    n_files = n_events = 0
    regions: set[str] = set()
    for h in range(days * 24):
        hour = start_day + timedelta(hours=h)
        for behaviour in (_engineers, _ci, _lambdas, _pipeline, _analysts, _backup, _services):
            behaviour(w, hour)
        # sequences that spill past the hour were filed under the next hour already
        records = w.records_by_hour.pop(hour, [])
        if not records:
            continue
        paths = _write_hour(out, hour, records, file_rng)
        n_files += len(paths)
        n_events += len(records)
        regions.update(r["awsRegion"] for r in records)
    # anything scheduled after the last hour is dropped (a sequence running past the end)
    end = start_day + timedelta(days=days) - timedelta(seconds=1)
    return GenerateSummary(out=out, files=n_files, events=n_events, start=_iso(start_day), end=_iso(end),
                           regions=tuple(sorted(regions)), story=story)
