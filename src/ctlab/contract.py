"""The answer contract: question names and the variables each one reads.

Graders, snapshots and reports rely on these names; the master notebook defines them.
"""

from collections.abc import Iterable

QUESTIONS: dict[str, tuple[str, ...]] = {
    "q1": ("cloud_iam_df", "cloud_api_df"),
    "q2": ("cloud_iam_df", "cloud_api_df"),
    "q3": ("susp_iam",),
    "q4": ("susp_api",),
    "q5": ("actors", "related_api"),
    "q6": ("susp_users",),
    "q7": ("mitre_techniques",),
    "q8": ("triage_summary",),
    "q9": ("compromised_user", "attacker_ip"),
    "q10": ("minutes_to_exfil",),
    "q11": ("iocs",),
    "q12": ("transfer_principal", "transfer_key", "transfer_objects"),
}

POINTS: dict[str, float] = {
    "q1": 1, "q2": 2, "q3": 2, "q4": 2, "q5": 2, "q6": 1, "q7": 3, "q8": 3, "q9": 1, "q10": 1,
    "q11": 4, "q12": 3,
}

# Part 8b ("A second account", q12: the same triage on a recorded incident of another account) is
# extra credit unless this is True. It is the one setting that makes it required: change it, then
# run `make build` (the autograder zip carries this module, so Gradescope grades the same way).
TRANSFER_REQUIRED = False
TRANSFER_QUESTION = "q12"


def stretch_questions(*, transfer_required: bool) -> frozenset[str]:
    """The extra-credit questions: parts 9 and 10, and part 8b unless it is required."""
    return frozenset({"q9", "q10"} | (set() if transfer_required else {TRANSFER_QUESTION}))


STRETCH_QUESTIONS: frozenset[str] = stretch_questions(transfer_required=TRANSFER_REQUIRED)

MANUAL_QUESTIONS: frozenset[str] = frozenset({"q8"})

ANSWER_VARIABLES: tuple[str, ...] = tuple(
    dict.fromkeys(v for names in QUESTIONS.values() for v in names)
)


def question_order(names: Iterable[str]) -> list[str]:
    """Question names in gradebook order: q1, q2, ..., q10, q11 (not q1, q10, q11, q2), others last."""
    def key(q: str) -> tuple[int, str]:
        digits = q[1:] if q.startswith("q") else ""
        return (int(digits), q) if digits.isdigit() else (10**6, q)

    return sorted(names, key=key)
