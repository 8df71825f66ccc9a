"""Common wrong answers: each wrong answer described by how it differs from the right one.

Answers that differ in the same way are grouped, so the report can say
"+3 rows, event_name GetObjectAcl: 14 students" and the instructor sees which
misconception to address. Rows are compared by event_id, never by printed output.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ctlab.contract import MANUAL_QUESTIONS, QUESTIONS, question_order
from ctlab.grading.results import Graded, Kind

from .answers import SavedAnswers, Unsaved

FRAME_VARIABLES = {"cloud_iam_df", "cloud_api_df", "susp_iam", "susp_api", "related_api"}
LIST_VARIABLES = {"actors", "susp_users", "mitre_techniques"}
MAX_NAMES = 4
UNDESCRIBED = "an answer of a shape the report cannot describe"
MAX_ITEMS = 6


def _items(values: list[str]) -> str:
    shown = ", ".join(values[:MAX_ITEMS])
    return shown + (f" and {len(values) - MAX_ITEMS} more" if len(values) > MAX_ITEMS else "")


def question_variables() -> dict[str, tuple[str, ...]]:
    """The contract's questions (stretch ones included) and the variables each reads, in gradebook order."""
    return {q: QUESTIONS[q] for q in question_order(QUESTIONS)}


@dataclass
class WrongAnswerGroup:
    question: str
    description: str
    count: int
    files: list[str] = field(default_factory=list)

    def line(self) -> str:
        noun = "student" if self.count == 1 else "students"
        return f"{self.description}: {self.count} {noun}"


_LISTED = re.compile(r"((?:[A-Za-z_]\w*: )?(?:extra|missing|repeated))\b")


def kind_of(description: str) -> str:
    """A description without its particulars, so that 300 different lists of extra names are
    one kind of mistake: "actors: extra a, b; missing c" -> "actors: extra ...; actors: missing ..."."""
    parts = []
    for part in description.split("; "):
        m = _LISTED.match(part)
        if m:
            parts.append(m.group(1) + " ...")
            continue
        part = re.sub(r"(event_name|user) .*", r"\1 ...", part)
        parts.append(re.sub(r"\d+(?:\.\d+)?", "N", part))
    return "; ".join(parts)


@dataclass
class WrongAnswerKind:
    """Wrong answers to one question that differ only in their particulars, most common first."""

    question: str
    kind: str
    groups: list[WrongAnswerGroup]

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)


def by_kind(groups: list[WrongAnswerGroup]) -> list[WrongAnswerKind]:
    kinds: dict[str, list[WrongAnswerGroup]] = {}
    for g in groups:
        kinds.setdefault(kind_of(g.description), []).append(g)
    found = [WrongAnswerKind(gs[0].question, k, sorted(gs, key=lambda g: (-g.count, g.description)))
             for k, gs in kinds.items()]
    return sorted(found, key=lambda k: (-k.count, k.kind))


# ---------------------------------------------------------------- building blocks

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _norm_id(value: object) -> str:
    if type(value) is str:  # nearly every id: the checks below cost more than the rest of the loop
        return value
    if isinstance(value, (float, np.floating)) and not math.isnan(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _name_counts(names: pd.Series) -> str:
    counts = Counter("(missing)" if pd.isna(n) else str(n) for n in names.tolist())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) == 1:
        return ranked[0][0]
    parts = [f"{name} ({n})" for name, n in ranked[:MAX_NAMES]]
    if len(ranked) > MAX_NAMES:
        parts.append(f"{len(ranked) - MAX_NAMES} more")
    return ", ".join(parts)


def _type_name(value: object) -> str:
    if value is None:
        return "None"
    return type(value).__name__


def _is_unanswered(value: object) -> bool:
    return value is Ellipsis or (isinstance(value, str) and value.strip() == "...")


# ---------------------------------------------------------------- frames

def describe_frame(value: object, ref: pd.DataFrame) -> str:
    """How a DataFrame answer's rows differ from the reference rows, by event_id."""
    if not isinstance(value, pd.DataFrame):
        return f"not a DataFrame ({_type_name(value)})"
    if "event_id" not in value.columns:
        return "no event_id column"
    column = value["event_id"]
    if not isinstance(column, pd.Series):  # several columns of that name, or MultiIndex columns
        raise ValueError("event_id is not one column")
    # tolist(): one boxing pass; iterating pandas 3's Arrow-backed str column boxes one value a call
    ids = [_norm_id(v) for v in column.tolist()]
    ref_ids = [_norm_id(v) for v in ref["event_id"].tolist()]
    ref_set, got_set = set(ref_ids), set(ids)
    parts: list[str] = []
    extra = [i for i in dict.fromkeys(ids) if i not in ref_set]
    missing = [i for i in dict.fromkeys(ref_ids) if i not in got_set]
    if extra:
        mask = pd.Series(ids, index=value.index, dtype=object).isin(extra)  # object: a hash lookup per row
        rows = value[mask.to_numpy()].drop_duplicates(subset="event_id")
        text = f"+{_plural(len(extra), 'row')}"
        if "event_name" in value.columns:
            text += f", event_name {_name_counts(rows['event_name'])}"
        parts.append(text)
    if missing:
        mask = pd.Series(ref_ids, index=ref.index, dtype=object).isin(missing)
        rows = ref[mask.to_numpy()]
        text = f"-{_plural(len(missing), 'row')}"
        if "timestamp" in rows.columns and rows["timestamp"].isna().all():
            text += " (timestamp missing)"
        else:
            text += f", event_name {_name_counts(rows['event_name'])}"
        parts.append(text)
    dups = len(ids) - len(got_set)
    if dups:
        parts.append(f"{_plural(dups, 'duplicated row')}")
    if not parts:
        return "same rows as the right answer"
    return ", ".join(parts) if len(parts) == 1 else "; ".join(parts)


# ---------------------------------------------------------------- lists

def _as_items(value: object) -> list[object] | None:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.ravel().tolist()
    if isinstance(value, pd.Series):
        return value.tolist()
    if isinstance(value, pd.Index):
        return value.tolist()
    return None


def describe_list(value: object, ref: list[object], *, upper: bool = False) -> str:
    items = _as_items(value)
    if items is None:
        if isinstance(value, str):
            return f"a single string ({value!r}), not a list"
        return f"not a list ({_type_name(value)})"

    def norm(x: object) -> str:
        s = str(x).strip()
        return s.upper() if upper else s

    got = [norm(x) for x in items]
    want = [norm(x) for x in ref]
    extra = sorted(set(got) - set(want))
    missing = sorted(set(want) - set(got))
    parts = []
    if extra:
        parts.append(f"extra {_items(extra)}")
    if missing:
        parts.append(f"missing {_items(missing)}")
    repeats = sorted(x for x, n in Counter(got).items() if n > 1)
    if repeats:
        parts.append(f"repeated {_items(repeats)}")
    if not parts:
        return "same items as the right answer"
    return "; ".join(parts)


# ---------------------------------------------------------------- q2

def _utc_naive(ts: pd.Series) -> np.ndarray:
    """A series of times as naive datetime64 values of the same UTC instants (NaT kept)."""
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(ts.to_numpy())


def _ts_problems(value: object, ref: pd.DataFrame) -> list[str]:
    if not isinstance(value, pd.DataFrame):
        return [f"not a DataFrame ({_type_name(value)})"]
    if "timestamp" not in value.columns:
        return ["no timestamp column"]
    ts = value["timestamp"]
    problems: list[str] = []
    dtype = ts.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        tz = str(dtype.tz)
        if tz not in ("UTC", "utc", "UTC+00:00"):
            problems.append(f"timestamp in timezone {tz} (expected UTC)")
        parsed = ts.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        problems.append("timestamp has no timezone (expected UTC)")
        parsed = ts.dt.tz_localize("UTC")
    else:
        problems.append(f"timestamp not parsed (dtype {dtype})")
        parsed = None
    ref_nat = int(ref["timestamp"].isna().sum())
    if parsed is not None:
        nat = int(parsed.isna().sum())
        if nat != ref_nat:
            problems.append(f"{nat} NaT (expected {ref_nat})")
        if "event_id" in value.columns:  # instants compared as UTC datetime64, not as Timestamp objects
            mine = pd.Series(_utc_naive(parsed), index=[_norm_id(v) for v in value["event_id"].tolist()])
            want = pd.Series(_utc_naive(ref["timestamp"]), index=[_norm_id(v) for v in ref["event_id"].tolist()])
            mine = mine[~mine.index.duplicated()]
            common = mine.index.intersection(want.index)
            a, b = mine.loc[common], want.loc[common]
            both = a.notna().to_numpy() & b.notna().to_numpy()
            wrong = int((a.to_numpy()[both] != b.to_numpy()[both]).sum())
            if wrong:
                problems.append(f"{_plural(wrong, 'timestamp')} off from the UTC time")
    if "hour" not in value.columns:
        problems.append("no hour column")
    elif "event_id" in value.columns:
        mine_h = pd.Series(value["hour"].to_numpy(), index=[_norm_id(v) for v in value["event_id"].tolist()])
        want_h = pd.Series(ref["hour"].to_numpy(), index=[_norm_id(v) for v in ref["event_id"].tolist()])
        mine_h = mine_h[~mine_h.index.duplicated()]
        common = mine_h.index.intersection(want_h.index)
        mine_hours = pd.to_numeric(mine_h.loc[common], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        want_hours = pd.to_numeric(want_h.loc[common], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        differ = int(((mine_hours != want_hours) & ~(np.isnan(mine_hours) & np.isnan(want_hours))).sum())
        if differ:
            problems.append(f"hour differs in {_plural(differ, 'row')}")
    return problems


def describe_q2(ns: Mapping[str, object], ref: dict[str, object]) -> str:
    parts = []
    for var in ("cloud_iam_df", "cloud_api_df"):
        if var not in ns:
            parts.append(f"{var} not defined")
            continue
        problems = _ts_problems(ns[var], ref[var])  # type: ignore[arg-type]
        if problems:
            parts.append(f"{var}: " + ", ".join(problems))
    return "; ".join(parts) if parts else "timestamps and hours match the right answer"


# ---------------------------------------------------------------- questions

def _describe_var(var: str, value: object, ref: dict[str, object]) -> str | None:
    if _is_unanswered(value) or (isinstance(value, Unsaved) and "ellipsis" in value.reason):
        return "left as ..."
    if isinstance(value, Unsaved):
        return "a value the grader could not save"
    if var in FRAME_VARIABLES and var in ref:
        return describe_frame(value, ref[var])  # type: ignore[arg-type]
    if isinstance(value, pd.DataFrame):
        return f"a DataFrame with {_plural(len(value), 'row')}"
    if var in LIST_VARIABLES and var in ref:
        return describe_list(value, ref[var], upper=(var == "mitre_techniques"))  # type: ignore[arg-type]
    if var == "iocs" and isinstance(value, dict):  # the values themselves: equal answers group together
        kinds = [f"{k}: {_items(sorted(str(v).strip() for v in (_as_items(items) or [items])))}" for k, items in value.items()]
        return "; ".join(kinds) if kinds else "an empty dict"
    # no reference: describe the value itself
    if isinstance(value, (str, int, float, bool)) or value is None:
        return f"answered {value!r}"
    return f"answered a {_type_name(value)}"


def describe_answer(question: str, ns: Mapping[str, object], ref: dict[str, object]) -> str:
    if question == "q2":
        return describe_q2(ns, ref)
    variables = question_variables().get(question, ())
    parts = []
    for var in variables:
        if var not in ns:
            parts.append(f"{var} not defined")
            continue
        text = _describe_var(var, ns[var], ref)
        if len(variables) > 1:
            same = text and text.startswith("same ")
            if same:
                continue
            parts.append(f"{var}: {text}")
        else:
            parts.append(str(text))
    return "; ".join(parts) if parts else "same values as the right answer"


def group_wrong_answers(
    subs: list[Graded],
    snapshots: Mapping[str, Mapping[str, object]],
    ref: dict[str, object] | None,
    maxima: dict[str, float],
    by_variant: dict[int, dict[str, object]] | None = None,
) -> dict[str, list[WrongAnswerGroup]]:
    """For each auto-graded question, wrong answers grouped by their difference, most common first.
    Each answer is described against its own variant's reference (`by_variant`, else `ref`), so
    "+217 rows" means the same mistake whichever week a student had.

    A submission's answer to a question is wrong when it earned less than the question's
    maximum; only submissions with a saved snapshot are described. An answer that cannot be
    described is counted as such and noted on its submission. Answers saved with the same
    content (SavedAnswers.digests) are described once: a class's wrong answers repeat.
    """
    ref = ref or {}
    by_variant = by_variant or {}
    groups: dict[str, list[WrongAnswerGroup]] = {}
    described: dict[tuple[str, int, tuple[str, ...]], tuple[str, str | None]] = {}  # (desc, problem) by content
    for q, variables in question_variables().items():
        if q in MANUAL_QUESTIONS or q not in maxima:
            continue
        by_desc: dict[str, list[str]] = {}
        for sub in subs:
            ns = snapshots.get(sub.name)
            pts = sub.points.get(q)
            if ns is None or pts is None or pts >= maxima[q] - 1e-9 or sub.kind is Kind.VARIANT:
                continue  # (answers made from another variant's logs were not graded)
            own = by_variant.get(sub.variant, ref)
            if q in ("q1", "q2") and not {"cloud_iam_df", "cloud_api_df"} <= set(own):
                continue
            digests = ns.digests(variables) if isinstance(ns, SavedAnswers) else None
            key = (q, sub.variant if sub.variant in by_variant else 0, digests) if digests is not None else None
            if key is not None and key in described:
                desc, problem = described[key]
            else:
                problem = None
                try:
                    desc = str(describe_answer(q, ns, own))
                except Exception as exc:  # an answer of an odd shape costs only its own description
                    desc = UNDESCRIBED
                    problem = f"its answer to {q} could not be described ({type(exc).__name__})"
                if key is not None:
                    described[key] = desc, problem
            if isinstance(ns, SavedAnswers) and ns.broken:  # unreadable: said once on the submission
                continue
            if problem:
                sub.problems.append(problem)
            by_desc.setdefault(desc, []).append(sub.file)
        ranked = sorted(by_desc.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        groups[q] = [WrongAnswerGroup(q, d, len(files), sorted(files)) for d, files in ranked]
    return groups
