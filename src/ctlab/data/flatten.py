"""CloudTrail records -> cloud_iam.csv and cloud_api.csv, streaming.

Input: files or folder trees of ``.json`` / ``.json.gz`` (also ``.jsonl``, ``.ndjson``, gzip or
not). A file may hold a ``{"Records": [...]}`` wrapper (CloudTrail's S3 delivery), a bare
array of records, a single record, or one record (or one Records wrapper) per line, as SIEM and
CloudTrail Lake exports write. Gzip is recognised by its magic bytes, not by the name.

Memory stays flat: records are read one file (or one line) at a time and turned into CSV rows
at once; rows are sorted by (timestamp, event_id) in bounded chunks spilled to temporary files
and merged at the end. The two CSVs are written to temporary files next to the destination and
moved into place only when every input has been read, so a failure never leaves a CSV behind.

Split: ``cloud_iam.csv`` holds records from iam, sts and signin that are not read-only
List*/Get*/Describe* calls (GetSessionToken and GetFederationToken count as identity events);
everything else goes to ``cloud_api.csv``. See ``COLUMNS`` and ``_resource``/``_details`` for
what each column holds.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import json
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Iterator, Sequence

from ctlab.errors import CtlabError

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
CHUNK_ROWS = 50_000

# IAM calls that act on the caller when they name no user.
_SELF_DIRECTED = frozenset({
    "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "ListAccessKeys", "GetUser", "ListMFADevices",
    "ChangePassword", "ListSigningCertificates", "ListSSHPublicKeys", "ListServiceSpecificCredentials",
    "GetAccessKeyLastUsed",
})
# IAM request parameters naming the object acted on, by priority.
_IAM_TARGET_KEYS = ("userName", "roleName", "groupName", "policyArn", "instanceProfileName",
                    "serialNumber", "virtualMFADeviceName", "openIDConnectProviderArn", "sAMLProviderArn",
                    "serverCertificateName")
# Other services: the first of these request parameters that holds a plain value.
_GENERIC_KEYS = ("instanceId", "volumeId", "snapshotId", "groupId", "vpcId", "functionName", "stackName",
                 "name", "secretId", "logGroupName", "jobName", "databaseName", "tableName", "queryExecutionId",
                 "repositoryName", "keyId", "trailName", "clusterName", "bucketName", "userPoolId", "topicArn",
                 "queueUrl", "resourceArn")
# requestParameters copied into `details`, in this order, when they hold a plain value.
_DETAIL_KEYS = ("policyArn", "policyName", "roleArn", "roleSessionName", "durationSeconds", "serialNumber",
                "accessKeyId", "status", "passwordResetRequired", "groupName", "list-type", "prefix",
                "changeSetName", "withDecryption", "filter", "maxItems")


@dataclass
class FlattenSummary:
    out: Path
    files: int
    records: int
    iam_rows: int
    api_rows: int
    skipped_records: int = 0
    skipped_files: int = 0
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = (f"read {self.records} records from {self.files} file{'s' if self.files != 1 else ''}; wrote {self.iam_rows} rows to "
                f"{self.out / IAM_FILE} and {self.api_rows} rows to {self.out / API_FILE}")
        if self.skipped_records or self.skipped_files:
            text += (f"; skipped {self.skipped_records} bad record{'s' if self.skipped_records != 1 else ''}"
                     f" and {self.skipped_files} bad file{'s' if self.skipped_files != 1 else ''}")
            if self.problems:
                text += f" (first: {self.problems[0]})"
        return text


class _BadRecord(Exception):
    """One record is unusable; the file may go on."""


class _BadFile(Exception):
    """The file cannot be read any further."""


# ---------------------------------------------------------------------------------
# Reading

def find_inputs(inputs: Sequence[Path]) -> list[Path]:
    """Files named directly, plus CloudTrail-looking files under named folders (sorted).

    Folder walks skip CloudTrail-Digest folders (digest files are not records) and names that
    do not end in .json, .json.gz, .jsonl, .ndjson (gzip or not).
    """
    found: list[Path] = []
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            sub = sorted(
                q for q in p.rglob("*")
                if q.is_file() and q.name.lower().endswith(SUFFIXES) and "CloudTrail-Digest" not in q.parts
                and not q.name.startswith(".")
            )
            found.extend(sub)
        elif p.is_file():
            found.append(p)
        else:
            raise CtlabError(f"{p}: no such file or folder")
    if not found:
        raise CtlabError(f"no CloudTrail files found in {', '.join(str(p) for p in inputs)}")
    return found


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_records(path: Path) -> Iterator[tuple[str, object]]:
    """Yield (where, record) for every record in one file; `where` names it for messages.

    Raises _BadFile for unreadable files (broken gzip, truncated JSON, not CloudTrail) and
    yields _BadRecord instances in place of records that cannot be parsed (JSON lines only).
    """
    try:
        with _open_text(path) as fh:
            first = fh.readline()
            while first and not first.strip():
                first = fh.readline()
            if not first:
                return
            head = first.lstrip()[:1]
            if head not in ("{", "["):
                raise _BadFile("not CloudTrail (expected JSON: a Records object, an array or one record a line)")
            try:
                obj = json.loads(first)
                one_line = True
            except json.JSONDecodeError:
                one_line = False
            if not one_line:
                # a pretty-printed document: read it whole (CloudTrail files are small)
                text = first + fh.read()
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    lines = text.splitlines()
                    if exc.msg != "Extra data" and not _parses_as_object(lines[1:3]):
                        raise _BadFile(f"invalid or truncated JSON at line {exc.lineno} column {exc.colno} "
                                       f"({exc.msg})") from None
                    # JSON lines whose first line is broken
                    yield from _lines(lines, 0)
                    return
                yield from _expand(obj, None, top=True)
                return
            yield from _expand(obj, 1, top=True)
            yield from _lines(fh, 1)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        reason = "broken gzip data" if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)) else str(exc)
        if isinstance(exc, UnicodeDecodeError):
            reason = "not UTF-8 text"
        elif isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile) and "gzip" not in str(exc).lower():
            reason = exc.strerror or str(exc)
        raise _BadFile(reason) from None


def _parses_as_object(lines: list[str]) -> bool:
    for line in lines:
        try:
            if isinstance(json.loads(line), dict):
                return True
        except json.JSONDecodeError:
            pass
    return False


def _lines(lines, lineno: int) -> Iterator[tuple[str, object]]:
    for line in lines:
        lineno += 1
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {lineno}", _BadRecord(f"invalid JSON ({exc.msg})")
            continue
        yield from _expand(obj, lineno, top=False)


def _expand(obj: object, lineno: int | None, *, top: bool) -> Iterator[tuple[str, object]]:
    where_line = f"line {lineno}: " if lineno is not None and not top else ""
    if isinstance(obj, dict) and "Records" in obj:
        recs = obj["Records"]
        if not isinstance(recs, list):
            raise _BadFile("not CloudTrail (Records is not a list)")
        for i, r in enumerate(recs):
            yield f"{where_line}Records[{i}]", r
    elif isinstance(obj, list):
        for i, r in enumerate(obj):
            yield f"{where_line}[{i}]", r
    elif isinstance(obj, dict):
        if top and not _looks_like_record(obj):
            raise _BadFile("not CloudTrail (no Records list and no eventName/eventTime/eventSource)")
        yield (f"line {lineno}" if lineno is not None else "record"), obj
    else:
        if top:
            raise _BadFile("not CloudTrail (expected a JSON object or array)")
        yield f"line {lineno}", _BadRecord("not a JSON object")


def _looks_like_record(obj: dict) -> bool:
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


def user_of(ui: dict) -> str:
    """The `user` column: who made the call, as one readable string."""
    t = ui.get("type")
    arn = ui.get("arn") or ""
    if t == "IAMUser":
        return ui.get("userName") or arn.rpartition(":user/")[2].rpartition("/")[2]
    if t == "AssumedRole":
        if ":assumed-role/" in arn:
            return arn.partition(":assumed-role/")[2]
        issuer = ((ui.get("sessionContext") or {}).get("sessionIssuer") or {}).get("userName") or ""
        session = (ui.get("principalId") or "").partition(":")[2]
        return f"{issuer}/{session}" if issuer or session else ""
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
    return ui.get("userName") or arn or ui.get("principalId") or ui.get("invokedBy") or ""


def _resource(src: str, name: str, rp: dict, resp: dict, ui: dict, rec: dict) -> str:
    if src == "s3.amazonaws.com":
        b = rp.get("bucketName")
        k = rp.get("key")
        if b and k:
            return f"{b}/{k}"
        return _s(b) if isinstance(b, str) else ""
    if name.startswith("AssumeRole"):
        arn = rp.get("roleArn")
        return arn.rpartition("/")[2] if isinstance(arn, str) else ""
    if src == "iam.amazonaws.com":
        for k in _IAM_TARGET_KEYS:
            v = rp.get(k)
            if isinstance(v, str) and v:
                return v
        if name == "CreateAccessKey":
            owner = ((resp or {}).get("accessKey") or {}).get("userName") if isinstance(resp, dict) else None
            if owner:
                return owner
        if name in _SELF_DIRECTED and ui.get("type") == "IAMUser":
            return user_of(ui)
        return ""
    if src in ("sts.amazonaws.com", "signin.amazonaws.com"):
        return ""
    for k in _GENERIC_KEYS:
        v = rp.get(k)
        if isinstance(v, str) and v:
            return v
    items = ((rp.get("instancesSet") or {}).get("items")) if isinstance(rp.get("instancesSet"), dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict) and items[0].get("instanceId"):
        return ",".join(_s(i.get("instanceId")) for i in items if isinstance(i, dict))
    res = rec.get("resources")
    if isinstance(res, list) and res and isinstance(res[0], dict):
        return _s(res[0].get("ARN"))
    return ""


def _details(rp: dict, resp: object, add: object) -> str:
    parts = []
    for k in _DETAIL_KEYS:
        v = rp.get(k)
        if v is not None and v != "" and not isinstance(v, dict):
            parts.append(f"{k}={_s(v)}")
    if isinstance(resp, dict):
        ak = resp.get("accessKey")
        if isinstance(ak, dict) and ak.get("accessKeyId"):
            parts.append(f"accessKey.accessKeyId={ak['accessKeyId']}")
        cr = resp.get("credentials")
        if isinstance(cr, dict) and cr.get("accessKeyId"):
            parts.append(f"credentials.accessKeyId={cr['accessKeyId']}")
        if "ConsoleLogin" in resp:
            parts.append(f"ConsoleLogin={_s(resp['ConsoleLogin'])}")
    if isinstance(add, dict) and "MFAUsed" in add:
        parts.append(f"MFAUsed={_s(add['MFAUsed'])}")
    return ";".join(parts)


def flatten_record(rec: object) -> tuple[bool, list[str]]:
    """(goes to cloud_iam.csv?, row in COLUMNS order). Raises _BadRecord."""
    if not isinstance(rec, dict):
        raise _BadRecord("not a JSON object")
    name = rec.get("eventName")
    etime = rec.get("eventTime")
    if not isinstance(name, str) or not name:
        if not _looks_like_record(rec):
            raise _BadRecord("not a CloudTrail record")
        raise _BadRecord("missing eventName")
    if not isinstance(etime, str) or not etime:
        raise _BadRecord("missing eventTime")
    src = rec.get("eventSource") or ""
    ui = rec.get("userIdentity")
    if not isinstance(ui, dict):
        ui = {}
    rp = rec.get("requestParameters")
    if not isinstance(rp, dict):
        rp = {}
    resp = rec.get("responseElements")
    add = rec.get("additionalEventData")
    bytes_out = ""
    if isinstance(add, dict):
        b = add.get("bytesTransferredOut")
        if b is not None and src == "s3.amazonaws.com":
            bytes_out = _s(b)
    row = [
        _s(rec.get("eventID")), etime, user_of(ui), _s(ui.get("type")), _s(ui.get("arn")), _s(src), name,
        _resource(src, name, rp, resp if isinstance(resp, dict) else {}, ui, rec),
        _s(rec.get("awsRegion")), _s(rec.get("sourceIPAddress")), _s(rec.get("userAgent")),
        _s(ui.get("accessKeyId")), _s(rec.get("errorCode")), _details(rp, resp, add), bytes_out,
    ]
    is_iam = src in IDENTITY_SOURCES and (name in IDENTITY_READS or not name.startswith(READ_PREFIXES))
    return is_iam, row


# ---------------------------------------------------------------------------------
# Sorted output in bounded memory

_SORT_KEY = itemgetter(1, 0)


class _SortedCsv:
    def __init__(self, workdir: Path, stem: str, chunk_rows: int):
        self.workdir = workdir
        self.stem = stem
        self.chunk_rows = chunk_rows
        self.buf: list[list[str]] = []
        self.chunks: list[Path] = []
        self.rows = 0

    def add(self, row: list[str]) -> None:
        self.buf.append(row)
        self.rows += 1
        if len(self.buf) >= self.chunk_rows:
            self._spill()

    def _spill(self) -> None:
        self.buf.sort(key=_SORT_KEY)
        path = self.workdir / f"{self.stem}.{len(self.chunks):05d}.part"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(self.buf)
        self.chunks.append(path)
        self.buf = []

    def write(self, dest: Path) -> None:
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(COLUMNS)
            if not self.chunks:
                self.buf.sort(key=_SORT_KEY)
                w.writerows(self.buf)
                self.buf = []
                return
            if self.buf:
                self._spill()
            handles = [open(p, newline="", encoding="utf-8") for p in self.chunks]
            try:
                w.writerows(heapq.merge(*(csv.reader(h) for h in handles), key=_SORT_KEY))
            finally:
                for h in handles:
                    h.close()


def flatten(*, inputs: Sequence[Path], out: Path, skip_bad: bool = False,
            chunk_rows: int = CHUNK_ROWS) -> FlattenSummary:
    """Read CloudTrail from ``inputs`` and write ``out``/cloud_iam.csv and ``out``/cloud_api.csv."""
    files = find_inputs(inputs)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CtlabError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    summary = FlattenSummary(out=out, files=0, records=0, iam_rows=0, api_rows=0)
    with tempfile.TemporaryDirectory(prefix=".flatten-", dir=out) as tmp:
        work = Path(tmp)
        iam = _SortedCsv(work, "iam", chunk_rows)
        api = _SortedCsv(work, "api", chunk_rows)
        for path in files:
            summary.files += 1
            kept: list[tuple[bool, list[str]]] = []
            bad_here = 0
            try:
                for where, rec in iter_records(path):
                    try:
                        if isinstance(rec, _BadRecord):
                            raise rec
                        kept.append(flatten_record(rec))
                    except _BadRecord as exc:
                        msg = f"{path}: {where}: {exc}"
                        if not skip_bad:
                            raise CtlabError(msg) from None
                        bad_here += 1
                        if len(summary.problems) < 5:
                            summary.problems.append(msg)
                    if len(kept) >= 2048:
                        _drain(kept, iam, api)
            except _BadFile as exc:
                msg = f"{path}: {exc}"
                if not skip_bad:
                    raise CtlabError(msg) from None
                summary.skipped_files += 1
                if len(summary.problems) < 5:
                    summary.problems.append(msg)
                # rows already taken from a file that turned out broken are kept: they were valid
            summary.skipped_records += bad_here
            summary.records += len(kept) + bad_here
            _drain(kept, iam, api)
        summary.records = iam.rows + api.rows + summary.skipped_records
        iam_tmp = out / f".{IAM_FILE}.{os.getpid()}.tmp"
        api_tmp = out / f".{API_FILE}.{os.getpid()}.tmp"
        try:
            iam.write(iam_tmp)
            api.write(api_tmp)
            os.replace(iam_tmp, out / IAM_FILE)
            os.replace(api_tmp, out / API_FILE)
        finally:
            for p in (iam_tmp, api_tmp):
                if p.exists():
                    p.unlink()
    summary.iam_rows, summary.api_rows = iam.rows, api.rows
    return summary


def _drain(kept: list[tuple[bool, list[str]]], iam: _SortedCsv, api: _SortedCsv) -> None:
    for is_iam, row in kept:
        (iam if is_iam else api).add(row)
    kept.clear()
