"""Running the same grader on Gradescope (or any host with the /autograder layout).

Gradescope unpacks the autograder zip into /autograder/source, runs setup.sh once when
building the image, then for each submission runs /autograder/run_autograder with the
student's files in /autograder/submission and expects /autograder/results/results.json.

`ctlab build` makes the zip (ctlab.build.autograder_zip): otter's tests/q*.py, files/data/*.csv and
otter_config.json, with ctlab's run_autograder, setup.sh and source. `run_autograder(...)`
grades one submission with ctlab.grading (sandbox included) against those tests and data, and
writes results.json with the same scores `ctlab grade` gives.

Environment variables (all optional): CTLAB_AUTOGRADER_HOME (default /autograder),
CTLAB_VENV (default $CTLAB_AUTOGRADER_HOME/ctlab-venv), CTLAB_PYTHON (setup.sh's python),
CTLAB_TIMEOUT (seconds, default 120), CTLAB_MEMORY_MB (default 2048),
CTLAB_NO_SANDBOX=1 (grade without isolation; the output says so).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlab import atomic
from ctlab.contract import MANUAL_QUESTIONS
from ctlab.errors import CtlabError
from ctlab.grading.results import Result
from ctlab.report.config import FeedbackConfig, load_feedback_config
from ctlab.report.feedback import clean_message

# ---------------------------------------------------------------- results.json

def gradescope_results(result: Result | Mapping[str, Any], total: float, config: FeedbackConfig,
                       mode_line: str = "") -> dict[str, Any]:
    """Gradescope's results.json for one ctlab result (or a results record as read from its file)."""
    if not isinstance(result, Result):
        result = Result.from_dict(result)
    hidden_vis = config.gradescope_hidden_visibility
    status = result.status.text or "unknown"
    tests: list[dict[str, Any]] = [{
        "name": "Grading status",
        "status": "passed" if result.status.clean else "failed",
        "output": status,
        "visibility": "visible",
    }]
    for t in result.tests:
        entry: dict[str, Any] = {
            "name": f"{t.question}: {t.name}" + (" (hidden)" if t.hidden else ""),
            "score": t.points,
            "max_score": t.max_points,
            "status": "passed" if t.passed else "failed",
            "visibility": hidden_vis if t.hidden else "visible",
        }
        # hidden tests never show their message (it may quote the test or the answer)
        entry["output"] = "" if (t.passed or t.hidden) else clean_message(t.message)
        tests.append(entry)
    manual = sorted(q for q in result.questions if q in MANUAL_QUESTIONS)
    lines = [f"Graded by ctlab: {status}.", f"Auto-graded score: {total:g}."]
    if manual:
        lines.append("q8 (the triage summary) is graded by hand and is not part of this score.")
    if mode_line:
        lines.append(mode_line)
    return {"score": float(total), "output": "\n".join(lines), "tests": tests, "stdout_visibility": "hidden"}


def _find_submission(submission_dir: Path) -> Path | None:
    if not submission_dir.is_dir():
        return None
    for pattern in ("*.ipynb", "*.zip"):
        found = sorted(p for p in submission_dir.rglob(pattern) if p.is_file() and ".ipynb_checkpoints" not in p.parts)
        if found:
            return found[0]
    return None


def _grading_root(source: Path, into: Path) -> Path:
    """Lay the unpacked otter zip out the way ctlab.grading reads a project: autograder/tests,
    autograder/otter_config.json and assignment/data, as links into `source`."""
    tests, data = source / "tests", source / "files" / "data"
    if not tests.is_dir() or not data.is_dir():
        raise CtlabError(f"{source}: no tests/ and files/data/ here; is this the unpacked ctlab autograder zip?")
    (into / "autograder").mkdir(parents=True)
    (into / "assignment").mkdir()
    (into / "autograder" / "tests").symlink_to(tests.resolve(), target_is_directory=True)
    (into / "assignment" / "data").symlink_to(data.resolve(), target_is_directory=True)
    if (source / "answer_keys.json").is_file():  # each variant's key, for the hidden tests
        (into / "autograder" / "answer_keys.json").symlink_to((source / "answer_keys.json").resolve())
    if (source / "otter_config.json").is_file():
        (into / "autograder" / "otter_config.json").symlink_to((source / "otter_config.json").resolve())
    return into


@dataclass
class GradescopeRun:
    results_json: Path
    score: float
    status: str

    def describe(self) -> str:
        return f"score {self.score:g} ({self.status}) -> {self.results_json}"


def run_autograder(
    *, autograder_dir: Path, submission_dir: Path, results_dir: Path,
    timeout: float | None = None, memory_mb: int | None = None, no_sandbox: bool | None = None,
) -> GradescopeRun:
    """Grade the one submission in `submission_dir` and write `results_dir`/results.json."""
    from ctlab.grading.batch import grade
    from ctlab.grading.sandbox import MODE_TEXT

    autograder_dir, submission_dir, results_dir = Path(autograder_dir), Path(submission_dir), Path(results_dir)
    timeout = float(os.environ.get("CTLAB_TIMEOUT", "120")) if timeout is None else timeout
    memory_mb = int(os.environ.get("CTLAB_MEMORY_MB", "2048")) if memory_mb is None else memory_mb
    if no_sandbox is None:
        no_sandbox = os.environ.get("CTLAB_NO_SANDBOX", "") not in ("", "0")
    target = results_dir / "results.json"
    sub = _find_submission(submission_dir)
    if sub is None:
        payload = {"score": 0.0, "output": "No .ipynb (or otter export .zip) was found in the submission.",
                   "tests": [], "stdout_visibility": "hidden"}
        atomic.write_text(target, json.dumps(payload, indent=2), mode=0o644)
        return GradescopeRun(target, 0.0, "no notebook submitted")
    with tempfile.TemporaryDirectory(prefix="ctlab-gs-") as tmp:
        root = _grading_root(autograder_dir, Path(tmp) / "root")
        config = load_feedback_config(root)
        out = Path(tmp) / "out"
        summary = grade(submissions=[sub], out=out, root=root, jobs=1, timeout=timeout, memory_mb=memory_mb,
                        no_sandbox=no_sandbox, force=True, manual=None, progress=False,
                        keep_font_list=False)  # setup.sh builds it into the image; a run has no next run
        if len(summary.results) != 1:
            raise CtlabError(f"{out / 'gradebook.csv'}: expected one row, found {len(summary.results)}")
        result, total = summary.results[0], summary.scored[0].shown_total
        payload = gradescope_results(result, total, config, MODE_TEXT.get(summary.mode, ""))
    atomic.write_text(target, json.dumps(payload, indent=2), mode=0o644)
    return GradescopeRun(target, total, result.status.text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctlab.gradescope",
                                     description="Grade one submission the Gradescope way.")
    parser.add_argument("--autograder-dir", type=Path, required=True, help="the unpacked zip (/autograder/source)")
    parser.add_argument("--submission-dir", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        run = run_autograder(autograder_dir=args.autograder_dir, submission_dir=args.submission_dir,
                             results_dir=args.results_dir)
    except CtlabError as exc:
        # Gradescope shows results.json; say what went wrong there too
        payload = {"score": 0.0, "output": f"The autograder could not run: {exc}", "tests": [],
                   "stdout_visibility": "hidden"}
        atomic.write_text(Path(args.results_dir) / "results.json", json.dumps(payload, indent=2), mode=0o644)
        print(f"ctlab: error: {exc}", file=sys.stderr)
        return 2
    print(run.describe())
    return 0


if __name__ == "__main__":
    from ctlab.cli import exit_now

    exit_now(main())  # results.json is written: skip tearing pandas down
