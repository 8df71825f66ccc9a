"""Which part of a question graded in parts lost points, in words a student may read.

q11 (the indicators) is graded kind by kind: its hidden tests are named after the kind they check
(`test_q11_principals_all`: every one named; `_only`: nothing else named). q7 (ATT&CK) earns
2.5 x coverage x precision in hidden steps: coverage (every kind of behaviour the incident shows is
mapped) and precision (every listed ID is supported by the logs) are computed here from the
student's own answer against the incident's key, which the hidden test file carries. Only the part
is named, never a right value.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ctlab.grading.results import TestRecord

KIND_WORDS = {"principals": "principals", "access_keys": "access keys", "source_ips": "source IPs",
              "regions": "regions", "buckets": "buckets"}
TEST_FUNCTION = re.compile(r"^@test_case\([^)]*\)\s*\ndef\s+(\w+)\s*\(", re.M)
Q7_KEY = re.compile(r"def incident_techniques\(\):\s*\n\s*return (\{.*?\})\s*\n", re.S)


@dataclass
class Parts:
    """What the grader's own test files say about the questions graded in parts."""

    functions: dict[tuple[str, str], str] = field(default_factory=dict)  # (q, "q11 - 3") -> function name
    q7_core: frozenset[str] = frozenset()
    q7_evidenced: frozenset[str] = frozenset()


def load_parts(tests_dir: Path) -> Parts:
    """From the autograder's test files (trusted: the build writes them); empty when they are missing."""
    parts = Parts()
    for path in sorted(Path(tests_dir).glob("q*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for i, fn in enumerate(TEST_FUNCTION.findall(text), start=1):
            parts.functions[(path.stem, f"{path.stem} - {i}")] = fn
        m = Q7_KEY.search(text) if path.stem == "q7" else None
        if m:
            try:
                key = ast.literal_eval(m.group(1))
                parts.q7_core = frozenset(key["core"])
                parts.q7_evidenced = frozenset(key["evidenced"])
            except (ValueError, SyntaxError, KeyError, TypeError):
                pass
    return parts


def _q11(failed: list[TestRecord], parts: Parts) -> list[str]:
    found: dict[str, list[str]] = {}
    for t in failed:
        fn = parts.functions.get((t.question, t.name), "")
        for kind, words in KIND_WORDS.items():
            if fn.startswith(f"test_q11_{kind}"):
                why = ("one or more missing" if fn.endswith("_all") else
                       "one or more that are not the intruder's" if fn.endswith("_only") else "")
                found.setdefault(words, [])
                if why:
                    found[words].append(why)
    return [f"{kind} ({' and '.join(whys)})" if whys else kind for kind, whys in found.items()]


def _q7(answer: object, parts: Parts) -> list[str]:
    if not parts.q7_core or isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        return []
    try:
        listed = {v.strip().upper() for v in list(answer) if isinstance(v, str)}
    except TypeError:
        return []
    if not listed:
        return []
    supported = listed & parts.q7_evidenced
    covered = {t.split(".")[0] for t in supported} & parts.q7_core
    lost = []
    if covered != parts.q7_core:
        lost.append("coverage (a kind of behaviour the incident shows has no technique listed)")
    if supported != listed:
        lost.append("precision (a listed ID is not supported by the logs)")
    return lost


def lost_parts(question: str, hidden: list[TestRecord], answers: Mapping[str, object] | None, parts: Parts) -> list[str]:
    """The parts of `question` whose hidden tests lost points, in words; [] when it is not graded in
    parts, nothing was lost, or it cannot be told."""
    failed = [t for t in hidden if not t.passed]
    if not failed:
        return []
    if question == "q11":
        return _q11(failed, parts)
    if question == "q7" and answers is not None:
        return _q7(answers.get("mitre_techniques"), parts)
    return []
