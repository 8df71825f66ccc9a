"""Text that came from a submission (a file name, a value, a message), made safe to write out.

A name or value may hold anything a student can type into a file name or a string: line
breaks, Markdown, HTML, spreadsheet formulas, bidirectional-text controls. Every writer of
Markdown, HTML or CSV passes such text through one of these functions.
"""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from collections.abc import Iterable

_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}  # controls, format (bidi) and unassigned code points


def one_line(text: object, *, limit: int = 500) -> str:
    """`text` on one line: line breaks, tabs and invisible or bidirectional controls become
    spaces, runs of spaces one space, and anything past `limit` characters is cut (with "...")."""
    s = str(text)
    if not s.isprintable():  # printable text holds none of them (str.isprintable is False for every
        # Other and Separator character but the space), so only the rest is looked at character by character
        s = "".join(" " if unicodedata.category(c) in _INVISIBLE else c for c in s)
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 3].rstrip() + "..."


def quoted(name: object, *, limit: int = 80) -> str:
    """A name to quote inside a status: in single quotes, control characters shown as escapes
    (so two names that differ only in them still look different), cut to `limit`."""
    s = "".join(c if unicodedata.category(c) not in _INVISIBLE else c.encode("unicode_escape").decode("ascii")
                for c in str(name))
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return f"'{s}'"


# Markdown: characters that start inline syntax anywhere in a line (links, images, HTML,
# entities, code, emphasis, tables, strikethrough, math) are backslash-escaped; CommonMark
# renders an escaped ASCII punctuation character as itself.
_MD_ANYWHERE = set("\\`*[]<>&|~$")
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>&|~$_]")  # _MD_ANYWHERE and the underscore
_MD_LINE_START = re.compile(r"(#{1,6}|[-+*]|\d{1,9}[.)])(?= |$)|-(?=-)")


def _md_escaped(s: str) -> str:
    out = []
    for i, c in enumerate(s):
        if c in _MD_ANYWHERE:
            out.append("\\" + c)
        elif c == "_" and not (0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum()):
            out.append("\\_")  # an underscore inside a word never makes emphasis; elsewhere it can
        else:
            out.append(c)
    return "".join(out)


def markdown(text: object, *, limit: int = 500) -> str:
    """`text` as inert Markdown on one line: it renders as the same characters and can start
    no heading, list, quote, link, image, HTML tag, table cell or emphasis."""
    s = one_line(text, limit=limit)
    if _MD_SPECIAL.search(s):  # most text has nothing to escape
        s = _md_escaped(s)
    m = _MD_LINE_START.match(s)
    if m:  # would start a heading, list or rule where the text begins a line or a list item
        mark = m.group(0)
        s = mark[:-1] + "\\" + mark[-1] + s[len(mark):]
    if s.startswith(">"):
        s = "\\" + s
    return s


def html_text(text: object, *, limit: int = 2000) -> str:
    """`text` on one line, escaped for HTML element content and quoted attribute values."""
    return html.escape(one_line(text, limit=limit), quote=True)


# CSV: a cell a spreadsheet would run as a formula. The full-width forms are included
# because some spreadsheets fold them to the ASCII ones.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


# Bidirectional controls (embeddings, overrides, isolates, marks): in a spreadsheet they reorder
# what a cell shows ("Trojan Source"), so a CSV never holds them raw.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The mark of a cell whose bidi controls (and backslashes) are written as escapes. A cell
# csv_cell writes otherwise never starts with it: after a leading apostrophe comes a formula
# character or a second apostrophe.
_ESCAPED = "'\\"
_ESCAPE = re.compile(r"\\(\\|u[0-9a-f]{4})")


def safe_str(text: str) -> str:
    """`text` with each lone surrogate (which no UTF-8 file can hold) as U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def csv_cell(value: object) -> str:
    """A cell that no spreadsheet runs as a formula or shows reordered: text starting with =,
    +, -, @, a tab or a carriage return gets a leading apostrophe, as does text that itself
    starts with one (so `csv_value` can undo it exactly); text holding a bidirectional control
    is written after the mark `'\\` with each control as `\\uXXXX` and each backslash doubled.
    Lone surrogates become U+FFFD. Numbers stay numbers."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    s = "" if value is None else safe_str(str(value))
    if any(c in BIDI_CONTROLS for c in s):
        return _ESCAPED + "".join(f"\\u{ord(c):04x}" if c in BIDI_CONTROLS else "\\\\" if c == "\\" else c for c in s)
    if s.startswith(_FORMULA_START + ("'",)) and not _PLAIN_NUMBER.fullmatch(s):
        return "'" + s
    return s


def csv_value(cell: str | None) -> str:
    """The text `csv_cell` was given, from the cell it wrote."""
    s = cell or ""
    if s.startswith(_ESCAPED):
        return _ESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)), s[len(_ESCAPED):])
    if s.startswith("'") and (s[1:].startswith(_FORMULA_START + ("'",))):
        return s[1:]
    return s


def csv_text(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV file ("\\n" line ends), every cell through `csv_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return buf.getvalue()
