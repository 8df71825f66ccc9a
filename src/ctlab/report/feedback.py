"""Per-student feedback files: OUT/feedback/<name>.md and .html.

For each question: the points, and what the public tests said. Hidden tests appear
only as the autograder's config allows (see ctlab.report.config): as points per
question (the default), as pass/fail per question, or not at all. Hidden test names,
messages and code, and the reference answers, never appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic
from ctlab.contract import MANUAL_QUESTIONS, STRETCH_QUESTIONS, question_order
from ctlab.grading.results import Graded

from . import pages
from ._format import fmt_points
from .config import FeedbackConfig
from .parts import Parts, lost_parts

TITLE = "Scenario 03B"


PARTS = {"q1": "1", "q2": "2", "q3": "3", "q4": "4", "q5": "5", "q6": "6", "q11": "6b", "q7": "7", "q8": "8", "q12": "8b",
         "q9": "9", "q10": "10"}
MAX_ERRORS_SHOWN = 5


@dataclass
class QuestionFeedback:
    question: str
    points: str  # "2 / 2", "pending", ...
    part: str = ""  # the notebook's part: "6b" for q11
    kind: str = ""  # "", "extra credit" or "graded by hand": the table's last column
    public: list[tuple[bool, str]] = field(default_factory=list)  # (passed, "name" or "name: message")
    hidden: str = ""  # one line about hidden tests, or "" when withheld/none
    note: str = ""


@dataclass
class Feedback:
    """What a student's feedback page shows, as plain text: the one view both templates render."""

    file: str
    name: str
    status_text: str
    score_text: str
    questions: list[QuestionFeedback]
    footer: str

    @property
    def file_name(self) -> str:
        """The submitted file's own name, without the folders it came in."""
        return self.file.rsplit("/", 1)[-1]


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


def errors_in_words(sub: Graded) -> str:
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


def status_in_words(sub: Graded) -> str:
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


def score_in_words(sub: Graded, maxima: dict[str, float], pending: list[str]) -> str:
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


def hand_graded(sub: Graded, q: str, pts: float | None, mx: float | None) -> tuple[str, str]:
    """(points, note) of a hand-graded question. A score of 0 is a score; only a blank gradebook
    cell (no score entered) is pending. The grader's comment is shown whenever there is one."""
    if pts is None and q in sub.pending:
        points, note = f"pending / {fmt_points(mx)}", "Graded by hand; no score has been entered yet."
    else:
        points, note = f"{fmt_points(pts or 0.0)} / {fmt_points(mx)}", "Graded by hand."
    if sub.comments.get(q):
        note += f" Your grader's comment: {sub.comments[q]}"
    return points, note


def build_feedback(sub: Graded, maxima: dict[str, float], config: FeedbackConfig, *,
                   parts: Parts | None = None, answers: Mapping[str, object] | None = None) -> Feedback:
    """The student's feedback. With `parts` (and their saved `answers`), a question graded in parts
    says which part lost hidden points (see ctlab.report.parts), without the right values."""
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
        qf = QuestionFeedback(question=q, points="", part=PARTS.get(q, ""),
                              kind="extra credit" if q in STRETCH_QUESTIONS else "")
        if q in MANUAL_QUESTIONS:
            qf.kind = "graded by hand"
            qf.points, qf.note = hand_graded(sub, q, pts, mx)
            if qf.points.startswith("pending"):
                pending.append(q)
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
            lost = lost_parts(q, hidden, answers, parts) if parts is not None else []
            if lost:
                qf.hidden += f" Points lost on: {'; '.join(lost)}."
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


def fallback_feedback(sub: Graded, config: FeedbackConfig) -> Feedback:
    """Score and status only, for a submission whose details could not be put together."""
    return Feedback(
        sub.file, sub.name, status_in_words(sub), f"Score: {fmt_points(sub.total)} points.", [],
        "The details of this feedback could not be prepared; this is not a problem with your "
        "submission, and your instructor has the details.",
    )


def render_markdown(fb: Feedback) -> str:
    """Markdown in which every text that came from the submission is escaped (safetext.markdown)."""
    return pages.render("feedback.md.j2", fb=fb, title=TITLE)


def render_html(fb: Feedback) -> str:
    """A self-contained HTML page in which every text is escaped (safetext.html_text)."""
    return pages.render("feedback.html.j2", fb=fb, title=TITLE)


def write_feedback(folder: Path, fb: Feedback) -> tuple[Path, Path]:
    md = folder / f"{fb.name}.md"
    page = folder / f"{fb.name}.html"
    atomic.write_text(md, render_markdown(fb), durable=False)  # made again while the report's key is stale
    atomic.write_text(page, render_html(fb), durable=False)
    return md, page
