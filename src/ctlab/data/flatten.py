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
import gc
import gzip
import heapq
import io
import json
import marshal
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
CHUNK_ROWS = 25_000

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


_IAM_TARGET_ORDER = {k: i for i, k in enumerate(_IAM_TARGET_KEYS)}
_GENERIC_ORDER = {k: i for i, k in enumerate(_GENERIC_KEYS)}
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


def _open_binary(path: Path) -> io.BufferedIOBase:
    fh = open(path, "rb")
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def _loads(data: bytes) -> object:
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise _BadFile("not UTF-8 text") from None


def iter_batches(path: Path) -> Iterator[tuple[str, list]]:
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


def _lines(lines, lineno: int) -> Iterator[tuple[str, list]]:
    for line in lines:
        lineno += 1
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            yield f"line {lineno}", [_BadRecord(f"invalid JSON ({msg})")]
            continue
        yield _batch(obj, lineno, top=False)


def _batch(obj: object, lineno: int | None, *, top: bool) -> tuple[str, list]:
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


def _first_key(rp: dict, order: dict[str, int]) -> str:
    """The value of the highest-priority key of ``order`` that ``rp`` holds as a non-empty string."""
    best, found = len(order), ""
    for k, v in rp.items():
        i = order.get(k)
        if i is not None and i < best and v and isinstance(v, str):
            best, found = i, v
    return found


def _resource(src: str, name: str, rp: dict, resp: object, ui: dict, rec: dict) -> str:
    """The `resource` column: what the call acted on (see the module docs and the README)."""
    if src == "s3.amazonaws.com":
        b = rp.get("bucketName")
        if not isinstance(b, str):
            return ""
        k = rp.get("key")
        return f"{b}/{k}" if k and isinstance(k, str) else b
    if name.startswith("AssumeRole"):
        arn = rp.get("roleArn")
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
        if name in _SELF_DIRECTED and ui.get("type") == "IAMUser":
            return user_of(ui)
        return ""
    if src in ("sts.amazonaws.com", "signin.amazonaws.com"):
        return ""
    if rp:
        found = _first_key(rp, _GENERIC_ORDER)
        if found:
            return found
        inst = rp.get("instancesSet")
        items = inst.get("items") if isinstance(inst, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict) and items[0].get("instanceId"):
            return ",".join(_s(i.get("instanceId")) for i in items if isinstance(i, dict))
    res = rec.get("resources")
    if isinstance(res, list) and res and isinstance(res[0], dict):
        return _s(res[0].get("ARN"))
    return ""


def _details(rp: dict, resp: object, add: object) -> str:
    """The `details` column: telling parameters as ``key=value`` pairs joined by ``;``."""
    parts = []
    if rp:
        hits = [(i, k, v) for k, v in rp.items()
                if (i := _DETAIL_ORDER.get(k)) is not None and v is not None and v != "" and not isinstance(v, dict)]
        if hits:
            hits.sort()
            parts = [f"{k}={v if isinstance(v, str) else _s(v)}" for _, k, v in hits]
    if resp and isinstance(resp, dict):
        ak = resp.get("accessKey")
        if isinstance(ak, dict) and ak.get("accessKeyId"):
            parts.append(f"accessKey.accessKeyId={ak['accessKeyId']}")
        cr = resp.get("credentials")
        if isinstance(cr, dict) and cr.get("accessKeyId"):
            parts.append(f"credentials.accessKeyId={cr['accessKeyId']}")
        if "ConsoleLogin" in resp:
            parts.append(f"ConsoleLogin={_s(resp['ConsoleLogin'])}")
    if add and isinstance(add, dict) and "MFAUsed" in add:
        parts.append(f"MFAUsed={_s(add['MFAUsed'])}")
    return ";".join(parts)


def _str(v: object) -> str:
    return v if isinstance(v, str) else _s(v)


def flatten_record(rec: object) -> tuple[bool, list[str]]:
    """(goes to cloud_iam.csv?, row in COLUMNS order). Raises _BadRecord."""
    if not isinstance(rec, dict):
        if isinstance(rec, _BadRecord):
            raise rec
        raise _BadRecord("not a JSON object")
    get = rec.get
    name = get("eventName")
    etime = get("eventTime")
    if not name or not isinstance(name, str):
        if not _looks_like_record(rec):
            raise _BadRecord("not a CloudTrail record")
        raise _BadRecord("missing eventName")
    if not etime or not isinstance(etime, str):
        raise _BadRecord("missing eventTime")
    src = get("eventSource") or ""
    ui = get("userIdentity")
    if not isinstance(ui, dict):
        ui = {}
    rp = get("requestParameters")
    if not isinstance(rp, dict):
        rp = {}
    resp = get("responseElements")
    add = get("additionalEventData")
    bytes_out = ""
    if add and src == "s3.amazonaws.com" and isinstance(add, dict):
        b = add.get("bytesTransferredOut")
        if b is not None:
            bytes_out = _s(b)
    # plain string fields go in as they are (None -> ""); csv writes any other scalar with str()
    uget = ui.get
    row = [
        _str(get("eventID")), etime, user_of(ui), uget("type") or "", uget("arn") or "", src, name,
        _resource(src, name, rp, resp, ui, rec),
        get("awsRegion") or "", get("sourceIPAddress") or "", get("userAgent") or "",
        uget("accessKeyId") or "", get("errorCode") or "", _details(rp, resp, add), bytes_out,
    ]
    is_iam = src in IDENTITY_SOURCES and (name in IDENTITY_READS or not name.startswith(READ_PREFIXES))
    return is_iam, row


# ---------------------------------------------------------------------------------
# Sorted output in bounded memory

_SORT_KEY = itemgetter(1, 0)


class _SortedCsv:
    """Rows sorted by (timestamp, event_id) with about ``chunk_rows`` of them in memory.

    Rows are appended to ``buf``; ``check`` spills a full buffer, sorted, to a temporary run
    file (length-prefixed marshal blocks, cheap to write and read back); ``write`` merges the
    runs into the CSV.
    """

    _BLOCK = 256  # rows per marshal block: a merge holds one block per run
    _FANIN = 32   # runs merged at once; more runs are first merged into longer ones

    def __init__(self, workdir: Path, stem: str, chunk_rows: int):
        self.workdir = workdir
        self.stem = stem
        self.chunk_rows = max(1, chunk_rows)
        self.buf: list[list[str]] = []
        self.chunks: list[Path] = []
        self.spilled = 0
        self._runs = 0

    @property
    def rows(self) -> int:
        return self.spilled + len(self.buf)

    def check(self) -> None:
        if len(self.buf) >= self.chunk_rows:
            self._spill()

    def _spill(self) -> None:
        buf = self.buf
        buf.sort(key=_SORT_KEY)
        self.chunks.append(self._write_run(buf))
        self.spilled += len(buf)
        self.buf = []

    def _write_run(self, rows) -> Path:
        path = self.workdir / f"{self.stem}.{self._runs:05d}.run"
        self._runs += 1
        block: list = []
        with open(path, "wb") as fh:
            for row in rows:
                block.append(row)
                if len(block) >= self._BLOCK:
                    data = marshal.dumps(block)
                    fh.write(len(data).to_bytes(8, "little") + data)
                    block = []
            if block:
                data = marshal.dumps(block)
                fh.write(len(data).to_bytes(8, "little") + data)
        return path

    def _reduce_runs(self) -> None:
        while len(self.chunks) > self._FANIN:
            group, self.chunks = self.chunks[:self._FANIN], self.chunks[self._FANIN:]
            merged = self._write_run(heapq.merge(*(self._read_run(p) for p in group), key=_SORT_KEY))
            for p in group:
                p.unlink()
            self.chunks.append(merged)

    @staticmethod
    def _read_run(path: Path) -> Iterator[list[str]]:
        with open(path, "rb") as fh:
            while True:
                head = fh.read(8)
                if not head:
                    return
                yield from marshal.loads(fh.read(int.from_bytes(head, "little")))

    def write(self, dest: Path) -> None:
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(COLUMNS)
            if not self.chunks:
                self.buf.sort(key=_SORT_KEY)
                w.writerows(self.buf)
                return
            if self.buf:
                self._spill()
            self._reduce_runs()
            w.writerows(heapq.merge(*(self._read_run(p) for p in self.chunks), key=_SORT_KEY))


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
    # Decoded records and buffered rows hold no reference cycles; the cyclic collector would
    # only rescan them again and again as they pile up, so it rests while we work.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _flatten(files, out, skip_bad, chunk_rows, summary)
    finally:
        if gc_was_enabled:
            gc.enable()


def _flatten(files: list[Path], out: Path, skip_bad: bool, chunk_rows: int,
             summary: FlattenSummary) -> FlattenSummary:
    with tempfile.TemporaryDirectory(prefix=".flatten-", dir=out) as tmp:
        work = Path(tmp)
        iam = _SortedCsv(work, "iam", chunk_rows)
        api = _SortedCsv(work, "api", chunk_rows)
        for path in files:
            summary.files += 1
            try:
                for label, items in iter_batches(path):
                    iam_add, api_add = iam.buf.append, api.buf.append
                    for i, rec in enumerate(items):
                        try:
                            is_iam, row = flatten_record(rec)
                        except _BadRecord as exc:
                            msg = f"{path}: {label.format(i)}: {exc}"
                            if not skip_bad:
                                raise CtlabError(msg) from None
                            summary.skipped_records += 1
                            if len(summary.problems) < 5:
                                summary.problems.append(msg)
                            continue
                        if is_iam:
                            iam_add(row)
                        else:
                            api_add(row)
                    iam.check()
                    api.check()
            except _BadFile as exc:
                # rows already taken from a file that turned out broken are kept: they were valid
                msg = f"{path}: {exc}"
                if not skip_bad:
                    raise CtlabError(msg) from None
                summary.skipped_files += 1
                if len(summary.problems) < 5:
                    summary.problems.append(msg)
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
