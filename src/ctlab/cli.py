"""The `ctlab` command: parses arguments, calls one library function, prints its result.

Every user-facing failure is a CtlabError and becomes one line on stderr with a
non-zero exit; nothing here computes anything itself.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from ctlab.errors import CtlabError


def _cmd_data_generate(args: argparse.Namespace) -> int:
    from ctlab.data.generate import generate

    summary = generate(seed=args.seed, days=args.days, out=args.out, start=args.start)
    print(summary.describe())
    return 0


def _cmd_data_flatten(args: argparse.Namespace) -> int:
    from ctlab.data.flatten import flatten

    summary = flatten(inputs=args.inputs, out=args.out, skip_bad=args.skip_bad)
    print(summary.describe())
    return 0


def _cmd_data_build(args: argparse.Namespace) -> int:
    from ctlab.data.dataset import build_data

    summary = build_data(out=args.out, seed=args.seed)
    print(summary.describe())
    return 0


def _cmd_data_check(args: argparse.Namespace) -> int:
    from ctlab.data.invariants import check_week

    if (args.dir is None) == (args.variant is None):
        raise CtlabError("ctlab data check: give either DIR (a folder, a zip or CloudTrail files) or --variant N")
    if args.variant is not None:
        from ctlab.build.variant_data import check_variant

        report = check_variant(root=args.root, variant=args.variant)
    else:
        report = check_week(path=args.dir)
    for line in report.violations:
        print(line)
    print(report.describe())
    return 0 if report.ok else 1


def _cmd_build(args: argparse.Namespace) -> int:
    from ctlab.build.generate import build

    summary = build(root=args.root, count=args.variants, id_words=args.student_id_words)
    print(summary.describe())
    return 0


def _cmd_variant(args: argparse.Namespace) -> int:
    import json

    from ctlab.variants import look_up

    found = look_up(root=args.root, student_id=args.student_id)
    print(json.dumps(found.to_dict()) if args.json else found.describe())
    return 0


# What writing the reports imports (pandas and pyarrow for the answers; the charts need no library):
# loaded while grading waits for its workers.
REPORT_MODULES = ("pandas", "pyarrow.parquet", "ctlab.report")


def _cmd_grade(args: argparse.Namespace) -> int:
    from ctlab.timings import Timings, process_age

    timings = Timings()
    timings.origin -= process_age()  # the command's clock starts with its process
    from ctlab.grading.batch import grade

    timings.add("python start, ctlab imports", timings.origin, time.monotonic())

    roster, keep = None, False
    if args.roster is not None:  # a bad roster, or another class's than OUT keeps, stops before grading
        from ctlab.report.export import choose_roster

        roster, keep = choose_roster(out=args.out, given=args.roster, replace=args.replace_roster)

    summary = grade(
        submissions=args.submissions,
        out=args.out,
        root=args.root,
        jobs=args.jobs,
        timeout=args.timeout,
        memory_mb=args.memory,
        no_sandbox=args.no_sandbox,
        force=args.force,
        manual=args.manual,
        progress=sys.stderr.isatty(),
        due=args.due,
        late_penalty=args.late_penalty,
        allow_stale=args.allow_stale,
        timings=timings,
        preload=REPORT_MODULES,
    )
    print(summary.describe())
    if roster is not None:
        from ctlab.report.export import check_roster, keep_roster

        if keep:
            keep_roster(out=args.out, roster=roster)
        met = check_roster(out=args.out)
        if met is not None:
            print("\n".join(met.describe()))
    from ctlab.report import write_reports

    print(write_reports(out=args.out, root=args.root, timings=timings).describe())
    if args.timings:
        print("timings (wall seconds, [from .. to] since the command started; phases overlap):")
        print("\n".join(timings.describe()))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ctlab.report.export import export, export_note

    path = export(out=args.out_dir, fmt=args.format, roster=args.roster, assignment_id=args.assignment_id,
                  assignment_name=args.assignment_name, replace_roster=args.replace_roster)
    print(f"wrote {path} (rewritten whenever scores change)")
    note = export_note(out=args.out_dir)
    if note:
        print(f"note: {note}")
    return 0


def _when(text: str) -> datetime.datetime:
    try:
        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (use 2026-03-02T09:00+01:00)") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone (add +01:00, Z, ...)")
    return when


def _cmd_review(args: argparse.Namespace) -> int:
    if args.apply:
        from ctlab.review.apply import apply_scores

        print(apply_scores(out=args.out_dir, root=args.root).describe())
        return 0
    from ctlab.review.server import serve

    def announce(url: str) -> None:
        print(f"review page: {url}\n(scores are saved as you grade; Ctrl-C to stop, then `ctlab review "
              f"{args.out_dir} --apply`)", flush=True)

    serve(out=args.out_dir, root=args.root, port=args.port, open_browser=not args.no_browser, announce=announce)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctlab",
        description="Build, grade and report on Scenario 03B, the AWS IAM & CloudTrail triage exercise.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="generate, flatten and build the exercise's CloudTrail data")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="STEP")

    gen = data_sub.add_parser(
        "generate",
        help="write synthetic CloudTrail log files (gzip JSON, S3 delivery layout)",
        description=(
            "Write a synthetic week of a small company's CloudTrail, with one planted account "
            "compromise, as gzip-compressed {\"Records\": [...]} files laid out like CloudTrail's "
            "S3 delivery (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/...). "
            "The same seed and options give byte-identical files."
        ),
    )
    gen.add_argument("--seed", type=int, default=3032, help="random seed (default: the course seed, 3032)")
    gen.add_argument("--days", type=int, default=7, help="days of activity (default: 7)")
    gen.add_argument("--start", default=None, help="first day, YYYY-MM-DD (default: the course week)")
    gen.add_argument("--out", type=Path, required=True, help="folder to write AWSLogs/... under")
    gen.set_defaults(func=_cmd_data_generate)

    flat = data_sub.add_parser(
        "flatten",
        help="turn CloudTrail files into cloud_iam.csv and cloud_api.csv",
        description=(
            "Read CloudTrail records from files or folder trees (.json, .json.gz; a Records wrapper, "
            "a bare array, or one record a line) and write OUT/cloud_iam.csv (identity and "
            "configuration changes, sign-ins and sessions) and OUT/cloud_api.csv (everything else). "
            "Bad input stops with a one-line error naming the file and record, and leaves no CSV."
        ),
    )
    flat.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="file or folder")
    flat.add_argument("--out", type=Path, required=True, help="folder for the two CSVs")
    flat.add_argument("--skip-bad", action="store_true", help="skip bad records or files and count them")
    flat.set_defaults(func=_cmd_data_flatten)

    dbuild = data_sub.add_parser(
        "build",
        help="rebuild the exercise's CSVs (generate, flatten, SIEM export step)",
        description=(
            "Generate with the course seed (or --seed: another variant of the story), flatten, then apply "
            "the seeded SIEM-export step to the CSV timestamps. Writes OUT/cloud_iam.csv, OUT/cloud_api.csv "
            "and OUT/ground_truth.json (the answer key: never give it to students), and prints the week's "
            "realism numbers (busiest second, share of rows in bursts, event names, read-only share, "
            "attacker-column precision)."
        ),
    )
    dbuild.add_argument("--out", type=Path, required=True, help="folder to write (the course uses data/)")
    dbuild.add_argument("--seed", type=int, default=3032, help="story seed (default: the course's, 3032)")
    dbuild.set_defaults(func=_cmd_data_build)

    check = data_sub.add_parser(
        "check",
        help="check a week's consistency (MFA, bucket regions, object sizes, key owners, sessions) and its story",
        description=(
            "Check the consistency invariants of flattened CloudTrail: MFA state follows its events, a "
            "bucket's calls are logged in its region, an object keeps its size across readers, keys "
            "belong to their users, sessions follow their AssumeRole. DIR holds cloud_iam.csv and "
            "cloud_api.csv, or CloudTrail files (flattened first). With the answer key (ground_truth.json) "
            "in DIR, also check that no column's intruder values select (almost) only the intruder's rows, "
            "and that the help notebook's reveal code reaches the evidence. DIR may also be a variant's zip "
            "of the two CSVs (the answer key beside it is used); --variant N checks one variant of the build. "
            "Prints each violation; exits 1 if any."
        ),
    )
    check.add_argument("dir", type=Path, metavar="DIR", nargs="?",
                       help="folder with the two CSVs, a variant's zip of them (its key beside it), or CloudTrail files")
    check.add_argument("--variant", type=int, metavar="N",
                       help="check variant N of the build as it ships (1: data/; N > 1: data/variants/vNN/data.zip "
                            "with its ground_truth.json), as `ctlab build` does")
    check.add_argument("--root", type=Path, default=Path("."), help="project folder for --variant (default: .)")
    check.set_defaults(func=_cmd_data_check)

    build = sub.add_parser(
        "build",
        help="regenerate assignment/ and autograder/ from solutions/ and data/",
        description=(
            "Run otter assign on solutions/scenario03b.ipynb, write the student notebook, the help "
            "notebook and the data under assignment/, and the autograder under autograder/."
        ),
    )
    build.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    build.add_argument("--variants", type=int, default=None, metavar="N",
                       help="give students N variants of the week, chosen by their STUDENT_ID (1: one shared week); "
                            "recorded, so later builds repeat it")
    build.add_argument("--student-id-words", default=None, metavar="TEXT",
                       help="what students are told to type as STUDENT_ID (default: the email address your "
                            "course's LMS has for you); recorded like --variants")
    build.set_defaults(func=_cmd_build)

    variant = sub.add_parser("variant", help="which variant of the week a student id gets, and where its data and key are")
    variant.add_argument("student_id", metavar="ID", help="the STUDENT_ID as the student typed it")
    variant.add_argument("--json", action="store_true", help='print {"variant", "data_dir", "answer_key"} as JSON')
    variant.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    variant.set_defaults(func=_cmd_variant)

    grade = sub.add_parser(
        "grade",
        help="grade a batch of submissions in a sandbox",
        description=(
            "Grade notebooks (.ipynb), otter export zips and folders of them. Student code runs "
            "in a bubblewrap sandbox; the tests run in a separate trusted process against a "
            "snapshot of the answer variables. Writes OUT/gradebook.csv."
        ),
    )
    grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION_OR_DIR")
    grade.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    grade.add_argument("--root", type=Path, default=Path("."), help="project folder holding autograder/ (default: .)")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers (default: cores)")
    grade.add_argument("--timeout", type=float, default=120.0, help="wall seconds per submission (default: 120)")
    grade.add_argument("--memory", type=int, default=2048, help="memory cap per submission in MB (default: 2048)")
    grade.add_argument("--no-sandbox", action="store_true", help="run student code without isolation (unsafe)")
    grade.add_argument("--force", action="store_true", help="re-grade everything, ignoring cached results")
    grade.add_argument("--manual", type=Path, default=None,
                       help="CSV of manual scores (file, q8[, q8_comment]) to merge; each records the summary it "
                            "grades and is marked stale when that summary changes")
    grade.add_argument("--roster", type=Path, default=None,
                       help="the class roster as the LMS exports it (Canvas gradebook or Gradescope roster CSV); "
                            "kept in OUT for exports and the report")
    grade.add_argument("--replace-roster", action="store_true",
                       help="with --roster: replace the roster kept in OUT (refused otherwise when they differ)")
    grade.add_argument("--due", type=_when, default=None, metavar="TIME",
                       help="due time with its zone (2026-03-02T09:00+01:00): later submissions are late where "
                            "the LMS gives a submission time")
    grade.add_argument("--late-penalty", type=float, default=None, metavar="PERCENT",
                       help="take this percentage of a late submission's total off, in its own column")
    grade.add_argument("--timings", action="store_true",
                       help="print where the wall time went, phase by phase (start-up, probe, both phases, reports)")
    grade.add_argument("--allow-stale", action="store_true",
                       help="grade even when solutions/ or data/ changed since the last `make build` (warns)")
    grade.set_defaults(func=_cmd_grade)

    review = sub.add_parser(
        "review",
        help="hand-grade the triage summary in a local web page; --apply merges the scores",
        description=(
            "Serve a page on 127.0.0.1 for grading q8 over a graded batch: each summary as text, the rubric, "
            "the answer key's facts it names, pairs of possibly copied work. Every change is saved to "
            "OUT/manual_scores.json. --apply rewrites the gradebook, feedback, report and exports from it "
            "without grading again."
        ),
    )
    review.add_argument("out_dir", type=Path, metavar="OUT", help="a folder written by ctlab grade")
    review.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    review.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    review.add_argument("--no-browser", action="store_true", help="only print the URL")
    review.add_argument("--apply", action="store_true", help="apply the stored scores and exit")
    review.set_defaults(func=_cmd_review)

    export = sub.add_parser("export", help="write the gradebook in an LMS import format")
    export.add_argument("out_dir", type=Path, metavar="OUT", help="a folder written by ctlab grade")
    export.add_argument("--format", choices=["canvas", "gradescope", "csv"], default="csv",
                        help="canvas: Canvas's gradebook import; gradescope: its score upload (both in points, extra "
                             "credit included); csv: each question, required points, extra credit, score and the "
                             "required points' percentage apart (default: csv)")
    export.add_argument("--roster", type=Path, default=None,
                        help="the class roster (Canvas gradebook or Gradescope roster CSV); default: the one kept in OUT")
    export.add_argument("--replace-roster", action="store_true",
                        help="with --roster: replace the roster kept in OUT (refused otherwise when they differ)")
    export.add_argument("--assignment-id", default=None,
                        help="Canvas: the assignment's id (the number in its URL), so that the import updates it")
    export.add_argument("--assignment-name", default=None, help="Canvas: the assignment's name (default: Scenario 03B)")
    export.set_defaults(func=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        command: Callable[[argparse.Namespace], int] = args.func
        return command(args)
    except CtlabError as exc:
        print(f"ctlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ctlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `ctlab grade ... | head`: the reader left; the work is done
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("CTLAB_DEBUG"):
            raise
        print(f"ctlab: internal error: {type(exc).__name__}: {exc} (set CTLAB_DEBUG=1 for details)", file=sys.stderr)
        return 1


def run() -> None:
    """The `ctlab` command: `main`, then exit without tearing the interpreter down.

    By then every output is written and its file closed; what is left is freeing pandas' and pyarrow's
    objects one by one, a fifth of a second of a one-submission `ctlab grade`. The
    exit handlers still run (temporary folders left to them are removed)."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Run the exit handlers, flush stdout and stderr, and end the process with `code`."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that left (`| head`), or a closed stream
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
