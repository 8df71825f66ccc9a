"""CloudTrail records -> cloud_iam.csv and cloud_api.csv, streaming.

Input: files or folder trees of ``.json`` / ``.json.gz`` (also ``.jsonl``, ``.ndjson``, gzip or
not). A file may hold a ``{"Records": [...]}`` wrapper (CloudTrail's S3 delivery), a bare
array of records, a single record, or one record (or one Records wrapper) per line, as SIEM and
CloudTrail Lake exports write. Gzip is recognised by its magic bytes, not by the name; a UTF-8
byte-order mark is skipped. CloudTrail Insights records (and CloudTrail-Insight folders) are left
out and counted: they describe call rates, not calls. Every eventTime is written in UTC as
``YYYY-MM-DDTHH:MM:SSZ`` (see ``utc_time``); a Logstash or Elastic export that renamed it to
``@timestamp`` (with milliseconds) is read as it is.

Memory stays flat: records are read one file (or one line) at a time and turned into CSV lines
at once; lines are sorted by (timestamp, event_id) in bounded chunks spilled to temporary files
and merged at the end. A large input is read by one worker process per core, each taking a few
consecutive files at a time and writing its own sorted chunks; the parent merges them all, so
the output does not depend on the number of workers. The two CSVs are written to temporary
files next to the destination and moved into place only when every input has been read, so a
failure never leaves a CSV behind.

Speed: a whole CloudTrail file is unzipped at once (with ISA-L through isal when it is
installed) and decoded at once with msgspec when it is installed (it gives
the same values as the json module for every document it accepts; anything it refuses is read
again by the json module, which also words the error messages), and rows become CSV lines with
``str.join`` (quoting exactly where the csv module would).

Split: ``cloud_iam.csv`` holds records from iam, sts and signin that are not read-only
List*/Get*/Describe* calls (GetSessionToken and GetFederationToken count as identity events);
everything else goes to ``cloud_api.csv``. See ``COLUMNS`` and ``_resource``/``_details`` for
what each column holds.
"""

from __future__ import annotations

import csv
import gc
import gzip
import heapq
import io
import json
import marshal
import multiprocessing
import os
import re
import sys
import tempfile
import threading
import typing
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from ctlab import atomic
from ctlab.errors import CtlabError

_TOP_FIELDS = ("eventID", "eventTime", "eventName", "eventSource", "userIdentity", "requestParameters",
               "responseElements", "additionalEventData", "resources", "awsRegion", "sourceIPAddress",
               "userAgent", "errorCode", "eventType")
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, as Windows tools write it
HIDDEN_USER = "HIDDEN_DUE_TO_SECURITY_REASONS"  # what CloudTrail writes for the name of a failed sign-in

_fast_loads: Callable[[bytes], Any]
_decode_records: Callable[[bytes], Any] | None
_Record: type | None
_decompressobj: Callable[[int], Any]
try:
    import msgspec
except ImportError:  # pragma: no cover - msgspec is a dependency; the json module will do
    _fast_loads = json.loads
    _decode_records = None
    _Record = None
else:
    _fast_loads = msgspec.json.decode
    # A CloudTrail file decoded straight into the top-level values the columns need (any JSON
    # value each, None when missing); the other fields are skipped without building them.
    _Record = msgspec.defstruct("_Record", [(k, typing.Any, None) for k in _TOP_FIELDS], array_like=False)
    _Delivery = msgspec.defstruct("_Delivery", [("Records", list[_Record])])  # type: ignore[valid-type]  # built at run time
    _decode_records = msgspec.json.Decoder(_Delivery).decode
    _astuple = msgspec.structs.astuple
try:
    from isal.isal_zlib import decompressobj as _decompressobj  # ISA-L: gunzip about twice as fast
except ImportError:  # pragma: no cover - isal is a dependency; zlib will do
    _decompressobj = zlib.decompressobj

COLUMNS = (
    "event_id", "timestamp", "user", "user_type", "principal_arn", "event_source", "event_name",
    "resource", "region", "source_ip", "user_agent", "access_key_id", "error_code", "details", "bytes_out",
)
IAM_FILE = "cloud_iam.csv"
API_FILE = "cloud_api.csv"

IDENTITY_SOURCES = frozenset({"iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"})
READ_PREFIXES = ("List", "Get", "Describe")
IDENTITY_READS = frozenset({"GetSessionToken", "GetFederationToken"})

SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")
CHUNK_ROWS = 25_000
# A worker task: consecutive files of about CHUNK_ROWS records, judged by size (uncompressed
# CloudTrail is about 1.3 kB a record, and gzip shrinks it about 9 times).
TASK_BYTES_PER_ROW = 1300
GZIP_RATIO = 9
FAST_READ_LIMIT = 64 << 20  # larger files are read line by line

# IAM calls that act on the caller when they name no user.
_SELF_DIRECTED = frozenset({
    "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "ListAccessKeys", "GetUser", "ListMFADevices",
    "ChangePassword", "ListSigningCertificates", "ListSSHPublicKeys", "ListServiceSpecificCredentials",
    "GetAccessKeyLastUsed",
})
# IAM request parameters naming the object acted on, by priority.
_IAM_TARGET_KEYS = ("userName", "roleName", "groupName", "policyArn", "instanceProfileName",
                    "serialNumber", "virtualMFADeviceName", "openIDConnectProviderArn", "sAMLProviderArn",
                    "serverCertificateName", "policyName")
# Each service's request parameters naming the object acted on, by priority (the keys the public
# detection rules read most). A value counts when it is a non-empty string or a list of them.
_SERVICE_KEYS: dict[str, tuple[str, ...]] = {
    "ec2.amazonaws.com": ("instanceId", "volumeId", "snapshotId", "imageId", "groupId", "groupName", "vpcId",
                          "subnetId", "networkInterfaceId", "keyName", "routeTableId", "internetGatewayId",
                          "natGatewayId", "networkAclId", "vpcPeeringConnectionId", "launchTemplateName",
                          "trafficMirrorSessionId", "trafficMirrorTargetId", "trafficMirrorFilterId", "allocationId"),
    "rds.amazonaws.com": ("dBInstanceIdentifier", "dBClusterIdentifier", "dBSnapshotIdentifier",
                          "dBClusterSnapshotIdentifier", "globalClusterIdentifier", "targetDBInstanceIdentifier",
                          "sourceDBInstanceIdentifier", "dbiResourceId", "dBSubnetGroupName", "dBParameterGroupName",
                          "dBClusterParameterGroupName", "resourceArn", "resourceName"),
    "lambda.amazonaws.com": ("functionName", "layerName", "name"),
    "kms.amazonaws.com": ("keyId", "targetKeyId", "aliasName"),
    "secretsmanager.amazonaws.com": ("secretId", "name", "secretIdList"),
    "ssm.amazonaws.com": ("name", "names", "instanceId", "target", "documentName", "sessionId", "resourceId",
                          "instanceIds", "path"),
    "cloudtrail.amazonaws.com": ("name", "trailName", "trailNameList", "eventDataStore", "channel"),
    "guardduty.amazonaws.com": ("detectorId", "name"),
    "organizations.amazonaws.com": ("accountId", "policyId", "targetId", "organizationalUnitId", "parentId",
                                    "handshakeId", "name"),
    "config.amazonaws.com": ("configurationRecorderName", "deliveryChannelName", "configRuleName",
                             "configurationAggregatorName"),
    "logs.amazonaws.com": ("logGroupName", "logStreamName", "logGroupIdentifier", "destinationName"),
    "monitoring.amazonaws.com": ("alarmName", "alarmNames", "dashboardName"),
    "eks.amazonaws.com": ("name", "clusterName"),
    "ecs.amazonaws.com": ("cluster", "service", "taskDefinition", "family"),
    "dynamodb.amazonaws.com": ("tableName", "backupArn"),
    "sns.amazonaws.com": ("topicArn", "name", "subscriptionArn"),
    "sqs.amazonaws.com": ("queueUrl", "queueName"),
    "cloudformation.amazonaws.com": ("stackName", "stackSetName"),
    "glue.amazonaws.com": ("jobName", "databaseName", "crawlerName", "name"),
    "athena.amazonaws.com": ("queryExecutionId", "workGroup", "name"),
    "ecr.amazonaws.com": ("repositoryName",),
    "elasticfilesystem.amazonaws.com": ("fileSystemId", "mountTargetId"),
    "route53.amazonaws.com": ("hostedZoneId", "id"),
    "events.amazonaws.com": ("name", "rule", "eventBusName"),
    "sso.amazonaws.com": ("permissionSetArn", "permissionSetId", "instanceArn"),
    "ses.amazonaws.com": ("identity", "emailAddress", "domain"),
    "securityhub.amazonaws.com": ("standardsSubscriptionArns", "productArn", "hubArn"),
    "access-analyzer.amazonaws.com": ("analyzerName",),
    "codebuild.amazonaws.com": ("projectName", "name", "projectArn"),
    "bedrock.amazonaws.com": ("modelId", "guardrailIdentifier"),
    "elasticloadbalancing.amazonaws.com": ("loadBalancerArn", "loadBalancerName", "targetGroupArn"),
    "autoscaling.amazonaws.com": ("autoScalingGroupName", "launchConfigurationName"),
    "backup.amazonaws.com": ("backupVaultName", "backupPlanId"),
    "cognito-idp.amazonaws.com": ("userPoolId", "clientId"),
    "apigateway.amazonaws.com": ("restApiId",),
    "acm.amazonaws.com": ("certificateArn", "domainName"),
    "macie2.amazonaws.com": ("id", "name"),
    "wafv2.amazonaws.com": ("name", "id"),
}
# Other services: the first of these request parameters that holds a plain value.
_GENERIC_KEYS = ("instanceId", "volumeId", "snapshotId", "groupId", "vpcId", "functionName", "stackName",
                 "name", "secretId", "logGroupName", "jobName", "databaseName", "tableName", "queryExecutionId",
                 "repositoryName", "keyId", "trailName", "clusterName", "bucketName", "userPoolId", "topicArn",
                 "queueUrl", "resourceArn")
# requestParameters copied into `details`, in this order, when they hold a plain value.
_DETAIL_KEYS = ("policyArn", "policyName", "roleArn", "roleSessionName", "durationSeconds", "serialNumber",
                "accessKeyId", "status", "passwordResetRequired", "groupName", "list-type", "prefix",
                "changeSetName", "withDecryption", "filter", "maxItems", "attributeName", "valuesToAdd",
                "valuesToRemove")
# The policy document a call sets, by event: the request parameter that holds it. Kept in `details`
# (last, compact JSON, at most POLICY_CAP characters) because a trust policy or bucket policy opened
# to another account is the evidence itself.
_POLICY_PARAMS = {
    "UpdateAssumeRolePolicy": "policyDocument", "CreateRole": "assumeRolePolicyDocument",
    "PutRolePolicy": "policyDocument", "PutUserPolicy": "policyDocument", "PutGroupPolicy": "policyDocument",
    "CreatePolicy": "policyDocument", "CreatePolicyVersion": "policyDocument", "PutBucketPolicy": "bucketPolicy",
}
POLICY_CAP = 2000
# EC2 attributes whose `add`/`remove` lists name the accounts (or the group "all": everyone) a
# snapshot or image is shared with.
_SHARE_PARAMS = ("createVolumePermission", "launchPermission")


_IAM_TARGET_ORDER = {k: i for i, k in enumerate(_IAM_TARGET_KEYS)}
_GENERIC_ORDER = {k: i for i, k in enumerate(_GENERIC_KEYS)}
_SERVICE_ORDER = {src: {k: i for i, k in enumerate(keys)} for src, keys in _SERVICE_KEYS.items()}
_DETAIL_ORDER = {k: i for i, k in enumerate(_DETAIL_KEYS)}


@dataclass
class FlattenSummary:
    out: Path
    files: int
    records: int
    iam_rows: int
    api_rows: int
    skipped_records: int = 0
    skipped_files: int = 0
    insight_files: int = 0  # files under CloudTrail-Insight folders, left out of the walk
    insight_records: int = 0  # CloudTrail Insights records met in the files read
    problems: list[str] = field(default_factory=list)
    jobs: int = 1  # worker processes used (1: read in this process)
    worker_peak_kb: dict[int, int] = field(default_factory=dict)  # pid -> peak RSS (VmHWM) of each worker

    def describe(self) -> str:
        text = (f"read {self.records} records from {self.files} file{'s' if self.files != 1 else ''}; "
                f"wrote {self.iam_rows} rows to {self.out / IAM_FILE} and {self.api_rows} rows to {self.out / API_FILE}")
        if self.skipped_records or self.skipped_files:
            text += (f"; skipped {self.skipped_records} bad record{'s' if self.skipped_records != 1 else ''}"
                     f" and {self.skipped_files} bad file{'s' if self.skipped_files != 1 else ''}")
            if self.problems:
                text += f" (first: {self.problems[0]})"
        if self.insight_files or self.insight_records:
            text += (f"; left out CloudTrail Insights: {self.insight_files} file{'s' if self.insight_files != 1 else ''}"
                     f" and {self.insight_records} record{'s' if self.insight_records != 1 else ''}")
        return text


class _BadRecord(Exception):
    """One record is unusable; the file may go on."""


class _BadFile(Exception):
    """The file cannot be read any further."""


class _Insight(Exception):
    """A CloudTrail Insights record: about call rates, not a call; skipped and counted."""


_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,]\d+)?\s*(Z|z|UTC|[+-]\d\d(?::?\d\d)?)?")


def utc_time(text: str) -> str:
    """``eventTime`` as UTC ``YYYY-MM-DDTHH:MM:SSZ``: fractions cut, offsets converted, and the
    CloudTrail Lake / Athena form (``2019-06-19 00:18:31.000``, UTC without a zone) read.
    Raises _BadRecord for anything else."""
    if len(text) == 20 and text[19] == "Z" and text[10] == "T":
        return text
    m = _TIME.fullmatch(text.strip())
    if m is None:
        raise _BadRecord(f"eventTime is not a time ({text[:40]!r})")
    y, mo, d, h, mi, sec, zone = m.groups()
    if zone is None or zone in ("Z", "z", "UTC"):
        return f"{y}-{mo}-{d}T{h}:{mi}:{sec}Z"
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    try:
        t = datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec))
    except ValueError:
        raise _BadRecord(f"eventTime is not a time ({text[:40]!r})") from None
    t = t - offset if zone[0] == "+" else t + offset
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def is_insight(rec: dict[str, Any]) -> bool:
    return (rec.get("eventCategory") == "Insight" or rec.get("eventType") == "AwsCloudTrailInsight"
            or "insightDetails" in rec)


# ---------------------------------------------------------------------------------
# Reading

def find_inputs(inputs: Sequence[Path]) -> list[Path]:
    """Files named directly, plus CloudTrail-looking files under named folders (sorted).

    Folder walks skip CloudTrail-Digest folders (digest files are not records), CloudTrail-Insight
    folders and names that do not end in .json, .json.gz, .jsonl, .ndjson (gzip or not).
    """
    return walk_inputs(inputs)[0]


def walk_inputs(inputs: Sequence[Path]) -> tuple[list[Path], int]:
    """``find_inputs``, and how many files of CloudTrail-Insight folders the walk left out
    (Insights events describe unusual call rates, not calls)."""
    found: list[Path] = []
    insight = 0
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            sub = sorted(
                q for q in p.rglob("*")
                if q.is_file() and q.name.lower().endswith(SUFFIXES) and "CloudTrail-Digest" not in q.parts
                and not q.name.startswith(".")
            )
            kept = [q for q in sub if "CloudTrail-Insight" not in q.parts]
            insight += len(sub) - len(kept)
            found.extend(kept)
        elif p.is_file():
            found.append(p)
        else:
            raise CtlabError(f"{p}: no such file or folder")
    if not found and not insight:
        raise CtlabError(f"no CloudTrail files found in {', '.join(str(p) for p in inputs)}")
    return found, insight


def _open_binary(path: Path) -> io.BufferedIOBase:
    fh = open(path, "rb")
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb")
    return fh


def _loads(data: bytes) -> object:
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise _BadFile("not UTF-8 text") from None


def iter_batches(path: Path) -> Iterator[tuple[str, list[Any]]]:
    """Yield (label, records) batches for one file; ``label.format(i)`` names record i in messages.

    A Records file or an array is one batch; JSON lines give one batch a line. Raises _BadFile for
    unreadable files (broken gzip, truncated JSON, not CloudTrail); a line that is not JSON comes
    as a _BadRecord in place of its record. Files are read as bytes (json decodes UTF-8 itself);
    a one-line document, the form CloudTrail writes, is parsed at once.
    """
    fh = None
    try:
        fh = _open_binary(path)
        first = fh.readline()
        if first.startswith(BOM):
            first = first[3:]
        while first and not first.strip():
            first = fh.readline()
        if not first:
            return
        head = first.lstrip()[:1]
        if head not in (b"{", b"["):
            raise _BadFile("not CloudTrail (expected JSON: a Records object, an array or one record a line)")
        try:
            obj = _loads(first)
            one_line = True
        except json.JSONDecodeError:
            one_line = False
        if not one_line:
            # a pretty-printed document: read it whole (CloudTrail files are small)
            text = first + fh.read()
            try:
                obj = _loads(text)
            except json.JSONDecodeError as exc:
                lines = text.splitlines()
                if exc.msg != "Extra data" and not _parses_as_object(lines[1:3]):
                    raise _BadFile(f"invalid or truncated JSON at line {exc.lineno} column {exc.colno} "
                                   f"({exc.msg})") from None
                # JSON lines whose first line is broken
                yield from _lines(lines, 0)
                return
            yield _batch(obj, None, top=True)
            return
        yield _batch(obj, 1, top=True)
        yield from _lines(fh, 1)
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
            reason = "broken gzip data"
        else:
            reason = exc.strerror or str(exc)
        raise _BadFile(reason) from None
    finally:
        if fh is not None:
            fh.close()


def _gunzip(data: bytes, limit: int) -> bytes | None:
    """All gzip members of ``data``, or None if that is more than ``limit`` bytes or not clean gzip."""
    parts, total = [], 0
    while data:
        d = _decompressobj(47)
        part = d.decompress(data, limit + 1 - total)
        total += len(part)
        if total > limit or not d.eof:
            return None
        parts.append(part)
        data = d.unused_data
    return b"".join(parts)


def _whole_file_records(path: Path) -> list[Any] | None:
    """The Records list of a file that is one ``{"Records": [...]}`` document, read at once;
    None for anything else (other forms, large files, any error), which ``iter_batches`` reads.

    The records are ``_Record`` structs when every one of them is an object with an eventName
    and an eventTime (``_row`` takes them from there), else dicts (``flatten_record``).
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(FAST_READ_LIMIT + 1)
        if len(data) > FAST_READ_LIMIT:
            return None
        if data[:2] == b"\x1f\x8b":
            unzipped = _gunzip(data, FAST_READ_LIMIT)
            if unzipped is None:
                return None
            data = unzipped
        if data[:3] == BOM:
            data = data[3:]
    except Exception:  # noqa: BLE001 - the careful reader will say what is wrong
        return None
    if _decode_records is not None:
        try:
            recs: list[Any] = _decode_records(data).Records
        except Exception:  # noqa: BLE001 - not this shape (or not JSON): see below
            pass
        else:
            if all(type(r.eventName) is str and r.eventName and type(r.eventTime) is str and r.eventTime
                   for r in recs):
                return recs
            # (Insights records, which have no eventName, are read as dicts and counted there)
    try:
        obj = _fast_loads(data)
    except Exception:  # noqa: BLE001 - the careful reader will say what is wrong
        return None
    if type(obj) is dict:
        found: object = obj.get("Records")
        if type(found) is list:
            return found
    return None


def _file_batches(path: Path) -> Iterator[tuple[str, list[Any]]]:
    """``iter_batches``, with a CloudTrail delivery file (one Records document) read at once."""
    recs = _whole_file_records(path)
    if recs is None:
        yield from iter_batches(path)
    else:
        yield "Records[{}]", recs


def iter_records(path: Path) -> Iterator[tuple[str, object]]:
    """Yield (where, record) for every record in one file (see ``iter_batches``)."""
    for label, items in iter_batches(path):
        for i, rec in enumerate(items):
            yield label.format(i), rec


def _parses_as_object(lines: list[bytes]) -> bool:
    for line in lines:
        try:
            if isinstance(_loads(line), dict):
                return True
        except (json.JSONDecodeError, _BadFile):
            pass
    return False


_NOT_READ = object()


def _lines(lines: Iterable[bytes], lineno: int) -> Iterator[tuple[str, list[Any]]]:
    for line in lines:
        lineno += 1
        if not line.strip():
            continue
        try:
            obj = _fast_loads(line)
        except Exception:  # noqa: BLE001 - the json module decides and words the error
            obj = _NOT_READ
        try:
            if obj is _NOT_READ:
                obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            yield f"line {lineno}", [_BadRecord(f"invalid JSON ({msg})")]
            continue
        yield _batch(obj, lineno, top=False)


def _batch(obj: object, lineno: int | None, *, top: bool) -> tuple[str, list[Any]]:
    where_line = f"line {lineno}: " if lineno is not None and not top else ""
    if isinstance(obj, dict) and "Records" in obj:
        recs = obj["Records"]
        if not isinstance(recs, list):
            raise _BadFile("not CloudTrail (Records is not a list)")
        return where_line + "Records[{}]", recs
    if isinstance(obj, list):
        return where_line + "[{}]", obj
    if isinstance(obj, dict):
        if top and not _looks_like_record(obj):
            raise _BadFile("not CloudTrail (no Records list and no eventName/eventTime/eventSource)")
        return (f"line {lineno}" if lineno is not None else "record"), [obj]
    if top:
        raise _BadFile("not CloudTrail (expected a JSON object or array)")
    return f"line {lineno}", [_BadRecord("not a JSON object")]


def _looks_like_record(obj: dict[str, Any]) -> bool:
    return any(k in obj for k in ("eventName", "eventTime", "eventSource", "eventVersion", "userIdentity"))


# ---------------------------------------------------------------------------------
# One record -> one row

def _s(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def user_of(ui: dict[str, Any], add: object = None) -> str:
    """The `user` column: who made the call, as one readable string.

    ``add`` is the record's additionalEventData: an IAM Identity Center user's name is there
    (``UserName``) when userIdentity has none.
    """
    t = ui.get("type")
    arn = ui.get("arn") or ""
    if t == "IAMUser":
        return ui.get("userName") or arn.rpartition(":user/")[2].rpartition("/")[2]
    if t == "AssumedRole":
        if ":assumed-role/" in arn:
            return arn.partition(":assumed-role/")[2]
        issuer = ((ui.get("sessionContext") or {}).get("sessionIssuer") or {}).get("userName") or ""
        session = (ui.get("principalId") or "").partition(":")[2]
        return f"{issuer}/{session}" if session else issuer
    if t == "Root":
        return "root"
    if t == "AWSService":
        return ui.get("invokedBy") or ""
    if t == "FederatedUser":
        return arn.partition(":federated-user/")[2] or ui.get("principalId", "")
    if t in ("WebIdentityUser", "SAMLUser"):
        return ui.get("userName") or ui.get("principalId") or ""
    if t == "AWSAccount":
        return ui.get("accountId") or ui.get("principalId") or ""
    name = ui.get("userName")
    if not name and isinstance(add, dict) and isinstance(add.get("UserName"), str):
        name = add["UserName"]
    if not name:
        behalf = ui.get("onBehalfOf")
        name = behalf.get("userId") if isinstance(behalf, dict) else None
    return name or arn or ui.get("principalId") or ui.get("invokedBy") or ""


def _first_key(rp: dict[str, Any], order: dict[str, int], lists: bool = False) -> str:
    """The value of the highest-priority key of ``order`` that ``rp`` holds as a non-empty string
    (with ``lists``, also a list of strings, joined by commas)."""
    best, found = len(order), ""
    for k, v in rp.items():
        i = order.get(k)
        if i is not None and i < best and v:
            if isinstance(v, str):
                best, found = i, v
            elif lists and isinstance(v, list) and all(isinstance(x, str) and x for x in v):
                best, found = i, ",".join(v)
    return found


def _resources_arn(res: object, kind: str | None = None) -> str:
    """The first ARN in ``resources[]`` (of type ``kind`` when given)."""
    if isinstance(res, list):
        for item in res:
            if isinstance(item, dict) and (kind is None or item.get("type") == kind):
                arn = item.get("ARN") or item.get("ARNPrefix")
                if arn and isinstance(arn, str):
                    return arn
    return ""


def _iam_name(arn: str) -> str:
    """An IAM ARN as the request would have named its target: a user's, role's or group's name (the
    last part of its path), anything else (a policy, a provider) as the ARN."""
    kind, _, rest = arn.partition(":iam::")[2].partition(":")[2].partition("/")
    return rest.rpartition("/")[2] if kind in ("user", "role", "group", "instance-profile") and rest else arn


def _instance_ids(sets: object) -> str:
    items = sets.get("items") if isinstance(sets, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict) and items[0].get("instanceId"):
        return ",".join(_s(i.get("instanceId")) for i in items if isinstance(i, dict))
    return ""


def _resource(src: str, name: str, rp: dict[str, Any], resp: object, ui: dict[str, Any], res: object) -> str:
    """The `resource` column: what the call acted on (see the module docs and docs/data.md)."""
    if src == "s3.amazonaws.com":
        b = rp.get("bucketName")
        k = rp.get("key")
        if isinstance(b, str) and b and k and isinstance(k, str):
            return f"{b}/{k}"
        obj = _resources_arn(res, "AWS::S3::Object")
        if obj.startswith("arn:aws:s3:::"):
            bucket, _, prefix = obj[13:].partition("/")
            return obj[13:] if prefix else bucket  # a listing with an empty prefix is the bucket's
        if isinstance(b, str) and b:
            return b
        bucket = _resources_arn(res, "AWS::S3::Bucket")
        return bucket[13:] if bucket.startswith("arn:aws:s3:::") else ""
    if name.startswith("AssumeRole"):
        # a throttled or malformed call may log no request; resources[] still names the role
        arn = rp.get("roleArn") or _resources_arn(res, "AWS::IAM::Role")
        return arn.rpartition("/")[2] if isinstance(arn, str) else ""
    if src == "iam.amazonaws.com":
        found = _first_key(rp, _IAM_TARGET_ORDER) if rp else ""
        if found:
            return found
        if name == "CreateAccessKey" and isinstance(resp, dict):
            ak = resp.get("accessKey")
            owner = ak.get("userName") if isinstance(ak, dict) else None
            if owner and isinstance(owner, str):
                return owner
        arn = _resources_arn(res)  # no target in the request (a throttled call may log none)
        if arn:
            return _iam_name(arn)
        if name in _SELF_DIRECTED and ui.get("type") in ("IAMUser", "Root"):
            return user_of(ui)
        return ""
    if src in ("sts.amazonaws.com", "signin.amazonaws.com"):
        return ""
    if rp:
        order = _SERVICE_ORDER.get(src)
        found = (_first_key(rp, order, lists=True) if order else "") or _first_key(rp, _GENERIC_ORDER)
        if found:
            return found
        if "instancesSet" in rp:
            found = _instance_ids(rp["instancesSet"])
            if found:
                return found
    if src == "ec2.amazonaws.com" and isinstance(resp, dict) and "instancesSet" in resp:
        found = _instance_ids(resp["instancesSet"])  # RunInstances: the instances it started
        if found:
            return found
    return _resources_arn(res)


def _policy_text(v: object) -> str:
    """A policy document as compact JSON (CloudTrail writes IAM's as a string, sometimes URL-encoded,
    and S3's as an object), cut to POLICY_CAP characters with the full length noted."""
    try:
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("%7B") or text.startswith("%7b"):
                from urllib.parse import unquote
                text = unquote(text)
            try:
                text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
            except ValueError:
                text = " ".join(text.split())
        else:
            text = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:  # nested deeper than any policy: a record made to break readers
        text = "(nested too deeply to show)"
    if len(text) > POLICY_CAP:
        text = f"{text[:POLICY_CAP]}...[{len(text)} chars]"
    return text


def _shares(v: object) -> dict[str, str]:
    """{"add": "111122223333,all", "remove": ...} from an EC2 permission attribute's item lists."""
    found = {}
    if isinstance(v, dict):
        for op in ("add", "remove"):
            side = v.get(op)
            items = side.get("items") if isinstance(side, dict) else None
            if isinstance(items, list):
                names = [_s(i.get("userId") or i.get("group") or i.get("organizationArn") or i.get("organizationalUnitArn"))
                         for i in items if isinstance(i, dict)]
                names = [n for n in names if n]
                if names:
                    found[op] = ",".join(names)
    return found


def _details(rp: dict[str, Any], resp: object, add: object, hidden: bool = False, name: str = "",
             user: str = "") -> str:
    """The `details` column: telling parameters as ``key=value`` pairs joined by ``;``."""
    parts = []
    if rp:
        hits = [(i, k, v) for k, v in rp.items()
                if (i := _DETAIL_ORDER.get(k)) is not None and v is not None and v != "" and not isinstance(v, dict)]
        if hits:
            hits.sort()
            parts = [f"{k}={v if isinstance(v, str) else _s(v)}" for _, k, v in hits]
        for attr in _SHARE_PARAMS:
            if attr in rp:
                parts.extend(f"{attr}.{op}={who}" for op, who in _shares(rp[attr]).items())
    if resp and isinstance(resp, dict):
        ak = resp.get("accessKey")
        if isinstance(ak, dict) and ak.get("accessKeyId"):
            parts.append(f"accessKey.accessKeyId={ak['accessKeyId']}")
        cr = resp.get("credentials")
        if isinstance(cr, dict) and cr.get("accessKeyId"):
            parts.append(f"credentials.accessKeyId={cr['accessKeyId']}")
        if "ConsoleLogin" in resp:
            parts.append(f"ConsoleLogin={_s(resp['ConsoleLogin'])}")
    if add and isinstance(add, dict):
        if "MFAUsed" in add:
            parts.append(f"MFAUsed={_s(add['MFAUsed'])}")
        # names the event carries only here (a service event's Name, a role or user name...)
        parts.extend(f"{k}={v}" for k, v in add.items()
                     if k.endswith("Name") and isinstance(v, str) and v and not (k == "UserName" and v == user))
    if hidden:
        parts.append("userNameHidden=true")
    key = _POLICY_PARAMS.get(name)
    if key is not None and rp:
        doc = rp.get(key)
        if doc:
            parts.append(f"{key}={_policy_text(doc)}")
    return ";".join(parts)


def _str(v: object) -> str:
    return v if isinstance(v, str) else _s(v)


def flatten_record(rec: object) -> tuple[bool, list[Any]]:
    """(goes to cloud_iam.csv?, row in COLUMNS order). Raises _BadRecord."""
    if not isinstance(rec, dict):
        if isinstance(rec, _BadRecord):
            raise rec
        raise _BadRecord("not a JSON object")
    get = rec.get
    name = get("eventName")
    etime = get("eventTime") or get("@timestamp")  # Logstash and Elastic exports rename eventTime
    if is_insight(rec):
        raise _Insight()
    if not name or not isinstance(name, str):
        if not _looks_like_record(rec):
            raise _BadRecord("not a CloudTrail record")
        raise _BadRecord("missing eventName")
    if not etime or not isinstance(etime, str):
        raise _BadRecord("missing eventTime (and no @timestamp)")
    return _row(get("eventID"), etime, name, get("eventSource"), get("userIdentity"), get("requestParameters"),
                get("responseElements"), get("additionalEventData"), get("resources"), get("awsRegion"),
                get("sourceIPAddress"), get("userAgent"), get("errorCode"), get("eventType"))


def _row(eid: object, etime: str, name: str, src: object, ui: object, rp: object, resp: object, add: object,
         resources: object, region: object, ip: object, agent: object, error: object,
         etype: object = None) -> tuple[bool, list[Any]]:
    """``flatten_record`` once eventName and eventTime are known to be there: the record's
    top-level values (None where missing) in ``_TOP_FIELDS`` order."""
    src = src or ""
    if not isinstance(src, str):
        raise _BadRecord(f"eventSource is not a string ({type(src).__name__})")
    if not isinstance(ui, dict):
        ui = {}
    if not isinstance(rp, dict):
        rp = {}
    bytes_out = ""
    if add and src == "s3.amazonaws.com" and isinstance(add, dict):
        b = add.get("bytesTransferredOut")
        if b is not None:
            bytes_out = _s(b)
    # plain string fields go in as they are (None -> ""); csv writes any other scalar with str()
    uget = ui.get
    utype = uget("type") or ""
    if not utype and etype == "AwsServiceEvent":
        # a service event (key rotation, a service-linked action...) names no identity type; the
        # service that acted is the caller
        utype = "AWSService"
        user = _str(uget("invokedBy") or src)
    else:
        user = user_of(ui, add)
    row = [
        _str(eid), utc_time(etime), user, utype, uget("arn") or "", src, name,
        _resource(src, name, rp, resp, ui, resources),  # another type matches no service
        region or "", ip or "", agent or "", uget("accessKeyId") or "", error or "",
        _details(rp, resp, add, user == HIDDEN_USER, name, user), bytes_out,
    ]
    is_iam = src in IDENTITY_SOURCES and (name in IDENTITY_READS or not name.startswith(READ_PREFIXES))
    return is_iam, row


# ---------------------------------------------------------------------------------
# Rows -> CSV lines

def _csv_quoting() -> frozenset[str] | None:
    """The characters that make ``csv.writer`` (excel dialect, "\\n" line ends) quote a field.

    Rows are formatted with ``str.join`` instead of ``csv.writer``, which is several times faster;
    this asks the csv module which characters force quoting, so both give the same bytes. None
    when the module does anything else than wrap such a field in quotes with inner quotes doubled.
    """
    special = set()
    for c in map(chr, range(128)):
        for text in (c, f"a{c}b", f" {c} "):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow([text, "x"])
            got = buf.getvalue()
            if got == f"{text},x\n":
                continue
            if got != '"' + text.replace('"', '""') + '",x\n':
                return None
            special.add(c)
    return frozenset(special)


class _Echo:
    """A "file" whose write returns what it is given: ``csv.writer(_Echo).writerow`` returns the line."""

    @staticmethod
    def write(text: str) -> str:
        return text


_csv_writerow: Callable[[Iterable[Any]], str] = csv.writer(_Echo, lineterminator="\n").writerow
# str.join formats rows only where the csv module quotes just fields holding , " or a newline
_JOIN_OK = _csv_quoting() == frozenset(',"\n')


def _csv_line(row: list[Any]) -> str:
    """One CSV line (with its "\n"), exactly as ``csv.writer(fh, lineterminator="\n")`` writes it."""
    if _JOIN_OK and len(row) > 1:  # (csv quotes a lone empty field)
        try:
            line = ",".join(row)
        except TypeError:  # a field that is not a string: let the csv module format it
            return _csv_writerow(row)
        if '"' not in line and "\n" not in line:
            if line.count(",") == len(row) - 1:
                return line + "\n"
            return ",".join([f if "," not in f else '"' + f + '"' for f in row]) + "\n"
        return ",".join([f if "," not in f and '"' not in f and "\n" not in f else '"' + f.replace('"', '""') + '"'
                         for f in row]) + "\n"
    return _csv_writerow(row)


# ---------------------------------------------------------------------------------
# Sorted output in bounded memory

class _SortedCsv:
    """CSV lines sorted by (timestamp, event_id) with about ``chunk_rows`` of them in memory.

    Entries are ``(timestamp, event_id, seq, line)`` tuples appended to ``buf``; ``seq`` is the
    record's place in the input, so equal keys keep the input order however the entries were
    split into runs. ``check`` spills a full buffer, sorted, to a temporary run file
    (length-prefixed marshal blocks, cheap to write and read back); ``write`` merges the runs
    into the CSV, first merging runs into longer ones while there are more than ``_FANIN``.
    """

    _BLOCK = 128  # entries per marshal block: a merge holds one block per run
    _FANIN = 64   # runs merged at once

    def __init__(self, workdir: Path, stem: str, chunk_rows: int):
        self.workdir = workdir
        self.stem = stem
        self.chunk_rows = max(1, chunk_rows)
        self.buf: list[tuple[str, str, int, str]] = []
        self.chunks: list[Path] = []
        self.sizes: dict[Path, int] = {}  # entries in each run
        self.spilled = 0
        self._runs = 0

    @property
    def rows(self) -> int:
        return self.spilled + len(self.buf)

    def check(self) -> None:
        if len(self.buf) >= self.chunk_rows:
            self.spill()

    def spill(self) -> None:
        if not self.buf:
            return
        buf = self.buf
        buf.sort()
        run = self._write_run(buf)
        self.chunks.append(run)
        self.sizes[run] = len(buf)
        self.spilled += len(buf)
        self.buf = []

    def _write_run(self, entries: Iterable[tuple[str, str, int, str]]) -> Path:
        path = self.workdir / f"{self.stem}.{self._runs:05d}.run"
        self._runs += 1
        size = self._BLOCK
        dumps = marshal.dumps
        with open(path, "wb") as fh:
            if isinstance(entries, list):
                for i in range(0, len(entries), size):
                    data = dumps(entries[i:i + size])
                    fh.write(len(data).to_bytes(8, "little") + data)
                return path
            block: list[Any] = []
            for e in entries:
                block.append(e)
                if len(block) >= size:
                    data = dumps(block)
                    fh.write(len(data).to_bytes(8, "little") + data)
                    block = []
            if block:
                data = dumps(block)
                fh.write(len(data).to_bytes(8, "little") + data)
        return path

    def _reduce_runs(self) -> None:
        """Merge the smallest runs, as few as will do, until ``_FANIN`` runs are left."""
        fanin = max(2, self._FANIN)
        while len(self.chunks) > fanin:
            k = min(fanin, len(self.chunks) - fanin + 1)
            self.chunks.sort(key=self.sizes.__getitem__)
            group, self.chunks = self.chunks[:k], self.chunks[k:]
            merged = self._write_run(heapq.merge(*(self._read_run(p) for p in group)))
            self.sizes[merged] = sum(self.sizes.pop(p) for p in group)
            for p in group:
                p.unlink()
            self.chunks.append(merged)

    @staticmethod
    def _read_run(path: Path) -> Iterator[tuple[str, str, int, str]]:
        with open(path, "rb") as fh:
            read, loads = fh.read, marshal.loads
            while True:
                head = read(8)
                if not head:
                    return
                yield from loads(read(int.from_bytes(head, "little")))

    def write(self, dest: Path) -> None:
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            fh.write(",".join(COLUMNS) + "\n")
            if not self.chunks:
                self.buf.sort()
                fh.writelines(map(_LINE, self.buf))
                return
            self.spill()
            self._reduce_runs()
            fh.writelines(map(_LINE, heapq.merge(*(self._read_run(p) for p in self.chunks))))


_LINE = itemgetter(3)


# ---------------------------------------------------------------------------------
# Reading files into sorted runs (in this process or in worker processes)

@dataclass
class _Tally:
    """What reading some files found, besides the rows."""
    skipped_records: int = 0
    skipped_files: int = 0
    insight_records: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None  # the first bad input, when bad input is an error

    def bad(self, msg: str, skip_bad: bool, *, record: bool) -> bool:
        """Note a problem; False when it ends the work (``skip_bad`` is off)."""
        if not skip_bad:
            self.error = msg
            return False
        if record:
            self.skipped_records += 1
        else:
            self.skipped_files += 1
        if len(self.problems) < 5:
            self.problems.append(msg)
        return True


def _read_files(files: Sequence[tuple[int, Path]], iam: _SortedCsv, api: _SortedCsv, skip_bad: bool,
                tally: _Tally) -> None:
    """Flatten ``files`` (each with its place in the input) into ``iam`` and ``api``.

    Stops at the first bad input unless ``skip_bad``, recording it in ``tally.error``.
    """
    for index, path in files:
        seq = index << 32  # a record's place in the whole input: file, then record
        try:
            for label, items in _file_batches(path):
                iam_add, api_add = iam.buf.append, api.buf.append
                if items and type(items[0]) is _Record:  # checked already: every record has its name and time
                    for i, rec in enumerate(items):
                        try:
                            is_iam, row = _row(*_astuple(rec))
                        except _BadRecord as exc:
                            if not tally.bad(f"{path}: {label.format(i)}: {exc}", skip_bad, record=True):
                                return
                            continue
                        entry = (row[1], row[0], seq, _csv_line(row))
                        seq += 1
                        if is_iam:
                            iam_add(entry)
                        else:
                            api_add(entry)
                    iam.check()
                    api.check()
                    continue
                for i, rec in enumerate(items):
                    try:
                        is_iam, row = flatten_record(rec)
                    except _Insight:
                        tally.insight_records += 1
                        continue
                    except _BadRecord as exc:
                        if not tally.bad(f"{path}: {label.format(i)}: {exc}", skip_bad, record=True):
                            return
                        continue
                    entry = (row[1], row[0], seq, _csv_line(row))
                    seq += 1
                    if is_iam:
                        iam_add(entry)
                    else:
                        api_add(entry)
                iam.check()
                api.check()
        except _BadFile as exc:
            # rows already taken from a file that turned out broken are kept: they were valid
            if not tally.bad(f"{path}: {exc}", skip_bad, record=False):
                return


def _peak_rss_kb() -> int:
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run_task(task: int, files: list[tuple[int, Path]], workdir: Path, chunk_rows: int, skip_bad: bool) -> dict[str, Any]:
    """A worker's share: flatten some files into sorted run files; return where they are."""
    gc.disable()
    iam = _SortedCsv(workdir, f"iam.{task:06d}", chunk_rows)
    api = _SortedCsv(workdir, f"api.{task:06d}", chunk_rows)
    tally = _Tally()
    _read_files(files, iam, api, skip_bad, tally)
    if tally.error is None:
        iam.spill()
        api.spill()
    else:
        for p in iam.chunks + api.chunks:
            p.unlink()
    gc.enable()
    return {"tally": tally, "iam": iam.sizes, "api": api.sizes,
            "pid": os.getpid(), "peak_kb": _peak_rss_kb()}


def _tasks(files: list[Path], chunk_rows: int) -> list[list[tuple[int, Path]]]:
    """Consecutive groups of files holding about ``chunk_rows`` records each (judged by size)."""
    target = max(1, chunk_rows) * TASK_BYTES_PER_ROW
    tasks: list[list[tuple[int, Path]]] = [[]]
    weight = 0
    for i, p in enumerate(files):
        try:
            size = p.stat().st_size
        except OSError:
            size = 0
        size *= GZIP_RATIO if p.name.lower().endswith(".gz") else 1
        if tasks[-1] and weight + size > target:
            tasks.append([])
            weight = 0
        tasks[-1].append((i, p))
        weight += size
    return tasks


def default_jobs() -> int:
    """Worker processes for a large input: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def flatten(*, inputs: Sequence[Path], out: Path, skip_bad: bool = False,
            chunk_rows: int = CHUNK_ROWS, jobs: int | None = None) -> FlattenSummary:
    """Read CloudTrail from ``inputs`` and write ``out``/cloud_iam.csv and ``out``/cloud_api.csv.

    ``jobs``: worker processes (default: one per core when the input is larger than one sort
    run, else none). The output is the same whatever the number of workers.
    """
    files, insight_files = walk_inputs(inputs)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CtlabError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    summary = FlattenSummary(out=out, files=len(files), records=0, iam_rows=0, api_rows=0,
                             insight_files=insight_files)
    tasks = _tasks(files, CHUNK_ROWS)
    if jobs is None:
        jobs = default_jobs() if len(tasks) > 1 else 1
    jobs = max(1, min(jobs, len(tasks)))
    summary.jobs = jobs
    # Decoded records and buffered rows hold no reference cycles; the cyclic collector would
    # only rescan them again and again as they pile up, so it rests while we work.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with tempfile.TemporaryDirectory(prefix=".flatten-", dir=out) as tmp:
            work = Path(tmp)
            iam = _SortedCsv(work, "iam", chunk_rows)
            api = _SortedCsv(work, "api", chunk_rows)
            tally = _Tally()
            if jobs == 1:
                _read_files(list(enumerate(files)), iam, api, skip_bad, tally)
            else:
                try:
                    _read_in_workers(tasks, jobs, work, chunk_rows, skip_bad, iam, api, tally, summary)
                except BrokenProcessPool:
                    # workers could not start or died (say, a script that spawns them on import):
                    # read everything here instead
                    for p in work.iterdir():
                        p.unlink()
                    iam = _SortedCsv(work, "iam", chunk_rows)
                    api = _SortedCsv(work, "api", chunk_rows)
                    tally = _Tally()
                    summary.jobs = 1
                    summary.worker_peak_kb.clear()
                    _read_files(list(enumerate(files)), iam, api, skip_bad, tally)
            if tally.error is not None:
                raise CtlabError(tally.error)
            summary.skipped_records, summary.skipped_files = tally.skipped_records, tally.skipped_files
            summary.insight_records = tally.insight_records
            summary.problems = tally.problems[:5]
            summary.records = iam.rows + api.rows + summary.skipped_records + summary.insight_records
            _write_outputs(out, iam, api)
    finally:
        if gc_was_enabled:
            gc.enable()
    summary.iam_rows, summary.api_rows = iam.rows, api.rows
    return summary


def _read_in_workers(tasks: list[list[tuple[int, Path]]], jobs: int, work: Path, chunk_rows: int,
                     skip_bad: bool, iam: _SortedCsv, api: _SortedCsv, tally: _Tally,
                     summary: FlattenSummary) -> None:
    """Hand ``tasks`` to ``jobs`` worker processes, at most two each in flight, and collect
    their sorted runs in input order (so the first bad input reported is the first in order)."""
    # fork starts at once and runs nothing of the caller's main module again; it is only safe
    # while this process has no other thread
    fork = sys.platform == "linux" and threading.active_count() == 1
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    pending: deque[Any] = deque()
    todo = iter(enumerate(tasks))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        try:
            def submit() -> None:
                for n, files in todo:
                    pending.append(pool.submit(_run_task, n, files, work, chunk_rows, skip_bad))
                    return

            for _ in range(2 * jobs):
                submit()
            while pending:
                r = pending.popleft().result()
                submit()
                summary.worker_peak_kb[r["pid"]] = max(summary.worker_peak_kb.get(r["pid"], 0), r["peak_kb"])
                t: _Tally = r["tally"]
                if t.error is not None:
                    tally.error = t.error
                    return
                tally.skipped_records += t.skipped_records
                tally.skipped_files += t.skipped_files
                tally.insight_records += t.insight_records
                tally.problems.extend(t.problems[:max(0, 5 - len(tally.problems))])
                for dest, sizes in ((iam, r["iam"]), (api, r["api"])):
                    dest.chunks.extend(sizes)
                    dest.sizes.update(sizes)
                    dest.spilled += sum(sizes.values())
        finally:
            # an error or interruption: stop handing out work before the folder goes away
            for f in pending:
                f.cancel()


def _write_outputs(out: Path, iam: _SortedCsv, api: _SortedCsv) -> None:
    """Both files are written in full before either takes its final name."""
    with atomic.replacing(out / IAM_FILE, mode=0o644) as iam_tmp, atomic.replacing(out / API_FILE, mode=0o644) as api_tmp:
        iam.write(iam_tmp)
        api.write(api_tmp)
