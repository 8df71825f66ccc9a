"""Triage summaries scored by hand against autograder/rubric.md, to calibrate the review page's
evidence check (ctlab.review.evidence) on: its suggestion per criterion is compared with the hand
score (tests/test_review_evidence.py asserts the agreement; tests/benchmarks/calibrate_evidence.py
prints it). The values come from the build's answer key, so the set follows the data.

Each entry: (summary, hand score of criterion 1 "what happened, in order", 2 "evidence and IOCs",
3 "impact, ATT&CK and next steps"). They are written the ways students write: with the exact values,
with ARNs, with a role session as "Role (session name x)", with technique names in their own words,
out of order, or thin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

GT = json.loads((Path(__file__).resolve().parents[1] / "data" / "ground_truth.json").read_text())
ROLE, SESSION_NAME = GT["role_session"].rsplit("/", 1)
V = {
    "user": GT["attacker_user"], "key": GT["attacker_access_key"], "ip1": GT["attacker_ips"][0],
    "ip2": GT["attacker_ips"][-1], "region": GT["attacker_region"], "role": GT["escalated_role"],
    "session": GT["role_session"], "sname": SESSION_NAME, "policy": GT["escalation_policy_arn"].rsplit("/", 1)[-1],
    "policy_arn": GT["escalation_policy_arn"], "persist": GT["persistence_user"], "mfa": GT["mfa_user"],
    "bucket": GT["sensitive_bucket"], "account": GT["account_id"],
}

SCORED: list[tuple[str, float, float, float]] = [
    # exact values, every step in order, IDs, containment
    ("""At 01:52 UTC {user}'s key {key} was used from {ip1}, partly in {region}. After discovery calls it attached
{policy} to {role}, created an access key for {persist}, assumed {session} from {ip2}, deactivated the MFA of
{mfa} from that session and downloaded payroll and ledger exports from {bucket}. ATT&CK T1078.004, T1098.003, T1530. Disable the
keys, revoke the session, detach the policy, restore MFA.""", 1, 1, 1),
    # the role session as "Role (session name x)", techniques by name in other words
    ("""The IAM user {user} (access key {key}) was taken over and used from {ip1} at night. The intruder listed
users and roles, then granted {policy} to the role {role} and made a new key for {persist}. It then assumed
{role} (session name {sname}) from {ip2}, switched off MFA for {mfa} and pulled payroll and ledger files out of
{bucket}, about 2 GB. Techniques: abuse of valid cloud accounts, account manipulation, and cloud storage data
collection. Next: deactivate both keys, remove the policy, re-enable MFA, treat the finance data as exposed.""",
     1, 1, 1),
    # ARNs throughout
    ("""arn:aws:iam::{account}:user/{user} was compromised: its key {key} called the API from {ip1} in {region}. It
attached {policy_arn} to arn:aws:iam::{account}:role/{role}, created a key for arn:aws:iam::{account}:user/{persist},
and as arn:aws:sts::{account}:assumed-role/{session} deactivated the MFA device of {mfa} and read
arn:aws:s3:::{bucket}/exports (payroll, ledger). MITRE: T1078, T1098, T1530. Containment: revoke the sessions,
disable the keys, detach the policy.""", 1, 1, 1),
    # the downloads told first, then the rest: every step named, out of order
    ("""Finance exports (payroll and ledger) were downloaded from {bucket} by the role session {session} from {ip2}.
This started when {user}'s key {key} was used from {ip1}; it attached {policy} to {role}, created a key for
{persist} and deactivated MFA for {mfa}. ATT&CK: T1078, T1098, T1530. Disable the keys and detach the policy.""",
     0.5, 1, 1),
    # two steps missing (persistence and MFA), no containment
    ("""{user} was compromised and used from {ip1} in {region}. The attacker attached {policy} to {role}, assumed
{session} and copied the payroll and ledger exports out of {bucket}. Mapped to T1078, T1098 and T1530.""",
     0.5, 1, 0.5),
    # thin: a principal and a bucket, no techniques
    ("""Someone used {user}'s account and took files from {bucket}. We should reset the password and look at the
logs again.""", 0, 0.5, 0),  # impact unnamed ("files"), no ATT&CK: containment alone
    # vague, no values
    ("""An attacker got into the cloud account, escalated privileges and stole sensitive data. They used several
techniques from the ATT&CK matrix. The account should be locked down.""", 0, 0, 0),
    # technique names as the matrix writes them, session as written, no next steps
    ("""The long-term key {key} of {user} was used from {ip1} and {ip2}. Privilege escalation: {policy} was attached
to {role}. Persistence: a new key for {persist}. The intruder then assumed {session}, deactivated the MFA of {mfa}
and downloaded ledger and payroll exports from {bucket}. Valid Accounts, Account Manipulation and Data from Cloud
Storage describe it.""", 1, 1, 0.5),
    # in order but the role session and the downloads are left out; techniques in words, containment
    ("""First {user}'s key {key} was used from {ip1}. Then the attacker attached {policy} to {role}, created a key for
{persist} and deactivated the MFA of {mfa}. Techniques: valid accounts, account manipulation, data from cloud
storage. Next steps: disable the keys, detach the policy.""", 0.5, 1, 0.5),
    # IOCs only, as a list
    ("""IOCs: {user}, {key}, {ip1}, {ip2}, {region}, {bucket}. No timeline yet.""", 0, 1, 0),
    # session paraphrased as "the maint session of the role", downloads by object words, T-IDs with subtechniques
    ("""Timeline: {user} (key {key}, from {ip1}) ran discovery, attached {policy} to {role}, created an access key for
{persist}, then used {role}, session {sname}, from {ip2} to deactivate MFA on {mfa} and to fetch payroll and customer
billing exports from {bucket}. T1078.004, T1098.001, T1098.003, T1530. Revoke the session and rotate every key.""",
     1, 1, 1),
    # steps reversed: downloads, MFA, key, then the grant
    ("""Data left {bucket} through {session}. Before that MFA was deactivated for {mfa} and a key was created for
{persist}; the attacker had attached {policy} to {role} using {user}'s key from {ip1}. T1078, T1098, T1530.
Contain by disabling the keys.""", 0.5, 1, 0.5),  # "data left" does not say what was reached
]


def fill(text: str) -> str:
    return re.sub(r"\s+", " ", text.format(**V)).strip()


def scored() -> list[tuple[str, dict[str, float]]]:
    """(summary, {criterion id: hand score})."""
    return [(fill(t), {"1": float(a), "2": float(b), "3": float(c)}) for t, a, b, c in SCORED]
