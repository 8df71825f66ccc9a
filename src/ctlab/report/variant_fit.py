"""Copying across variants shows: answers that fit another variant's key better than their own, and
STUDENT_IDs that are not the LMS's identity of the submission.

Every student's facts are their own variant's, so answers written as values (q9's user and address,
q11's indicators, the facts a triage summary names) that name more of another variant's facts than of
the student's own were most likely taken from someone else. Such a submission keeps the score its own
variant gives; it is only listed, with the variant it fits. A STUDENT_ID that is none of the names the
LMS or the roster knows the submission's author by (Canvas login or file name, Gradescope email or SID,
roster login, SIS ids, email; letter case ignored) is listed too. Nothing is re-graded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ctlab.grading.results import Graded
from ctlab.roster import Roster, Student, match


@dataclass(frozen=True)
class Misfit:
    """A submission whose answers fit another variant than its own."""

    file: str
    own: int
    fits: int
    parts: tuple[str, ...]  # which answers fit it better: "q9", "q11", "summary"

    @property
    def line(self) -> str:
        return (f"its {', '.join(self.parts)} fit variant {self.fits} better than its own variant {self.own}")


@dataclass(frozen=True)
class ForeignId:
    """A submission whose STUDENT_ID is not a name its author is known by."""

    file: str
    student_id: str
    known_as: tuple[str, ...]

    @property
    def line(self) -> str:
        return f"STUDENT_ID '{self.student_id}' is none of {', '.join(repr(k) for k in self.known_as)}"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        return [str(v).strip() for v in list(value)] if value is not None else []  # type: ignore[call-overload]
    except TypeError:
        return []


def _ioc_hits(iocs: object, key: dict[str, Any]) -> int:
    """How many of the key's indicators (q11's required values) the answer names."""
    if not isinstance(iocs, dict):
        return 0
    hits = 0
    for kind, wanted in (key.get("iocs") or {}).items():
        named = {v.lower() for v in _strings(iocs.get(kind))}
        named |= {v.split("/")[0] for v in named}
        hits += sum(1 for w in wanted.get("required", []) if w.lower() in named or w.lower().split("/")[0] in named)
    return hits


def _q9_hits(ns: Mapping[str, object], key: dict[str, Any]) -> int:
    user, ip = ns.get("compromised_user"), ns.get("attacker_ip")
    return (int(isinstance(user, str) and user.strip() == key.get("compromised_user"))
            + int(isinstance(ip, str) and ip.strip() in key.get("attacker_ips", [])))


def _facts(key: dict[str, Any]) -> set[str]:
    iocs = key.get("iocs") or {}
    return {v.lower() for kind in ("access_keys", "source_ips", "principals", "buckets")
            for v in (iocs.get(kind) or {}).get("required", [])}


def _summary_hits(text: object, key: dict[str, Any]) -> int:
    return sum(1 for fact in _facts(key) if fact in text.lower()) if isinstance(text, str) else 0


def _q11_hits(ns: Mapping[str, object], key: dict[str, Any]) -> int:
    return _ioc_hits(ns.get("iocs"), key)


def _summary_fact_hits(ns: Mapping[str, object], key: dict[str, Any]) -> int:
    return _summary_hits(ns.get("triage_summary"), key)


PARTS: tuple[tuple[str, Callable[[Mapping[str, object], dict[str, Any]], int]], ...] = (
    ("q9", _q9_hits), ("q11", _q11_hits), ("summary", _summary_fact_hits))


def misfits(subs: Iterable[Graded], snapshots: Mapping[str, Mapping[str, object]],
            keys: dict[str, dict[str, Any]]) -> list[Misfit]:
    """The submissions (with a variant and saved answers) whose q9, q11 or summary name more facts of
    another variant's key than of their own; the variant they fit is the one the most parts point to."""
    found: list[Misfit] = []
    for sub in subs:
        ns = snapshots.get(sub.name)
        own = f"v{sub.variant:02d}"
        if not sub.variant or ns is None or own not in keys:
            continue
        votes: dict[int, list[str]] = {}
        for part, hits in PARTS:
            mine = hits(ns, keys[own])
            scores = {label: hits(ns, key) for label, key in keys.items() if label != own}
            if not scores:
                continue
            best = max(sorted(scores), key=lambda label: scores[label])
            if scores[best] > mine:
                votes.setdefault(int(best[1:]), []).append(part)
        if votes:
            fits = max(sorted(votes), key=lambda v: len(votes[v]))
            found.append(Misfit(sub.file, sub.variant, fits, tuple(votes[fits])))
    return found


def _names(student: Student) -> set[str]:
    return {v.casefold() for v in (student.email, student.sis_login_id, student.sis_user_id, student.sid) if v}


def foreign_ids(subs: Iterable[Graded], roster: Roster | None) -> list[ForeignId]:
    """The submissions whose STUDENT_ID is none of the names the LMS (and the roster, when there is one)
    knows their author by."""
    from ctlab.grading.inputs import stem_of

    subs = [s for s in subs if s.student_id]
    matched = match(roster, {s.name: s.identity for s in subs if s.identity}) if roster else None
    found: list[ForeignId] = []
    for s in subs:
        ident = s.identity
        known = {stem_of(s.file).casefold()}
        if ident is not None:
            known |= {v.casefold() for v in (ident.key, ident.email, ident.sid) if v}
        on_roster = matched is not None and s.name in matched.student_of and roster is not None
        if on_roster:
            assert matched is not None and roster is not None
            known |= _names(roster.students[matched.student_of[s.name]])
        elif ident is None or ident.source == "file":
            continue  # a bare file name says nothing of who the author is
        if s.student_id.casefold() not in known:
            found.append(ForeignId(s.file, s.student_id, tuple(sorted(known))))
    return found
