"""Copied work: pairs of submissions whose triage summaries, or whose own code, are unusually alike.

Text is compared as sequences of words (code: of tokens) with rapidfuzz's normalized Indel similarity
(`fuzz.ratio`, 0-100): word order matters, so two summaries that name the same facts in their own
words score well below a copy. Own code is what is left of a submission's code cells after removing
every line of the student notebook's template and of the help notebook's reveal code, which everyone
may use. The summary threshold is calibrated on tests/similarity_corpus.py (see docs/reports.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

SUMMARY_THRESHOLD = 50.0
CODE_THRESHOLD = 90.0
MIN_SUMMARY_WORDS = 25  # shorter summaries (unanswered, a sentence) are not compared
MIN_CODE_TOKENS = 40  # nor almost no own code
MAX_TOKENS = 5000
NOTEBOOKS = ("scenario03b.ipynb", "scenario03b-help.ipynb")

_WORD = re.compile(r"[a-z0-9]+(?:[.\-/][a-z0-9]+)*")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\"[^\"\n]*\"|'[^'\n]*'|\S")


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float  # 0-100


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())[:MAX_TOKENS]


_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]* ?= ?(?!=)")
_NAME_ONLY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _lines(source: str) -> list[str]:
    """Code lines as compared: no blanks, comments, magics or bare names (a display), one kind of
    quote, single spaces."""
    out = []
    source = re.sub(r'"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'', "''", source)  # prose (the summary) is not code
    for line in source.splitlines():
        line = re.sub(r"\s+", " ", line.strip()).replace('"', "'")
        if line and not line.startswith(("#", "%", "!")) and not _NAME_ONLY.fullmatch(line):
            out.append(line)
    return out


def _is_shared(line: str, shared: set[str]) -> bool:
    """A shared line, or one that assigns a shared line's value to another name."""
    return line in shared or _ASSIGN.sub("", line) in shared


def _code_cells(root: Path) -> list[str]:
    found: list[str] = []
    for name in NOTEBOOKS:
        try:
            nb = json.loads((Path(root) / "assignment" / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                src = cell.get("source", "")
                found.append("".join(src) if isinstance(src, list) else str(src))
    return found


def shared_texts(root: Path) -> list[str]:
    """The long strings of the notebooks' code (the help notebook's example summary): a summary
    alike to one of them was pasted from there, not from a classmate."""
    return [m for c in _code_cells(root) for m in re.findall(r'"""(.*?)"""', c, re.S) if len(words(m)) >= MIN_SUMMARY_WORDS]


def shared_lines(root: Path) -> set[str]:
    """The code lines everyone may use: the student notebook's template and the help notebook's code."""
    found: set[str] = set()
    for cell in _code_cells(root):
        lines = _lines(cell)
        found.update(lines)
        found.update(_ASSIGN.sub("", line) for line in lines if _ASSIGN.match(line))
    return found


def own_code(cells: list[str], shared: set[str]) -> str:
    """The submission's code lines that are not the template's or the reveal code's."""
    return "\n".join(line for c in cells for line in _lines(c) if not _is_shared(line, shared))


def code_tokens(code: str) -> list[str]:
    return _TOKEN.findall(code)[:MAX_TOKENS]


def similar_pairs(tokens: dict[str, list[str]], *, threshold: float, min_tokens: int) -> list[Pair]:
    """Pairs of documents scoring at least `threshold`, best first."""
    from rapidfuzz import fuzz, process

    names = [n for n, t in tokens.items() if len(t) >= min_tokens]
    if len(names) < 2:
        return []
    docs = [tokens[n] for n in names]
    matrix = process.cdist(docs, docs, scorer=fuzz.ratio, score_cutoff=threshold, workers=-1)
    pairs = [Pair(names[i], names[j], round(float(matrix[i, j]), 1))
             for i, j in zip(*matrix.nonzero(), strict=True) if i < j]
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


@dataclass
class CopiedWork:
    summaries: list[Pair]
    code: list[Pair]


def copied_work(summaries: dict[str, str], code: dict[str, list[str]], *, root: Path) -> CopiedWork:
    """Near-duplicate summaries and unusually alike own code, by submission name. Summaries alike
    to the help notebook's example are left out (everyone may start from it)."""
    from rapidfuzz import fuzz

    shared = shared_lines(root)
    examples = [words(t) for t in shared_texts(root)]
    tokens = {n: words(t) for n, t in summaries.items()}
    mine = {n: w for n, w in tokens.items() if not any(fuzz.ratio(w, e) >= SUMMARY_THRESHOLD for e in examples)}
    return CopiedWork(
        summaries=similar_pairs(mine,
                                threshold=SUMMARY_THRESHOLD, min_tokens=MIN_SUMMARY_WORDS),
        code=similar_pairs({n: code_tokens(own_code(c, shared)) for n, c in code.items()},
                           threshold=CODE_THRESHOLD, min_tokens=MIN_CODE_TOKENS),
    )
