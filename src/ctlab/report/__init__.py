"""What instructors see after grading: feedback per student, the batch report, exports.

`write_reports(out=OUT, root=ROOT)` reads only what `ctlab grade` wrote to OUT
(gradebook.csv, results/*.json, snapshots/<name>/) plus the autograder's config and
the exercise's data under ROOT, and writes OUT/feedback/, OUT/report.html, OUT/report.md
and OUT/report_files/.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ctlab import atomic, variants
from ctlab.contract import QUESTIONS
from ctlab.errors import CtlabError
from ctlab.grading.results import Graded, load_graded
from ctlab.reveal import HINTS

from . import pages
from .answers import load_snapshots, max_points_by_question
from .batch_report import CopiedPair, compute_stats, write_batch_report
from .config import FeedbackConfig, load_feedback_config
from .export import check_roster, kept_roster, refresh_exports
from .feedback import build_feedback, fallback_feedback, write_feedback
from .reference import find_data_dir, reference_answers, variant_references
from .similarity import copied_work
from .variant_fit import foreign_ids, misfits
from .wrong_answers import WrongAnswerGroup, group_wrong_answers

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

    def describe(self) -> str:
        n = len(self.feedback_files) // 2
        return "\n".join(
            [
                f"report:   {self.report_html}" + (" (inputs unchanged: kept)" if self.unchanged else ""),
                f"          {self.report_md} (pictures in {self.report_files})",
                f"feedback: {self.feedback_dir}/ ({n} submissions, .html and .md; hidden tests: {self.hidden_mode})",
                *[f"export:   {p} (rewritten with the current scores)" for p in self.exports],
            ]
        )


KEY_FILE = ".inputs-sha256"


def _student_lines(out: Path, subs: list[Graded]) -> list[str]:
    """Who submitted late, and how the batch met the roster (when one was given)."""
    late = [s for s in subs if s.late]
    lines = [f"late: {len(late)} of {len(subs)} submissions" + (
        f" ({sum(1 for s in late if s.late_penalty)} with a late penalty)" if late else "")] if late else []
    check = check_roster(out=out)
    return lines + (check.describe() if check else [])


def _inputs_key(out: Path, config: FeedbackConfig, data_dir: Path | None, hints: Path) -> str:
    """What the reports are a function of: the grading output, the feedback config, the data and
    reveal code the reference answers come from, and this package's code and templates."""
    h = hashlib.sha256(repr(config).encode())
    files = [out / "gradebook.csv", *sorted((out / "results").glob("*.json"))]
    files += [p for p in (out / "roster.json",) if p.exists()]
    files += sorted(data_dir.glob("*.csv")) + sorted(data_dir.glob("variants/*.zip")) if data_dir else []
    files += [hints] if hints.is_file() else []
    files += sorted((out / "code").glob("*.json"))
    files += sorted(Path(__file__).parent.glob("*.py")) + pages.template_files()
    for p in files:
        try:
            data = p.read_bytes()
        except OSError:  # unreadable: the reports say so; key it as changed
            data = os.urandom(16)
        h.update(p.name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def _copied_work(out: Path, root: Path, subs: list[Graded], snapshots: dict[str, dict[str, object]]) -> list[CopiedPair]:
    """Pairs of near-duplicate summaries and of unusually alike own code, as (kind, file, file, score)."""
    from ctlab.grading import kept_code

    files = {sub.name: sub.file for sub in subs}
    summaries = {n: v for n, snap in snapshots.items() if isinstance(v := snap.get("triage_summary"), str)}
    code = {sub.name: c for sub in subs if (c := kept_code.load(out, sub.name))}
    work = copied_work(summaries, code, root=root)
    return ([CopiedPair("summary", files[p.a], files[p.b], p.score) for p in work.summaries]
            + [CopiedPair("own code", files[p.a], files[p.b], p.score) for p in work.code])


def _reference(data_dir: Path | None, hints: Path) -> tuple[dict[str, object] | None, str]:
    """The reference answers and the report's note on them. A project without its exercise data
    or its reveal code still gets its reports: answers are then described without a reference."""
    if data_dir is None:
        return None, "No exercise data found under the project folder, so answers are described without a reference."
    if not hints.is_file():
        return None, f"No {HINTS} under the project folder, so answers are described without a reference."
    try:
        ref = reference_answers(data_dir, hints=hints)
    except CtlabError as exc:
        return None, f"The reference answers could not be computed ({exc}), so answers are described without one."
    return ref, ("Each wrong answer is described by how it differs from the help notebook's reveal answer, "
                 "computed on the exercise's cloud_iam.csv and cloud_api.csv; rows are compared by event_id.")


def write_reports(*, out: Path, root: Path, hints: Path | None = None) -> ReportSummary:
    """Write the feedback files and the batch report, unless nothing they depend on changed
    since the last time (a re-grade of an unchanged batch). The reference answers come from the
    reveal code in `hints`, by default the project's own solutions/hints.yaml."""
    out = Path(out)
    root = Path(root)
    subs = load_graded(out)  # raises CtlabError naming gradebook.csv when it is missing
    config: FeedbackConfig = load_feedback_config(root)
    data_dir = find_data_dir(root)
    hints = root / HINTS if hints is None else Path(hints)
    feedback_dir = out / "feedback"
    files_dir = out / "report_files"
    key = _inputs_key(out, config, data_dir, hints)
    exports = refresh_exports(out=out)  # scores may have changed (a re-grade, hand scores, a review)
    kept = [feedback_dir / f"{sub.name}{ext}" for sub in subs for ext in (".html", ".md")]
    if (files_dir / KEY_FILE).is_file() and (files_dir / KEY_FILE).read_text() == key and all(
            p.is_file() for p in [out / "report.html", out / "report.md", *kept]):
        return ReportSummary(out=out, feedback_dir=feedback_dir, feedback_files=kept, report_html=out / "report.html",
                             report_md=out / "report.md", report_files=files_dir, submissions=len(subs),
                             hidden_mode=config.hidden_mode,
                             reference_source=str(data_dir) if data_dir and hints.is_file() else None,
                             unchanged=True, exports=exports)
    maxima = max_points_by_question(subs)

    written: list[Path] = []
    for sub in subs:
        try:
            fb = build_feedback(sub, maxima, config)
        except Exception as exc:  # an odd record costs only this student's details
            sub.problems.append(f"its feedback details could not be written ({type(exc).__name__})")
            fb = fallback_feedback(sub, config)
        written.extend(write_feedback(feedback_dir, fb))

    snapshots = load_snapshots(out, subs)
    ref, note = _reference(data_dir, hints)
    by_variant: dict[int, dict[str, object]] = {}
    if ref is not None:
        try:  # each variant's reference once, for the variants of the wrong answers' students
            # the variants of the answers described against a reference (variant 1's is `ref` itself)
            described = [q for q, names in QUESTIONS.items() if q in maxima and any(n in ref for n in names)]
            wrong = {s.variant for s in subs if s.variant > 1 and s.name in snapshots
                     and any((s.points.get(q) or 0.0) < maxima[q] - 1e-9 for q in described)}
            by_variant = variant_references(root, wrong, hints=hints)
        except CtlabError as exc:
            note += f" The variants' own references could not be computed ({exc})."
    groups = group_wrong_answers(subs, snapshots, ref, maxima, by_variant)
    stats = compute_stats(subs, maxima, len(snapshots))
    problems = [(sub.file, p) for sub in subs for p in dict.fromkeys(sub.problems)]
    copied = _copied_work(out, root, subs, snapshots)
    keys = variants.answer_keys(root)
    flags = [(m.file, m.line) for m in misfits(subs, snapshots, keys)]
    flags += [(f.file, f.line) for f in foreign_ids(subs, kept_roster(out))]
    html_path, md_path, files_dir = write_batch_report(out, stats, groups, note, problems=problems, copied=copied,
                                                       students=_student_lines(out, subs), variant_flags=flags)
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
        reference_source=str(data_dir) if ref is not None else None,
        wrong_answers=groups,
        exports=exports,
    )
