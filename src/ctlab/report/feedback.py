"""Per-student feedback files: OUT/feedback/<name>.md and .html.

For each question: the points, and what the public tests said. Hidden tests appear
only as the autograder's config allows (see ctlab.report.config): as points per
question (the default), as pass/fail per question, or not at all. Hidden test names,
messages and code, and the reference answers, never appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic
from ctlab.contract import MANUAL_QUESTIONS, STRETCH_QUESTIONS
from ctlab.safetext import html_text, markdown

from ._format import fmt_points
from .config import FeedbackConfig
from .inputs import Submission, question_order

TITLE = "Scenario 03B"


PARTS = {"q1": "1", "q2": "2", "q3": "3", "q4": "4", "q5": "5", "q6": "6", "q11": "6b", "q7": "7", "q8": "8",
         "q9": "9", "q10": "10"}
MAX_ERRORS_SHOWN = 5


@dataclass
class QuestionFeedback:
    question: str
    points: str  # "2 / 2", "pending", ...
    kind: str = ""  # "", "extra credit" or "graded by hand": the table's last column
    public: list[tuple[bool, str]] = field(default_factory=list)  # (passed, "name" or "name: message")
    hidden: str = ""  # one line about hidden tests, or "" when withheld/none
    note: str = ""


@dataclass
class Feedback:
    file: str
    name: str
    status_text: str
    score_text: str
    questions: list[QuestionFeedback]
    footer: str


def clean_message(message: str) -> str:
    """The useful part of a test's failure message: what the assertion said, without the code."""
    text = message.replace("\u274c", "").strip()
    if text.startswith("Test case failed:"):
        return " ".join(text[len("Test case failed:"):].split())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "failed"
    last = lines[-1]
    if last.startswith("AssertionError:"):
        last = last[len("AssertionError:"):].strip() or "failed"
    elif last == "AssertionError":
        last = "failed"
    elif last.startswith("Test case failed") or last.startswith("Error at line"):
        last = "failed"
    return " ".join(last.split())


def otters_own(error: str) -> bool:
    """Whether an error is that of otter's own cells, not the student's: `otter.Notebook(...)` finds no
    notebook file where the grader runs the cells, and then every `grader.check(...)` lacks `grader`."""
    return error == "NameError: name 'grader' is not defined" or (
        error.startswith("FileNotFoundError") and error.endswith(".ipynb'"))


def errors_in_words(sub: Submission) -> str:
    """"3 cells raised errors: cell 5 NameError: ...; ..." (code cells, counted from the top), or "".

    Errors of otter's own cells (see otters_own) are left out: they are the grader's, not the student's.
    """
    errors = [(cell, text) for cell, text in sub.cell_errors if not otters_own(text)]
    if not errors:
        return ""
    shown = [f"cell {cell} {' '.join(text.split())[:160]}" for cell, text in errors[:MAX_ERRORS_SHOWN]]
    more = f"; and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > MAX_ERRORS_SHOWN else ""
    noun = "1 cell raised an error" if len(errors) == 1 else f"{len(errors)} cells raised errors"
    return (f"{noun} (code cells, counted from the top): {'; '.join(shown)}{more}. "
            "An answer such a cell should have set was graded as it stood after the earlier cells.")


def status_in_words(sub: Submission) -> str:
    status = sub.status or "unknown"
    errors = errors_in_words(sub)
    if status == "ok":
        if errors:
            return f"Your notebook ran to the end, but {errors}"
        return "Your notebook ran from top to bottom and every answer was graded."
    graded_something = sub.has_results and any(t for t in sub.tests)
    if not graded_something:
        return (
            f"Your submission could not be graded: {status}. It scores 0 points; "
            "check the file and submit it again."
        )
    return (
        f"Your notebook was graded, but not everything went as expected: {status}. "
        "Answers that existed before the problem were graded." + (f" Also, {errors}" if errors else "")
    )


def score_in_words(sub: Submission, maxima: dict[str, float], pending: list[str]) -> str:
    """"X of 20 points (+Y extra credit; q8 pending hand grading)": regular questions out of their
    maxima (hand-graded ones included), stretch questions as extra credit beside them."""
    regular = [q for q in maxima if q not in STRETCH_QUESTIONS]
    earned = sum(sub.points.get(q) or 0.0 for q in regular)
    possible = sum(maxima[q] for q in regular)
    notes = []
    if any(q in STRETCH_QUESTIONS for q in maxima):
        extra = sum(sub.points.get(q) or 0.0 for q in maxima if q in STRETCH_QUESTIONS)
        notes.append(f"+{fmt_points(extra)} extra credit")
    if pending:
        notes.append(f"{' and '.join(pending)} pending hand grading")
    return f"{fmt_points(earned)} of {fmt_points(possible)} points" + (f" ({'; '.join(notes)})" if notes else "") + "."


def build_feedback(sub: Submission, maxima: dict[str, float], config: FeedbackConfig) -> Feedback:
    mode = config.hidden_mode
    questions: list[QuestionFeedback] = []
    names = question_order(set(maxima) | {q for q, v in sub.points.items() if v is not None})
    public_total = public_max = 0.0
    pending: list[str] = []
    for q in names:
        mx = maxima.get(q) or sub.max_points.get(q)
        pts = sub.points.get(q)
        tests = [t for t in sub.tests if t.question == q]
        public = [t for t in tests if not t.hidden]
        hidden = [t for t in tests if t.hidden]
        qf = QuestionFeedback(question=q, points="", kind="extra credit" if q in STRETCH_QUESTIONS else "")
        if q in MANUAL_QUESTIONS:
            qf.kind = "graded by hand"
            if pts:
                qf.points, qf.note = f"{fmt_points(pts)} / {fmt_points(mx)}", "Graded by hand."
                if sub.comments.get(q):
                    qf.note += f" Your grader's comment: {sub.comments[q]}"
            else:
                qf.points = f"pending / {fmt_points(mx)}"
                pending.append(q)
                qf.note = "Graded by hand; no score has been entered yet."
            questions.append(qf)
            continue
        for t in public:
            if t.passed:
                qf.public.append((True, t.name))
            else:
                msg = clean_message(t.message)
                qf.public.append((False, f"{t.name}: {msg}"))
        pub_pts = sum(t.points for t in public)
        pub_max = sum(t.max_points for t in public)
        public_total += pub_pts
        public_max += pub_max
        if mode == "withhold":
            qf.points = f"{fmt_points(pub_pts)} / {fmt_points(pub_max)} (public tests)"
        else:
            qf.points = f"{fmt_points(pts if pts is not None else 0.0)} / {fmt_points(mx)}"
        if hidden and mode == "points":
            hp = sum(t.points for t in hidden)
            hm = sum(t.max_points for t in hidden)
            qf.hidden = f"Hidden tests: {fmt_points(hp)} of {fmt_points(hm)} points."
        elif hidden and mode == "pass_fail":
            ok = all(t.passed for t in hidden)
            qf.hidden = "Hidden tests: passed." if ok else "Hidden tests: not all passed."
        if not tests and not sub.has_results:
            qf.note = "Not graded."
        questions.append(qf)
    if mode == "withhold":
        score = (
            f"Public tests: {fmt_points(public_total)} of {fmt_points(public_max)} points. "
            "Hidden tests are not shown here; they count in your final grade."
        )
    else:
        full = {q: maxima.get(q) or sub.max_points.get(q) or 0.0 for q in names}
        score = "Score: " + score_in_words(sub, {q: mx for q, mx in full.items() if mx > 0}, pending)
    footer = {
        "points": "Hidden tests are shown as points only; what they check is not shown.",
        "pass_fail": "Hidden tests are shown as passed or not; what they check is not shown.",
        "withhold": "Hidden test results are withheld until grades are released.",
    }[mode]
    return Feedback(sub.file, sub.name, status_in_words(sub), score, questions, footer)


def fallback_feedback(sub: Submission, config: FeedbackConfig) -> Feedback:
    """Score and status only, for a submission whose details could not be put together."""
    return Feedback(
        sub.file, sub.name, status_in_words(sub), f"Score: {fmt_points(sub.total)} points.", [],
        "The details of this feedback could not be prepared; this is not a problem with your "
        "submission, and your instructor has the details.",
    )


def _name(file: str) -> str:
    return file.rsplit("/", 1)[-1]


def render_markdown(fb: Feedback) -> str:
    """Markdown in which every text that came from the submission is escaped (safetext.markdown)."""
    md = markdown
    lines = [f"# {TITLE} feedback: {md(_name(fb.file))}", "", md(fb.status_text, limit=800), "",
             md(fb.score_text), ""]
    lines += ["| question | part | points | |", "|---|---|---|---|"]
    for q in fb.questions:
        lines.append(f"| {md(q.question)} | {md(PARTS.get(q.question, ''))} | {md(q.points)} | {md(q.kind)} |")
    lines.append("")
    for q in fb.questions:
        lines.append(f"## {md(q.question)}: {md(q.points)}")
        lines.append("")
        for passed, text in q.public:
            lines.append(f"- {'passed' if passed else 'FAILED'}: {md(text)}")
        if q.hidden:
            lines.append(f"- {md(q.hidden)}")
        if q.note:
            lines.append(f"- {md(q.note, limit=4200)}")
        if not q.public and not q.hidden and not q.note:
            lines.append("- No tests ran for this question.")
        lines.append("")
    lines.append(f"_{md(fb.footer)}_")
    lines.append("")
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2329;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #d8dee4}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .7rem;text-align:left}
th{background:#f3f5f7}.pass{color:#1a7f37}.fail{color:#b42318}.note{color:#57606a}
.status{padding:.6rem .8rem;background:#f6f8fa;border-left:4px solid #57606a}
""".strip()


def render_html(fb: Feedback) -> str:
    """HTML in which every text is escaped (safetext.html_text)."""
    e = html_text
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(TITLE)} feedback: {e(_name(fb.file))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{e(TITLE)} feedback: {e(_name(fb.file))}</h1>",
        f'<p class="status">{e(fb.status_text)}</p>',
        f"<p><strong>{e(fb.score_text)}</strong></p>",
        "<table><thead><tr><th>question</th><th>part</th><th>points</th><th></th></tr></thead><tbody>",
    ]
    for q in fb.questions:
        out.append(f"<tr><td>{e(q.question)}</td><td>{e(PARTS.get(q.question, ''))}</td><td>{e(q.points)}</td>"
                   f"<td>{e(q.kind)}</td></tr>")
    out.append("</tbody></table>")
    for q in fb.questions:
        out.append(f"<h2>{e(q.question)}: {e(q.points)}</h2><ul>")
        for passed, text in q.public:
            if passed:
                out.append(f'<li class="pass">passed: {e(text)}</li>')
            else:
                out.append(f'<li class="fail">FAILED: {e(text)}</li>')
        if q.hidden:
            out.append(f'<li class="note">{e(q.hidden)}</li>')
        if q.note:
            out.append(f'<li class="note">{e(q.note, limit=4200)}</li>')
        if not q.public and not q.hidden and not q.note:
            out.append('<li class="note">No tests ran for this question.</li>')
        out.append("</ul>")
    out.append(f'<p class="note"><em>{e(fb.footer)}</em></p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_feedback(folder: Path, fb: Feedback) -> tuple[Path, Path]:
    md = folder / f"{fb.name}.md"
    page = folder / f"{fb.name}.html"
    atomic.write_text(md, render_markdown(fb))
    atomic.write_text(page, render_html(fb))
    return md, page
