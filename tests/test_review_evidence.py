"""The evidence check: which facts of the answer key a triage summary names, and the points it suggests.

The summaries are written here from the build's answer key (data/ground_truth.json), so they follow
the data when it is regenerated; each test checks the exact facts and the exact suggestion.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctlab.errors import CtlabError
from ctlab.review.evidence import evidence, load_answer_key

ROOT = Path(__file__).resolve().parents[1]
GT = json.loads((ROOT / "data" / "ground_truth.json").read_text())
KEY = load_answer_key(ROOT)
POLICY = GT["escalation_policy_arn"].rsplit("/", 1)[-1]
NAMES = {t["id"].split(".")[0]: t["name"].split(":")[0] for t in GT["techniques"]}
IPS = GT["attacker_ips"]
FIRST_OBJECT = GT["exfiltrated_objects"][0].rsplit("/", 1)[-1]
ALL_FACTS = (["user", "access_key"] + [f"ip{i + 1}" for i in range(len(IPS))]
             + ["region", "role", "policy", "persistence", "mfa", "role_session", "bucket", "downloaded"]
             + [f"attack_{t}" for t in GT["required_techniques"]] + ["order", "containment"])


def full_summary(ip: str | None = None, bucket: str | None = None) -> str:
    """Every fact, in the order it happened."""
    ip2 = " and ".join(IPS[1:])
    return (
        f"IAM user {GT['attacker_user']} was compromised: its access key {GT['attacker_access_key']} was used "
        f"from {ip or IPS[0]} at night, partly in {GT['attacker_region']}. After a discovery burst it attached "
        f"{POLICY} to {GT['escalated_role']} and created a new access key for {GT['persistence_user']}. It then "
        f"assumed {GT['role_session']} from {ip2}, deactivated the MFA of {GT['mfa_user']} and "
        f"downloaded {FIRST_OBJECT} and other finance exports from {bucket or GT['sensitive_bucket']}. "
        f"ATT&CK: " + ", ".join(GT["required_techniques"]) + ". Next: disable the keys and the session, "
        "detach the policy, restore MFA and treat the data as exposed."
    )


def check(summary: str) -> tuple[list[str], list[str], dict[str, float]]:
    ev = evidence(summary, key=KEY)
    return ev.present(), ev.missing(), ev.suggested


def test_all_facts_get_full_marks():
    present, missing, suggested = check(full_summary())
    assert (present, missing, suggested) == (ALL_FACTS, [], {"1": 1.0, "2": 1.0, "3": 1.0})


def test_techniques_by_name_count_like_ids():
    text = full_summary().replace(", ".join(GT["required_techniques"]),
                                  ", ".join(NAMES[t] for t in GT["required_techniques"]))
    assert check(text)[1] == []


def test_some_facts_get_part_marks():
    text = (f"The account of {GT['attacker_user']} was used from {IPS[0]}; the intruder attached {POLICY} to "
            f"{GT['escalated_role']} and read data from {GT['sensitive_bucket']}. "
            f"Techniques: {GT['required_techniques'][0]}.")
    present, missing, suggested = check(text)
    assert present == ["user", "ip1", "role", "policy", "bucket", f"attack_{GT['required_techniques'][0]}"]
    assert missing == [f for f in ALL_FACTS if f not in present]
    # steps named: principal, privilege change, downloads (3 of 6 missing); 4 IOCs; impact parts: none
    assert suggested == {"1": 0.0, "2": 1.0, "3": 0.0}


def test_two_steps_missing_and_two_impact_parts_give_halves():
    text = full_summary().replace(f" and created a new access key for {GT['persistence_user']}", "").replace(
        f"deactivated the MFA of {GT['mfa_user']}", "changed an MFA device").replace(
        ", ".join(GT["required_techniques"]), "unknown")
    present, missing, suggested = check(text)
    assert missing == ["persistence", "mfa"] + [f"attack_{t}" for t in GT["required_techniques"]]
    assert suggested == {"1": 0.5, "2": 1.0, "3": 0.5}


def test_no_facts_get_nothing():
    present, missing, suggested = check("Something bad happened in the cloud; we should look into it.")
    assert (present, missing, suggested) == ([], ALL_FACTS, {"1": 0.0, "2": 0.0, "3": 0.0})
    assert check("")[1] == ALL_FACTS


def test_wrong_ip_is_missing_and_named_as_other():
    a, b, c, d = IPS[0].split(".")
    wrong = f"{a}.{b}.{c}.{(int(d) + 1) % 256}"
    ev = evidence(full_summary(ip=wrong), key=KEY)
    assert ev.missing() == ["ip1"]
    assert ev.other_values == (wrong,)
    assert ev.suggested == {"1": 1.0, "2": 1.0, "3": 1.0}  # still 4+ other indicators
    # an IP that only starts like the intruder's is not it
    assert "ip1" in evidence(f"seen from {IPS[0]}0", key=KEY).missing()


def test_wrong_bucket_is_missing_and_breaks_the_steps():
    wrong = GT["sensitive_bucket"] + "-archive"
    ev = evidence(full_summary(bucket=wrong), key=KEY)
    assert ev.missing() == ["bucket"]
    assert ev.suggested == {"1": 0.5, "2": 1.0, "3": 1.0}  # one step (the downloads) missing


def test_out_of_order_loses_the_order_fact():
    first, rest = full_summary().split(". After", 1)
    text = "After" + rest.split(" Next:")[0] + " " + first + ". Next: disable the keys."
    ev = evidence(text, key=KEY)
    assert ev.missing() == ["order"]
    assert ev.suggested["1"] == 0.5


def test_a_missing_answer_key_is_a_clear_error(tmp_path):
    with pytest.raises(CtlabError, match=r"ground_truth.json: cannot read the answer key"):
        load_answer_key(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ground_truth.json").write_text("{")
    with pytest.raises(CtlabError, match=r"ground_truth.json: the answer key is not valid JSON"):
        load_answer_key(tmp_path)


def test_paraphrases_a_grader_accepts_are_found():
    from evidence_calibration import SESSION_NAME

    role, tid = GT["escalated_role"], "T1530"
    ev = evidence(f"It then assumed {role} (session name {SESSION_NAME}) and did cloud storage data collection.",
                  key=KEY)
    assert {"role_session", "role", f"attack_{tid}"} <= set(ev.present())
    # a session name far from the role's, and the words of a technique's name scattered, are not enough
    far = evidence(f"{role} was changed. " + "Many other things happened that night. " * 3
                   + f"{SESSION_NAME} was seen. Data was copied; later, in another cloud, some storage.", key=KEY)
    assert {"role_session", f"attack_{tid}"} & set(far.present()) == set()


def test_arns_name_their_facts():
    acct = GT["account_id"]
    text = (f"arn:aws:iam::{acct}:user/{GT['attacker_user']} attached {GT['escalation_policy_arn']} and, as "
            f"arn:aws:sts::{acct}:assumed-role/{GT['role_session']}, read arn:aws:s3:::{GT['sensitive_bucket']}/x.")
    assert {"user", "policy", "role_session", "role", "bucket"} <= set(evidence(text, key=KEY).present())


def test_the_reason_says_when_the_order_was_the_problem():
    first, rest = full_summary().split(". After", 1)
    text = "After" + rest.split(" Next:")[0] + " " + first + ". Next: disable the keys."
    ev = evidence(text, key=KEY)
    assert (ev.suggested["1"], ev.why["1"]) == (0.5, "every step named, but out of order")
    missing = full_summary().replace(f"deactivated the MFA of {GT['mfa_user']}", "changed an MFA device")
    assert evidence(missing, key=KEY).why["1"] == "1 step missing"
    assert evidence(full_summary(), key=KEY).why["1"] == "every step named, in order"


def test_the_storys_own_past_is_no_containment_step():
    assert "containment" in evidence("MFA was deactivated and a policy removed.", key=KEY).missing()
    for proposed in ("Disable the keys.", "The keys should be disabled.", "We are revoking the session."):
        assert "containment" in evidence(proposed, key=KEY).present(), proposed


def test_suggestions_agree_with_the_hand_scored_set():
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    from calibrate_evidence import agreement

    agree, n, off = agreement()
    assert (agree, n, off) == ({"1": 12, "2": 12, "3": 12}, 12, [])
