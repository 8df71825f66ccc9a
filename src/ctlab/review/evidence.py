"""Which of the incident's facts a triage summary names, checked against the answer key.

The key is the build's `data/ground_truth.json` (a variant's `data/variants/vNN/ground_truth.json`: each
summary is checked against its own variant's), read at run time (the data are regenerated now
and then, so no value of it is written here). `evidence(summary, key=...)` is pure: it marks each
fact present or missing and suggests points per rubric criterion, for a grader to confirm.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlab.errors import CtlabError

# Rubric criteria (by their order in the rubric) the facts speak for.
ORDER, IOCS, IMPACT = "1", "2", "3"

_STEPS = (r"(?:disabl|deactivat|revok|rotat|delet|detach|remov|restor|re-?enabl|contain|block|quarantin|reset|"
          r"invalidat)")
# A containment step proposed: a verb of containment, but not the story's own past ("MFA was deactivated",
# "the policy was removed"), unless it is what should be done ("should be disabled", "must be rotated").
CONTAINMENT = re.compile(
    rf"\b{_STEPS}(?!\w*ed\b)\w*\b|\b(?:should|must|needs? to|to)\s+(?:be\s+|have\s+been\s+)?{_STEPS}\w*ed\b",
    re.I)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d])")
_AWS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


@dataclass(frozen=True)
class Stage:
    """A step of the incident, named by `anchor`, at `time` (ISO text) in the key's timeline."""

    label: str
    anchor: str
    time: str


@dataclass(frozen=True)
class AnswerKey:
    user: str
    access_key: str
    ips: tuple[str, ...]
    region: str
    role: str
    role_session: str
    policy: str
    persistence_user: str
    mfa_user: str
    bucket: str
    objects: tuple[str, ...]
    techniques: tuple[tuple[str, tuple[str, ...]], ...]  # (required ID, its names)
    stages: tuple[Stage, ...]  # in the order they happened


@dataclass(frozen=True)
class Fact:
    id: str
    label: str
    criterion: str
    present: bool
    expected: str  # what the key holds (shown to the grader)


@dataclass(frozen=True)
class Evidence:
    facts: tuple[Fact, ...]
    suggested: dict[str, float]  # criterion id -> points
    why: dict[str, str]  # criterion id -> the reason for the suggestion
    other_values: tuple[str, ...]  # IPs and access keys named that are not the intruder's

    def present(self) -> list[str]:
        return [f.id for f in self.facts if f.present]

    def missing(self) -> list[str]:
        return [f.id for f in self.facts if not f.present]


def _text(d: dict[str, Any], k: str, path: Path) -> str:
    v = d.get(k)
    if not isinstance(v, str) or not v:
        raise CtlabError(f"{path}: the answer key has no {k}")
    return v


def _timeline_time(timeline: list[Any], event: str, resource: str, default: str) -> str:
    for row in timeline:
        if isinstance(row, dict) and row.get("event_name") == event and (not resource or row.get("resource") == resource):
            return str(row.get("time") or default)
    return default


def load_answer_key(root: Path, variant: int = 1) -> AnswerKey:
    """The answer key of `variant` under `root` (variant 1, data/ground_truth.json, for a course without
    variants); a clear error naming the file when it is missing or not one."""
    from ctlab.variants import truth_path

    path = truth_path(Path(root), max(variant, 1))
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CtlabError(f"{path}: cannot read the answer key ({exc.strerror})") from None
    except ValueError as exc:
        raise CtlabError(f"{path}: the answer key is not valid JSON ({exc})") from None
    if not isinstance(d, dict):
        raise CtlabError(f"{path}: not an answer key")
    ips = d.get("attacker_ips") or [d.get("attacker_ip")]
    if not isinstance(ips, list) or not all(isinstance(i, str) and i for i in ips):
        raise CtlabError(f"{path}: the answer key has no attacker_ips")
    names: dict[str, list[str]] = {}
    for t in d.get("techniques") or []:
        if isinstance(t, dict) and isinstance(t.get("id"), str):
            parent = t["id"].split(".")[0].upper()
            name = str(t.get("name") or "")
            names.setdefault(parent, []).extend(n for n in (name.split(":")[0].strip(), name.strip()) if n)
    required = [str(t).upper() for t in d.get("required_techniques") or [] if isinstance(t, str)]
    given_timeline = d.get("timeline")
    timeline: list[Any] = given_timeline if isinstance(given_timeline, list) else []
    user = _text(d, "attacker_user", path)
    start = str(timeline[0].get("time")) if timeline and isinstance(timeline[0], dict) else ""
    role, session = _text(d, "escalated_role", path), _text(d, "role_session", path)
    persistence, mfa = _text(d, "persistence_user", path), _text(d, "mfa_user", path)
    priv = _text(d, "privilege_change_time", path)
    stages = [
        Stage("compromised principal", user, start or priv),
        Stage("privilege change", _text(d, "escalation_policy_arn", path).rsplit("/", 1)[-1], priv),
        Stage("new access key", persistence, _timeline_time(timeline, "CreateAccessKey", persistence, priv)),
        Stage("MFA deactivated", mfa, _timeline_time(timeline, "DeactivateMFADevice", mfa, priv)),
        Stage("role assumed", session, _timeline_time(timeline, "AssumeRole", "", priv)),
        Stage("downloads", _text(d, "sensitive_bucket", path), _text(d, "first_sensitive_getobject_time", path)),
    ]
    objects = d.get("exfiltrated_objects") or []
    return AnswerKey(
        user=user, access_key=_text(d, "attacker_access_key", path), ips=tuple(ips),
        region=_text(d, "attacker_region", path), role=role, role_session=session,
        policy=stages[1].anchor, persistence_user=persistence, mfa_user=mfa,
        bucket=stages[-1].anchor, objects=tuple(str(o) for o in objects if isinstance(o, str)),
        techniques=tuple((t, tuple(dict.fromkeys(names.get(t, [])))) for t in required),
        stages=tuple(sorted(stages, key=lambda s: s.time)),
    )


def _find(value: str, text: str) -> int:
    """Where `value` first appears in `text` as a whole token (case ignored), or -1."""
    if not value:
        return -1
    m = re.search(r"(?<![\w.\-])" + re.escape(value) + r"(?![\w\-]|\.\w)", text, re.I)
    return m.start() if m else -1


def _has(value: str, text: str) -> bool:
    return _find(value, text) >= 0


SESSION_GAP = 60  # characters between a role's name and its session's name, as in "Role (session name x)"


def _find_session(session: str, text: str) -> int:
    """Where a role session ("DataPipelineRole/maint") is named: as written (also inside an ARN), or
    as the role's name followed closely by the session's own name ("DataPipelineRole (session name
    maint)", "DataPipelineRole, session maint"); -1 when not."""
    at = _find(session, text)
    if at >= 0 or "/" not in session:
        return at
    role, name = session.rsplit("/", 1)
    start = _find(role, text)
    while start >= 0:
        window = text[start + len(role): start + len(role) + SESSION_GAP]
        if _find(name, window) >= 0:
            return start
        nxt = _find(role, text[start + 1:])
        start = start + 1 + nxt if nxt >= 0 else -1
    return -1


STOPWORDS = {"from", "of", "the", "and", "to", "in", "a", "an", "for", "or", "by", "use"}
NAME_SPAN = 6  # words: a technique's name counts when all its words are named this close together


def _words(text: str) -> list[str]:
    return [w.lower().rstrip("s") for w in re.findall(r"[A-Za-z]+", text)]


def _named_as_words(name: str, summary: str) -> bool:
    """Whether every content word of a technique's name ("Data from Cloud Storage") appears in the
    summary within NAME_SPAN words, in any order and form ("cloud storage data collection")."""
    wanted = {w for w in _words(name) if w not in STOPWORDS}
    if not wanted:
        return False
    words = _words(summary)
    span = max(NAME_SPAN, len(wanted))
    return any(wanted <= set(words[i:i + span]) for i, w in enumerate(words) if w in wanted)


def _object_words(objects: tuple[str, ...]) -> set[str]:
    """The content words of the downloaded objects' names (`ledger_2026-02-27.csv.gz` -> ledger)."""
    words: set[str] = set()
    for o in objects:
        stem = o.rsplit("/", 1)[-1].split(".")[0]
        words |= {w.lower() for w in re.split(r"[^A-Za-z]+", stem)
                  if len(w) > 3 and w.lower() not in {"summary", "export", "exports"}}
    return words


def _downloaded(summary: str, key: AnswerKey) -> bool:
    if any(_has(o.rsplit("/", 1)[-1], summary) for o in key.objects):
        return True
    words = {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z]+", summary)}
    return len({w for w in _object_words(key.objects) if w.rstrip("s") in words}) >= 2


def _technique(summary: str, tid: str, names: tuple[str, ...]) -> bool:
    if re.search(r"(?<![\w])" + re.escape(tid) + r"(?:\.\d{3})?(?!\d)", summary, re.I):
        return True
    return any(n and (re.search(re.escape(n), summary, re.I) or _named_as_words(n, summary)) for n in names)


def _step_at(stage: Stage, summary: str, key: AnswerKey) -> int:
    """Where a step of the incident is first named (the role session also as role and session name)."""
    return _find_session(stage.anchor, summary) if stage.anchor == key.role_session else _find(stage.anchor, summary)


def _in_order(summary: str, key: AnswerKey) -> bool:
    """At least four of the incident's steps are named, and first named in the order they happened."""
    pos = [_step_at(s, summary, key) for s in key.stages]
    named = [p for p in pos if p >= 0]
    return len(named) >= 4 and named == sorted(named)


def order_reason(missing: int, total: int, in_order: bool, named: int) -> str:
    """The reason shown for criterion 1's suggestion: what is missing and whether the order was the problem."""
    if missing == 0:
        return "every step named, in order" if in_order else "every step named, but out of order"
    if missing > 2:
        return f"{missing} of {total} steps missing"
    order = "" if in_order else (", and the ones named are out of order" if named >= 4 else
                                 ", and too few named to show the order")
    return f"{missing} step{'s' if missing != 1 else ''} missing{order}"


def evidence(summary: str, *, key: AnswerKey) -> Evidence:
    """The facts of `key` that `summary` names, and the points each rubric criterion could get."""
    s = summary if isinstance(summary, str) else ""
    session_named = _find_session(key.role_session, s) >= 0
    role_named = session_named or _has(key.role, s)
    facts: list[Fact] = [
        Fact("user", "compromised principal", IOCS, _has(key.user, s), key.user),
        Fact("access_key", "its access key", IOCS, _has(key.access_key, s), key.access_key),
    ]
    facts += [Fact(f"ip{i + 1}", f"intruder's source IP {i + 1}", IOCS, _has(ip, s), ip) for i, ip in enumerate(key.ips)]
    facts += [
        Fact("region", "intruder's region", IOCS, _has(key.region, s), key.region),
        Fact("role", "role it escalated and assumed", IOCS, role_named, f"{key.role} ({key.role_session})"),
        Fact("policy", "policy attached", ORDER, _has(key.policy, s), key.policy),
        Fact("persistence", "user given a new access key", IOCS, _has(key.persistence_user, s), key.persistence_user),
        Fact("mfa", "user whose MFA was deactivated", ORDER, _has(key.mfa_user, s), key.mfa_user),
        Fact("role_session", "role session used", ORDER, session_named, key.role_session),
        Fact("bucket", "bucket read", IOCS, _has(key.bucket, s), key.bucket),
        Fact("downloaded", "what was downloaded", IMPACT, _downloaded(s, key),
             ", ".join(o.rsplit("/", 1)[-1] for o in key.objects[:3]) + (" ..." if len(key.objects) > 3 else "")),
    ]
    facts += [Fact(f"attack_{tid}", f"ATT&CK {tid}", IMPACT, _technique(s, tid, names),
                   f"{tid} {names[0] if names else ''}".strip()) for tid, names in key.techniques]
    facts.append(Fact("order", "events in order", ORDER, _in_order(s, key),
                      " -> ".join(st.label for st in key.stages)))
    facts.append(Fact("containment", "containment steps proposed", IMPACT, bool(CONTAINMENT.search(s)),
                      "disable keys and session, detach the policy, restore MFA"))
    by = {f.id: f.present for f in facts}

    steps = [_step_at(st, s, key) >= 0 for st in key.stages]
    missing_steps = steps.count(False)
    c1 = 1.0 if missing_steps == 0 and by["order"] else 0.5 if missing_steps <= 2 else 0.0
    w1 = order_reason(missing_steps, len(steps), by["order"], steps.count(True))
    iocs = sum(by[i] for i in ("user", "access_key", "region", "role", "persistence", "bucket")) + sum(
        by[f"ip{i + 1}"] for i in range(len(key.ips)))
    c2 = 1.0 if iocs >= 4 else 0.5 if iocs >= 2 else 0.0
    parts = [by["downloaded"], all(by[f"attack_{t}"] for t, _ in key.techniques), by["containment"]]
    c3 = 1.0 if all(parts) else 0.5 if sum(parts) == 2 else 0.0
    others = [ip for ip in _IPV4.findall(s) if ip not in key.ips]
    others += [k for k in _AWS_KEY.findall(s) if k != key.access_key]
    return Evidence(
        facts=tuple(facts),
        suggested={ORDER: c1, IOCS: c2, IMPACT: c3},
        why={ORDER: w1, IOCS: f"{iocs} indicator(s) named", IMPACT: f"{sum(parts)} of 3: impact, ATT&CK, containment"},
        other_values=tuple(dict.fromkeys(others)),
    )
