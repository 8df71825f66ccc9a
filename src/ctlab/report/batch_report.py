"""The batch report: OUT/report.html (self-contained) and OUT/report.md (+ OUT/report_files/*.svg)."""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic
from ctlab.contract import MANUAL_QUESTIONS, STRETCH_QUESTIONS
from ctlab.grading.results import Graded

from . import pages
from ._format import fmt_points
from .answers import error_type
from .feedback import otters_own
from .pending import pending_counts, pending_line
from .students import Classlist, Person
from .wrong_answers import WrongAnswerGroup, by_kind

TITLE = "Scenario 03B: batch report"
SCORE_SVG = "score_distribution.svg"
PASS_SVG = "pass_rates.svg"
OLD_CHARTS = ("score_distribution.png", "pass_rates.png")  # what versions before SVG drew


@dataclass(frozen=True)
class CopiedPair:
    kind: str  # "summary" or "own code"
    a: str  # gradebook file
    b: str
    score: float  # 0-100


COPIED_NOTE = ("Pairs of submissions whose triage summaries are near-duplicates (word-sequence similarity "
               "of at least {summary:g} of 100), and pairs whose own code, without the notebook's template and the "
               "help notebook's reveal code, is at least {code:g} alike. A score is a lead to read both, not a "
               "verdict; the review page (ctlab review) shows each pair side by side.")


def _copied_note() -> str:
    from .similarity import CODE_THRESHOLD, SUMMARY_THRESHOLD

    return COPIED_NOTE.format(summary=SUMMARY_THRESHOLD, code=CODE_THRESHOLD)


@dataclass
class QuestionStats:
    question: str
    max_points: float
    full_marks: int
    graded: int
    mean_points: float
    manual: bool
    stretch: bool = False

    @property
    def pass_rate(self) -> float:
        return self.full_marks / self.graded if self.graded else 0.0


@dataclass
class TestStats:
    question: str
    name: str
    hidden: bool
    passed: int
    run: int
    title: str = ""  # what it checks, from its test function's name ("rows kept"); "" when unknown


@dataclass(frozen=True)
class CellError:
    """One error raised by one cell: the message as raised (first line, cut) and who raised it."""

    cell: int
    message: str
    files: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.files)


MAX_ERROR_CHARS = 160


def natural_key(text: str) -> tuple[object, ...]:
    """Sorts "q2 - 2" before "q2 - 10" and "q9" before "q11"."""
    return tuple(int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", text))


def test_titles(tests_dir: Path) -> dict[tuple[str, str], str]:
    """{(question, otter's test name "q2 - 1"): what it checks ("rows kept")}, from the autograder's
    own test files (see parts.load_parts), whose test functions are named by what they check."""
    from .parts import load_parts

    titles: dict[tuple[str, str], str] = {}
    for (q, name), fn in load_parts(tests_dir).functions.items():
        words = re.sub(rf"^test_{re.escape(q)}_?", "", fn).replace("_", " ").strip()
        titles[(q, name)] = words or fn
    return titles

@dataclass
class BatchStats:
    count: int
    percents: list[float]
    totals: list[float]
    median_runtime: float | None
    max_runtime: float | None
    statuses: list[tuple[str, int]]
    questions: list[QuestionStats]
    with_snapshot: int
    required_percents: list[float] = field(default_factory=list)  # percent from the required questions only
    extra_points: list[float] = field(default_factory=list)  # stretch points per submission
    tests: list[TestStats] = field(default_factory=list)
    exceptions: list[CellError] = field(default_factory=list)  # most common first
    late_totals: list[float] = field(default_factory=list)
    on_time_totals: list[float] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)  # hand-graded question -> submissions without a score
    superseded: int = 0  # older uploads of a student with a newer one: not counted above
    stale: str = ""  # the hand scores that graded an earlier answer, in words
    transfer: list[str] = field(default_factory=list)  # part 8b's lines (report/transfer.py)


def compute_stats(subs: list[Graded], maxima: dict[str, float], with_snapshot: int,
                  titles: dict[tuple[str, str], str] | None = None) -> BatchStats:
    """The report's numbers over `subs` (each student once). `titles` names tests by what they check."""
    titles = titles or {}
    percents = []
    for s in subs:
        if s.percent is not None:
            percents.append(s.percent)
    runtimes = [s.runtime_s for s in subs if s.runtime_s is not None]
    statuses = sorted(Counter(s.status or "unknown" for s in subs).items(), key=lambda kv: (-kv[1], kv[0]))
    questions = []
    for q, mx in maxima.items():
        manual = q in MANUAL_QUESTIONS
        raw = [s.points.get(q) for s in subs]
        if manual:  # over the hand-graded ones only: a pending score is no score
            raw = [v for v in raw if v is not None]
            if not raw:
                continue
        vals = [0.0 if v is None else v for v in raw]
        full = sum(1 for v in vals if v >= mx - 1e-9)
        questions.append(
            QuestionStats(q, mx, full, len(vals), (sum(vals) / len(vals)) if vals else 0.0, manual,
                          stretch=q in STRETCH_QUESTIONS)
        )
    extra = [s.extra_credit for s in subs]
    required = [p for s in subs if (p := s.required_percent) is not None]
    tests: dict[tuple[str, str, bool], list[int]] = {}
    for s in subs:
        for t in s.tests:
            tally = tests.setdefault((t.question, t.name, t.hidden), [0, 0])
            tally[0] += t.passed
            tally[1] += 1
    order = {q: i for i, q in enumerate(maxima)}
    test_stats = [TestStats(q, n, h, p, r, titles.get((q, n), "")) for (q, n, h), (p, r) in
                  sorted(tests.items(), key=lambda kv: (order.get(kv[0][0], 99), natural_key(kv[0][1])))]
    return_exceptions = cell_errors(subs)
    return BatchStats(
        count=len(subs),
        percents=percents,
        totals=[s.total for s in subs],
        median_runtime=statistics.median(runtimes) if runtimes else None,
        max_runtime=max(runtimes) if runtimes else None,
        statuses=statuses,
        questions=questions,
        with_snapshot=with_snapshot,
        required_percents=required,
        extra_points=extra,
        tests=test_stats,
        exceptions=return_exceptions,
        late_totals=[s.total for s in subs if s.late],
        on_time_totals=[s.total for s in subs if not s.late] if any(s.late for s in subs) else [],
        pending=pending_counts(subs),
    )


def cell_errors(subs: Sequence[Graded]) -> list[CellError]:
    """Each (cell, error message) raised, with who raised it; most common first. Otter's own cells'
    errors are left out (see feedback.otters_own)."""
    raised: dict[tuple[int, str], list[str]] = {}
    for s in subs:
        for cell, text in dict.fromkeys((c, t) for c, t in s.cell_errors if not otters_own(t)):
            message = " ".join(text.split())
            message = message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 3] + "..."
            raised.setdefault((cell, message or error_type(text)), []).append(s.file)
    return [CellError(cell, message, tuple(files)) for (cell, message), files in
            sorted(raised.items(), key=lambda kv: (-len(kv[1]), kv[0][0], kv[0][1]))]


# ---------------------------------------------------------------- pictures

CHARTS_KEY = ".charts-sha256"


def _charts_key(stats: BatchStats) -> str:
    """What the charts show (and the code that draws them)."""
    from . import charts

    shown = (stats.count, stats.required_percents, stats.extra_points,
             [(q.question, q.max_points, q.full_marks, q.graded, q.manual, q.stretch) for q in stats.questions])
    return hashlib.sha256(repr(shown).encode() + b"".join(p.read_bytes() for p in charts.sources())).hexdigest()


def _charts(stats: BatchStats, files_dir: Path) -> dict[str, bytes]:
    """The charts in `files_dir`, drawn again only when what they show changed. The pictures an
    older version drew (PNG) are removed, so that the folder holds only what the report shows."""
    for name in OLD_CHARTS:
        (files_dir / name).unlink(missing_ok=True)
    key = _charts_key(stats)
    try:
        if (files_dir / CHARTS_KEY).read_text(encoding="utf-8") == key:
            return {name: (files_dir / name).read_bytes() for name in (SCORE_SVG, PASS_SVG)}
    except OSError:
        pass
    charts = make_charts(stats)
    for name, data in charts.items():
        atomic.write_bytes(files_dir / name, data)
    atomic.write_text(files_dir / CHARTS_KEY, key)  # last: a crash before it means "draw again"
    return charts


def make_charts(stats: BatchStats) -> dict[str, bytes]:
    """{file name: SVG} of the score distribution and the pass rates."""
    from . import charts

    return {SCORE_SVG: charts.render(charts.score_chart(stats)).encode("utf-8"),
            PASS_SVG: charts.render(charts.pass_rate_chart(stats)).encode("utf-8")}


# ---------------------------------------------------------------- text

def _students(n: int) -> str:
    return f"{n} student" if n == 1 else f"{n} students"


def _summary_lines(stats: BatchStats) -> list[str]:
    lines = [f"Submissions: {stats.count}" + (
        f" (one per student; {stats.superseded} superseded upload(s) not counted, listed under Students)"
        if stats.superseded else "")]
    if stats.pending:
        lines.append(pending_line(stats.pending, stats.count))
    if stats.stale:
        lines.append(stats.stale)
    if stats.totals:
        lines.append(
            f"Points: median {fmt_points(statistics.median(stats.totals))}, "
            f"mean {statistics.mean(stats.totals):.2f}"
        )
    if stats.required_percents:
        lines.append(f"Required questions: median {statistics.median(stats.required_percents):.1f}% "
                     "of the required points")
    if stats.extra_points and any(stats.extra_points):
        lines.append(f"Extra credit: {sum(1 for v in stats.extra_points if v)} of {stats.count} submissions "
                     f"earned stretch points (median {fmt_points(statistics.median(stats.extra_points))})")
    if stats.percents:
        lines.append(f"percent_correct (the gradebook's column, as otter writes it: every point earned, extra "
                     f"credit included, over the required points possible, so it can pass 100%): median "
                     f"{statistics.median(stats.percents):.1f}%")
    if stats.late_totals:
        lines.append(f"On time: {len(stats.on_time_totals)}, median {_median(stats.on_time_totals)} points; "
                     f"late: {len(stats.late_totals)}, median {_median(stats.late_totals)} points (before any penalty)")
    lines.extend(stats.transfer)
    if stats.median_runtime is not None:
        lines.append(
            f"Runtime per submission: median {stats.median_runtime:.2f} s, max {stats.max_runtime:.2f} s"
        )
    return lines


def _median(values: list[float]) -> str:
    return fmt_points(statistics.median(values)) if values else "-"


MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 240
MAX_EXCEPTION_ROWS = 15


def _short(text: str) -> str:
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[: MAX_EXAMPLE_CHARS - 3] + "..."


def _answers(n: int) -> str:
    return "1 answer" if n == 1 else f"{n} different answers"


def _label(q: QuestionStats) -> str:
    return f"{q.question} (manual)" if q.manual else f"{q.question} (extra credit)" if q.stretch else q.question


@dataclass(frozen=True)
class Chart:
    name: str  # file name in report_files/ (and the HTML's data-name)
    alt: str


@dataclass(frozen=True)
class QuestionRow:
    label: str
    max_points: str
    full: str  # "4 of 10"
    rate: str  # "40%"
    mean: str


@dataclass(frozen=True)
class TestRow:
    question: str
    name: str  # what it checks ("rows kept"), else otter's name ("q2 - 1")
    kind: str  # "public" or "hidden"
    passed: str  # "4 of 10 (40%)"


@dataclass(frozen=True)
class ErrorRow:
    """An error raised by a cell, and who raised it."""

    cell: int
    message: str
    students: str  # "3 students"
    people: list[Person]

    @property
    def who(self) -> str:
        return "; ".join(p.label for p in self.people)


@dataclass(frozen=True)
class AnswerLine:
    """One wrong answer and who gave it."""

    description: str
    short: str  # cut to MAX_EXAMPLE_CHARS
    students: str  # "3 students"
    people: list[Person]  # who gave it, in name order
    cut: bool  # whether `short` lost part of `description`

    @property
    def who(self) -> str:
        """"Okafor, Chidi; Park, Min"."""
        return "; ".join(p.label for p in self.people)


@dataclass(frozen=True)
class AnswerKind:
    """Wrong answers that differ only in their particulars; `answers` holds all, most common first."""

    kind: str
    students: str
    answers_text: str  # "4 different answers"
    answers: list[AnswerLine]
    more: int  # answers beyond the MAX_EXAMPLES shown in full

    @property
    def common(self) -> list[AnswerLine]:
        return self.answers[:MAX_EXAMPLES]


@dataclass(frozen=True)
class QuestionAnswers:
    question: str
    students: str  # "5 students" without full points
    kinds: list[AnswerKind]


@dataclass(frozen=True)
class ReportView:
    """What the batch report shows, as plain text: the one view both templates render."""

    title: str
    summary: list[str]
    score_chart: Chart
    pass_chart: Chart
    questions: list[QuestionRow]
    tests: list[TestRow]
    statuses: list[tuple[str, int]]
    exceptions: list[ErrorRow]  # all of them; the tables show the first MAX_EXCEPTION_ROWS
    reference_note: str
    wrong_answers: list[QuestionAnswers]
    copied_note: str
    copied: list[tuple[str, Person, Person, str]]  # (kind, person, person, score)
    variant_flags: list[tuple[Person, str]]  # (who, why): answers of another variant, an id not the author's
    students: list[str]
    problems: list[tuple[str, str]]  # (file, what the report could not use)

    @property
    def exception_rows(self) -> list[ErrorRow]:
        return self.exceptions[:MAX_EXCEPTION_ROWS]

    @property
    def more_exceptions(self) -> int:
        return max(0, len(self.exceptions) - MAX_EXCEPTION_ROWS)


def _answer_line(g: WrongAnswerGroup, people: Classlist) -> AnswerLine:
    who = sorted((people.person(f) for f in g.files), key=lambda p: (p.label.casefold(), p.lms_id))
    return AnswerLine(g.description, _short(g.description), _students(g.count), who,
                      len(g.description) > MAX_EXAMPLE_CHARS)


def report_view(stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
                problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (),
                students: Sequence[str] = (), people: Classlist | None = None,
                variant_flags: Sequence[tuple[str, str]] = ()) -> ReportView:
    """The batch report's view, the same for report.md and report.html. People are shown by
    name with a roster, else by their short id (`people`), never by a path."""
    people = people or Classlist()
    wrong = [
        QuestionAnswers(q, _students(sum(g.count for g in items)), [
            AnswerKind(k.kind, _students(k.count), _answers(len(k.groups)),
                       [_answer_line(g, people) for g in k.groups],
                       max(0, len(k.groups) - MAX_EXAMPLES))
            for k in by_kind(items)])
        for q, items in groups.items() if items
    ]
    return ReportView(
        title=TITLE,
        summary=_summary_lines(stats),
        score_chart=Chart(SCORE_SVG, "Score distribution"),
        pass_chart=Chart(PASS_SVG, "Pass rate per question"),
        questions=[QuestionRow(_label(q), fmt_points(q.max_points), f"{q.full_marks} of {q.graded}",
                               f"{100 * q.pass_rate:.0f}%", f"{q.mean_points:.2f}") for q in stats.questions],
        tests=[TestRow(t.question, t.title or t.name, "hidden" if t.hidden else "public",
                       f"{t.passed} of {t.run} ({100 * t.passed / t.run:.0f}%)") for t in stats.tests],
        statuses=list(stats.statuses),
        exceptions=[ErrorRow(e.cell, e.message, _students(e.count),
                             sorted((people.person(f) for f in e.files), key=lambda p: p.label.casefold()))
                    for e in stats.exceptions],
        reference_note=reference_note,
        wrong_answers=wrong,
        copied_note=_copied_note(),
        copied=[(c.kind, people.person(c.a), people.person(c.b), f"{c.score:.1f}") for c in copied],
        variant_flags=[(people.person(f), why) for f, why in variant_flags],
        students=list(students),
        problems=[(people.label(f), why) for f, why in problems],
    )


def render_markdown(stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
                    problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (),
                    students: Sequence[str] = (), people: Classlist | None = None,
                    variant_flags: Sequence[tuple[str, str]] = ()) -> str:
    """Markdown in which every text that came from a submission is escaped (safetext.markdown)."""
    return pages.render("report.md.j2", v=report_view(stats, groups, reference_note, problems, copied, students, people,
                                                     variant_flags))


def render_html(
    stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], charts: dict[str, bytes], reference_note: str,
    problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (), students: Sequence[str] = (),
    people: Classlist | None = None,
    variant_flags: Sequence[tuple[str, str]] = (),
) -> str:
    """A self-contained HTML page (pictures and stylesheet inlined) in which every text is escaped
    (safetext.html_text)."""
    view = report_view(stats, groups, reference_note, problems, copied, students, people, variant_flags)
    return pages.render("report.html.j2", v=view, charts=charts)


def write_batch_report(
    out: Path, stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
    *, problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (), students: Sequence[str] = (),
    people: Classlist | None = None,
    variant_flags: Sequence[tuple[str, str]] = (),
) -> tuple[Path, Path, Path]:
    files_dir = out / "report_files"
    charts = _charts(stats, files_dir)
    md_path = out / "report.md"
    html_path = out / "report.html"
    atomic.write_text(md_path, render_markdown(stats, groups, reference_note, problems, copied, students, people,
                                                 variant_flags))
    atomic.write_text(html_path, render_html(stats, groups, charts, reference_note, problems, copied, students,
                                             people, variant_flags))
    return html_path, md_path, files_dir
