"""A corpus of triage summaries for calibrating the copied-work threshold.

Ten summaries written independently (different structure and wording, the same incident), and
for each a verbatim copy, a lightly edited copy (a few words swapped, a sentence moved, a typo) and,
for six of them, a paraphrase (the same content rewritten sentence by sentence). Values come from the
answer key, so the corpus follows the data. `pairs()` gives (a, b, copied?) for every pair.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

GT = json.loads((Path(__file__).resolve().parents[1] / "data" / "ground_truth.json").read_text())
V = {
    "user": GT["attacker_user"], "key": GT["attacker_access_key"], "ip1": GT["attacker_ips"][0],
    "ip2": GT["attacker_ips"][-1], "region": GT["attacker_region"], "role": GT["escalated_role"],
    "session": GT["role_session"], "policy": GT["escalation_policy_arn"].rsplit("/", 1)[-1],
    "persist": GT["persistence_user"], "mfa": GT["mfa_user"], "bucket": GT["sensitive_bucket"],
}

INDEPENDENT = [
    """At about 01:52 UTC the long-term key {key} of {user} started making calls from {ip1}, an address never
seen before, some of them in {region}. The caller ran a burst of List and Describe calls (users, roles,
buckets, instances), then attached {policy} to {role}. Minutes later it created an access key for {persist}
and deactivated the MFA device of {mfa}. It assumed {session} and, from {ip2}, downloaded payroll, ledger and
billing exports from {bucket}, roughly 2 GB. ATT&CK: T1078.004, T1098.003, T1098.001, T1556.006, T1530.
Containment: disable both keys, revoke the role session, detach the policy, re-enable MFA.""",
    """Summary: credential compromise leading to data theft. Who: {user} (key {key}). From where: {ip1} and
later {ip2}, with activity in {region}, a region this account does not use. What: reconnaissance of IAM and S3,
privilege escalation by attaching {policy} to the role {role}, persistence through a new key on {persist},
weakening of MFA for {mfa}, then the role session {session} reading finance files in {bucket}. Techniques:
Valid Accounts, Account Manipulation, Data from Cloud Storage. Actions: deactivate keys, remove the policy,
rotate credentials, notify finance that payroll and customer billing data are exposed.""",
    """I found that someone logged in as {user} using access key {key}. They came from the IP {ip1} during the
night, which is unusual for this user. First they looked around with ListUsers, ListRoles and ListBuckets.
Then they gave the role {role} admin rights ({policy}). After that they made a new key for {persist} and
turned off MFA for {mfa}. Then they became {session} and took files like the ledger and the payroll summary
out of {bucket} using the address {ip2}. I would block these IPs, delete the new key and put MFA back on.
Mapped to T1078, T1098 and T1530.""",
    """Timeline of the intrusion. 01:52 first API call by {user} from {ip1} ({region}); discovery of
identities, policies and storage follows for three minutes. 01:57 AttachRolePolicy: {policy} on {role}.
02:00 CreateAccessKey for {persist}. 02:02 DeactivateMFADevice for {mfa}. 02:05 AssumeRole into {session}.
02:08 onward GetObject on {bucket} from {ip2}: payroll, ledgers, vendor payments, invoices. Impact: about
2.1 GB of finance exports copied within ten minutes of the escalation. Mapping: T1078.004 Valid Accounts,
T1098 Account Manipulation, T1530 Data from Cloud Storage. Next steps: invalidate sessions, detach policy.""",
    """The alert is a true positive. An external actor holding the access key {key} of the IAM user {user}
operated from {ip1}. Its reconnaissance touched IAM users, roles and the S3 bucket list. To escalate, the
actor bound the managed policy {policy} to {role}; to persist, it issued a second key to the service user
{persist}; to hinder response, it removed the MFA device of the admin {mfa}. With temporary credentials of
{session}, used from {ip2}, it exfiltrated customer billing and ledger exports held in {bucket}. Recommend
quarantining the principals, restoring MFA and reviewing every object read. ATT&CK T1078, T1098, T1530.""",
    """Bottom line: finance data left the account. How it happened, step by step: the user {user} was
taken over and its key {key} used from {ip1}; the intruder enumerated what it could reach; it attached
{policy} to {role}; it created keys for {persist}; it disabled MFA on {mfa}; it switched to {session}; it
pulled around two gigabytes from {bucket} over HTTPS from {ip2}. Evidence: CloudTrail events AttachRolePolicy,
CreateAccessKey, DeactivateMFADevice, AssumeRole and GetObject, all between 01:52 and 02:22 UTC, some in
{region}. Response: disable keys, kill the session, detach the admin policy. T1078 / T1098 / T1530.""",
    """Incident 03B. Initial access used valid cloud credentials: {user}'s key from {ip1}. Discovery: dozens of
List* and Describe* calls, including in {region}. Privilege escalation: {policy} attached to {role} at
01:57. Persistence: new access key for {persist}. Defense evasion: MFA deactivated for {mfa}. Lateral
movement into {session} from {ip2}. Collection and exfiltration: GetObject on nine objects in {bucket}
(payroll summary, customer billing, ledgers). Techniques T1078.004, T1087, T1098.003, T1556.006, T1530.
Containment plan: revoke and rotate every key involved, detach the policy, reset MFA.""",
    """We reviewed cloud_iam.csv and cloud_api.csv. The suspicious identity changes are a CreateAccessKey, an
AttachRolePolicy, an AssumeRole and a DeactivateMFADevice, all made by {user} from {ip1} in the middle of the
night. The policy attached was {policy} and it went to {role}; the key was created for {persist}; the MFA
belonged to {mfa}. Right after, {session} listed and read objects in {bucket} from {ip2}, mostly ledgers and
billing files. This matches Valid Accounts, Account Manipulation and Data from Cloud Storage. Disable the
compromised credentials and treat the finance exports as leaked.""",
    """{user} is the compromised principal. Indicators: access key {key}, source addresses {ip1} and {ip2},
region {region}, role {role} and its session {session}, service user {persist}, bucket {bucket}. The order
was discovery, then the {policy} attachment, then the new key and the MFA change on {mfa}, then the role
assumption and the downloads. About 2 GB of payroll and ledger data were read within ten minutes of the
privilege change. Techniques: T1078, T1098, T1530, plus discovery T1087 and T1580. First steps: deactivate
the keys, detach the policy, re-enable MFA for {mfa}.""",
    """Short version for the on-call lead: account takeover of {user} ({key}) from {ip1}. The attacker
escalated by putting {policy} on {role}, backdoored {persist} with a fresh key, stripped MFA from {mfa}, and
then, as {session} from {ip2}, copied finance exports out of {bucket}: payroll, invoices, vendor payments.
ATT&CK T1078 Valid Accounts, T1098 Account Manipulation, T1530 Data from Cloud Storage. Do now: disable the
two keys, revoke active sessions for the role, detach the policy, restore MFA, start breach notification.""",
]

# The same content as INDEPENDENT[i], rewritten sentence by sentence.
PARAPHRASED = {
    0: """Starting around 01:52 UTC, {user}'s long-lived access key {key} began issuing API calls from {ip1}, a
source it had never used, partly in {region}. The actor first enumerated users, roles, buckets and
instances with a flurry of List and Describe requests, and then gave {role} the {policy} policy. Shortly
after, a new key appeared for {persist} and the MFA device of {mfa} was switched off. Using {session} from
{ip2}, the actor pulled roughly 2 GB of payroll, ledger and billing exports out of {bucket}. Techniques:
T1078.004, T1098.003, T1098.001, T1556.006, T1530. To contain it, turn off both keys, end the role session,
remove the policy and turn MFA back on.""",
    2: """It looks like an attacker signed in as {user} with the access key {key}. The traffic came from {ip1}
at night, which this user never does. They started by exploring with ListUsers, ListRoles and ListBuckets.
Next they granted admin rights ({policy}) to the role {role}. Then a new key was made for {persist} and the
MFA of {mfa} was switched off. Finally they acted as {session} and downloaded the ledger and payroll summary
files from {bucket} through {ip2}. My advice: block those addresses, remove the new key and enable MFA
again. ATT&CK: T1078, T1098, T1530.""",
    3: """Sequence of events. At 01:52 {user} makes its first call from {ip1} in {region}, followed by three
minutes of enumerating identities, policies and storage. At 01:57 it attaches {policy} to {role}. At 02:00 a
key is created for {persist}, and at 02:02 the MFA device of {mfa} is deactivated. At 02:05 it assumes
{session}. From 02:08 the role reads objects in {bucket} from {ip2}: payroll, ledgers, vendor payments and
invoices. Roughly 2.1 GB of finance exports were taken within ten minutes of the escalation. ATT&CK: Valid
Accounts T1078.004, Account Manipulation T1098, Data from Cloud Storage T1530. Next: end sessions, remove
the policy.""",
    5: """In short, finance data was stolen from the account. The steps: {user} was hijacked and its key {key}
was used from {ip1}; the attacker mapped what it could access; it attached {policy} to {role}; it made keys
for {persist}; it switched off MFA on {mfa}; it moved to {session}; and from {ip2} it downloaded about two
gigabytes from {bucket} over HTTPS. The CloudTrail events AttachRolePolicy, CreateAccessKey,
DeactivateMFADevice, AssumeRole and GetObject between 01:52 and 02:22 UTC, partly in {region}, show this.
To respond: deactivate keys, end the session, remove the admin policy. T1078, T1098, T1530.""",
    7: """Our review of cloud_iam.csv and cloud_api.csv found four suspicious identity events: CreateAccessKey,
AttachRolePolicy, AssumeRole and DeactivateMFADevice, each performed by {user} from {ip1} late at night. {role}
received the {policy} policy, {persist} received the new key, and the MFA that was removed was {mfa}'s.
Immediately afterwards {session} listed and downloaded objects from {bucket} via {ip2}, chiefly ledger and
billing files. This corresponds to Valid Accounts, Account Manipulation and Data from Cloud Storage. The
compromised credentials should be disabled and the finance exports considered leaked.""",
    9: """For the on-call lead, briefly: {user}'s account ({key}) was taken over from {ip1}. The intruder raised
its privileges by attaching {policy} to {role}, planted a new key on {persist}, removed MFA from {mfa}, and
then, acting as {session} from {ip2}, copied payroll, invoice and vendor payment exports out of {bucket}.
ATT&CK: Valid Accounts T1078, Account Manipulation T1098, Data from Cloud Storage T1530. Immediate actions:
disable both keys, revoke the role's sessions, detach the policy, restore MFA and begin breach notification.""",
}

SWAPS = [("attached", "added"), ("created", "made"), ("downloaded", "took"), ("disable", "turn off"),
         ("used", "abused"), ("then", "next"), ("the ", "this "), ("roughly", "about"), ("from", "via")]


def fill(text: str) -> str:
    return re.sub(r"\s+", " ", text.format(**V)).strip()


def lightly_edited(text: str, seed: int) -> str:
    """A copy with three words swapped, its last two sentences exchanged and one typo."""
    out = text
    for old, new in (SWAPS[(seed + k) % len(SWAPS)] for k in range(3)):
        out = out.replace(old, new, 1)
    sentences = re.split(r"(?<=\.) ", out)
    if len(sentences) > 3:
        sentences[-1], sentences[-2] = sentences[-2], sentences[-1]
    out = " ".join(sentences)
    i = len(out) // 3
    return out[:i] + out[i + 1] + out[i] + out[i + 2:]


def documents() -> dict[str, tuple[int, str]]:
    """{document id: (family, text)}: documents of one family are copies of each other."""
    docs: dict[str, tuple[int, str]] = {}
    for i, text in enumerate(INDEPENDENT):
        base = fill(text)
        docs[f"s{i}"] = (i, base)
        docs[f"s{i}_identical"] = (i, base)
        docs[f"s{i}_edited"] = (i, lightly_edited(base, i))
        if i in PARAPHRASED:
            docs[f"s{i}_paraphrased"] = (i, fill(PARAPHRASED[i]))
    return docs


def pairs() -> list[tuple[str, str, bool]]:
    """Every pair (a, b, copied): copied when both come from the same original."""
    docs = documents()
    return [(a, b, docs[a][0] == docs[b][0]) for a, b in itertools.combinations(sorted(docs), 2)]
