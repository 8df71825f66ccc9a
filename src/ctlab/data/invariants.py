"""``ctlab data check``: consistency invariants of a generated (or any flattened) week.

An analyst reading the logs side by side notices contradictions a generator can make by accident;
this checks the ones that matter for the exercise, on the two flattened CSVs:

- MFA state follows its events: after DeactivateMFADevice a user's console sign-ins say
  ``MFAUsed=No`` until an EnableMFADevice, and the other way round;
- a bucket's calls are all logged in one region (the bucket's);
- an object keeps its size: every successful GetObject of one object transfers the same bytes;
- keys belong to their users: one principal per access key, and a key made by CreateAccessKey is
  used only by the user it was made for;
- sessions follow their AssumeRole: an assumed-role (or federated) session's key was handed out
  earlier by an AssumeRole* (or GetFederationToken) for that role and session name, and is used
  within the duration asked for.

Rows whose timestamp does not parse (the SIEM step spoils a few) take part in every check that
does not need their time.
"""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ctlab.data.flatten import API_FILE, IAM_FILE, flatten
from ctlab.errors import CtlabError

INVARIANTS = ("mfa", "bucket-region", "object-size", "key-owner", "session")


@dataclass
class CheckReport:
    path: Path
    rows: int
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        if self.ok:
            return f"{self.path}: {self.rows} rows; all {len(INVARIANTS)} invariants hold ({', '.join(INVARIANTS)})"
        return f"{self.path}: {self.rows} rows; {len(self.violations)} violation{'s' if len(self.violations) != 1 else ''}"


def _time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None


def _details(text: str) -> dict[str, str]:
    return dict(part.partition("=")[::2] for part in text.split(";") if "=" in part)


def _read(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name in (IAM_FILE, API_FILE):
        with open(folder / name, newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def check_rows(rows: list[dict[str, str]]) -> list[str]:
    """Every violation of the invariants in ``rows`` (flattened CloudTrail), one line each."""
    bad: list[str] = []
    timed = sorted(((t, r["event_id"], r) for r in rows if (t := _time(r["timestamp"])) is not None),
                   key=lambda x: x[:2])

    # MFA state follows its events
    mfa: dict[str, bool] = {}
    for _t, eid, r in timed:
        name, ok = r["event_name"], not r["error_code"]
        if name in ("EnableMFADevice", "DeactivateMFADevice") and ok and r["resource"]:
            mfa[r["resource"]] = name == "EnableMFADevice"
        elif name == "ConsoleLogin" and r["user_type"] == "IAMUser":
            d = _details(r["details"])
            if d.get("ConsoleLogin") != "Success" or d.get("MFAUsed") not in ("Yes", "No"):
                continue
            used = d["MFAUsed"] == "Yes"
            if r["user"] in mfa and mfa[r["user"]] != used:
                bad.append(f"mfa: {r['user']} signs in with MFAUsed={d['MFAUsed']} at {r['timestamp']} ({eid}) "
                           f"although their MFA device is {'on' if mfa[r['user']] else 'off'}")
            mfa[r["user"]] = used

    # one region per bucket
    regions: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        if r["event_source"] == "s3.amazonaws.com" and r["resource"]:
            regions[r["resource"].partition("/")[0]].setdefault(r["region"], r["event_id"])
    for bucket, seen in sorted(regions.items()):
        if len(seen) > 1:
            bad.append(f"bucket-region: {bucket} is logged in {len(seen)} regions "
                       f"({', '.join(f'{g} ({e})' for g, e in sorted(seen.items()))})")

    # one size per object
    sizes: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        if r["event_name"] == "GetObject" and not r["error_code"] and r["bytes_out"] and "/" in r["resource"]:
            sizes[r["resource"]].setdefault(r["bytes_out"], r["event_id"])
    for obj, seen in sorted(sizes.items()):
        if len(seen) > 1:
            bad.append(f"object-size: {obj} is read with {len(seen)} sizes ({', '.join(sorted(seen))})")

    # keys belong to their users
    users: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r["access_key_id"]:
            users[r["access_key_id"]].add(r["user"])
    for used_key, principals in sorted(users.items()):
        if len(principals) > 1:
            bad.append(f"key-owner: {used_key} is used by {len(principals)} principals ({', '.join(sorted(principals))})")
    for r in rows:
        if r["event_name"] == "CreateAccessKey" and not r["error_code"]:
            key = _details(r["details"]).get("accessKey.accessKeyId")
            other = users.get(key or "", set()) - {r["resource"]}
            if other:
                bad.append(f"key-owner: {key}, made for {r['resource']} ({r['event_id']}), is used by "
                           f"{', '.join(sorted(other))}")

    # sessions follow their AssumeRole
    issued: dict[str, tuple[datetime | None, str, str, int]] = {}  # key -> (time, role/session, event, seconds)
    for r in rows:
        d = _details(r["details"])
        key = d.get("credentials.accessKeyId")
        if not key or r["error_code"]:
            continue
        if r["event_name"].startswith("AssumeRole"):
            who = f"{r['resource']}/{d.get('roleSessionName', '')}"
        elif r["event_name"] == "GetFederationToken":
            who = ""  # checked by key only: the federated user's name is not in the row
        else:
            continue
        issued[key] = (_time(r["timestamp"]), who, r["event_id"], int(d.get("durationSeconds") or 3600))
    for r in rows:
        if r["user_type"] not in ("AssumedRole", "FederatedUser") or not r["access_key_id"].startswith("ASIA"):
            continue
        got = issued.get(r["access_key_id"])
        if got is None:
            bad.append(f"session: {r['user']} uses {r['access_key_id']} ({r['event_id']}), which no AssumeRole "
                       f"or GetFederationToken handed out")
            continue
        when, who, eid, seconds = got
        if r["user_type"] == "AssumedRole" and who != r["user"]:
            bad.append(f"session: {r['access_key_id']} was handed out for {who} ({eid}) but is used by "
                       f"{r['user']} ({r['event_id']})")
        t = _time(r["timestamp"])
        if when is not None and t is not None and not when <= t <= when + timedelta(seconds=seconds):
            bad.append(f"session: {r['user']} uses {r['access_key_id']} at {r['timestamp']} ({r['event_id']}), "
                       f"outside the {seconds} s it was handed out for at {when:%Y-%m-%dT%H:%M:%SZ} ({eid})")
    return bad


def check_week(*, path: Path) -> CheckReport:
    """Check ``path``: a folder with cloud_iam.csv and cloud_api.csv, or CloudTrail files (flattened first)."""
    path = Path(path)
    if not path.exists():
        raise CtlabError(f"{path}: no such file or folder")
    if (path / IAM_FILE).is_file() and (path / API_FILE).is_file():
        rows = _read(path)
    else:
        with tempfile.TemporaryDirectory(prefix="ctlab-check-") as tmp:
            flatten(inputs=[path], out=Path(tmp), skip_bad=False)
            rows = _read(Path(tmp))
    return CheckReport(path=path, rows=len(rows), violations=check_rows(rows))
