"""What instructors see after grading: feedback per student, the batch report, exports.

`write_reports(out=OUT, root=ROOT)` reads only what `ctlab grade` wrote to OUT
(gradebook.csv, results/*.json, snapshots/<name>/) plus the autograder's config and
the exercise's data under ROOT, and writes OUT/feedback/, OUT/report.html, OUT/report.md
and OUT/report_files/.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ctlab import atomic, variants
from ctlab.build.sources import HINTS
from ctlab.contract import QUESTIONS
from ctlab.errors import CtlabError
from ctlab.grading.results import Graded, load_graded
from ctlab.timings import Timings

from . import pages
from .answers import load_snapshots, max_points_by_question
from .config import FeedbackConfig, load_feedback_config
from .export import check_roster, kept_roster, refresh_exports
from .pending import pending_counts, pending_line, stale_line
from .reference import find_data_dir
from .students import Classlist, classlist

# What only writing the reports needs (pandas, the charts, the reveal code) is imported when they
# are written: a re-run with nothing changed keeps them without loading any of it.
if TYPE_CHECKING:
    from .batch_report import CopiedPair
    from .wrong_answers import WrongAnswerGroup


__all__ = ["ReportSummary", "write_reports"]


@dataclass
class ReportSummary:
    out: Path
    feedback_dir: Path
    feedback_files: list[Path]
    report_html: Path
    report_md: Path
    report_files: Path
    submissions: int
    hidden_mode: str
    reference_source: str | None
    wrong_answers: dict[str, list[WrongAnswerGroup]] = field(default_factory=dict)
    unchanged: bool = False  # nothing it reads changed since it was written: kept as it was
    exports: list[Path] = field(default_factory=list)  # LMS exports rewritten with the current scores
    pending: str = ""  # how many hand scores are still pending, in words ("" when none)
    stale: str = ""  # which hand scores graded an earlier answer, in words ("" when none)

    def describe(self) -> str:
        n = len(self.feedback_files) // 2
        return "\n".join(
            [
                f"report:   {self.report_html}" + (" (inputs unchanged: kept)" if self.unchanged else ""),
                f"          {self.report_md} (pictures in {self.report_files})",
                f"feedback: {self.feedback_dir}/ ({n} submissions, .html and .md; hidden tests: {self.hidden_mode})",
                *[f"export:   {p} (rewritten with the current scores)" for p in self.exports],
                *([f"pending:  {self.pending}"] if self.pending else []),
                *([f"stale:    {self.stale}"] if self.stale else []),
            ]
        )


KEY_FILE = ".inputs-sha256"


def _student_lines(out: Path, subs: list[Graded], people: Classlist) -> list[str]:
    """Who submitted late, how the batch met the roster (when one was given), and the superseded uploads."""
    late = [s for s in subs if s.late]
    lines = [f"late: {len(late)} of {len(subs)} submissions" + (
        f" ({sum(1 for s in late if s.late_penalty)} with a late penalty)" if late else "")] if late else []
    check = check_roster(out=out)
    lines += check.describe(superseded=False) if check else []  # the superseded ones are listed below
    if people.superseded:
        lines.append(f"superseded uploads (not counted; each student counts once, by their newest upload): "
                     f"{len(people.superseded)}")
        lines += [f"  {ln}" for ln in people.superseded_lines()]
    return lines


def _inputs_key(out: Path, config: FeedbackConfig, data_dir: Path | None, hints: Path,
                root: Path | None = None) -> str:
    """What the reports are a function of: the grading output, the feedback config, the data and
    reveal code the reference answers come from, and this package's code and templates; under
    `root`, part 8b's answer key (data/transfer/ground_truth.json), each variant's answer key and the
    test files (their titles and parts), each only when present (a file added or removed counts)."""
    from .transfer import key_path

    h = hashlib.sha256(repr(config).encode())
    files = [out / "gradebook.csv", *sorted((out / "results").glob("*.json"))]
    files += [p for p in (out / "roster.json", out / "manual_scores.json") if p.exists()]
    files += sorted(data_dir.glob("*.csv")) + sorted(data_dir.glob("variants/*.zip")) if data_dir else []
    files += [hints] if hints.is_file() else []
    files += sorted((out / "code").glob("*.json"))
    if root is not None:
        files += [p for p in (key_path(root), root / variants.ANSWER_KEYS) if p.is_file()]
        files += sorted((root / "autograder" / "tests").glob("q*.py"))
    files += sorted(Path(__file__).parent.glob("*.py")) + pages.template_files()
    for p in files:
        try:
            data = p.read_bytes()
        except OSError:  # unreadable: the reports say so; key it as changed
            data = os.urandom(16)
        h.update(p.name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def stale_hand_scores(out: Path, subs: list[Graded]) -> list[str]:
    """The files whose hand score graded an earlier answer than the one graded now (see
    manual_scores.Score.stale): the submission changed and was graded again since."""
    from collections import Counter

    from ctlab.grading import manual_scores as hand_scores
    from ctlab.grading.inputs import stem_of
    from ctlab.review.batch import QUESTION, summary_of

    store = hand_scores.read(out)
    if not any(s.graded_sha256 for qs in store.values() for s in qs.values()):
        return []
    stems = Counter(stem_of(s.file) for s in subs)
    found = []
    for sub in subs:
        stem = stem_of(sub.file)
        entry = hand_scores.lookup(store, file=sub.file, name=sub.name, stem=stem, base=sub.file.rsplit("/", 1)[-1],
                                   stem_unique=stems[stem] == 1)
        score = (entry or {}).get(QUESTION)
        if score is not None and score.graded_sha256 and score.stale(summary_of(out, sub.name)[2]):
            found.append(sub.file)
    return found


def _copied_work(out: Path, root: Path, subs: list[Graded],
                 snapshots: Mapping[str, Mapping[str, object]]) -> list[CopiedPair]:
    """Pairs of near-duplicate summaries and of unusually alike own code, as (kind, file, file, score)."""
    from ctlab.grading import kept_code

    from .batch_report import CopiedPair
    from .similarity import copied_work

    files = {sub.name: sub.file for sub in subs}
    summaries = {n: v for n, snap in snapshots.items() if isinstance(v := snap.get("triage_summary"), str)}
    code = {sub.name: c for sub in subs if (c := kept_code.load(out, sub.name))}
    work = copied_work(summaries, code, root=root)
    return ([CopiedPair("summary", files[p.a], files[p.b], p.score) for p in work.summaries]
            + [CopiedPair("own code", files[p.a], files[p.b], p.score) for p in work.code])


REFERENCE_NOTE = ("Each wrong answer is described by how it differs from the help notebook's reveal answer, "
                  "computed on the exercise's cloud_iam.csv and cloud_api.csv; rows are compared by event_id.")


def _reference(data_dir: Path | None, hints: Path, *, needed: bool = True) -> tuple[dict[str, object] | None, str]:
    """The reference answers and the report's note on them. A project without its exercise data
    or its reveal code still gets its reports: answers are then described without a reference.
    When no answer is to be described (`needed` false), running the reveal code is skipped."""
    from .reference import reference_answers
    if data_dir is None:
        return None, "No exercise data found under the project folder, so answers are described without a reference."
    if not hints.is_file():
        return None, f"No {HINTS} under the project folder, so answers are described without a reference."
    if not needed:
        return None, REFERENCE_NOTE
    try:
        ref = reference_answers(data_dir, hints=hints)
    except CtlabError as exc:
        return None, f"The reference answers could not be computed ({exc}), so answers are described without one."
    return ref, REFERENCE_NOTE


def _any_wrong_answer(subs: list[Graded], snapshots: Mapping[str, object], maxima: dict[str, float]) -> bool:
    """Whether the report has a wrong answer to describe (as wrong_answers.group_wrong_answers picks them)."""
    from ctlab.contract import MANUAL_QUESTIONS
    from ctlab.grading.results import Kind

    return any(s.name in snapshots and s.kind is not Kind.VARIANT and (p := s.points.get(q)) is not None
               and p < maxima[q] - 1e-9 for s in subs for q in maxima if q not in MANUAL_QUESTIONS)


def write_reports(*, out: Path, root: Path, hints: Path | None = None, timings: Timings | None = None) -> ReportSummary:
    """Write the feedback files and the batch report, unless nothing they depend on changed
    since the last time (a re-grade of an unchanged batch). The reference answers come from the
    reveal code in `hints`, by default the project's own solutions/hints.yaml. Each step's wall
    time is added to `timings`, when given."""
    t = Timings() if timings is None else timings
    out = Path(out)
    root = Path(root)
    with t.span("report: read the results"):
        subs = load_graded(out)  # raises CtlabError naming gradebook.csv when it is missing
        atomic.make_private(out)  # before anything is written: OUT is the instructor's alone
        config: FeedbackConfig = load_feedback_config(root)
        data_dir = find_data_dir(root)
        hints = root / HINTS if hints is None else Path(hints)
        feedback_dir = out / "feedback"
        files_dir = out / "report_files"
        key = _inputs_key(out, config, data_dir, hints, root)
    with t.span("exports"):
        exports = refresh_exports(out=out)  # scores may have changed (a re-grade, hand scores, a review)
    people = classlist(out=out, subs=subs)
    current = people.current(subs)  # each student once: superseded uploads are listed apart
    pending = pending_line(pending_counts(current), len(current))
    stale = stale_line([people.label(f) for f in stale_hand_scores(out, current)])
    kept = [feedback_dir / f"{sub.name}{ext}" for sub in subs for ext in (".html", ".md")]
    if (files_dir / KEY_FILE).is_file() and (files_dir / KEY_FILE).read_text() == key and all(
            p.is_file() and p.stat().st_size for p in [out / "report.html", out / "report.md", *kept]):
        return ReportSummary(out=out, feedback_dir=feedback_dir, feedback_files=kept, report_html=out / "report.html",
                             report_md=out / "report.md", report_files=files_dir, submissions=len(subs),
                             hidden_mode=config.hidden_mode,
                             reference_source=str(data_dir) if data_dir and hints.is_file() else None,
                             unchanged=True, exports=exports, pending=pending, stale=stale)
    from .batch_report import compute_stats, test_titles, write_batch_report
    from .feedback import build_feedback, fallback_feedback, write_feedback
    from .parts import load_parts
    from .reference import variant_references
    from .transfer import load_transfer_key, transfer_lines
    from .variant_fit import foreign_ids, misfits
    from .wrong_answers import group_wrong_answers

    maxima = max_points_by_question(subs)

    all_snapshots = load_snapshots(out, subs)
    parts = load_parts(root / "autograder" / "tests")
    written: list[Path] = []
    with t.span("feedback"):
        for sub in subs:
            try:
                fb = build_feedback(sub, maxima, config, parts=parts, answers=all_snapshots.get(sub.name))
            except Exception as exc:  # an odd record costs only this student's details
                sub.problems.append(f"its feedback details could not be written ({type(exc).__name__})")
                fb = fallback_feedback(sub, config)
            try:
                written.extend(write_feedback(feedback_dir, fb))
            except (OSError, ValueError) as exc:  # a write that fails costs only this student's feedback
                sub.problems.append(f"its feedback could not be written ({type(exc).__name__})")

    snapshots = {s.name: all_snapshots[s.name] for s in current if s.name in all_snapshots}
    with t.span("report: reference answers"):
        ref, note = _reference(data_dir, hints, needed=_any_wrong_answer(current, snapshots, maxima))
        by_variant: dict[int, dict[str, object]] = {}
        if ref is not None:
            try:  # each variant's reference once, for the variants of the wrong answers' students
                # the variants of the answers described against a reference (variant 1's is `ref` itself)
                described = [q for q, names in QUESTIONS.items() if q in maxima and any(n in ref for n in names)]
                wrong = {s.variant for s in current if s.variant > 1 and s.name in snapshots
                         and any((s.points.get(q) or 0.0) < maxima[q] - 1e-9 for q in described)}
                by_variant = variant_references(root, wrong, hints=hints)
            except CtlabError as exc:
                note += f" The variants' own references could not be computed ({exc})."
    with t.span("report: group wrong answers"):
        groups = group_wrong_answers(current, snapshots, ref, maxima, by_variant)
        stats = compute_stats(current, maxima, sum(not getattr(s, "broken", False) for s in snapshots.values()),
                              titles=test_titles(root / "autograder" / "tests"))
        stats.superseded = len(people.superseded)
        stats.stale = stale
        stats.transfer = transfer_lines(snapshots, load_transfer_key(root), len(current))
        problems = [(sub.file, p) for sub in subs for p in dict.fromkeys(sub.problems)]
    with t.span("report: similar work"):
        copied = _copied_work(out, root, current, snapshots)
    with t.span("report: variants"):
        keys = variants.answer_keys(root)
        flags = [(m.file, m.line) for m in misfits(current, snapshots, keys)]
        flags += [(f.file, f.line) for f in foreign_ids(current, kept_roster(out))]
    with t.span("report: charts, html, md"):
        html_path, md_path, files_dir = write_batch_report(out, stats, groups, note, problems=problems, copied=copied,
                                                           students=_student_lines(out, subs, people), people=people,
                                                           variant_flags=flags)
    atomic.make_private(out)
    atomic.write_text(files_dir / KEY_FILE, key)  # last: a crash before it means "write again"
    return ReportSummary(
        out=out,
        feedback_dir=feedback_dir,
        feedback_files=written,
        report_html=html_path,
        report_md=md_path,
        report_files=files_dir,
        submissions=len(subs),
        hidden_mode=config.hidden_mode,
        reference_source=str(data_dir) if data_dir and note == REFERENCE_NOTE else None,
        wrong_answers=groups,
        exports=exports,
        pending=pending,
        stale=stale,
    )
