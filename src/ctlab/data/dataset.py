"""``ctlab data build``: the exercise's two CSVs and its answer key, from a story seed (the course's by default).

Steps: generate a week of CloudTrail (seed 3032, or the seed asked for) into a temporary folder, flatten it, apply the
SIEM-export step (``ctlab.data.siem``) to both CSVs, and write ``ground_truth.json`` from the
story the generator planted (part 3's event names: from the help notebook's reveal code). The three
files are moved into ``out`` only when all are ready.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ctlab.data import generate as g
from ctlab.data.flatten import API_FILE, IAM_FILE, flatten
from ctlab.data.realism import Realism, measure
from ctlab.data.siem import RATE, spoil_timestamps
from ctlab.errors import CtlabError
from ctlab.reveal import PROJECT_HINTS, run_reveals

COURSE_SEED = 3032
COURSE_DAYS = 7
GROUND_TRUTH = "ground_truth.json"

# The techniques the answer key names: (id, name, why, evidence). The evidence is what an analyst following
# the help notebook sees: the intruder's rows with these event names among the rows of that reveal
# variable (and, with a region, in that region); `ctlab data check` verifies it on every variant.
TECHNIQUES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("T1078.004", "Valid Accounts: Cloud Accounts",
     "{attacker}'s long-term access key is used from {ip1}, an address it never used before, at night",
     {"variable": "related_api", "event_names": ["GetCallerIdentity"], "user": "attacker"}),
    ("T1087.004", "Account Discovery: Cloud Account", "ListUsers, ListRoles, ListAccessKeys, ListMFADevices",
     {"variable": "susp_api", "event_names": ["ListUsers", "ListRoles", "ListAccessKeys", "ListMFADevices"]}),
    ("T1069.003", "Permission Groups Discovery: Cloud Groups",
     "ListGroups, ListGroupsForUser, ListAttachedUserPolicies, ListAttachedRolePolicies",
     {"variable": "susp_api",
      "event_names": ["ListGroups", "ListGroupsForUser", "ListAttachedUserPolicies", "ListAttachedRolePolicies"]}),
    ("T1580", "Cloud Infrastructure Discovery", "DescribeRegions, DescribeInstances, DescribeVpcs in {region}",
     {"variable": "susp_api", "event_names": ["DescribeRegions", "DescribeInstances", "DescribeVpcs"],
      "region": "{region}"}),
    ("T1619", "Cloud Storage Object Discovery", "ListBuckets, and ListObjects on {bucket}",
     {"variable": "susp_api", "event_names": ["ListBuckets", "ListObjects"]}),
    ("T1535", "Unused/Unsupported Cloud Regions", "the account never works in {region}; the attacker does",
     {"variable": "susp_api", "event_names": ["DescribeRegions"], "region": "{region}"}),
    ("T1098.003", "Account Manipulation: Additional Cloud Roles", "AttachRolePolicy AdministratorAccess on {role}",
     {"variable": "susp_iam", "event_names": ["AttachRolePolicy"]}),
    ("T1098.001", "Account Manipulation: Additional Cloud Credentials",
     "CreateAccessKey for {persistence_user}, a user other than the caller",
     {"variable": "susp_iam", "event_names": ["CreateAccessKey"]}),
    ("T1556.006", "Modify Authentication Process: Multi-Factor Authentication",
     "DeactivateMFADevice on the administrator {mfa_user}, by the escalated role's session",
     {"variable": "susp_iam", "event_names": ["DeactivateMFADevice"], "user": "role_session"}),
    ("T1550.001", "Use Alternate Authentication Material: Application Access Token",
     "the escalated role's temporary (ASIA) credentials are used from a second address, {ip2}",
     {"variable": "related_api", "event_names": ["GetObject"], "user": "role_session"}),
    ("T1530", "Data from Cloud Storage", "GetObject of {objects} finance exports from {bucket}, about {gb} GB in total",
     {"variable": "related_api", "event_names": ["GetObject"]}),
)


@dataclass
class BuildSummary:
    out: Path
    iam_rows: int
    api_rows: int
    spoiled_iam: int
    spoiled_api: int
    attack_rows: int
    principals: int
    realism: Realism | None = None

    def describe(self) -> str:
        text = (f"wrote {self.out / IAM_FILE} ({self.iam_rows} rows, {self.spoiled_iam} timestamps spoiled), "
                f"{self.out / API_FILE} ({self.api_rows} rows, {self.spoiled_api} spoiled) and "
                f"{self.out / GROUND_TRUTH} ({self.attack_rows} attack rows, {self.principals} principals); "
                f"keep {GROUND_TRUTH} away from students")
        return text + ("\n" + self.realism.describe() if self.realism else "")


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _t(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")


def suspicious_event_names(data_dir: Path, *, hints: Path) -> list[str]:
    """The IAM event names part 3 asks for: those of the rows the reveal code of part 3 keeps, sorted."""
    susp_iam = run_reveals(hints=hints, data_dir=data_dir, questions=["q1", "q3"]).get("susp_iam")
    if not isinstance(susp_iam, pd.DataFrame):
        raise CtlabError(f"{hints}: the reveal code of q3 should set susp_iam to a DataFrame")
    return sorted({str(name) for name in susp_iam["event_name"]})


def techniques(story: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer key's techniques with this variant's values in their reasons and evidence."""
    p = story["params"]
    values = {"attacker": p["attacker"], "ip1": p["ips"][0], "ip2": p["ips"][1], "region": p["region"],
              "role": p["role"], "persistence_user": p["persistence_user"], "mfa_user": p["mfa_user"],
              "bucket": p["bucket"], "objects": len(story["objects"]),
              "gb": f"{story['bytes_exfiltrated'] / 1e9:.1f}"}
    who = {"attacker": p["attacker"], "role_session": f"{p['role']}/{p['session']}"}
    out = []
    for tid, name, reason, evidence in TECHNIQUES:
        ev = dict(evidence)
        if "region" in ev:
            ev["region"] = str(ev["region"]).format(**values)
        if "user" in ev:
            ev["user"] = who[str(ev["user"])]
        out.append({"id": tid, "name": name, "reason": reason.format(**values), "evidence": ev})
    return out


def ground_truth(story: dict[str, Any], iam_rows: list[dict[str, str]], api_rows: list[dict[str, str]],
                 siem: dict[str, Any], *, suspicious_iam_event_names: list[str], seed: int = COURSE_SEED,
                 realism: dict[str, Any] | None = None) -> dict[str, Any]:
    ids = set(story["event_ids"])
    timeline = []
    for fname, rows in ((IAM_FILE, iam_rows), (API_FILE, api_rows)):
        for r in rows:
            if r["event_id"] in ids:
                timeline.append({"time": r["timestamp"], "event_id": r["event_id"], "event_name": r["event_name"],
                                 "user": r["user"], "resource": r["resource"], "file": fname,
                                 "source_ip": r["source_ip"], "region": r["region"], "error_code": r["error_code"]})
    timeline.sort(key=lambda e: (e["time"], e["event_id"]))
    if len(timeline) != len(ids):
        raise CtlabError(f"internal: {len(ids) - len(timeline)} attack records missing from the flattened CSVs")
    attach, first_get = _t(story["attach_time"]), _t(story["first_get_time"])
    principals = {r["user"] for r in iam_rows} | {r["user"] for r in api_rows}
    p = story["params"]
    role_session = f"{p['role']}/{p['session']}"
    truth = {
        "note": "Answer key for Scenario 03B. Never give this file to students.",
        "account_id": g.ACCOUNT,
        "seed": seed,
        "days": COURSE_DAYS,
        "attacker_user": p["attacker"],
        "attacker_access_key": story["attacker_key"],
        "attacker_ip": p["ips"][0],  # where the stolen long-term key was used from
        "attacker_ips": list(p["ips"]),  # [that address, the address the assumed-role session used]
        "attacker_region": p["region"],
        "attacker_user_agent": p["ua_sdk"],  # the enumeration script's; the CLI's are in attacker_user_agents
        "attacker_user_agents": story["user_agents"],
        "escalated_role": p["role"],
        "escalation_policy_arn": g.ESCALATION_POLICY,
        "role_session": role_session,
        "role_session_access_key": story["session_key"],
        "persistence_user": p["persistence_user"],
        "created_access_key": story["created_access_key"],
        "mfa_user": p["mfa_user"],
        "sensitive_bucket": p["bucket"],
        "exfiltrated_objects": story["objects"],
        "bytes_exfiltrated": story["bytes_exfiltrated"],
        "privilege_change_time": story["attach_time"],
        "privilege_change_event_id": story["attach_event_id"],
        "first_sensitive_getobject_time": story["first_get_time"],
        "first_sensitive_getobject_event_id": story["first_get_event_id"],
        "minutes_to_exfil": int((first_get - attach).total_seconds() // 60),
        "attacker_principals": sorted({e["user"] for e in timeline}),
        "suspicious_iam_event_names": suspicious_iam_event_names,
        "techniques": techniques(story),
        "required_techniques": ["T1078", "T1098", "T1530"],
        "timeline": timeline,
        "rows": {IAM_FILE: len(iam_rows), API_FILE: len(api_rows)},
        "principals": len(principals),
        "siem_export": siem,
        "story": {"traveller": p["traveller"], "travel_days": list(p["travel_days"]), "session_name": p["session"],
                  "attack_day": p["day"]},
    }
    if realism is not None:
        truth["realism"] = realism
    return truth


def build_data(*, out: Path, hints: Path = PROJECT_HINTS, seed: int = COURSE_SEED) -> BuildSummary:
    """Write the exercise's CSVs and answer key into `out`; `hints` holds the reveal code of part 3;
    `seed` is the story seed (the course's by default; other seeds give other variants)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CtlabError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    with tempfile.TemporaryDirectory(prefix=".build-", dir=out) as tmp:
        work = Path(tmp)
        gen = g.generate(seed=seed, days=COURSE_DAYS, out=work / "raw", start=None)
        flat = work / "flat"
        flatten(inputs=[work / "raw"], out=flat, skip_bad=False)
        story = dict(gen.story)
        iam_rows = _read(flat / IAM_FILE)
        api_rows = _read(flat / API_FILE)
        attack = set(story["event_ids"])
        attacker_rows = [r for r in iam_rows + api_rows if r["event_id"] == story["attach_event_id"]]
        story["attacker_key"] = attacker_rows[0]["access_key_id"]
        real = measure(iam_rows + api_rows, attack, read_only_share=gen.read_only / gen.events)
        reports = {}
        for name in (IAM_FILE, API_FILE):
            rep = spoil_timestamps(flat / name, seed=seed, protect=attack)
            reports[name] = rep.as_json()
        siem = {"seed": seed, "rate": RATE, "keep_first": 5, "attack_rows_spoiled": 0,
                "files": reports}
        truth = ground_truth(story, iam_rows, api_rows, siem, seed=seed, realism=real.as_json(),
                             suspicious_iam_event_names=suspicious_event_names(flat, hints=hints))
        (flat / GROUND_TRUTH).write_text(json.dumps(truth, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        for name in (IAM_FILE, API_FILE, GROUND_TRUTH):
            os.replace(flat / name, out / name)
    return BuildSummary(out=out, iam_rows=len(iam_rows), api_rows=len(api_rows),
                        spoiled_iam=reports[IAM_FILE]["spoiled"], spoiled_api=reports[API_FILE]["spoiled"],
                        attack_rows=len(truth["timeline"]), principals=truth["principals"], realism=real)
