"""The world the events are made in: identities, the state that must stay consistent, and
the record makers of each event family."""

from __future__ import annotations

import math
import random
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ctlab.data.generate.cast import (
    ACCOUNT,
    ADMINS,
    ANALYSTS,
    BUCKETS,
    ENGINEERS,
    FIN_SIZES,
    GLOBAL,
    HIDDEN,
    HOME,
    NEW_HIRE,
    OFFICE_IPS,
    ROLES,
    SERVICE_ROLES,
    SERVICE_USERS,
    UA_BOTO_EC2,
    UA_CLI_LINUX,
    UA_CLI_MAC,
    UA_CONSOLE,
    bucket_region,
)
from ctlab.data.generate.failures import BACKGROUND_ERRORS, ERROR_RATE

if TYPE_CHECKING:
    from ctlab.data.generate.story import Story

_ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _meta_bytes(name: str, bucket: str, key: str, size: int) -> int:
    """Response size of an S3 call that returns metadata: fixed for a given object or bucket."""
    h = zlib.crc32(f"{name}:{bucket}/{key}".encode())
    base = {"GetObjectTagging": 160, "GetObjectAcl": 560, "GetObjectAttributes": 290, "GetObjectRetention": 180,
            "GetBucketLocation": 128, "GetBucketAcl": 520, "GetBucketPolicy": 610, "GetBucketVersioning": 120,
            "GetBucketEncryption": 230}.get(name, 200)
    return base + h % 240 + (size or 0)




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


def _finance_size(rng: random.Random, key: str) -> int:
    name = key.rpartition("/")[2]
    family = next((f for f in FIN_SIZES if name.startswith(f + "_")), "")
    lo, hi = FIN_SIZES.get(family, (1_000_000, 5_000_000))
    return rng.randrange(lo, hi)


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
    story: Story
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
        self.node_sessions: dict[str, _Session] = {}
        self.console: dict[str, str] = {}  # user -> console session key (ASIA...)
        self.records_by_hour: dict[datetime, list[dict[str, Any]]] = {}
        self.set_buckets(BUCKETS)

    def set_buckets(self, buckets: dict[str, str]) -> None:
        """The week's buckets by role (the story names the finance one) and the region each lives in."""
        self.buckets = dict(buckets)
        self.bucket_region = bucket_region(self.buckets)

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

    def node_session(self, node: str, t: datetime) -> _Session:
        """The instance role session of EKS node ``node`` (EC2 refreshes it every six hours)."""
        s = self.node_sessions.get(node)
        if s is None or t - s.created >= timedelta(hours=5) or t < s.created:  # calls spread over the hour
            issue = max(t - timedelta(seconds=2), t.replace(minute=0, second=0))
            s = self.assume_role(issue, self.service("ec2.amazonaws.com"), "ec2.amazonaws.com", "ec2.amazonaws.com",
                                 "eks-node-role", node, region=HOME, duration=21600)
            self.node_sessions[node] = s
        return s

    def service_event(self, t: datetime, host: str, name: str, region: str, details: dict[str, Any],
                      resources: list[Any] | None) -> dict[str, Any]:
        """An event a service records on its own: no identity type, only the account and the service."""
        ident = {"accountId": ACCOUNT, "invokedBy": host}
        return self.emit(self.record(t, ident, host, name, region, host, host, None, None,
                                     read_only=False, resources=resources, event_type="AwsServiceEvent",
                                     extra={"serviceEventDetails": details}))

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
            region = self.bucket_region.get(bucket, region)  # a bucket's calls are logged in its region
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


