"""The batch report: OUT/report.html (self-contained) and OUT/report.md (+ OUT/report_files/*.png)."""

from __future__ import annotations

import io
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ctlab import atomic
from ctlab.contract import MANUAL_QUESTIONS, STRETCH_QUESTIONS
from ctlab.grading.results import Graded

from . import pages
from ._format import fmt_points
from .answers import error_type
from .feedback import otters_own
from .wrong_answers import WrongAnswerGroup, by_kind

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TITLE = "Scenario 03B: batch report"
SCORE_PNG = "score_distribution.png"
PASS_PNG = "pass_rates.png"


@dataclass(frozen=True)
class CopiedPair:
    kind: str  # "summary" or "own code"
    a: str  # gradebook file
    b: str
    score: float  # 0-100


COPIED_NOTE = ("Pairs of submissions whose triage summaries are near-duplicates (word-sequence similarity "
               "of at least {summary:g} of 100), and pairs whose own code, without the notebook's template and the "
               "help notebook's reveal code, is at least {code:g} alike. A score is a lead to read both, not a "
               "verdict; `ctlab review` shows each pair side by side.")


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
    exceptions: list[tuple[int, str, int]] = field(default_factory=list)  # (cell, type, submissions)
    late_totals: list[float] = field(default_factory=list)
    on_time_totals: list[float] = field(default_factory=list)


def compute_stats(subs: list[Graded], maxima: dict[str, float], with_snapshot: int) -> BatchStats:
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
        if manual and not any(raw):  # no hand-graded scores entered yet
            continue
        vals = [0.0 if v is None else v for v in raw]
        full = sum(1 for v in vals if v >= mx - 1e-9)
        questions.append(
            QuestionStats(q, mx, full, len(vals), (sum(vals) / len(vals)) if vals else 0.0, manual,
                          stretch=q in STRETCH_QUESTIONS)
        )
    required, extra = [], []
    for s in subs:
        stretch = sum(v or 0.0 for q, v in s.points.items() if q in STRETCH_QUESTIONS)
        extra.append(stretch)
        if s.percent is not None:
            # percent_correct is the total over the points possible; the required part is the same
            # fraction of it as the required points are of the total
            required.append(s.percent * (s.total - stretch) / s.total if s.total else 0.0)
    tests: dict[tuple[str, str, bool], list[int]] = {}
    for s in subs:
        for t in s.tests:
            tally = tests.setdefault((t.question, t.name, t.hidden), [0, 0])
            tally[0] += t.passed
            tally[1] += 1
    order = {q: i for i, q in enumerate(maxima)}
    test_stats = [TestStats(q, n, h, p, r) for (q, n, h), (p, r) in
                  sorted(tests.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1]))]
    raised = Counter(pair for s in subs for pair in dict.fromkeys(
        (cell, error_type(text)) for cell, text in s.cell_errors if not otters_own(text)))
    exceptions = [(cell, kind, n) for (cell, kind), n in sorted(raised.items(), key=lambda kv: (-kv[1], kv[0]))]
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
        exceptions=exceptions,
        late_totals=[s.total for s in subs if s.late],
        on_time_totals=[s.total for s in subs if not s.late] if any(s.late for s in subs) else [],
    )


# ---------------------------------------------------------------- pictures

def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def make_charts(stats: BatchStats) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    charts: dict[str, bytes] = {}

    stretch_max = sum(q.max_points for q in stats.questions if q.stretch)
    fig = Figure(figsize=(7.6, 3.4))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1.3]})
    left.hist(stats.required_percents, bins=[i * 10 for i in range(11)], color="#3b6ea8", edgecolor="white")
    left.set_xlim(0, 100)
    left.set_xlabel("percent of the required points")
    left.set_ylabel("submissions")
    left.set_title(f"Score distribution ({stats.count} submissions)")
    left.yaxis.get_major_locator().set_params(integer=True)
    steps = sorted(Counter(stats.extra_points).items())
    right.bar([fmt_points(v) for v, _ in steps], [n for _, n in steps], color="#c08a2e")
    right.set_xlabel(f"extra-credit points (of {fmt_points(stretch_max)})")
    right.set_title("Extra credit")
    right.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    charts[SCORE_PNG] = _png(fig)

    groups = [[q for q in stats.questions if not q.stretch], [q for q in stats.questions if q.stretch]]
    groups = [g for g in groups if g]
    fig = Figure(figsize=(7.6, 3.4))
    axes = fig.subplots(1, len(groups), squeeze=False, gridspec_kw={"width_ratios": [len(g) for g in groups]})[0]
    for ax, group in zip(axes, groups, strict=True):
        rates = [100.0 * q.pass_rate for q in group]
        colors = ["#8c6bb1" if q.manual else "#c08a2e" if q.stretch else "#2e8b57" for q in group]
        ax.bar([q.question for q in group], rates, color=colors)
        ax.set_ylim(0, 100)
        ax.set_title("Stretch (extra credit)" if group[0].stretch else "Required questions")
        for i, r in enumerate(rates):
            ax.text(i, min(r + 2, 95), f"{r:.0f}%", ha="center", fontsize=8)
    axes[0].set_ylabel("% with full points")
    fig.tight_layout()
    charts[PASS_PNG] = _png(fig)
    return charts


# ---------------------------------------------------------------- text

def _students(n: int) -> str:
    return f"{n} student" if n == 1 else f"{n} students"


def _summary_lines(stats: BatchStats) -> list[str]:
    lines = [f"Submissions: {stats.count}"]
    if stats.totals:
        lines.append(
            f"Points: median {fmt_points(statistics.median(stats.totals))}, "
            f"mean {statistics.mean(stats.totals):.2f}"
        )
    if stats.percents:
        lines.append(f"Percent correct: median {statistics.median(stats.percents):.1f}%")
    if stats.extra_points and any(stats.extra_points):
        lines.append(f"Extra credit: {sum(1 for v in stats.extra_points if v)} of {stats.count} submissions "
                     "earned stretch points")
    if stats.late_totals:
        lines.append(f"On time: {len(stats.on_time_totals)}, median {_median(stats.on_time_totals)} points; "
                     f"late: {len(stats.late_totals)}, median {_median(stats.late_totals)} points (before any penalty)")
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
    name: str
    kind: str  # "public" or "hidden"
    passed: str  # "4 of 10 (40%)"


@dataclass(frozen=True)
class AnswerLine:
    """One wrong answer and who gave it."""

    description: str
    short: str  # cut to MAX_EXAMPLE_CHARS
    students: str  # "3 students"
    who: str  # the files' own names
    cut: bool  # whether `short` lost part of `description`


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
    exceptions: list[tuple[int, str, int]]  # all of them; the tables show the first MAX_EXCEPTION_ROWS
    reference_note: str
    wrong_answers: list[QuestionAnswers]
    copied_note: str
    copied: list[tuple[str, str, str, str]]  # (kind, file, file, score)
    variant_flags: list[tuple[str, str]]  # (file, why): answers of another variant, an id not the author's
    students: list[str]
    problems: list[tuple[str, str]]  # (file, what the report could not use)

    @property
    def exception_rows(self) -> list[tuple[int, str, int]]:
        return self.exceptions[:MAX_EXCEPTION_ROWS]

    @property
    def more_exceptions(self) -> int:
        return max(0, len(self.exceptions) - MAX_EXCEPTION_ROWS)


def _answer_line(g: WrongAnswerGroup) -> AnswerLine:
    return AnswerLine(g.description, _short(g.description), _students(g.count),
                      ", ".join(f.rsplit("/", 1)[-1] for f in g.files), len(g.description) > MAX_EXAMPLE_CHARS)


def report_view(stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
                problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (),
                students: Sequence[str] = (), variant_flags: Sequence[tuple[str, str]] = ()) -> ReportView:
    """The batch report's view, the same for report.md and report.html."""
    wrong = [
        QuestionAnswers(q, _students(sum(g.count for g in items)), [
            AnswerKind(k.kind, _students(k.count), _answers(len(k.groups)), [_answer_line(g) for g in k.groups],
                       max(0, len(k.groups) - MAX_EXAMPLES))
            for k in by_kind(items)])
        for q, items in groups.items() if items
    ]
    return ReportView(
        title=TITLE,
        summary=_summary_lines(stats),
        score_chart=Chart(SCORE_PNG, "Score distribution"),
        pass_chart=Chart(PASS_PNG, "Pass rate per question"),
        questions=[QuestionRow(_label(q), fmt_points(q.max_points), f"{q.full_marks} of {q.graded}",
                               f"{100 * q.pass_rate:.0f}%", f"{q.mean_points:.2f}") for q in stats.questions],
        tests=[TestRow(t.question, t.name, "hidden" if t.hidden else "public",
                       f"{t.passed} of {t.run} ({100 * t.passed / t.run:.0f}%)") for t in stats.tests],
        statuses=list(stats.statuses),
        exceptions=list(stats.exceptions),
        reference_note=reference_note,
        wrong_answers=wrong,
        copied_note=_copied_note(),
        copied=[(c.kind, c.a, c.b, f"{c.score:.1f}") for c in copied],
        variant_flags=list(variant_flags),
        students=list(students),
        problems=list(problems),
    )


def render_markdown(stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
                    problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (),
                    students: Sequence[str] = (), variant_flags: Sequence[tuple[str, str]] = ()) -> str:
    """Markdown in which every text that came from a submission is escaped (safetext.markdown)."""
    return pages.render("report.md.j2", v=report_view(stats, groups, reference_note, problems, copied, students,
                                                     variant_flags))


def render_html(
    stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], charts: dict[str, bytes], reference_note: str,
    problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (), students: Sequence[str] = (),
    variant_flags: Sequence[tuple[str, str]] = (),
) -> str:
    """A self-contained HTML page (pictures and stylesheet inlined) in which every text is escaped
    (safetext.html_text)."""
    view = report_view(stats, groups, reference_note, problems, copied, students, variant_flags)
    return pages.render("report.html.j2", v=view, charts=charts)


def write_batch_report(
    out: Path, stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
    *, problems: Sequence[tuple[str, str]] = (), copied: Sequence[CopiedPair] = (), students: Sequence[str] = (),
    variant_flags: Sequence[tuple[str, str]] = (),
) -> tuple[Path, Path, Path]:
    charts = make_charts(stats)
    files_dir = out / "report_files"
    for name, data in charts.items():
        atomic.write_bytes(files_dir / name, data)
    md_path = out / "report.md"
    html_path = out / "report.html"
    atomic.write_text(md_path, render_markdown(stats, groups, reference_note, problems, copied, students, variant_flags))
    atomic.write_text(html_path, render_html(stats, groups, charts, reference_note, problems, copied, students,
                                             variant_flags))
    return html_path, md_path, files_dir
