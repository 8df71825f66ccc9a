"""The batch report's line on part 8b (q12, "A second account"): how many students found whose
credentials were used from outside, the key and the objects, and the wrong pivots they took.

The answers compared are the students' saved ones (snapshots, untrusted: any type); the right ones come
from the instructor's answer key, data/transfer/ground_truth.json, which also names the console user and
their key (the pivot the part is built to tempt). Without that file (a grading machine that has only
autograder/ and assignment/) there is no line.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ctlab.build.answer_key import TRANSFER_DIR, TRUTH_FILE
from ctlab.contract import QUESTIONS, TRANSFER_QUESTION

PRINCIPAL, KEY, OBJECTS = QUESTIONS[TRANSFER_QUESTION]


def key_path(root: Path) -> Path:
    """Where the instructor's answer key of part 8b lies under the project folder."""
    return Path(root) / "data" / TRANSFER_DIR / TRUTH_FILE


def load_transfer_key(root: Path) -> dict[str, Any] | None:
    """The instructor's answer key of part 8b, or None when it is not here or not readable."""
    try:
        key = json.loads(key_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return key if isinstance(key, dict) and {"principal", "access_key", "objects"} <= set(key) else None


def _text(v: object) -> str | None:
    return v.strip() if isinstance(v, str) else None


def _objects(v: object) -> set[str] | None:
    if isinstance(v, (str, bytes, dict)) or not hasattr(v, "__iter__"):
        return None
    try:
        items = list(v)  # any iterable a snapshot held
    except Exception:  # noqa: BLE001 - a hostile value is just not a list of objects
        return None
    return {i.strip() for i in items if isinstance(i, str)} if all(isinstance(i, str) for i in items) else None


def pivots(answers: Mapping[str, object], key: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """({the answers found: "principal", "key", "objects"}, [the wrong pivots this student took])."""
    found: set[str] = set()
    wrong: list[str] = []
    role = str(key.get("role") or str(key["principal"]).split("/")[0])
    console_user = key.get("console_user")
    console_keys = set(key.get("console_access_keys") or [])
    principal, access_key, objects = (answers.get(n) for n in (PRINCIPAL, KEY, OBJECTS))
    if all(v is None or v is Ellipsis for v in (principal, access_key, objects)):
        return found, ["not answered"]
    p = _text(principal)
    if p == key["principal"]:
        found.add("principal")
    elif p is None:
        wrong.append("a principal that is not a string")
    elif p == console_user:
        wrong.append("the console user as the principal")
    elif p == role:
        wrong.append("the role without its session")
    else:
        wrong.append("another principal")
    k = _text(access_key)
    if k == key["access_key"]:
        found.add("key")
    elif k is None:
        wrong.append("a key that is not a string")
    elif k in console_keys:
        wrong.append("the console user's key")
    else:
        wrong.append("another key")
    o = _objects(objects)
    right = set(key["objects"])
    if o == right:
        found.add("objects")
    elif o is None:
        wrong.append("objects that are not a list of strings")
    elif any(x.startswith("s3://") for x in o):
        wrong.append("objects written as s3:// URLs")
    elif o > right:
        wrong.append("more objects than were downloaded")
    else:
        wrong.append("other objects")
    return found, wrong


def transfer_lines(snapshots: Mapping[str, Mapping[str, object]], key: Mapping[str, Any] | None,
                   submissions: int) -> list[str]:
    """The report's summary lines on part 8b: who found what, and the common wrong pivots."""
    if key is None or not submissions:
        return []
    counts: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for answers in snapshots.values():
        found, missed = pivots(answers, key)
        counts.update(found)
        counts["all"] += found == {"principal", "key", "objects"}
        wrong.update(dict.fromkeys(missed, 1))
    lines = [f"Part 8b (a second account): {counts['all']} of {submissions} students found all three answers "
             f"(the principal {counts['principal']}, the key {counts['key']}, the objects {counts['objects']})"]
    common = [(w, n) for w, n in wrong.most_common() if w != "not answered"]
    if common:
        lines.append("Part 8b wrong pivots: " + ", ".join(f"{w} ({n})" for w, n in common[:5])
                     + (f"; {wrong['not answered']} did not answer it" if wrong["not answered"] else ""))
    elif wrong["not answered"]:
        lines.append(f"Part 8b: {wrong['not answered']} did not answer it")
    return lines
