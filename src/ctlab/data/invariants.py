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

When the folder also holds the answer key (``ground_truth.json``, as ``ctlab data build`` writes
it), the story is checked too:

- no giveaway: for every column, the intruder's own values select rows of which fewer than
  ``ctlab.data.realism.GIVEAWAY`` are the intruder's (see ``ctlab.data.realism``);
- the method reaches the evidence: the help notebook's reveal code, run on the folder, finds it. Part
  5's ``related_api`` holds every download of the sensitive bucket, each technique's evidence in the
  key is among the rows of the reveal variable it names, part 6b's ``iocs`` names every indicator
  of the key and nothing it does not accept, and the first download after the grant from an address
  the account had not seen before is the intruder's first (the master notebook's way to parts 9-10).
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ctlab.build.answer_key import TRUTH_FILE, week_key
from ctlab.data.flatten import API_FILE, COLUMNS, IAM_FILE, flatten
from ctlab.data.realism import GIVEAWAY, column_precision
from ctlab.errors import CtlabError
from ctlab.reveal import PROJECT_HINTS, run_reveals

INVARIANTS = ("mfa", "bucket-region", "object-size", "key-owner", "session")
STORY_CHECKS = ("giveaway", "method")


@dataclass
class CheckReport:
    path: Path
    rows: int
    violations: list[str] = field(default_factory=list)
    checks: tuple[str, ...] = INVARIANTS

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        if self.ok:
            return f"{self.path}: {self.rows} rows; all {len(self.checks)} invariants hold ({', '.join(self.checks)})"
        return f"{self.path}: {self.rows} rows; {len(self.violations)} violation{'s' if len(self.violations) != 1 else ''}"


def _time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None


def _details(text: str) -> dict[str, str]:
    return dict(part.partition("=")[::2] for part in text.split(";") if "=" in part)


def _read(folder: Path) -> list[dict[str, str]]:
    """The rows of both logs; a log that is not the flattener's CSV stops with its name and why."""
    rows: list[dict[str, str]] = []
    for name in (IAM_FILE, API_FILE):
        try:
            with open(folder / name, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise CtlabError(f"{folder / name}: not a flattened log: no {', '.join(missing)} column"
                                     f"{'s' if len(missing) > 1 else ''}")
                got = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CtlabError(f"{folder / name}: cannot be read ({type(exc).__name__}: {exc})") from None
        if any(None in r or any(v is None for v in r.values()) for r in got):
            raise CtlabError(f"{folder / name}: rows with more or fewer values than its header has columns")
        rows.extend(got)
    return rows


def check_rows(rows: list[dict[str, str]]) -> list[str]:
    """Every violation of the invariants in ``rows`` (flattened CloudTrail), one line each."""
    bad: list[str] = []
    timed = sorted(((t, r["event_id"], r) for r in rows if (t := _time(r["timestamp"])) is not None),
                   key=lambda x: x[:2])

    # MFA state follows its events (a user's state is unknown once one of its changes lost its time)
    mfa: dict[str, bool] = {}
    unknown = {r["resource"] for r in rows if r["event_name"] in ("EnableMFADevice", "DeactivateMFADevice")
               and _time(r["timestamp"]) is None}
    for _t, eid, r in timed:
        if (r["user"] if r["event_name"] == "ConsoleLogin" else r["resource"]) in unknown:
            continue
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


def check_story(rows: list[dict[str, str]], truth: dict[str, Any], *, data_dir: Path, hints: Path) -> list[str]:
    """Every violation of the story checks (no giveaway column; the reveal code reaches the evidence)."""
    bad: list[str] = []
    attack = {e["event_id"] for e in truth["timeline"]}
    for c in column_precision(rows, attack):
        if c.precision >= GIVEAWAY:
            bad.append(f"giveaway: the intruder's values of {c.column} select {c.selected} rows, {c.attack_rows} of "
                       f"them the intruder's (precision {c.precision:.2f}, at most {GIVEAWAY} allowed)")
    found = run_reveals(hints=hints, data_dir=data_dir, questions=["q1", "q2", "q3", "q4", "q5", "q6", "q11"])
    frames = {k: v for k, v in found.items() if isinstance(v, pd.DataFrame)}
    for need in ("susp_iam", "susp_api", "related_api"):
        if need not in frames:
            return bad + [f"method: the reveal code sets no DataFrame {need}"]
    related = set(frames["related_api"]["event_id"].astype(str))
    downloads = [e for e in truth["timeline"] if e["event_name"] == "GetObject"
                 and e["resource"].startswith(truth["sensitive_bucket"] + "/")]
    missed = [e["event_id"] for e in downloads if e["event_id"] not in related]
    if not downloads or missed:
        bad.append(f"method: part 5's related_api misses {len(missed)} of the {len(downloads)} downloads of "
                   f"{truth['sensitive_bucket']} ({', '.join(missed[:3])})")
    for tech in truth["techniques"]:
        ev = tech.get("evidence")
        if not ev:
            continue
        frame = frames.get(ev["variable"])
        if frame is None:
            bad.append(f"method: {tech['id']}'s evidence is in {ev['variable']}, which the reveal code does not set")
            continue
        mine = frame[frame["event_id"].astype(str).isin(attack)]  # the intruder's rows as the method sees them
        for name in ev["event_names"]:
            hit = mine["event_name"] == name
            if "region" in ev:
                hit &= mine["region"] == ev["region"]
            if "user" in ev:
                hit &= mine["user"] == ev["user"]
            if not hit.any():
                where = f" in {ev['region']}" if "region" in ev else ""
                by = f" by {ev['user']}" if "user" in ev else ""
                bad.append(f"method: {tech['id']}'s evidence {name}{where}{by} is not among the intruder's rows of "
                           f"{ev['variable']}")
    # parts 9 and 10 (stretch): the first download after the grant from an address the account had not
    # seen before it is the intruder's first download
    grant = _time(truth["privilege_change_time"])
    if grant is not None:
        known = {r["source_ip"] for r in rows if (t := _time(r["timestamp"])) is not None and t < grant}
        later = sorted((t, r["event_id"]) for r in rows if r["event_name"] == "GetObject" and r["source_ip"] not in known
                       and (t := _time(r["timestamp"])) is not None and t > grant)
        if not later or later[0][1] != truth["first_sensitive_getobject_event_id"]:
            bad.append(f"method: the first download after the grant from a new address is {later[0][1] if later else 'none'}, "
                       f"not the intruder's first ({truth['first_sensitive_getobject_event_id']})")
    key = week_key(data=data_dir)["iocs"]
    iocs = found.get("iocs")
    if not isinstance(iocs, dict):
        return bad + ["method: the reveal code of part 6b sets no dict iocs"]
    for kind, want in key.items():
        got = {str(v) for v in iocs.get(kind, [])}
        lacks = sorted(set(want["required"]) - got)
        extra = sorted(got - set(want["required"]) - set(want["accepted"]))
        if lacks or extra:
            bad.append(f"method: part 6b's iocs[{kind!r}] lacks {lacks} and holds {extra} the key does not accept")
    return bad


def _unzip_week(path: Path, into: Path) -> None:
    """A variant's zip (its two CSVs) unpacked into ``into``, with the answer key beside the zip if any."""
    try:
        with zipfile.ZipFile(path) as zf:
            for name in (IAM_FILE, API_FILE):
                (into / name).write_bytes(zf.read(name))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # KeyError: a CSV missing
        raise CtlabError(f"{path}: not a variant's data zip with {IAM_FILE} and {API_FILE} "
                         f"({type(exc).__name__}: {exc})") from None
    if (path.parent / TRUTH_FILE).is_file():
        shutil.copyfile(path.parent / TRUTH_FILE, into / TRUTH_FILE)


def check_week(*, path: Path, hints: Path = PROJECT_HINTS) -> CheckReport:
    """Check ``path``: a folder with cloud_iam.csv and cloud_api.csv (and, for the story checks, the answer
    key ground_truth.json), a variant's zip of the two CSVs (data/variants/vNN/data.zip, whose answer key
    lies beside it, or a student's vNN.zip), or CloudTrail files (flattened first). ``hints`` holds the
    reveal code."""
    path = Path(path)
    if not path.exists():
        raise CtlabError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix == ".zip":
        with tempfile.TemporaryDirectory(prefix="ctlab-check-") as tmp:
            _unzip_week(path, Path(tmp))
            try:
                report = check_week(path=Path(tmp), hints=hints)
            except CtlabError as exc:  # name the zip's answer key, not the unpacked copy
                raise CtlabError(str(exc).replace(str(Path(tmp) / TRUTH_FILE), str(path.parent / TRUTH_FILE))) from None
        report.path = path
        return report
    if (path / IAM_FILE).is_file() and (path / API_FILE).is_file():
        rows = _read(path)
        if (path / TRUTH_FILE).is_file():
            try:
                truth = json.loads((path / TRUTH_FILE).read_text(encoding="utf-8"))
                bad = check_rows(rows) + check_story(rows, truth, data_dir=path, hints=hints)
            except (ValueError, KeyError, TypeError) as exc:
                raise CtlabError(f"{path / TRUTH_FILE}: not a usable answer key ({type(exc).__name__}: {exc})") from None
            return CheckReport(path=path, rows=len(rows), violations=bad, checks=INVARIANTS + STORY_CHECKS)
    else:
        with tempfile.TemporaryDirectory(prefix="ctlab-check-") as tmp:
            flatten(inputs=[path], out=Path(tmp), skip_bad=False)
            rows = _read(Path(tmp))
    return CheckReport(path=path, rows=len(rows), violations=check_rows(rows))
