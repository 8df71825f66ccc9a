"""The batch report: OUT/report.html (self-contained) and OUT/report.md (+ OUT/report_files/*.png)."""

from __future__ import annotations

import base64
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic
from ctlab.contract import MANUAL_QUESTIONS, STRETCH_QUESTIONS
from ctlab.safetext import html_text, markdown

from ._format import fmt_points
from .feedback import otters_own
from .inputs import Submission, error_type
from .wrong_answers import WrongAnswerGroup, by_kind

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


def compute_stats(subs: list[Submission], maxima: dict[str, float], with_snapshot: int) -> BatchStats:
    percents = []
    for s in subs:
        if s.percent is not None:
            percents.append(s.percent)
    runtimes = [s.runtime_s for s in subs if s.runtime_s is not None]
    statuses = sorted(Counter(s.status or "unknown" for s in subs).items(), key=lambda kv: (-kv[1], kv[0]))
    questions = []
    for q, mx in maxima.items():
        manual = q in MANUAL_QUESTIONS
        vals = [s.points.get(q) for s in subs]
        if manual:
            if not any(v for v in vals):  # no hand-graded scores entered yet
                continue
        vals = [0.0 if v is None else v for v in vals]
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

def _png(fig) -> bytes:
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
    for ax, group in zip(axes, groups):
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


def render_markdown(stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
                    problems: list[tuple[str, str]] = (), copied: list[CopiedPair] = (),
                    students: list[str] = ()) -> str:
    """Markdown in which every text that came from a submission is escaped (safetext.markdown)."""
    md = [f"# {TITLE}", ""]
    md += [f"- {line}" for line in _summary_lines(stats)]
    md += ["", "## Score distribution", "", f"![Score distribution](report_files/{SCORE_PNG})", ""]
    md += ["## Questions", "", f"![Pass rate per question](report_files/{PASS_PNG})", ""]
    md += ["| question | max | full points | pass rate | mean points |", "|---|---|---|---|---|"]
    for q in stats.questions:
        md.append(
            f"| {_label(q)} | {fmt_points(q.max_points)} | {q.full_marks} of {q.graded} | "
            f"{100 * q.pass_rate:.0f}% | {q.mean_points:.2f} |"
        )
    if stats.tests:
        md += ["", "### Tests", "", "| question | test | kind | passed |", "|---|---|---|---|"]
        md += [f"| {t.question} | {markdown(t.name)} | {'hidden' if t.hidden else 'public'} | "
               f"{t.passed} of {t.run} ({100 * t.passed / t.run:.0f}%) |" for t in stats.tests]
    md += ["", "## Grading status", "", "| status | submissions |", "|---|---|"]
    for status, n in stats.statuses:
        md.append(f"| {markdown(status)} | {n} |")
    if stats.exceptions:
        md += ["", "## Errors raised by cells", "", "| cell | exception | submissions |", "|---|---|---|"]
        md += [f"| {cell} | {markdown(kind)} | {n} |" for cell, kind, n in stats.exceptions[:MAX_EXCEPTION_ROWS]]
        if len(stats.exceptions) > MAX_EXCEPTION_ROWS:
            md.append(f"| ... | {len(stats.exceptions) - MAX_EXCEPTION_ROWS} more | |")
    md += ["", "## Common wrong answers", "", reference_note, ""]
    any_group = False
    for q, items in groups.items():
        if not items:
            continue
        any_group = True
        wrong = sum(g.count for g in items)
        md.append(f"### {q} ({_students(wrong)} without full points)")
        md.append("")
        for rank, k in enumerate(by_kind(items), 1):
            if len(k.groups) == 1:
                md.append(f"{rank}. {markdown(_short(k.groups[0].description))}: {_students(k.count)}")
                continue
            md.append(f"{rank}. {markdown(k.kind)}: {_students(k.count)}, {_answers(len(k.groups))}; most common:")
            md += [f"    - {markdown(_short(g.description))}: {_students(g.count)}" for g in k.groups[:MAX_EXAMPLES]]
            if len(k.groups) > MAX_EXAMPLES:
                md.append(f"    - and {len(k.groups) - MAX_EXAMPLES} more (all of them, with who, in report.html)")
        md.append("")
    if not any_group:
        md += ["No wrong answers among the saved answers.", ""]
    md += ["## Possibly copied work", "", markdown(_copied_note()), ""]
    if copied:
        md += ["| compared | submission | submission | score |", "|---|---|---|---|"]
        md += [f"| {c.kind} | {markdown(c.a)} | {markdown(c.b)} | {c.score:.1f} |" for c in copied]
        md.append("")
    else:
        md += ["No pair above the thresholds.", ""]
    if students:
        md += ["## Students", ""] + [f"- {markdown(line)}" for line in students] + [""]
    if problems:
        md += ["## Notes", "", "What the report could not use; everything else about these submissions is above.", ""]
        md += [f"- {markdown(file)}: {markdown(why)}" for file, why in problems]
        md.append("")
    return "\n".join(md)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2329;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d8dee4}h3{font-size:1.05rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .7rem;text-align:left}
th{background:#f3f5f7}img{max-width:100%;height:auto;border:1px solid #eaeef2}
.count{font-weight:600}details{margin:.2rem 0 .6rem 1rem;color:#57606a}.note{color:#57606a}
""".strip()


def _label(q: QuestionStats) -> str:
    return f"{q.question} (manual)" if q.manual else f"{q.question} (extra credit)" if q.stretch else q.question


def _who(files: list[str], *, shortened: str = "") -> str:
    """The files behind an answer, folded; with the whole answer when the line shows it cut short."""
    e = html_text
    shown = ", ".join(f.rsplit("/", 1)[-1] for f in files)
    full = f"<p>{e(shortened)}</p>" if len(shortened) > MAX_EXAMPLE_CHARS else ""
    return f"<details><summary>who</summary>{full}{e(shown)}</details>"


def render_html(
    stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], charts: dict[str, bytes], reference_note: str,
    problems: list[tuple[str, str]] = (), copied: list[CopiedPair] = (), students: list[str] = (),
) -> str:
    """HTML in which every text is escaped (safetext.html_text)."""
    e = html_text

    def img(name: str, alt: str) -> str:
        data = base64.b64encode(charts[name]).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{e(alt)}" data-name="{e(name)}">'

    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(TITLE)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(TITLE)}</h1><ul>",
    ]
    out += [f"<li>{e(line)}</li>" for line in _summary_lines(stats)]
    out += ["</ul>", "<h2>Score distribution</h2>", img(SCORE_PNG, "Score distribution")]
    out += ["<h2>Questions</h2>", img(PASS_PNG, "Pass rate per question")]
    out.append(
        "<table><thead><tr><th>question</th><th>max</th><th>full points</th><th>pass rate</th>"
        "<th>mean points</th></tr></thead><tbody>"
    )
    for q in stats.questions:
        out.append(
            f"<tr><td>{e(_label(q))}</td><td>{fmt_points(q.max_points)}</td><td>{q.full_marks} of {q.graded}</td>"
            f"<td>{100 * q.pass_rate:.0f}%</td><td>{q.mean_points:.2f}</td></tr>"
        )
    out.append("</tbody></table>")
    if stats.tests:
        out.append("<h3>Tests</h3><table><thead><tr><th>question</th><th>test</th><th>kind</th><th>passed</th>"
                   "</tr></thead><tbody>")
        out += [f"<tr><td>{e(t.question)}</td><td>{e(t.name)}</td><td>{'hidden' if t.hidden else 'public'}</td>"
                f"<td>{t.passed} of {t.run} ({100 * t.passed / t.run:.0f}%)</td></tr>" for t in stats.tests]
        out.append("</tbody></table>")
    out.append("<h2>Grading status</h2>")
    out.append("<table><thead><tr><th>status</th><th>submissions</th></tr></thead><tbody>")
    for status, n in stats.statuses:
        out.append(f"<tr><td>{e(status)}</td><td>{n}</td></tr>")
    out.append("</tbody></table>")
    if stats.exceptions:
        out.append("<h2>Errors raised by cells</h2><table><thead><tr><th>cell</th><th>exception</th>"
                   "<th>submissions</th></tr></thead><tbody>")
        out += [f"<tr><td>{cell}</td><td>{e(kind)}</td><td>{n}</td></tr>"
                for cell, kind, n in stats.exceptions[:MAX_EXCEPTION_ROWS]]
        out.append("</tbody></table>")
        if len(stats.exceptions) > MAX_EXCEPTION_ROWS:
            out.append("<details><summary>all of them</summary><ul>" + "".join(
                f"<li>cell {cell}: {e(kind)}: {n}</li>" for cell, kind, n in stats.exceptions) + "</ul></details>")
    out.append(f'<h2>Common wrong answers</h2><p class="note">{e(reference_note)}</p>')
    any_group = False
    for q, items in groups.items():
        if not items:
            continue
        any_group = True
        wrong = sum(g.count for g in items)
        out.append(f"<h3>{e(q)} ({_students(wrong)} without full points)</h3><ol>")
        for k in by_kind(items):
            if len(k.groups) == 1:
                g = k.groups[0]
                out.append(f'<li>{e(_short(g.description))}: <span class="count">{_students(g.count)}</span>'
                           f"{_who(g.files, shortened=g.description)}</li>")
                continue
            out.append(f'<li>{e(k.kind)}: <span class="count">{_students(k.count)}</span>, {_answers(len(k.groups))}; '
                       "most common:<ul>")
            out += [f'<li>{e(_short(g.description))}: <span class="count">{_students(g.count)}</span></li>'
                    for g in k.groups[:MAX_EXAMPLES]]
            out.append(f"</ul><details><summary>all {len(k.groups)}, with who</summary><ol>")
            out += [f"<li>{e(g.description)}: {_students(g.count)}{_who(g.files)}</li>" for g in k.groups]
            out.append("</ol></details></li>")
        out.append("</ol>")
    if not any_group:
        out.append("<p>No wrong answers among the saved answers.</p>")
    out.append(f'<h2>Possibly copied work</h2><p class="note">{e(_copied_note())}</p>')
    if copied:
        out.append("<table><thead><tr><th>compared</th><th>submission</th><th>submission</th><th>score</th>"
                   "</tr></thead><tbody>")
        out += [f"<tr><td>{e(c.kind)}</td><td>{e(c.a)}</td><td>{e(c.b)}</td><td>{c.score:.1f}</td></tr>"
                for c in copied]
        out.append("</tbody></table>")
    else:
        out.append("<p>No pair above the thresholds.</p>")
    if students:
        out.append("<h2>Students</h2><ul>" + "".join(f"<li>{e(line)}</li>" for line in students) + "</ul>")
    if problems:
        out.append('<h2>Notes</h2><p class="note">What the report could not use; everything else about '
                   "these submissions is above.</p><ul>")
        out += [f"<li>{e(file)}: {e(why)}</li>" for file, why in problems]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_batch_report(
    out: Path, stats: BatchStats, groups: dict[str, list[WrongAnswerGroup]], reference_note: str,
    *, problems: list[tuple[str, str]] = (), copied: list[CopiedPair] = (), students: list[str] = (),
) -> tuple[Path, Path, Path]:
    charts = make_charts(stats)
    files_dir = out / "report_files"
    for name, data in charts.items():
        atomic.write_bytes(files_dir / name, data)
    md_path = out / "report.md"
    html_path = out / "report.html"
    atomic.write_text(md_path, render_markdown(stats, groups, reference_note, problems, copied, students))
    atomic.write_text(html_path, render_html(stats, groups, charts, reference_note, problems, copied, students))
    return html_path, md_path, files_dir
